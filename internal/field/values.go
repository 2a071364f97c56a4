package field

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Values reach Parse as plain Go values, whoever sends them: the REST layer turns its
// parameter trees into them, the web UI its form values, a process file its YAML
// scalars, a robot its rendered templates. The plain values are nil, string, bool,
// int, int64, float64, json.Number, time.Time, []any (a list) and map[string]any (an
// object). The readers below accept every spelling a client may use for a kind of value
// (numbers in strings, Y/N for booleans…), so each field type reads values one way.

// AsString reads a scalar as text. Lists and objects are not text.
func AsString(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case bool:
		if t {
			return "true", true
		}
		return "false", true
	case int64:
		return strconv.FormatInt(t, 10), true
	case int:
		return strconv.Itoa(t), true
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	case nil:
		return "", true
	}
	return "", false
}

// AsInt reads an integer. Text is accepted because forms carry every value as text;
// "12.0" is not an integer, 12.0 as a number is.
func AsInt(v any) (int64, bool) {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i, true
		}
		if f, err := t.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), true
		}
	case string:
		if i, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64); err == nil {
			return i, true
		}
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return int64(t), true
		}
	case int64:
		return t, true
	case int:
		return int64(t), true
	case bool:
		if t {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// AsFloat reads a number; a comma decimal separator and spaces are tolerated in text,
// as Bitrix24 does for amounts.
func AsFloat(v any) (float64, bool) {
	finite := func(f float64) bool { return !math.IsInf(f, 0) && !math.IsNaN(f) }
	switch t := v.(type) {
	case json.Number:
		f, err := t.Float64()
		return f, err == nil && finite(f)
	case string:
		s := strings.ReplaceAll(strings.TrimSpace(t), " ", "")
		s = strings.Replace(s, ",", ".", 1)
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil && finite(f)
	case float64:
		return t, finite(t)
	case int64:
		return float64(t), true
	case int:
		return float64(t), true
	}
	return 0, false
}

// AsBool reads the boolean spellings clients use: Y/N, 1/0, true/false, yes/no.
func AsBool(v any) (value, ok bool) {
	switch t := v.(type) {
	case bool:
		return t, true
	case json.Number, int64, int, float64:
		if i, ok := AsInt(t); ok && (i == 0 || i == 1) {
			return i == 1, true
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "y", "1", "true", "yes":
			return true, true
		case "n", "0", "false", "no", "":
			return false, true
		}
	}
	return false, false
}

// AsTime reads a date or a moment: a time.Time, or text in any accepted spelling.
func AsTime(v any) (time.Time, bool) {
	if t, ok := v.(time.Time); ok {
		return t, true
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	return ParseTime(s)
}

// Elements returns the elements of a list, or the values of an object in key order (a
// PHP client sends a list as an object keyed 0, 1, …). ok is false for a scalar.
func Elements(v any) (vals []any, ok bool) {
	switch t := v.(type) {
	case []any:
		return t, true
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sortKeys(keys)
		vals = make([]any, len(keys))
		for i, k := range keys {
			vals[i] = t[k]
		}
		return vals, true
	}
	return nil, false
}

// sortKeys orders object keys numerically where they are numbers, then as text.
func sortKeys(keys []string) {
	sort.Slice(keys, func(i, j int) bool {
		a, errA := strconv.Atoi(keys[i])
		b, errB := strconv.Atoi(keys[j])
		switch {
		case errA == nil && errB == nil:
			return a < b
		case errA == nil:
			return true
		case errB == nil:
			return false
		}
		return keys[i] < keys[j]
	})
}

// Lookup reads an object's member by any of the given names, ignoring letter case.
func Lookup(m map[string]any, names ...string) (any, bool) {
	for _, n := range names {
		if v, ok := m[n]; ok {
			return v, true
		}
	}
	for _, n := range names {
		for k, v := range m {
			if strings.EqualFold(k, n) {
				return v, true
			}
		}
	}
	return nil, false
}

// IsList reports whether v is a list or an object (a value with elements).
func IsList(v any) bool {
	_, ok := Elements(v)
	return ok
}
