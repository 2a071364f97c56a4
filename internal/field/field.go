// Package field holds the value types of CRM fields, one file per type. Each type knows
// how to read a plain value (values.go: text, numbers, lists and objects, whoever sent
// them), how it is stored, how it is formatted for an answer, which filter operators
// make sense for it and what its values point at (refs.go); a custom-field kind keeps
// its settings struct, defaults and how it builds its type in the same file (kind.go is
// the registry). The domain, the filter parsers and the storage layer all ask the type
// instead of switching on names.
package field

import (
	"errors"
	"fmt"
)

// Storage is how a value lives in a column. The storage package maps it to a column
// type per database and converts values both ways.
type Storage int

// Storage kinds.
const (
	StorageInt   Storage = iota + 1 // int64
	StorageFloat                    // float64
	StorageText                     // string
	StorageTime                     // time.Time, a moment
	StorageDate                     // time.Time at local midnight, a calendar day
	StorageJSON                     // multiple values, as a JSON array
)

// Op is a filter operator, spelled as the prefix Bitrix24 clients put before a key.
type Op string

// Filter operators of crm.item.list (spec §4.8).
const (
	OpEq           Op = "="
	OpNotEq        Op = "!="
	OpGt           Op = ">"
	OpGte          Op = ">="
	OpLt           Op = "<"
	OpLte          Op = "<="
	OpIn           Op = "@"
	OpNotIn        Op = "!@"
	OpContains     Op = "%"   // substring anywhere
	OpLike         Op = "=%"  // caller supplies the wildcards
	OpNotContains  Op = "!%"  // not a substring
	OpNotLike      Op = "!=%" // not matching the caller's pattern
	OpContainsAny  Op = "has" // internal: a multiple field holds one of the values
	OpContainsNone Op = "hasnot"
)

// Ordering and equality operators every scalar type supports.
var scalarOps = []Op{OpEq, OpNotEq, OpGt, OpGte, OpLt, OpLte, OpIn, OpNotIn}

// Text types add the pattern operators.
var textOps = append(append([]Op{}, scalarOps...), OpContains, OpLike, OpNotContains, OpNotLike)

// Type is a field value type.
type Type interface {
	// Name is the type as crm.item.fields spells it: integer, string, user, crm_status…
	Name() string
	Storage() Storage
	// Parse reads a wire value into its canonical Go form (int64, float64, string,
	// time.Time, []int64). An empty value ("" or null) parses to nil.
	Parse(v any) (any, error)
	// Format turns a canonical value into its wire form.
	Format(v any) any
	// Ops lists the filter operators that make sense for the type.
	Ops() []Op
}

// ErrInvalid is returned (wrapped) by Parse for a value the type cannot hold.
var ErrInvalid = errors.New("invalid value")

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// Allows reports whether t supports op.
func Allows(t Type, op Op) bool {
	for _, o := range t.Ops() {
		if o == op {
			return true
		}
	}
	return false
}

// isEmpty reports the empty spellings shared by every type.
func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	}
	return false
}

// ErrNotIterable is returned when a multiple field gets a scalar.
var ErrNotIterable = errors.New("expected iterable value for multiple field")

// ElementParser is implemented by multiple-value types whose filters compare single
// elements.
type ElementParser interface {
	ParseElement(v any) (any, error)
}

// FromStorage is implemented by types whose stored form differs from their canonical
// one: multiple values come back from storage as a generic JSON list.
type FromStorage interface {
	FromStorage(v any) (any, error)
}
