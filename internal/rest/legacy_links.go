package rest

import (
	"net/http"
	"slices"
	"sort"

	"smartcrm/internal/crm"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/linklists"
	"smartcrm/internal/params"
)

// crm.deal.contact.*, crm.lead.contact.*, crm.contact.company.*, crm.company.contact.* —
// the client links of the classic API as bindings {CONTACT_ID, SORT, ROLE_ID,
// IS_PRIMARY}. A deal's or lead's contacts and a contact's companies are the item's
// ordered link list (contactIds, companyIds): its order is the bindings' order, the
// first binding the primary one, and SORT is that position ((i+1)·10) — a SORT a caller
// sends orders the bindings and is not kept as a number. A company's contacts are the
// contacts whose companyIds hold it: they are listed by contact id, and IS_PRIMARY says
// whether the company is that contact's primary company.
//
// Every change goes through the item write path (linklists.Edit), so timelines, history
// and the outbox follow; the changes of one call run in one unit. Errors have the legacy
// family's empty code.

// linkFamily is one family of binding methods.
type linkFamily struct {
	prefix string        // crm.deal.contact
	owner  int64         // the item whose bindings these are (a deal)
	member int64         // the type of the bound items (contacts)
	key    string        // the bound item's key in a binding: CONTACT_ID
	list   crm.FieldName // the link list: on the owner, or on the members when reverse
	// reverse: the list is on the members (a company's contacts: each contact's
	// companyIds holds the company).
	reverse bool
	// itemsAdd registers prefix.items.add as another name of prefix.add.
	itemsAdd bool
}

var linkFamilies = []linkFamily{
	{prefix: "crm.deal.contact", owner: 2, member: 3, key: "CONTACT_ID", list: crm.FieldContactIDs, itemsAdd: true},
	{prefix: "crm.lead.contact", owner: 1, member: 3, key: "CONTACT_ID", list: crm.FieldContactIDs, itemsAdd: true},
	{prefix: "crm.contact.company", owner: 3, member: 4, key: "COMPANY_ID", list: crm.FieldCompanyIDs},
	{prefix: "crm.company.contact", owner: 4, member: 3, key: "CONTACT_ID", list: crm.FieldCompanyIDs, reverse: true},
}

func (s *Server) registerLegacyLinks() {
	for _, lf := range linkFamilies {
		methods := map[string]handlerFunc{
			lf.prefix + ".items.get":    lf.itemsGet,
			lf.prefix + ".items.set":    lf.itemsSet,
			lf.prefix + ".items.delete": lf.itemsDelete,
			lf.prefix + ".add":          lf.add,
			lf.prefix + ".delete":       lf.delete,
			lf.prefix + ".fields":       lf.fields,
		}
		if lf.itemsAdd {
			methods[lf.prefix+".items.add"] = lf.add
		}
		s.registerFamily(familyLegacy, methods)
	}
}

// binding is one binding a caller sends.
type binding struct {
	id        int64
	sort      int64
	sortGiven bool
	primary   bool
	position  int // in the call's list
}

// ownerID reads `id`, the item whose bindings the call is about.
func ownerID(c *Call) (int64, error) {
	v, _ := lookup(c, "id")
	id, ok := params.Int(v)
	if !ok || id <= 0 {
		return 0, apiErr(http.StatusBadRequest, "", "The parameter ownerEntityID is invalid or not defined.")
	}
	return id, nil
}

// readBinding reads one binding object: the bound item's id (required, positive), SORT
// and IS_PRIMARY. bad words the error.
func (lf linkFamily) readBinding(o *params.Object, bad func(why string) error) (binding, error) {
	var b binding
	v, _ := params.Lookup(o, lf.key)
	id, ok := params.Int(v)
	if !ok || id <= 0 {
		return b, bad(lf.key + " must be a positive id")
	}
	b.id = id
	if v, given := params.Lookup(o, "SORT"); given && v != nil && v != "" {
		n, ok := params.Int(v)
		if !ok {
			return b, bad("SORT must be an integer")
		}
		b.sort, b.sortGiven = n, true
	}
	if v, given := params.Lookup(o, "IS_PRIMARY"); given && v != nil && v != "" {
		p, ok := params.Bool(v)
		if !ok {
			return b, bad("IS_PRIMARY must be Y or N")
		}
		b.primary = p
	}
	return b, nil
}

