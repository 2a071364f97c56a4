package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
)

// MaxBatchCommands is Bitrix24's limit on commands in one batch.
const MaxBatchCommands = 50

// Limits on the text `$result[…]` references insert. A reference is replaced by the
// whole referenced value, so a short command can ask for gigabytes: 8 commands of 3,000
// references to a 50-item list took 4.4 GB and 26 s. The bytes a command's references
// would insert are counted before any of them is substituted, and a command over either
// limit fails alone (in result_error; later commands run unless halt).
const (
	MaxReferenceBytesPerCommand = 4 << 20
	MaxReferenceBytesPerBatch   = 16 << 20
)

// errReferencesTooLarge is the result_error of a command whose references exceed a limit.
func errReferencesTooLarge(what string, limit int) *APIError {
	return apiErr(http.StatusBadRequest, "ERROR_BATCH_REFERENCES_TOO_LARGE",
		fmt.Sprintf("$result references would insert more than %d bytes into %s", limit, what))
}

// BatchCommand is one parsed command of a batch.
type BatchCommand struct {
	Key    string
	Method string // lower-case
	Params *params.Object
}

// ParseBatch reads the `cmd` and `halt` parameters. cmd is an object keyed by command
// name or a list; each command is "method?query" in URL query syntax.
func ParseBatch(p *params.Object) (cmds []BatchCommand, halt bool, err error) {
	raw, ok := params.Lookup(p, "cmd")
	if !ok || raw == nil || raw == "" {
		return nil, false, missingParam("cmd")
	}
	keys, vals, ok := params.Entries(raw)
	if !ok {
		return nil, false, wrongParamType("cmd", "array")
	}
	if len(keys) > MaxBatchCommands {
		return nil, false, errBatchLength
	}
	if h, ok := params.Lookup(p, "halt"); ok {
		halt, _ = params.Bool(h)
	}
	for i, key := range keys {
		s, ok := vals[i].(string)
		if !ok {
			return nil, false, apiErr(400, 100, fmt.Sprintf("batch command %q must be a string", key))
		}
		method, query, _ := strings.Cut(s, "?")
		method = strings.ToLower(strings.Trim(strings.TrimSpace(method), "/"))
		method = strings.TrimSuffix(method, ".json")
		cp := params.NewObject()
		if err := params.ParseQuery(cp, query); err != nil {
			return nil, false, apiErr(400, 100, fmt.Sprintf("batch command %q: %v", key, err))
		}
		cmds = append(cmds, BatchCommand{Key: key, Method: method, Params: cp})
	}
	return cmds, halt, nil
}

// batch runs commands one after another through the same dispatcher as single calls.
// It always answers 200; failures go to result_error.
func (s *Server) batch(c *Call) (*Result, error) {
	if c.InBatch {
		return nil, errBatchMethod
	}
	cmds, halt, err := ParseBatch(c.Params)
	if err != nil {
		return nil, err
	}
	var results, errs, totals, nexts, times phpArray
	done := map[string]*doneResult{} // command key → its result, for $result[…]
	refs := newReferences(done)
	for _, cmd := range cmds {
		started := time.Now()
		call := &Call{Ctx: c.Ctx, Actor: c.Actor, Params: cmd.Params, Method: cmd.Method, InBatch: true}
		var res *Result
		var apiError *APIError
		m, ok := s.methods[cmd.Method]
		switch {
		case !ok:
			apiError = errMethodNotFound
		case m.noBatch:
			apiError = errBatchMethod
		default:
			if apiError = refs.resolve(cmd.Key, cmd.Params); apiError != nil {
				break
			}
			var err error
			if res, err = s.invoke(m, call); err != nil {
				apiError = s.toAPIError(m.family, call, err)
			}
		}
		if apiError != nil {
			errs.add(cmd.Key, apiError.envelope())
			if halt {
				break
			}
			continue
		}
		results.add(cmd.Key, res.Result)
		times.add(cmd.Key, timing(started))
		if res.Total != nil {
			totals.add(cmd.Key, *res.Total)
		}
		if res.Next != nil {
			nexts.add(cmd.Key, *res.Next)
		}
		done[cmd.Key] = &doneResult{value: res.Result}
	}
	return &Result{Result: jsonx.Map{
		{K: "result", V: results}, {K: "result_error", V: errs}, {K: "result_total", V: totals},
		{K: "result_next", V: nexts}, {K: "result_time", V: times},
	}}, nil
}

// phpArray is a keyed result map written the way PHP writes an array: a JSON list when
// its keys are 0…n-1 in order (cmd sent as a list), an object otherwise, `[]` when empty.
type phpArray struct {
	keys []string
	vals []any
}

func (a *phpArray) add(k string, v any) { a.keys = append(a.keys, k); a.vals = append(a.vals, v) }

// MarshalJSON implements json.Marshaler.
func (a phpArray) MarshalJSON() ([]byte, error) {
	sequential := true
	for i, k := range a.keys {
		if k != strconv.Itoa(i) {
			sequential = false
			break
		}
	}
	if sequential {
		if a.vals == nil {
			return []byte("[]"), nil
		}
		return jsonx.Append(nil, a.vals)
	}
	obj := make(jsonx.Map, len(a.keys))
	for i, k := range a.keys {
		obj[i] = jsonx.KV{K: k, V: a.vals[i]}
	}
	return jsonx.Append(nil, obj)
}

