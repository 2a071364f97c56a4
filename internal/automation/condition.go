package automation

import (
	"fmt"
	"strconv"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"smartcrm/internal/crm"
	"smartcrm/internal/field"
)

// Conditions are expr-lang expressions over an item's fields by their names:
// `ufCrm5Amount > 10000 && assignedById == 3`. They are compiled when the document is
// saved, against the type's fields with the types they hold, so a misspelt field or a
// comparison of a date with a number is refused then, not at the first run.

// exprValue is a field's value as conditions see it: numbers as int or float64, texts as
// string, yes/no fields as bool, dates as time.Time, lists as []any. An empty value is
// its kind's zero, so `amount > 10` is false for an item without an amount instead of an
// error.
func exprValue(f *crm.Field, v any) any {
	switch t := f.Type.(type) {
	case field.Boolean:
		i, _ := v.(int64)
		return i == 1
	case field.Double:
		x, _ := v.(float64)
		return x
	case field.Integer, field.Enumeration, field.File:
		i, _ := v.(int64)
		return int(i)
	case field.Date, field.DateTime:
		tm, _ := v.(time.Time)
		return tm
	case field.IntList:
		ids, _ := v.([]int64)
		out := make([]any, len(ids))
		for i, id := range ids {
			out[i] = int(id)
		}
		return out
	case field.Multiple:
		list, _ := v.([]any)
		out := make([]any, len(list))
		for i, e := range list {
			out[i] = exprValue(&crm.Field{Type: t.Elem}, e)
		}
		return out
	case field.Multifield:
		list, _ := v.([]field.MultiValue)
		out := make([]any, len(list))
		for i, e := range list {
			out[i] = e.Value
		}
		return out
	}
	s, _ := v.(string)
	return s
}

// envOf is the variables of a condition evaluated on an item.
func envOf(t *crm.Type, it *crm.Item) map[string]any {
	env := make(map[string]any, len(t.Fields()))
	for _, f := range t.Fields() {
		var v any
		switch f.Name {
		case crm.FieldID:
			v = it.ID
		case crm.FieldEntityTypeID:
			v = t.EntityTypeID
		default:
			v = it.Get(f.Name)
		}
		env[string(f.Name)] = exprValue(f, v)
	}
	return env
}

// sampleEnv has every field of the type with a value of the kind it holds, for
// compiling conditions.
func sampleEnv(t *crm.Type) map[string]any {
	return envOf(t, &crm.Item{})
}

// compileCondition checks a condition against the type's fields.
func compileCondition(t *crm.Type, src string) (*vm.Program, error) {
	return expr.Compile(src, expr.Env(sampleEnv(t)), expr.AsBool())
}

// holds evaluates a condition on an item; an empty condition holds.
func holds(t *crm.Type, it *crm.Item, src string) (bool, error) {
	if src == "" {
		return true, nil
	}
	prog, err := compileCondition(t, src)
	if err != nil {
		return false, err
	}
	out, err := expr.Run(prog, envOf(t, it))
	if err != nil {
		return false, fmt.Errorf("condition %q: %w", src, err)
	}
	b, _ := out.(bool)
	return b, nil
}

// parseDuration reads the delays robots take: 90s, 15m, 2h, 3d (and combinations Go
// reads, such as 1h30m); a leading minus goes back in time (-1d).
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("a duration is empty")
	}
	neg := s[0] == '-'
	if neg || s[0] == '+' {
		s = s[1:]
	}
	var d time.Duration
	if days, ok := cutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 3660 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d < 0 {
			return 0, fmt.Errorf("%q is not a duration such as 90s, 15m, 2h or 3d", s)
		}
	}
	if d > 3660*24*time.Hour {
		return 0, fmt.Errorf("%q is longer than ten years", s)
	}
	if neg {
		d = -d
	}
	return d, nil
}

func cutSuffix(s, suffix string) (string, bool) {
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)], true
	}
	return s, false
}