// readFields reads the one binding of add and delete (`fields`).
func (lf linkFamily) readFields(c *Call) (binding, error) {
	v, _ := lookup(c, "fields")
	if params.IsEmptyContainer(v) {
		v = params.NewObject() // PHP sends an empty map as []: it lacks the id, like {}
	}
	o, isObj := v.(*params.Object)
	if !isObj {
		return binding{}, apiErr(http.StatusBadRequest, "", "The parameter 'fields' must be array.")
	}
	return lf.readBinding(o, func(why string) error {
		return apiErr(http.StatusBadRequest, "", "The parameter 'fields' is not valid: "+why+".")
	})
}

// readItems reads the bindings of items.set (`items`, a list; empty unbinds all).
func (lf linkFamily) readItems(c *Call) ([]binding, error) {
	v, ok := lookup(c, "items")
	if ok && (v == "" || params.IsEmptyContainer(v)) {
		return nil, nil
	}
	keys, vals, isList := params.Entries(v)
	if !ok || !isList || !isPositional(keys) {
		return nil, apiErr(http.StatusBadRequest, "", "The parameter items must be array.")
	}
	out := make([]binding, 0, len(vals))
	for i, e := range vals {
		bad := func(why string) error {
			return apiErr(http.StatusBadRequest, "", "The parameter items is not valid: item "+keys[i]+": "+why+".")
		}
		o, isObj := e.(*params.Object)
		if !isObj {
			return nil, bad("a binding is an object {" + lf.key + ", SORT, IS_PRIMARY}")
		}
		b, err := lf.readBinding(o, bad)
		if err != nil {
			return nil, err
		}
		b.position = i
		out = append(out, b)
	}
	return out, nil
}

// ordered lists the bound ids of items.set in binding order: by SORT (by default
// (i+1)·10, i the binding's position), the first binding with IS_PRIMARY=Y first; a
// repeated id keeps its first place.
func ordered(items []binding) []int64 {
	items = slices.Clone(items)
	for i := range items {
		if !items[i].sortGiven {
			items[i].sort = int64(items[i].position+1) * 10
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].sort < items[j].sort })
	for i, b := range items {
		if b.primary {
			copy(items[1:i+1], items[:i])
			items[0] = b
			break
		}
	}
	out := make([]int64, 0, len(items))
	for _, b := range items {
		if !slices.Contains(out, b.id) {
			out = append(out, b.id)
		}
	}
	return out
}

// bindingsWire shows a link list as bindings: SORT by position, the first primary.
func (lf linkFamily) bindingsWire(ids []int64, primary func(i int) bool) []jsonx.Map {
	out := make([]jsonx.Map, len(ids))
	for i, id := range ids {
		out[i] = jsonx.Map{{K: lf.key, V: id}, {K: "SORT", V: (i + 1) * 10}, {K: "ROLE_ID", V: 0}, {K: "IS_PRIMARY", V: yn(primary(i))}}
	}
	return out
}

func (lf linkFamily) itemsGet(s *Server, c *Call) (*Result, error) {
	id, err := ownerID(c)
	if err != nil {
		return nil, err
	}
	_, it, err := s.crm.GetItem(c.Ctx, c.Actor, lf.owner, id)
	if err != nil {
		return nil, err
	}
	if !lf.reverse {
		ids, _ := it.Get(lf.list).([]int64)
		return &Result{Result: lf.bindingsWire(ids, func(i int) bool { return i == 0 })}, nil
	}
	linked, err := linklists.OfIn(c.Ctx, s.crm, c.Actor, lf.member, lf.list, id)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(linked))
	for i, l := range linked {
		ids[i] = l.ID
	}
	return &Result{Result: lf.bindingsWire(ids, func(i int) bool {
		return len(linked[i].Links) > 0 && linked[i].Links[0] == id
	})}, nil
}

