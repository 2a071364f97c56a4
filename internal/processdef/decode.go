package processdef

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"gopkg.in/yaml.v3"
)

// Reading YAML strictly: a key the format does not have, a value of the wrong kind or
// a key given twice is a problem at its line and column, and reading goes on, so every
// problem of a file is listed at once. Aliases are followed, but each node read counts
// against a budget: a file whose anchors expand to gigabytes (a "YAML bomb") stops at
// the budget with an error, having used little memory, because the yaml package keeps
// an alias as a pointer to its anchor until we read it.

// Limits of one file: a process file is written by people.
const (
	MaxFileSize = 4 << 20
	// maxNodes bounds the nodes read, aliases counted each time they are followed.
	maxNodes = 200_000
	// maxDepth bounds nesting (robot params are free-form).
	maxDepth = 64
)

type decoder struct {
	ps     *problems
	budget int
	over   bool
}

var posType = reflect.TypeOf(pos{})

func nodePos(n *yaml.Node) pos { return pos{line: n.Line, col: n.Column} }

// spend takes one node from the budget and reports whether reading may go on.
func (d *decoder) spend(n *yaml.Node) bool {
	if d.over {
		return false
	}
	d.budget--
	if d.budget < 0 {
		d.over = true
		d.ps.add(nodePos(n), "", "the file expands to more than %d values (aliases of aliases?): refused", maxNodes)
		return false
	}
	return true
}

// resolve follows aliases.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < maxDepth; i++ {
		n = n.Alias
	}
	return n
}

// decode reads node n into v (a pointer's element), naming path in problems.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, depth int) {
	if !d.spend(n) {
		return
	}
	if depth > maxDepth {
		d.ps.add(nodePos(n), path, "nested deeper than %d levels", maxDepth)
		return
	}
	at := nodePos(n)
	n = d.resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // left at its zero value
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path, depth)
	case reflect.Struct:
		d.decodeStruct(n, v, path, depth, at)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.ps.add(at, path, "a list is expected here")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i), depth+1)
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.ps.add(at, path, "a mapping (key: value) is expected here")
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := d.resolve(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				d.ps.add(nodePos(n.Content[i]), path, "a key must be plain text")
				continue
			}
			if seen[k.Value] {
				d.ps.add(nodePos(k), path, "the key %q is given twice", k.Value)
				continue
			}
			seen[k.Value] = true
			e := reflect.New(v.Type().Elem()).Elem()
			d.decode(n.Content[i+1], e, joinPath(path, k.Value), depth+1)
			m.SetMapIndex(reflect.ValueOf(k.Value), e)
		}
		v.Set(m)
	case reflect.Interface:
		if x, ok := d.plain(n, path, depth); ok && x != nil {
			v.Set(reflect.ValueOf(x))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.ps.add(at, path, "text is expected here")
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil || n.Tag != "!!bool" {
			d.ps.add(at, path, "true or false is expected here, not %q", n.Value)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 10, 64)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
			d.ps.add(at, path, "a whole number is expected here, not %q", n.Value)
			return
		}
		v.SetInt(i)
	default:
		d.ps.add(at, path, "cannot read a value here")
	}
}

// decodeStruct reads a mapping into a struct by its yaml tags; unknown keys are
// problems that name the keys the place has.
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, depth int, at pos) {
	if n.Kind != yaml.MappingNode {
		d.ps.add(at, path, "a mapping (key: value) is expected here")
		return
	}
	t := v.Type()
	fields := map[string]int{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type == posType {
			// The position is unexported (not part of the format): set through its address.
			fv := v.Field(i)
			reflect.NewAt(posType, unsafe.Pointer(fv.UnsafeAddr())).Elem().Set(reflect.ValueOf(at))
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || !f.IsExported() {
			continue
		}
		fields[name] = i
		names = append(names, name)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := d.resolve(n.Content[i])
		idx, ok := fields[k.Value]
		switch {
		case k.Kind != yaml.ScalarNode:
			d.ps.add(nodePos(n.Content[i]), path, "a key must be plain text")
		case !ok:
			sort.Strings(names)
			d.ps.add(nodePos(k), path, "unknown key %q (%s has %s)", k.Value, placeName(path), strings.Join(names, ", "))
		case seen[k.Value]:
			d.ps.add(nodePos(k), path, "the key %q is given twice", k.Value)
		default:
			seen[k.Value] = true
			d.decode(n.Content[i+1], v.Field(idx), joinPath(path, k.Value), depth+1)
		}
	}
}

// plain reads a free-form value (robot params, field settings) as JSON would hold it:
// map[string]any, []any, string, float64 or int64, bool, nil.
func (d *decoder) plain(n *yaml.Node, path string, depth int) (any, bool) {
	n = d.resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := d.resolve(n.Content[i])
			if !d.spend(k) {
				return nil, false
			}
			if k.Kind != yaml.ScalarNode {
				d.ps.add(nodePos(k), path, "a key must be plain text")
				continue
			}
			if _, dup := m[k.Value]; dup {
				d.ps.add(nodePos(k), path, "the key %q is given twice", k.Value)
				continue
			}
			if depth > maxDepth {
				d.ps.add(nodePos(k), path, "nested deeper than %d levels", maxDepth)
				return nil, false
			}
			x, ok := d.plain(n.Content[i+1], joinPath(path, k.Value), depth+1)
			if !ok {
				return nil, false
			}
			m[k.Value] = x
		}
		return m, true
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			if !d.spend(c) {
				return nil, false
			}
			if depth > maxDepth {
				d.ps.add(nodePos(c), path, "nested deeper than %d levels", maxDepth)
				return nil, false
			}
			x, ok := d.plain(c, fmt.Sprintf("%s[%d]", path, i), depth+1)
			if !ok {
				return nil, false
			}
			list = append(list, x)
		}
		return list, true
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil, true
		case "!!bool":
			var b bool
			_ = n.Decode(&b)
			return b, true
		case "!!int":
			if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
				return i, true
			}
		case "!!float":
			var f float64
			if n.Decode(&f) == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f, true
			}
			d.ps.add(nodePos(n), path, "%q is not a number JSON can hold", n.Value)
			return nil, true
		}
		return n.Value, true
	}
	d.ps.add(nodePos(n), path, "cannot read a value here")
	return nil, true
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// placeName names the place of a path for the unknown-key message.
func placeName(path string) string {
	if path == "" {
		return "the file"
	}
	return path
}
