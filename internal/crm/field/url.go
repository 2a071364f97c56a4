package field

import (
	"net/url"
	"strings"
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
