package params

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// Int reads an integer leaf. Strings are accepted because form and GET transports carry
// every value as a string; "12.0" is not an integer.
func Int(v any) (int64, bool) {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i, true
		}
		if f, err := t.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), true
		}
	case string:
		s := strings.TrimSpace(t)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
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

// Float reads a number leaf; a comma decimal separator and spaces are tolerated, as
// Bitrix24 does for double fields.
func Float(v any) (float64, bool) {
	switch t := v.(type) {
	case json.Number:
		f, err := t.Float64()
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	case string:
		s := strings.ReplaceAll(strings.TrimSpace(t), " ", "")
		s = strings.Replace(s, ",", ".", 1)
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	case float64:
		return t, !math.IsInf(t, 0) && !math.IsNaN(t)
	case int64:
		return float64(t), true
	case int:
		return float64(t), true
	}
	return 0, false
}

// String reads a scalar leaf as text. Containers are not strings.
func String(v any) (string, bool) {
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
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	case nil:
		return "", true
	}
	return "", false
}

// Bool reads the many boolean spellings clients use: Y/N, 1/0, true/false.
func Bool(v any) (value, ok bool) {
	switch t := v.(type) {
	case bool:
		return t, true
	case json.Number:
		if i, err := t.Int64(); err == nil && (i == 0 || i == 1) {
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

// Lookup returns a parameter by name, falling back to a case-insensitive match: the
// PHP SDK and hand-written integrations differ in letter case (`entityTypeId`,
// `entitytypeid`), never in spelling.
func Lookup(o *Object, name string) (any, bool) {
	if v, ok := o.Get(name); ok {
		return v, true
	}
	for i, k := range o.Keys() {
		if strings.EqualFold(k, name) {
			return o.vals[i], true
		}
	}
	return nil, false
}
