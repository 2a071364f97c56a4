package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/testdb"
)

// plan, apply and export work the same on a local database and through a server's
// webhook: a preset plans changes (exit 2), applies, then plans clean (exit 0); the
// export of one server applied to another plans clean against the first.
func TestProcessCommands(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		local := emptyServer(t, dialect)
		remote := apitest.Start(t, dialect)
		for _, target := range []struct {
			name string
			args []string
		}{{"local", local}, {"url", []string{"--url", remote.Base}}} {
			var out bytes.Buffer
			code, err := planCmd(append([]string{"--preset", "installation-visit"}, target.args...), &out)
			if err != nil || code != exitChanges || !strings.Contains(out.String(), "create type installation_visit") {
				t.Fatalf("%s: plan of a new preset: %d %v\n%s", target.name, code, err, out.String())
			}
			out.Reset()
			if err := applyCmd(append([]string{"--preset", "installation-visit"}, target.args...), &out); err != nil || !strings.Contains(out.String(), "Applied.") {
				t.Fatalf("%s: apply: %v\n%s", target.name, err, out.String())
			}
			out.Reset()
			if err := applyCmd(append([]string{"--preset", "installation-visit"}, target.args...), &out); err != nil || !strings.Contains(out.String(), "Nothing to change") {
				t.Fatalf("%s: apply again: %v\n%s", target.name, err, out.String())
			}
			out.Reset()
			if code, err := planCmd(append([]string{"--preset", "installation-visit"}, target.args...), &out); err != nil || code != exitClean {
				t.Fatalf("%s: plan after apply: %d %v\n%s", target.name, code, err, out.String())
			}
		}
		var localExport, remoteExport bytes.Buffer
		if err := exportCmd(local, &localExport); err != nil {
			t.Fatal(err)
		}
		if err := exportCmd([]string{"--url", remote.Base, "--type", "installation_visit"}, &remoteExport); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(localExport.Bytes(), remoteExport.Bytes()) {
			t.Errorf("local and remote exports differ:\n%s\n---\n%s", localExport.String(), remoteExport.String())
		}
		file := filepath.Join(t.TempDir(), "visit.yaml")
		if err := os.WriteFile(file, remoteExport.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if code, err := planCmd(append([]string{"-f", file}, local...), &out); err != nil || code != exitClean {
			t.Errorf("the remote export against the local database: %d %v\n%s", code, err, out.String())
		}
		// A broken file: exit 1 with every problem, through the webhook too.
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(bad, []byte("version: 1\nprocesses:\n  - code: x\n    titel: X\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{local, {"--url", remote.Base}} {
			code, err := planCmd(append([]string{"-f", bad}, args...), &out)
			if code != exitError || err == nil || !strings.Contains(err.Error(), `4:5`) || !strings.Contains(err.Error(), `unknown key "titel"`) {
				t.Errorf("a broken file: %d %v", code, err)
			}
		}
	})
}
