package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/app"
	"smartcrm/internal/processdef"
)

// Processes as code: plan, apply and export process files, on a local database (--db,
// as serve) or a running server (--url with an inbound webhook URL, through the
// smartcrm.process.* methods).

// Exit codes of plan: nothing to change, an error, changes to make.
const (
	exitClean   = 0
	exitError   = 1
	exitChanges = 2
)

// processFlags are the flags plan and apply share.
type processFlags struct {
	cfg    app.Config
	file   string
	preset string
	prune  bool
	url    string
	user   int64
}

func parseProcessFlags(name string, args []string) (*processFlags, error) {
	pf := &processFlags{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	pf.cfg.Flags(fs)
	fs.StringVar(&pf.file, "f", "", "the process file (YAML); - reads standard input")
	fs.StringVar(&pf.preset, "preset", "", "a preset instead of a file (smartcrm preset list)")
	fs.BoolVar(&pf.prune, "prune", false, "allow changes that lose data: deleting fields or stages that hold values, changing a field's type")
	fs.StringVar(&pf.url, "url", "", "a running server's inbound webhook URL (http://host/rest/1/secret/) instead of --db")
	fs.Int64Var(&pf.user, "user", 1, "the user the changes are made as (local database)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if (pf.file == "") == (pf.preset == "") {
		return nil, fmt.Errorf("usage: smartcrm %s -f FILE | --preset NAME [--prune] [--db … | --url WEBHOOK]", name)
	}
	return pf, nil
}

// source reads the file or the preset.
func (pf *processFlags) source() (string, []byte, error) {
	if pf.preset != "" {
		data, err := processdef.PresetFile(pf.preset)
		return pf.preset + ".yaml", data, err
	}
	if pf.file == "-" {
		data, err := io.ReadAll(io.LimitReader(os.Stdin, processdef.MaxFileSize+1))
		return "stdin", data, err
	}
	f, err := os.Open(pf.file)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, processdef.MaxFileSize+1))
	return pf.file, data, err
}

// planCmd prints what applying the file would change and returns plan's exit code.
func planCmd(args []string, out io.Writer) (int, error) {
	pf, err := parseProcessFlags("plan", args)
	if err != nil {
		return exitError, err
	}
	empty, text, err := runProcess(pf, "smartcrm.process.plan", func(svc *processdef.Service, actor access.Actor, name string, data []byte) (*processdef.Plan, error) {
		return svc.Plan(context.Background(), actor, name, data, processdef.Options{Prune: pf.prune})
	})
	if err != nil {
		return exitError, err
	}
	fmt.Fprint(out, text)
	if empty {
		return exitClean, nil
	}
	return exitChanges, nil
}

// applyCmd makes the file's changes in one transaction and prints them.
func applyCmd(args []string, out io.Writer) error {
	pf, err := parseProcessFlags("apply", args)
	if err != nil {
		return err
	}
	empty, text, err := runProcess(pf, "smartcrm.process.apply", func(svc *processdef.Service, actor access.Actor, name string, data []byte) (*processdef.Plan, error) {
		return svc.Apply(context.Background(), actor, name, data, processdef.Options{Prune: pf.prune})
	})
	if err != nil {
		return err
	}
	if empty {
		fmt.Fprint(out, "Nothing to change: the server is as the file describes.\n")
		return nil
	}
	fmt.Fprint(out, text)
	fmt.Fprint(out, "Applied.\n")
	return nil
}

// runProcess plans or applies locally (run) or through the REST method.
func runProcess(pf *processFlags, method string, run func(*processdef.Service, access.Actor, string, []byte) (*processdef.Plan, error)) (bool, string, error) {
	if pf.url != "" {
		params := map[string]any{"prune": pf.prune}
		if pf.preset != "" {
			params["preset"] = pf.preset
		} else {
			name, data, err := pf.source()
			if err != nil {
				return false, "", err
			}
			params["file"], params["name"] = string(data), name
		}
		var res struct {
			Empty bool   `json:"empty"`
			Text  string `json:"text"`
		}
		if err := callREST(pf.url, method, params, &res); err != nil {
			return false, "", err
		}
		return res.Empty, res.Text, nil
	}
	name, data, err := pf.source()
	if err != nil {
		return false, "", err
	}
	svc, closeDB, err := app.OpenProcesses(context.Background(), pf.cfg)
	if err != nil {
		return false, "", err
	}
	defer closeDB()
	plan, err := run(svc, access.Actor{UserID: pf.user, IsAdmin: true, Origin: access.OriginPerson}, name, data)
	if err != nil {
		return false, "", err
	}
	var b bytes.Buffer
	plan.Write(&b)
	return plan.Empty(), b.String(), nil
}

// exportCmd writes the process file of what the server has.
func exportCmd(args []string, out io.Writer) error {
	var cfg app.Config
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	cfg.Flags(fs)
	code := fs.String("type", "", "only the process with this code")
	url := fs.String("url", "", "a running server's inbound webhook URL instead of --db")
	user := fs.Int64("user", 1, "the user who reads (local database)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url != "" {
		var res struct {
			File string `json:"file"`
		}
		if err := callREST(*url, "smartcrm.process.export", map[string]any{"type": *code}, &res); err != nil {
			return err
		}
		_, err := io.WriteString(out, res.File)
		return err
	}
	svc, closeDB, err := app.OpenProcesses(context.Background(), cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	data, err := svc.Export(context.Background(), access.Actor{UserID: *user, IsAdmin: true}, *code)
	if err != nil {
		return err
	}
	_, err = out.Write(data)
	return err
}

// presetCmd lists the presets.
func presetCmd(args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "list" {
		return fmt.Errorf("usage: smartcrm preset list")
	}
	for _, p := range processdef.Presets {
		fmt.Fprintf(out, "%-20s %s — %s\n", p.Name, p.Title, p.Description)
	}
	return nil
}

// callREST calls a method of a server through a webhook URL and decodes its result;
// a refused file's problems come back one a line.
func callREST(base, method string, params any, result any) error {
	body, err := json.Marshal(params)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 5 * time.Minute}
	resp, err := client.Post(strings.TrimSuffix(base, "/")+"/"+method, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	var env struct {
		Result   json.RawMessage      `json:"result"`
		Error    any                  `json:"error"`
		Desc     string               `json:"error_description"`
		Problems []processdef.Problem `json:"problems"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("%s answered %s: %.200s", method, resp.Status, raw)
	}
	if env.Error != nil {
		if len(env.Problems) > 0 {
			return &processdef.Error{Problems: env.Problems}
		}
		return fmt.Errorf("%v: %s", env.Error, env.Desc)
	}
	if len(env.Result) == 0 {
		return errors.New(method + " answered no result")
	}
	return json.Unmarshal(env.Result, result)
}
