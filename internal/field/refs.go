package field

// Values that point at something else — a user, a CRM item, a directory code — must
// point at something that exists. A type says what its values point at; the domain,
// which can look, checks each reference inside the transaction that writes the value.

// RefKind is what a reference points at.
type RefKind int

// Reference kinds.
const (
	RefUser      RefKind = iota + 1 // an active user: ID
	RefItem                         // a CRM item: EntityTypeID, ID
	RefDirectory                    // a code of a directory: Directory, Code
)

// Ref is one reference a value makes.
type Ref struct {
	Kind         RefKind
	EntityTypeID int64
	ID           int64
	Directory    string
	Code         string
}

// Referrer is implemented by types whose values point at something.
type Referrer interface {
	Refs(v any) []Ref
}

// RefsOf lists what a canonical value of type t points at.
func RefsOf(t Type, v any) []Ref {
	if v == nil {
		return nil
	}
	if m, ok := t.(Multiple); ok {
		list, _ := v.([]any)
		var out []Ref
		for _, e := range list {
			out = append(out, RefsOf(m.Elem, e)...)
		}
		return out
	}
	if r, ok := t.(Referrer); ok {
		return r.Refs(v)
	}
	return nil
}
