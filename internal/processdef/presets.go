package processdef

import (
	"context"
	"embed"
	"fmt"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
)

// Presets are process files shipped in the binary: four ready processes to apply as
// they are or to export and adjust.

//go:embed presets/*.yaml
var presetFiles embed.FS

// Preset names a preset.
type Preset struct {
	Name        string
	Title       string
	Description string
}

// Presets lists the presets in the order they are offered.
var Presets = []Preset{
	{"contract-approval", "Contract approval", "Draft, legal and finance review, signing; value, dates, files, counterparty; a child of a deal"},
	{"leave-request", "Leave request", "Submitted, manager approval, HR check; dates, days, substitute; HR rotation"},
	{"service-request", "Service request", "A customer's contact and company, priority, device, warranty; support and field service funnels"},
	{"installation-visit", "Installation visit", "A child of a deal: site address, visit time, equipment, photos, price; installer rotation"},
}

// PresetFile returns a preset's process file.
func PresetFile(name string) ([]byte, error) {
	for _, p := range Presets {
		if p.Name == name {
			return presetFiles.ReadFile("presets/" + name + ".yaml")
		}
	}
	return nil, crm.NewError(crm.ErrInvalidArg, "There is no preset %q (smartcrm preset list names them)", name)
}

// ApplyPreset applies a preset (a preset already on the server changes nothing) and
// returns the entityTypeId of its process.
func (s *Service) ApplyPreset(ctx context.Context, actor access.Actor, name string) (int64, error) {
	data, err := PresetFile(name)
	if err != nil {
		return 0, err
	}
	f, err := Load(name+".yaml", data)
	if err != nil {
		return 0, fmt.Errorf("preset %s: %w", name, err)
	}
	if _, err := s.Apply(ctx, actor, name+".yaml", data, Options{}); err != nil {
		return 0, err
	}
	st, err := s.read(ctx, actor)
	if err != nil {
		return 0, err
	}
	return st.reg.etidOf[f.Processes[0].Code], nil
}