func (lf linkFamily) itemsSet(s *Server, c *Call) (*Result, error) {
	id, err := ownerID(c)
	if err != nil {
		return nil, err
	}
	items, err := lf.readItems(c)
	if err != nil {
		return nil, err
	}
	if !lf.reverse {
		next := ordered(items)
		_, err := linklists.EditIn(c.Ctx, s.crm, c.Actor, lf.owner, id, lf.list, func([]int64) ([]int64, error) { return next, nil })
		if err != nil {
			return nil, err
		}
		return &Result{Result: true}, nil
	}
	primary := map[int64]bool{}
	for _, b := range items {
		primary[b.id] = primary[b.id] || b.primary
	}
	err = lf.inUnit(s, c, id, func(u *crm.Unit) error {
		cur, err := linklists.Of(u, lf.member, lf.list, id)
		if err != nil {
			return err
		}
		for _, l := range cur {
			if _, kept := primary[l.ID]; !kept {
				if err := lf.unbind(u, l.ID, id); err != nil {
					return err
				}
			}
		}
		for _, b := range items {
			if _, err := lf.bind(u, b.id, id, primary[b.id], true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (lf linkFamily) itemsDelete(s *Server, c *Call) (*Result, error) {
	id, err := ownerID(c)
	if err != nil {
		return nil, err
	}
	if !lf.reverse {
		_, err := linklists.EditIn(c.Ctx, s.crm, c.Actor, lf.owner, id, lf.list, func([]int64) ([]int64, error) { return nil, nil })
		if err != nil {
			return nil, err
		}
		return &Result{Result: true}, nil
	}
	err = lf.inUnit(s, c, id, func(u *crm.Unit) error {
		cur, err := linklists.Of(u, lf.member, lf.list, id)
		if err != nil {
			return err
		}
		for _, l := range cur {
			if err := lf.unbind(u, l.ID, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

// add binds one item. It answers false, changing nothing, when the item is bound
// already, as Bitrix24 does.
func (lf linkFamily) add(s *Server, c *Call) (*Result, error) {
	id, err := ownerID(c)
	if err != nil {
		return nil, err
	}
	b, err := lf.readFields(c)
	if err != nil {
		return nil, err
	}
	var added bool
	if !lf.reverse {
		added, err = linklists.EditIn(c.Ctx, s.crm, c.Actor, lf.owner, id, lf.list, func(cur []int64) ([]int64, error) {
			return insertBinding(cur, b), nil
		})
	} else {
		err = lf.inUnit(s, c, id, func(u *crm.Unit) (err error) {
			added, err = lf.bind(u, b.id, id, b.primary, false)
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	return &Result{Result: added}, nil
}

// insertBinding puts a new binding into a link list: first when primary (or when the
// list is empty), else where its SORT falls among the bindings' positions ((i+1)·10),
// else last. A bound id leaves the list as it is.
func insertBinding(cur []int64, b binding) []int64 {
	if slices.Contains(cur, b.id) {
		return cur
	}
	at := len(cur)
	switch {
	case b.primary:
		at = 0
	case b.sortGiven:
		at = 0
		for at < len(cur) && int64(at+1)*10 <= b.sort {
			at++
		}
	}
	return slices.Insert(cur, at, b.id)
}

// delete unbinds one item; false when it was not bound.
func (lf linkFamily) delete(s *Server, c *Call) (*Result, error) {
	id, err := ownerID(c)
	if err != nil {
		return nil, err
	}
	b, err := lf.readFields(c)
	if err != nil {
		return nil, err
	}
	var removed bool
	if !lf.reverse {
		removed, err = linklists.EditIn(c.Ctx, s.crm, c.Actor, lf.owner, id, lf.list, func(cur []int64) ([]int64, error) {
			return slices.DeleteFunc(cur, func(e int64) bool { return e == b.id }), nil
		})
	} else {
		err = lf.inUnit(s, c, id, func(u *crm.Unit) (err error) {
			if ok, err := u.ItemExists(lf.member, b.id); err != nil || !ok {
				return err // an item that does not exist is not bound
			}
			removed, err = linklists.Edit(u, lf.member, b.id, lf.list, func(cur []int64) ([]int64, error) {
				return slices.DeleteFunc(cur, func(e int64) bool { return e == id }), nil
			})
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	return &Result{Result: removed}, nil
}

func (lf linkFamily) fields(*Server, *Call) (*Result, error) {
	d := func(typ, title string, required bool) jsonx.Map {
		return jsonx.Map{{K: "type", V: typ}, {K: "isRequired", V: required}, {K: "isReadOnly", V: false},
			{K: "isImmutable", V: false}, {K: "isMultiple", V: false}, {K: "isDynamic", V: false}, {K: "title", V: title}}
	}
	title := "Contact"
	if lf.member == 4 {
		title = "Company"
	}
	return &Result{Result: jsonx.Map{
		{K: "SORT", V: d("integer", "Sorting", false)},
		{K: "IS_PRIMARY", V: d("char", "Primary", false)},
		{K: lf.key, V: d("integer", title, true)},
	}}, nil
}

// inUnit runs the changes of a reverse family's call in one unit, after checking that
// the caller may read the owner and that it exists.
func (lf linkFamily) inUnit(s *Server, c *Call, id int64, fn func(u *crm.Unit) error) error {
	if _, _, err := s.crm.GetItem(c.Ctx, c.Actor, lf.owner, id); err != nil {
		return err
	}
	return s.crm.Run(c.Ctx, c.Actor, func(u *crm.Unit) error {
		// Deleted meanwhile: nothing may be bound to it any more.
		if ok, err := u.ItemExists(lf.owner, id); err != nil || !ok {
			if err == nil {
				err = crm.NewError(crm.ErrItemNotFound, "Not found")
			}
			return err
		}
		return fn(u)
	})
}

// bind puts owner into the link list of member (a company into a contact's companies):
// first when primary, else last. reorder lets a primary binding move an owner already
// in the list to the front (items.set); add leaves a bound owner where it is. It reports
// whether the list changed.
func (lf linkFamily) bind(u *crm.Unit, member, owner int64, primary, reorder bool) (bool, error) {
	changed, err := linklists.Edit(u, lf.member, member, lf.list, func(cur []int64) ([]int64, error) {
		has := slices.Contains(cur, owner)
		switch {
		case has && !(primary && reorder):
			return cur, nil
		case primary:
			return slices.Insert(slices.DeleteFunc(cur, func(e int64) bool { return e == owner }), 0, owner), nil
		}
		return append(cur, owner), nil
	})
	if crm.KindOf(err) == crm.ErrItemNotFound {
		// The member is what is missing here: the owner was checked in the unit.
		return false, crm.NewError(crm.ErrInvalidValue, "The %s %d does not exist", entityWord(lf.member), member)
	}
	return changed, err
}

// unbind takes owner out of the link list of member.
func (lf linkFamily) unbind(u *crm.Unit, member, owner int64) error {
	_, err := linklists.Edit(u, lf.member, member, lf.list, func(cur []int64) ([]int64, error) {
		return slices.DeleteFunc(cur, func(e int64) bool { return e == owner }), nil
	})
	return err
}

// entityWord names a built-in type in messages (contact, company).
func entityWord(etid int64) string {
	for word, id := range legacyEntities {
		if id == etid {
			return word
		}
	}
	return "item"
}
