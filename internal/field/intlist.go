package field

// IntList is a multiple field of ids (observers, contacts). It is stored as a JSON
// array; filters ask whether the list holds a value.
type IntList struct {
	TypeName string // type of one element in descriptions: "user", "crm_contact"
}

// Name implements Type.
func (t IntList) Name() string { return t.TypeName }

// Storage implements Type.
func (IntList) Storage() Storage { return StorageJSON }

// Parse implements Type. An empty value is the empty list, never nil, so the wire shows
// `[]`. A scalar is refused: a multiple field wants a list (spec §4.5, error 100).
func (t IntList) Parse(v any) (any, error) {
	if isEmpty(v) {
		return []int64{}, nil
	}
	vals, ok := Elements(v)
	if !ok {
		return nil, ErrNotIterable
	}
	out := make([]int64, 0, len(vals))
	seen := map[int64]bool{}
	for _, e := range vals {
		if isEmpty(e) {
			continue
		}
		i, ok := AsInt(e)
		if !ok || i <= 0 {
			return nil, invalid("%v is not a valid id", e)
		}
		if !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	return out, nil
}

// ParseElement reads one element, for filters that ask "does the list hold X".
func (t IntList) ParseElement(v any) (any, error) { return Integer{Positive: true}.Parse(v) }

// Format implements Type.
func (IntList) Format(v any) any {
	if v == nil {
		return []int64{}
	}
	return v
}

// Ops implements Type.
func (IntList) Ops() []Op { return []Op{OpEq, OpNotEq, OpIn, OpNotIn} }

// FromStorage implements FromStorage.
func (t IntList) FromStorage(v any) (any, error) { return t.Parse(v) }

// Refs implements Referrer: lists of user ids (observers) name active users.
func (t IntList) Refs(v any) []Ref {
	ids, _ := v.([]int64)
	if t.TypeName != "user" {
		return nil
	}
	out := make([]Ref, len(ids))
	for i, id := range ids {
		out[i] = Ref{Kind: RefUser, ID: id}
	}
	return out
}
