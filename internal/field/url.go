package field

import (
	"net/url"
	"strings"
	"time"
)

// URL is a link. Only absolute web and mail links are taken: a CRM shows them as
// clickable, and a javascript: link there would run in every viewer's browser.
type URL struct{ Text Text }

// Name implements Type.
func (URL) Name() string { return "url" }

// Storage implements Type.
func (URL) Storage() Storage { return StorageText }

// Parse implements Type.
func (t URL) Parse(v any) (any, error) {
	s, err := t.Text.Parse(v)
	if s == nil || err != nil {
		return s, err
	}
	u, err := url.Parse(strings.TrimSpace(s.(string)))
	if err != nil || u.Host == "" && u.Scheme != "mailto" {
		return nil, invalid("%q is not an absolute link", s)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "ftp", "mailto":
	default:
		return nil, invalid("links must be http, https, ftp or mailto")
	}
	return u.String(), nil
}

// Format implements Type.
func (URL) Format(v any) any { return v }

// Ops implements Type.
func (URL) Ops() []Op { return textOps }

// URLSettings are the settings of a link custom field.
type URLSettings struct {
	Popup     YN     `setting:"POPUP"`
	Size      int    `setting:"SIZE"`
	MinLength int    `setting:"MIN_LENGTH"`
	MaxLength int    `setting:"MAX_LENGTH"`
	Default   string `setting:"DEFAULT_VALUE"`
	Rows      int    `setting:"ROWS"`
}

// DefaultValue implements Settings.
func (s URLSettings) DefaultValue(time.Time) any { return nilIfEmpty(s.Default) }

type urlKind struct{}

func (urlKind) ID() string            { return "url" }
func (urlKind) Description() string   { return "Link" }
func (urlKind) NewSettings() Settings { return URLSettings{Popup: "Y", Size: 20, Rows: 1} }
func (urlKind) Build(Settings, []EnumItem) (Type, error) {
	return URL{Text: Text{MaxLen: 2048}}, nil
}

func init() { register(urlKind{}) }
