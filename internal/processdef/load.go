package processdef

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Load reads a process file and checks it on its own (what needs a server — field
// types of existing fields, conditions against the fields, codes of other servers'
// processes — is checked by Plan). name is what problems call the file. Every problem
// is listed at once, with its line and column; memory stays bounded whatever the
// input (see decode.go).
func Load(name string, data []byte) (*File, error) {
	f, ps := load(name, data)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return f, nil
}

// load is Load that hands back what it read with its problems: Plan goes on checking
// against the server, to list those problems too. The file is nil when it could not
// be read at all.
func load(name string, data []byte) (*File, *problems) {
	ps := &problems{file: name}
	if len(data) > MaxFileSize {
		ps.add(pos{}, "", "the file has %d bytes; a process file has at most %d", len(data), MaxFileSize)
		return nil, ps
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			ps.add(pos{}, "", "the file is empty")
		} else {
			ps.add(syntaxPos(err), "", "%s", syntaxMessage(err))
		}
		return nil, ps
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		ps.add(nodePos(&extra), "", "a process file holds one YAML document; put every process under processes")
	}
	f := &File{}
	d := &decoder{ps: ps, budget: maxNodes}
	if len(doc.Content) > 0 {
		d.decode(doc.Content[0], reflect.ValueOf(f).Elem(), "", 0)
	}
	if d.over {
		return nil, ps
	}
	check(f, ps)
	return f, ps
}

var yamlLine = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)

func syntaxPos(err error) pos {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return pos{line: n, col: 1}
	}
	return pos{}
}

func syntaxMessage(err error) string {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		return "not YAML: " + m[2]
	}
	return fmt.Sprintf("not YAML: %v", err)
}

// Encode writes a file as YAML, two spaces a level.
func Encode(f *File) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
