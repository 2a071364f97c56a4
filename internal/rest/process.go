package rest

import (
	"errors"
	"net/http"

	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
	"smartcrm/internal/processdef"
)

// smartcrm.process.* — processes as code for tools (and `smartcrm plan|apply|export
// --url`): plan and apply a process file (its YAML text in file, or a preset by name),
// export what the server has, list the presets. Ours, in the protocol's envelope; a
// refused file answers PROCESS_FILE_INVALID with every problem in problems.

func (s *Server) registerProcesses() {
	if s.processes == nil {
		return
	}
	s.registerFamily(familyProcess, map[string]handlerFunc{
		"smartcrm.process.plan":        (*Server).processPlan,
		"smartcrm.process.apply":       (*Server).processApply,
		"smartcrm.process.export":      (*Server).processExport,
		"smartcrm.process.preset.list": (*Server).processPresets,
	})
}

// processFile reads {file, name?} or {preset} and prune.
func processFile(c *Call) (name string, data []byte, opts processdef.Options, err error) {
	if v, ok := lookup(c, "prune"); ok {
		opts.Prune, _ = params.Bool(v)
	}
	if v, ok := lookup(c, "preset"); ok {
		preset, _ := params.String(v)
		data, err = processdef.PresetFile(preset)
		return preset + ".yaml", data, opts, err
	}
	v, ok := lookup(c, "file")
	if !ok {
		return "", nil, opts, missingParam("file")
	}
	text, isText := v.(string)
	if !isText {
		return "", nil, opts, wrongParamType("file", "string (the YAML text)")
	}
	name = "file"
	if n, ok := lookup(c, "name"); ok {
		name, _ = params.String(n)
	}
	return name, []byte(text), opts, nil
}

// planResult is a plan as tools read it: empty, the changes, and the readable text.
func planResult(plan *processdef.Plan, applied bool) *Result {
	changes := plan.Changes
	if changes == nil {
		changes = []processdef.Change{}
	}
	var text bytesWriter
	plan.Write(&text)
	m := jsonx.Map{{K: "empty", V: plan.Empty()}, {K: "changes", V: changes}, {K: "text", V: string(text)}}
	if applied {
		m = append(m, jsonx.KV{K: "applied", V: !plan.Empty()})
	}
	return &Result{Result: m}
}

type bytesWriter []byte

func (b *bytesWriter) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

// processError answers a refused file with its problems.
func processError(err error) error {
	var e *processdef.Error
	if errors.As(err, &e) {
		return &APIError{Status: http.StatusBadRequest, Code: "PROCESS_FILE_INVALID", Desc: e.Error(), Problems: e.Problems}
	}
	return err
}

func (s *Server) processPlan(c *Call) (*Result, error) {
	name, data, opts, err := processFile(c)
	if err != nil {
		return nil, err
	}
	plan, err := s.processes.Plan(c.Ctx, c.Actor, name, data, opts)
	if err != nil {
		return nil, processError(err)
	}
	return planResult(plan, false), nil
}

func (s *Server) processApply(c *Call) (*Result, error) {
	name, data, opts, err := processFile(c)
	if err != nil {
		return nil, err
	}
	plan, err := s.processes.Apply(c.Ctx, c.Actor, name, data, opts)
	if err != nil {
		return nil, processError(err)
	}
	return planResult(plan, true), nil
}

func (s *Server) processExport(c *Call) (*Result, error) {
	code := ""
	if v, ok := lookup(c, "type"); ok {
		code, _ = params.String(v)
	}
	out, err := s.processes.Export(c.Ctx, c.Actor, code)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "file", V: string(out)}}}, nil
}

func (s *Server) processPresets(c *Call) (*Result, error) {
	out := make([]any, len(processdef.Presets))
	for i, p := range processdef.Presets {
		out[i] = jsonx.Map{{K: "name", V: p.Name}, {K: "title", V: p.Title}, {K: "description", V: p.Description}}
	}
	return &Result{Result: out}, nil
}
