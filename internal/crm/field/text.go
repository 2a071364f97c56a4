package field

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"smartcrm/internal/params"
)

// Text is a string value: a one-line string, a long text, or a code that points into a
// directory (stage ids, currency codes).
type Text struct {
	TypeName string         // "string" when empty
	MaxLen   int            // in characters; 0 = no limit
	MinLen   int            // in characters, for non-empty values
	Pattern  *regexp.Regexp // a custom field's REGEXP setting
}

// Name implements Type.
func (t Text) Name() string {
	if t.TypeName == "" {
		return "string"
	}
	return t.TypeName
}

// Storage implements Type.
func (Text) Storage() Storage { return StorageText }

// Parse implements Type.
func (t Text) Parse(v any) (any, error) {
	if isEmpty(v) {
		return nil, nil
	}
	s, ok := params.String(v)
	if !ok {
		return nil, invalid("a string is expected")
	}
	if !utf8.ValidString(s) {
		return nil, invalid("the text is not valid UTF-8")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return nil, invalid("the text contains a NUL character")
	}
	if t.MaxLen > 0 && utf8.RuneCountInString(s) > t.MaxLen {
		return nil, invalid("longer than %d characters", t.MaxLen)
	}
	if t.MinLen > 0 && utf8.RuneCountInString(s) < t.MinLen {
		return nil, invalid("shorter than %d characters", t.MinLen)
	}
	if t.Pattern != nil && !t.Pattern.MatchString(s) {
		return nil, invalid("does not match the pattern %s", t.Pattern)
	}
	return s, nil
}

// Format implements Type.
func (Text) Format(v any) any { return v }

// Ops implements Type.
func (Text) Ops() []Op { return textOps }
