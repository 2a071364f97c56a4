// Package loadfuzz fuzzes the process file loader in a test binary of its own: the
// processdef package's tests link a whole server, which slows fuzzing to a crawl.
package loadfuzz

import (
	"testing"

	"smartcrm/internal/processdef"
)

// FuzzLoad: whatever the bytes, the loader answers a file or an error, never panics
// and never runs away (aliases are bounded), and what it accepts encodes.
func FuzzLoad(f *testing.F) {
	for _, p := range processdef.Presets {
		if data, err := processdef.PresetFile(p.Name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("version: 1\nprocesses:\n  - &a {code: x, title: X, funnels: [*a]}\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := processdef.Load("fuzz.yaml", data)
		if err != nil {
			return
		}
		if _, err := processdef.Encode(file); err != nil {
			t.Fatalf("an accepted file does not encode: %v", err)
		}
	})
}
