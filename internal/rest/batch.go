package rest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
)

// MaxBatchCommands is Bitrix24's limit on commands in one batch.
const MaxBatchCommands = 50

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
	for _, cmd := range cmds {
		started := time.Now()
		resolveReferences(cmd.Params, done)
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
			var err error
			if res, err = s.invoke(m, call); err != nil {
				apiError = s.toAPIError(m.family, call, err)
			}
		}
		if apiError != nil {
			errs.add(cmd.Key, jsonx.Map{{K: "error", V: apiError.Code}, {K: "error_description", V: apiError.Desc}})
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

// resolveReferences replaces `$result[cmd][path…]` in every value of p with the value
// found in an earlier command's result. A value that is exactly one reference takes the
// referenced value itself; a reference inside longer text is replaced by its text.
// References to commands that did not run, or paths that do not exist, stay as written,
// so the command fails on a visible value instead of an invented one.
func resolveReferences(p *params.Object, done map[string]*doneResult) {
	if len(done) == 0 {
		return
	}
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
			if m := referencePattern.FindStringSubmatchIndex(t); m != nil && m[0] == 0 && m[1] == len(t) {
				if val, ok := lookupReference(t, done); ok {
					return val
				}
				return t
			}
			return referencePattern.ReplaceAllStringFunc(t, func(ref string) string {
				val, ok := lookupReference(ref, done)
				if !ok {
					return ref
				}
				s, ok := params.String(val)
				if !ok {
					b, _ := json.Marshal(val)
					return string(b)
				}
				return s
			})
		}
		return v
	}
	walk(p)
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
