package jsonx

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// Append writes v as JSON to buf in one pass. encoding/json re-validates and compacts
// the output of every MarshalJSON at every nesting level, which made encoding a
// response of ordered objects cost as much as the database work behind it. Append walks
// the types responses are built from directly and falls back to encoding/json for
// anything else. It leaves < > & unescaped, as Bitrix24 does.
func Append(buf []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case string:
		return appendString(buf, t), nil
	case bool:
		return strconv.AppendBool(buf, t), nil
	case int:
		return strconv.AppendInt(buf, int64(t), 10), nil
	case int64:
		return strconv.AppendInt(buf, t, 10), nil
	case *int64:
		if t == nil {
			return append(buf, "null"...), nil
		}
		return strconv.AppendInt(buf, *t, 10), nil
	case float64:
		return appendFloat(buf, t)
	case json.Number:
		return append(buf, t...), nil
	case Obj:
		if len(t) == 0 {
			return append(buf, "[]"...), nil
		}
		return appendMembers(buf, t)
	case Map:
		if len(t) == 0 {
			return append(buf, "{}"...), nil
		}
		return appendMembers(buf, t)
	case []Obj:
		return appendList(buf, len(t), func(b []byte, i int) ([]byte, error) { return Append(b, t[i]) })
	case []Map:
		return appendList(buf, len(t), func(b []byte, i int) ([]byte, error) { return Append(b, t[i]) })
	case []any:
		return appendList(buf, len(t), func(b []byte, i int) ([]byte, error) { return Append(b, t[i]) })
	case []int64:
		return appendList(buf, len(t), func(b []byte, i int) ([]byte, error) { return strconv.AppendInt(b, t[i], 10), nil })
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		m := make(Map, len(keys))
		for i, k := range keys {
			m[i] = KV{k, t[k]}
		}
		return Append(buf, m)
	case time.Time:
		return appendString(buf, t.Format(time.RFC3339)), nil
	}
	if m, ok := v.(json.Marshaler); ok {
		// Our own marshalers write compact, valid JSON; take it as it is.
		b, err := m.MarshalJSON()
		if err != nil {
			return nil, err
		}
		return append(buf, b...), nil
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return append(buf, bytes.TrimSuffix(out.Bytes(), []byte("\n"))...), nil
}

func appendMembers(buf []byte, kvs []KV) ([]byte, error) {
	buf = append(buf, '{')
	for i, kv := range kvs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendString(buf, kv.K)
		buf = append(buf, ':')
		var err error
		if buf, err = Append(buf, kv.V); err != nil {
			return nil, err
		}
	}
	return append(buf, '}'), nil
}

func appendList(buf []byte, n int, elem func([]byte, int) ([]byte, error)) ([]byte, error) {
	buf = append(buf, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			buf = append(buf, ',')
		}
		var err error
		if buf, err = elem(buf, i); err != nil {
			return nil, err
		}
	}
	return append(buf, ']'), nil
}

// appendFloat writes a number the way encoding/json does.
func appendFloat(buf []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, &json.UnsupportedValueError{Str: strconv.FormatFloat(f, 'g', -1, 64)}
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(buf)
	buf = strconv.AppendFloat(buf, f, format, -1, 64)
	// A two-digit negative exponent drops its leading zero (1e-07 → 1e-7), as
	// JavaScript prints it.
	if n := len(buf); format == 'e' && n-start >= 4 && buf[n-4] == 'e' && buf[n-3] == '-' && buf[n-2] == '0' {
		buf[n-2] = buf[n-1]
		buf = buf[:n-1]
	}
	return buf, nil
}

const hex = "0123456789abcdef"

// appendString writes a JSON string, escaping what JSON requires (and U+2028/2029,
// which break JavaScript), replacing invalid UTF-8 as encoding/json does.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
