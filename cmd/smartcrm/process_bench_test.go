package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"smartcrm/internal/app"
	"smartcrm/internal/processdef"
	"smartcrm/internal/testdb"
)

// The speed of processes as code, end to end as an administrator runs the commands
// on a local SQLite database (opening it included):
//
//	go test ./cmd/smartcrm -run '^$' -bench 'Process' -benchtime 10x
//
// BenchmarkProcessApplyPreset: `smartcrm apply --preset installation-visit` on an
// empty server (one a server started once). BenchmarkProcessPlanAllPresets: `smartcrm
// plan -f all.yaml` of the four presets against a server holding them (exit 0).

// emptyServer makes a database a server has started on once (it has the
// administrator, user 1), and the flags that name it.
func emptyServer(tb testing.TB, dialect string) []string {
	tb.Helper()
	cfg := app.Config{DB: testdb.DSN(tb, dialect), DataDir: tb.TempDir(), AdminToken: "admin-secret-token"}
	a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	a.Close()
	return []string{"--db", cfg.DB, "--data-dir", cfg.DataDir}
}

func BenchmarkProcessApplyPreset(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db := emptyServer(b, "sqlite")
		b.StartTimer()
		var out bytes.Buffer
		if err := applyCmd(append([]string{"--preset", "installation-visit"}, db...), &out); err != nil || !strings.Contains(out.String(), "Applied.") {
			b.Fatalf("%v %s", err, out.String())
		}
	}
}

func BenchmarkProcessPlanAllPresets(b *testing.B) {
	db := emptyServer(b, "sqlite")
	var all strings.Builder
	all.WriteString("version: 1\nprocesses:\n")
	for _, p := range processdef.Presets {
		data, err := processdef.PresetFile(p.Name)
		if err != nil {
			b.Fatal(err)
		}
		_, procs, _ := strings.Cut(string(data), "processes:\n")
		all.WriteString(procs)
	}
	file := filepath.Join(b.TempDir(), "all.yaml")
	if err := os.WriteFile(file, []byte(all.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	if err := applyCmd(append([]string{"-f", file}, db...), &out); err != nil {
		b.Fatal(err, out.String())
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out.Reset()
		if code, err := planCmd(append([]string{"-f", file}, db...), &out); err != nil || code != exitClean {
			b.Fatalf("%d %v %s", code, err, out.String())
		}
	}
}