// doneResult is an earlier command's result. Its generic tree, which references
// navigate, is built only when a reference asks for it: most batches have none.
type doneResult struct {
	value any
	tree  any
	built bool
}

func (d *doneResult) get() any {
	if !d.built {
		d.tree, d.built = treeOf(d.value), true
	}
	return d.tree
}

// treeOf turns a handler result into the generic tree references navigate.
func treeOf(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	root := params.NewObject()
	if err := params.ParseJSON(root, []byte(`{"v":`+string(b)+`}`)); err != nil {
		return nil
	}
	out, _ := root.Get("v")
	return out
}

var referencePattern = regexp.MustCompile(`\$result\[([^\[\]]*)\]((?:\[[^\[\]]*\])*)`)

// references resolves `$result[cmd][path…]` in the commands of one batch: in every
// parameter value, a value that is exactly one reference takes the referenced value
// itself; a reference inside longer text is replaced by the value's text (JSON for a
// container). References to commands that did not run, or paths that do not exist,
// stay as written, so the command fails on a visible value instead of an invented one.
type references struct {
	done map[string]*doneResult
	// found caches resolved references by their text, with the text they insert, so a
	// reference repeated thousands of times is looked up and rendered once. Only found
	// ones are kept: a command that has not run yet may run before the next lookup.
	found map[string]reference
	// inserted is what the batch's references have inserted so far, in bytes.
	inserted int
}

type reference struct {
	value any
	text  string // the value as inserted into longer text; its length is its cost
}

func newReferences(done map[string]*doneResult) *references {
	return &references{done: done, found: map[string]reference{}}
}

func (r *references) lookup(ref string) (reference, bool) {
	if found, ok := r.found[ref]; ok {
		return found, true
	}
	v, ok := lookupReference(ref, r.done)
	if !ok {
		return reference{}, false
	}
	text, isScalar := params.String(v)
	if !isScalar {
		b, _ := json.Marshal(v)
		text = string(b)
	}
	found := reference{value: v, text: text}
	r.found[ref] = found
	return found, true
}

// resolve substitutes the references in p, the parameters of command key, after
// checking what they insert against the limits; over a limit it changes nothing.
// A value that is exactly one reference counts its value's text too: it shares the
// value rather than copying it, but handlers may write it out (into a field, an
// event), and a limit that only some spellings are subject to would be no limit.
func (r *references) resolve(key string, p *params.Object) *APIError {
	if len(r.done) == 0 {
		return nil
	}
	// First count, with a running total that stops at the first limit it passes; each
	// distinct reference is rendered once, so counting costs at most the referenced
	// values themselves, never their repetitions.
	size, over := 0, false
	var count func(v any)
	count = func(v any) {
		switch t := v.(type) {
		case *params.Object:
			for _, k := range t.Keys() {
				child, _ := t.Get(k)
				if count(child); over {
					return
				}
			}
		case []any:
			for _, e := range t {
				if count(e); over {
					return
				}
			}
		case string:
			for rest := t; !over; {
				loc := referencePattern.FindStringIndex(rest)
				if loc == nil {
					return
				}
				if found, ok := r.lookup(rest[loc[0]:loc[1]]); ok {
					size += len(found.text)
					over = size > MaxReferenceBytesPerCommand || r.inserted+size > MaxReferenceBytesPerBatch
				}
				rest = rest[loc[1]:]
			}
		}
	}
	count(p)
	if over {
		if size > MaxReferenceBytesPerCommand {
			return errReferencesTooLarge(fmt.Sprintf("command %q", key), MaxReferenceBytesPerCommand)
		}
		return errReferencesTooLarge(fmt.Sprintf("this batch (command %q)", key), MaxReferenceBytesPerBatch)
	}
	r.inserted += size

	var walk func(v any) any
	walk = func(v any) any {
		switch t := v.(type) {
		case *params.Object:
			for _, k := range t.Keys() {
				child, _ := t.Get(k)
				t.Set(k, walk(child))
			}
			return t
		case []any:
			for i := range t {
				t[i] = walk(t[i])
			}
			return t
		case string:
			if !strings.Contains(t, "$result[") {
				return t
			}
			if m := referencePattern.FindStringIndex(t); m != nil && m[0] == 0 && m[1] == len(t) {
				if found, ok := r.lookup(t); ok {
					return found.value
				}
				return t
			}
			return referencePattern.ReplaceAllStringFunc(t, func(ref string) string {
				if found, ok := r.lookup(ref); ok {
					return found.text
				}
				return ref
			})
		}
		return v
	}
	walk(p)
	return nil
}

func lookupReference(ref string, done map[string]*doneResult) (any, bool) {
	m := referencePattern.FindStringSubmatch(ref)
	if m == nil {
		return nil, false
	}
	d, ok := done[m[1]]
	if !ok {
		return nil, false
	}
	cur := d.get()
	path := m[2]
	for path != "" {
		end := strings.IndexByte(path, ']')
		seg := path[1:end]
		path = path[end+1:]
		keys, vals, isContainer := params.Entries(cur)
		if !isContainer {
			return nil, false
		}
		found := false
		for i, k := range keys {
			if k == seg {
				cur, found = vals[i], true
				break
			}
		}
		if !found {
			return nil, false
		}
	}
	return cur, true
}
