package params

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"
)

// Limits that keep a hostile request from building an enormous tree. They apply to
// every transport alike, and each decoder checks them as it goes, so a refused request
// never costs more than the limit's worth of tree.
const (
	// MaxDepth is how deeply containers may nest.
	MaxDepth = 32
	// MaxKeys bounds the nodes of one parameter tree: every object key and list
	// element at every level, and every object a bracket path creates (each `[]` of
	// `a[][]=1` makes one). Form pairs and multipart parts count too, even when they
	// overwrite an earlier key, since each costs work to decode.
	MaxKeys = 100000
	// MaxBytes bounds the text one decoder call accepts (a body, a query string).
	MaxBytes = 64 << 20
)

// ErrMalformed wraps every decoding failure, so callers can answer with one error code.
var ErrMalformed = errors.New("malformed parameters")

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

var errTooManyNodes = malformed("more than %d parameters (keys and list elements at every level)", MaxKeys)

// budget counts the nodes one decoding builds against MaxKeys. A nil budget is
// unlimited.
type budget struct{ left int }

func newBudget() *budget { return &budget{left: MaxKeys} }

func (b *budget) spend() error {
	if b == nil {
		return nil
	}
	if b.left--; b.left < 0 {
		return errTooManyNodes
	}
	return nil
}

func tooLong(what string, n int) error {
	if n > MaxBytes {
		return malformed("%s larger than %d bytes", what, MaxBytes)
	}
	return nil
}

// ParseQuery decodes an URL query string with PHP bracket syntax into root. Escapes are
// decoded as PHP's parse_str does (see urldecode), so no escape is ever an error.
func ParseQuery(root *Object, query string) error {
	if err := tooLong("query", len(query)); err != nil {
		return err
	}
	return parseQuery(root, query, newBudget())
}

func parseQuery(root *Object, query string, b *budget) error {
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		if pair == "" {
			continue
		}
		rawKey, rawVal, _ := strings.Cut(pair, "=")
		if err := b.spend(); err != nil {
			return err
		}
		if err := setBracket(root, urldecode(rawKey), urldecode(rawVal), b); err != nil {
			return err
		}
	}
	return nil
}

// urldecode decodes like PHP's urldecode, which parse_str applies to every key and
// value: '+' is a space, '%' and two hex digits is that byte, and any other '%' stays as
// written. Bitrix24 parses queries and batch commands this way, so hand-written
// `filter[%title]=x` (the substring filter, unescaped) works there and must work here.
func urldecode(s string) string {
	i := strings.IndexAny(s, "%+")
	if i < 0 {
		return s // the common case: nothing to decode, nothing to allocate
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// SetBracket stores value under a PHP bracket key such as `filter[0][>=id]` or `select[]`.
// As in PHP, a later assignment to the same key wins and a leaf is replaced by a
// container when a deeper key needs one.
func SetBracket(root *Object, key string, value any) error {
	return setBracket(root, key, value, nil)
}

// setBracket is SetBracket charging the objects it creates to b.
func setBracket(root *Object, key string, value any, b *budget) error {
	name, rest, hasBracket := strings.Cut(key, "[")
	if name == "" {
		if !hasBracket {
			return nil // PHP ignores an empty name
		}
		return malformed("parameter name missing in %q", key)
	}
	if !hasBracket {
		root.Set(name, value)
		return nil
	}
	var path []string
	rest = "[" + rest
	for len(rest) > 0 && rest[0] == '[' {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			// PHP keeps an unclosed bracket as part of the last segment; we refuse it
			// instead: a precise error beats a silently different key.
			return malformed("unclosed bracket in %q", key)
		}
		path = append(path, rest[1:end])
		rest = rest[end+1:]
		if len(path) > MaxDepth {
			return malformed("nesting deeper than %d in %q", MaxDepth, key)
		}
	}
	// Anything after the last bracket is ignored, as PHP does.
	cur := root
	segment := name
	for _, next := range path {
		child, ok := cur.Get(segment)
		obj, isObj := child.(*Object)
		if !ok || !isObj {
			if err := b.spend(); err != nil {
				return err
			}
			obj = NewObject()
			cur.Set(segment, obj)
		}
		cur = obj
		if next == "" {
			next = cur.nextIndex()
		}
		segment = next
	}
	cur.Set(segment, value)
	return nil
}

// ParseJSON decodes a JSON body into an ordered tree. The top level must be an object
// (an empty list is accepted as an empty object, as PHP clients send `[]`).
func ParseJSON(root *Object, body []byte) error {
	if err := tooLong("JSON body", len(body)); err != nil {
		return err
	}
	p := &jsonParser{data: body, budget: newBudget()}
	v, err := p.value(0)
	if errors.Is(err, ErrMalformed) {
		return err // a limit, already worded
	}
	if err != nil {
		return malformed("invalid JSON: %v", err)
	}
	p.skipSpace()
	if p.pos != len(body) {
		return malformed("invalid JSON: trailing data after the top-level value")
	}
	switch t := v.(type) {
	case *Object:
		for i, k := range t.keys {
			root.Set(k, t.vals[i])
		}
	case []any:
		if len(t) != 0 {
			return malformed("the JSON body must be an object")
		}
	case nil:
	default:
		return malformed("the JSON body must be an object")
	}
	return nil
}

// ParseBody decodes a request body according to its content type into root.
// Unknown content types are tried as JSON when the body looks like JSON, otherwise as
// a form, because real clients are careless with the header.
func ParseBody(root *Object, contentType string, body []byte) error {
	if err := tooLong("body", len(body)); err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	mediaType, mparams, _ := mime.ParseMediaType(contentType)
	switch mediaType {
	case "application/json", "text/json":
		return ParseJSON(root, body)
	case "multipart/form-data":
		return parseMultipart(root, body, mparams["boundary"])
	case "application/x-www-form-urlencoded":
		return ParseQuery(root, string(body))
	}
	trimmed := bytes.TrimSpace(body)
	if trimmed[0] == '{' || trimmed[0] == '[' {
		return ParseJSON(root, body)
	}
	return ParseQuery(root, string(body))
}

func parseMultipart(root *Object, body []byte, boundary string) error {
	if boundary == "" {
		return malformed("multipart body without boundary")
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	b := newBudget()
	for {
		part, err := r.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return malformed("bad multipart body: %v", err)
		}
		name := part.FormName()
		data, err := io.ReadAll(part)
		if err != nil {
			return malformed("bad multipart body: %v", err)
		}
		if err := b.spend(); err != nil {
			return err
		}
		if name == "" {
			continue
		}
		if err := setBracket(root, name, string(data), b); err != nil {
			return err
		}
	}
}
