package field

import (
	"encoding/base64"
	"path"
	"strings"
	"time"

	"smartcrm/internal/jsonx"
)

// FileInput is what a client sends for a file field, before the domain resolves it
// against the stored value: an upload, or {id} to keep a file the field already holds.
type FileInput struct {
	Keep int64  // {id: N}
	Name string // upload: the client's file name (kept for downloads, never a path)
	Data []byte // upload: the bytes, until they are written
	Hash string // upload: the bytes' hash once written
	Size int64  // upload: the number of bytes
}

// File is a file field: a value is the id of an uploaded file, read back as
// {id, url, urlMachine} with a signed, expiring link.
type File struct {
	MaxSize    int64           // bytes; 0 = no limit of its own
	Extensions map[string]bool // lower-case, without the dot; empty = any
	// Link makes the download link of a file (set by the domain, which signs links).
	Link func(id int64) string
}

// Name implements Type.
func (File) Name() string { return "file" }

// Storage implements Type.
func (File) Storage() Storage { return StorageInt }

// AcceptsList marks a type whose single value is itself a list ([name, base64]).
func (File) AcceptsList() bool { return true }

// Parse implements Type: "" clears, {id} keeps, [name, base64] uploads. Size and
// extension limits are checked here, before anything is written.
func (t File) Parse(v any) (any, error) {
	if isEmpty(v) {
		return nil, nil
	}
	if id, ok := v.(int64); ok { // a stored value read back
		return id, nil
	}
	if o, ok := v.(map[string]any); ok {
		raw, _ := Lookup(o, "id")
		id, ok := AsInt(raw)
		if !ok || id <= 0 {
			return nil, invalid("{id} must name a file")
		}
		return &FileInput{Keep: id}, nil
	}
	if n, ok := AsInt(v); ok && n > 0 {
		return n, nil // stored ids come back as numbers from JSON storage
	}
	pair, ok := Elements(v)
	if !ok || len(pair) != 2 {
		return nil, invalid(`a file is sent as ["name.ext", "<base64>"]`)
	}
	name, _ := pair[0].(string)
	content, _ := pair[1].(string)
	name = path.Base(strings.ReplaceAll(strings.TrimSpace(name), `\`, "/"))
	if name == "" || name == "." || name == "/" || len(name) > 255 {
		return nil, invalid("the file needs a name")
	}
	if len(t.Extensions) > 0 {
		ext := strings.ToLower(strings.TrimPrefix(path.Ext(name), "."))
		if !t.Extensions[ext] {
			return nil, invalid("files of type %q are not allowed here", ext)
		}
	}
	if t.MaxSize > 0 && int64(base64.StdEncoding.DecodedLen(len(content))) > t.MaxSize+3 {
		return nil, invalid("the file is larger than %d bytes", t.MaxSize)
	}
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(content))
	if err != nil {
		return nil, invalid("the file content is not valid base64")
	}
	if t.MaxSize > 0 && int64(len(data)) > t.MaxSize {
		return nil, invalid("the file is larger than %d bytes", t.MaxSize)
	}
	return &FileInput{Name: name, Data: data}, nil
}

// FromStorage implements FromStorage.
func (t File) FromStorage(v any) (any, error) { return t.Parse(v) }

// Format implements Type.
func (t File) Format(v any) any {
	id, ok := v.(int64)
	if !ok {
		return nil
	}
	link := ""
	if t.Link != nil {
		link = t.Link(id)
	}
	return jsonx.Map{{K: "id", V: id}, {K: "url", V: link}, {K: "urlMachine", V: link}}
}

// Ops implements Type: files are not filtered by content; emptiness only.
func (File) Ops() []Op { return []Op{OpEq, OpNotEq} }

// FileSettings are the settings of a file custom field.
type FileSettings struct {
	Size           int      `setting:"SIZE"`
	ListWidth      int      `setting:"LIST_WIDTH"`
	ListHeight     int      `setting:"LIST_HEIGHT"`
	MaxShowSize    int      `setting:"MAX_SHOW_SIZE"`
	MaxAllowedSize int      `setting:"MAX_ALLOWED_SIZE"`
	Extensions     []string `setting:"EXTENSIONS" wire:"string"`
	TargetBlank    YN       `setting:"TARGET_BLANK"`
}

// DefaultValue implements Settings.
func (FileSettings) DefaultValue(time.Time) any { return nil }

type fileKind struct{}

func (fileKind) ID() string          { return "file" }
func (fileKind) Description() string { return "File" }
func (fileKind) NewSettings() Settings {
	return FileSettings{Size: 20, Extensions: []string{}, TargetBlank: "Y"}
}

// Build implements Kind: MAX_ALLOWED_SIZE in bytes (0: no limit of its own) and the
// allowed EXTENSIONS (none: any), compared without the dot and letter case.
func (fileKind) Build(s Settings, _ []EnumItem) (Type, error) {
	st := s.(FileSettings)
	t := File{MaxSize: int64(st.MaxAllowedSize), Extensions: map[string]bool{}}
	for _, e := range st.Extensions {
		if e != "" {
			t.Extensions[strings.ToLower(strings.TrimPrefix(e, "."))] = true
		}
	}
	return t, nil
}

func init() { register(fileKind{}) }
