package app

import (
	"context"
	"fmt"
	"log/slog"

	"smartcrm/internal/access"
	"smartcrm/internal/automation"
	"smartcrm/internal/cardlayout"
	"smartcrm/internal/crm"
	"smartcrm/internal/files"
	"smartcrm/internal/processdef"
	"smartcrm/internal/tasks"
	"smartcrm/internal/timeline"
	"smartcrm/internal/web"
)

// webProcesses offers processes as code to the web UI: its presets on the "create"
// page and a type's export on its settings page.
type webProcesses struct{ svc *processdef.Service }

func (w webProcesses) Presets() []web.PresetInfo {
	out := make([]web.PresetInfo, len(processdef.Presets))
	for i, p := range processdef.Presets {
		out[i] = web.PresetInfo{Name: p.Name, Title: p.Title, Description: p.Description}
	}
	return out
}

func (w webProcesses) ApplyPreset(ctx context.Context, actor access.Actor, name string) (int64, error) {
	return w.svc.ApplyPreset(ctx, actor, name)
}

func (w webProcesses) Export(ctx context.Context, actor access.Actor, entityTypeID int64) ([]byte, error) {
	return w.svc.ExportType(ctx, actor, entityTypeID)
}

// OpenProcesses opens the configured database for the process commands (smartcrm
// plan, apply, export) run beside or instead of a server: the domain's services over
// the store, automation to check and save documents but not to run robots (a running
// server runs them), nothing listening. close releases the database.
func OpenProcesses(ctx context.Context, cfg Config) (svc *processdef.Service, close func(), err error) {
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	if users, err := st.Users(ctx); err != nil {
		return nil, nil, err
	} else if len(users) == 0 {
		return nil, nil, fmt.Errorf("the database has no users yet: start the server on it once (it creates the administrator, user 1)")
	}
	crmSvc := crm.New(st)
	if err := crmSvc.EnsureStandardTypes(ctx); err != nil {
		return nil, nil, fmt.Errorf("creating the standard CRM types: %w", err)
	}
	key, err := st.SigningKey(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the link signing key: %w", err)
	}
	crmSvc.Files = files.New(cfg.DataDir, key, "http://"+cfg.Addr)
	tl := timeline.New(crmSvc)
	ts := tasks.New(crmSvc, tl)
	auto, err := automation.New(crmSvc, tl, ts, access.NewWebhooks(st).Users, automation.Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, nil, err
	}
	if err := auto.Migrate(ctx); err != nil {
		return nil, nil, fmt.Errorf("preparing the job queue: %w", err)
	}
	return processdef.New(crmSvc, auto, cardlayout.New(crmSvc)), func() { st.Close() }, nil
}
