package params

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// jsonParser reads a JSON document into the ordered tree in one pass. encoding/json's
// Decoder.Token, the only standard way to keep object key order, allocates for every
// token and cost more than the rest of parameter handling together.
type jsonParser struct {
	data []byte
	pos  int
	// budget is charged for every key and element as it is read, so a document with
	// millions of them is refused after MaxKeys, before it is built.
	budget *budget
}

var errJSONDepth = fmt.Errorf("nesting deeper than %d", MaxDepth)

func (p *jsonParser) fail(what string) error {
	if p.pos >= len(p.data) {
		return errors.New("unexpected end of JSON input")
	}
	return fmt.Errorf("invalid character %q %s at offset %d", p.data[p.pos], what, p.pos)
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, errJSONDepth
	}
	p.skipSpace()
	if p.pos >= len(p.data) {
		return nil, p.fail("")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.list(depth)
	case c == '"':
		return p.str()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return nil, p.fail("looking for beginning of value")
}

func (p *jsonParser) literal(word string) error {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return p.fail("in literal " + word)
	}
	p.pos += len(word)
	return nil
}

func (p *jsonParser) object(depth int) (any, error) {
	p.pos++ // {
	obj := NewObject()
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return obj, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.fail("looking for beginning of object key string")
		}
		if err := p.budget.spend(); err != nil {
			return nil, err
		}
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.fail("after object key")
		}
		p.pos++
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		obj.Set(key.(string), v)
		if closed, err := p.separator('}', "after object key:value pair"); err != nil || closed {
			return obj, err
		}
	}
}

// separator reads the ',' between members or the closing bracket; closed reports the
// closing bracket.
func (p *jsonParser) separator(closing byte, where string) (closed bool, err error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return false, p.fail("")
	}
	switch p.data[p.pos] {
	case ',':
		p.pos++
		return false, nil
	case closing:
		p.pos++
		return true, nil
	}
	return false, p.fail(where)
}

func (p *jsonParser) list(depth int) (any, error) {
	p.pos++ // [
	list := []any{}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return list, nil
	}
	for {
		if err := p.budget.spend(); err != nil {
			return nil, err
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
		if closed, err := p.separator(']', "after array element"); err != nil || closed {
			return list, err
		}
	}
}

// str reads a string. Plain ones (no escapes, valid UTF-8) are sliced out directly;
// the rest go through encoding/json, which knows every escape and replaces invalid
// UTF-8 the standard way.
func (p *jsonParser) str() (any, error) {
	start := p.pos
	p.pos++ // opening quote
	plain := true
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			raw := p.data[start:p.pos]
			if plain && utf8.Valid(raw) {
				return string(raw[1 : len(raw)-1]), nil
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, err
			}
			return s, nil
		case c == '\\':
			plain = false
			p.pos += 2
		case c < 0x20:
			return nil, p.fail("in string literal")
		default:
			p.pos++
		}
	}
	return nil, errors.New("unexpected end of JSON input")
}

// number reads a JSON number and keeps its text, so big integers lose no precision.
func (p *jsonParser) number() (any, error) {
	start := p.pos
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.data[p.pos] == '-' {
		p.pos++
	}
	if p.pos < len(p.data) && p.data[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return nil, p.fail("in numeric literal")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return nil, p.fail("after decimal point in numeric literal")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, p.fail("in exponent of numeric literal")
		}
	}
	return json.Number(p.data[start:p.pos]), nil
}
