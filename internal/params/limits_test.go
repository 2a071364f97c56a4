package params

import (
	"bytes"
	"errors"
	"fmt"
	"mime/multipart"
	"runtime"
	"strings"
	"testing"
)

// tooMany reports whether err is the refusal of a tree with more than MaxKeys nodes.
func tooMany(err error) bool {
	return errors.Is(err, ErrMalformed) && strings.Contains(err.Error(), fmt.Sprint(MaxKeys))
}

// Every transport counts the nodes it builds (keys, list elements, objects created by
// bracket paths) against one budget, and stops at the limit.
func TestNodeBudget(t *testing.T) {
	jsonList := func(n int) string { return `{"a":[` + strings.TrimSuffix(strings.Repeat("0,", n), ",") + `]}` }
	jsonKeys := func(n int) string {
		var b strings.Builder
		b.WriteString(`{`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":1`, i)
		}
		b.WriteString(`}`)
		return b.String()
	}
	// a, then MaxKeys-1 elements: exactly the limit.
	if err := ParseJSON(NewObject(), []byte(jsonList(MaxKeys-1))); err != nil {
		t.Errorf("a list at the limit: %v", err)
	}
	if err := ParseJSON(NewObject(), []byte(jsonList(MaxKeys))); !tooMany(err) {
		t.Errorf("a list over the limit: %v", err)
	}
	if err := ParseJSON(NewObject(), []byte(jsonKeys(MaxKeys))); err != nil {
		t.Errorf("an object at the limit: %v", err)
	}
	if err := ParseJSON(NewObject(), []byte(jsonKeys(MaxKeys+1))); !tooMany(err) {
		t.Errorf("an object over the limit: %v", err)
	}
	// Nested lists count at every level.
	nested := `{"a":[` + strings.TrimSuffix(strings.Repeat(`[0,0,0,0],`, MaxKeys/5+1), ",") + `]}`
	if err := ParseJSON(NewObject(), []byte(nested)); !tooMany(err) {
		t.Errorf("nested lists over the limit: %v", err)
	}

	// Each `[]` of a bracket path creates an object: 3,000 pairs of 33 levels made
	// 100,000 objects, and a 7 MB form of them took 1.2 GB.
	deep := strings.Repeat("a"+strings.Repeat("[]", MaxDepth)+"=1&", MaxKeys/MaxDepth)
	if err := ParseQuery(NewObject(), deep); !tooMany(err) {
		t.Errorf("bracket paths creating too many objects: %v", err)
	}
	if err := ParseBody(NewObject(), "application/x-www-form-urlencoded", []byte(deep)); !tooMany(err) {
		t.Errorf("form body creating too many objects: %v", err)
	}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	for range MaxKeys/MaxDepth + 1 {
		_ = mw.WriteField("a"+strings.Repeat("[]", MaxDepth), "1")
	}
	mw.Close()
	if err := ParseBody(NewObject(), mw.FormDataContentType(), mp.Bytes()); !tooMany(err) {
		t.Errorf("multipart creating too many objects: %v", err)
	}
	// A body over the size limit is refused before it is parsed.
	big := []byte(`{"a":"` + strings.Repeat("x", MaxBytes) + `"}`)
	if err := ParseBody(NewObject(), "application/json", big); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized body: %v", err)
	}
}

// The parser refuses a huge list after MaxKeys elements instead of building it: an 8
// million element body must not cost more than a few MB of allocations.
func TestParseJSONStopsAtTheLimit(t *testing.T) {
	body := []byte(`{"a":[` + strings.Repeat("0,", 8_000_000) + `0]}`)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := ParseJSON(NewObject(), body)
	runtime.ReadMemStats(&after)
	if !tooMany(err) {
		t.Fatalf("err %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
		t.Errorf("refusing a %d MB list allocated %d MB", len(body)>>20, grew>>20)
	}
}
