package processdef

import (
	"os"
	"testing"
)

// FuzzLoad: whatever the bytes, the loader answers a file or an error, never panics,
// and what it accepts encodes.
func FuzzLoad(f *testing.F) {
	for _, p := range Presets {
		if data, err := os.ReadFile("presets/" + p.Name + ".yaml"); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("version: 1\nprocesses:\n  - &a {code: x, title: X, funnels: [*a]}\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Load("fuzz.yaml", data)
		if err != nil {
			return
		}
		if _, err := Encode(file); err != nil {
			t.Fatalf("an accepted file does not encode: %v", err)
		}
	})
}
