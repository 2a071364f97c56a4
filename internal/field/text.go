package field

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Text is a string value: a one-line string, a long text, or a code that points into a
// directory (stage ids, currency codes).
type Text struct {
	TypeName string         // "string" when empty
	MaxLen   int            // in characters; 0 = no limit
	MinLen   int            // in characters, for non-empty values
	Pattern  *regexp.Regexp // a custom field's REGEXP setting
	// Directory names the directory (crm.status ENTITY_ID) a code must come from; empty
	// for free text and for codes the domain checks itself (a funnel's stages).
	Directory string
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
	s, ok := AsString(v)
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

// Refs implements Referrer: a code of a directory must be one of the directory's.
func (t Text) Refs(v any) []Ref {
	s, ok := v.(string)
	if t.Directory == "" || !ok || s == "" {
		return nil
	}
	return []Ref{{Kind: RefDirectory, Directory: t.Directory, Code: s}}
}

// StringSettings are the settings of a string custom field.
type StringSettings struct {
	Size      int    `setting:"SIZE"`
	Rows      int    `setting:"ROWS"`
	Regexp    string `setting:"REGEXP"`
	MinLength int    `setting:"MIN_LENGTH"`
	MaxLength int    `setting:"MAX_LENGTH"`
	Default   string `setting:"DEFAULT_VALUE"`
}

// DefaultValue implements Settings.
func (s StringSettings) DefaultValue(time.Time) any { return nilIfEmpty(s.Default) }

type stringKind struct{}

func (stringKind) ID() string            { return "string" }
func (stringKind) Description() string   { return "String" }
func (stringKind) NewSettings() Settings { return StringSettings{Size: 20, Rows: 1} }

// Build implements Kind: MAX_LENGTH (65,535 when unset), MIN_LENGTH and REGEXP, which
// must compile (with or without the slashes PHP patterns carry).
func (stringKind) Build(s Settings, _ []EnumItem) (Type, error) {
	st := s.(StringSettings)
	t := Text{MaxLen: 65535, MinLen: st.MinLength}
	if st.MaxLength > 0 {
		t.MaxLen = st.MaxLength
	}
	if st.Regexp != "" {
		p, err := regexp.Compile(strings.Trim(st.Regexp, "/"))
		if err != nil {
			return nil, fmt.Errorf("REGEXP does not compile: %v", err)
		}
		t.Pattern = p
	}
	return t, nil
}

// CRMStatusSettings are the settings of a link to a CRM directory (crm_status).
type CRMStatusSettings struct {
	EntityType string `setting:"ENTITY_TYPE"`
}

// DefaultValue implements Settings.
func (CRMStatusSettings) DefaultValue(time.Time) any { return nil }

type crmStatusKind struct{}

func (crmStatusKind) ID() string            { return "crm_status" }
func (crmStatusKind) Description() string   { return "Link to CRM directory" }
func (crmStatusKind) NewSettings() Settings { return CRMStatusSettings{} }

// Build implements Kind: the directory must be named.
func (crmStatusKind) Build(s Settings, _ []EnumItem) (Type, error) {
	dir := s.(CRMStatusSettings).EntityType
	if dir == "" {
		return nil, fmt.Errorf("ENTITY_TYPE names the directory the values come from")
	}
	return Text{TypeName: "crm_status", MaxLen: 50, Directory: dir}, nil
}

func init() {
	register(stringKind{})
	register(crmStatusKind{})
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
