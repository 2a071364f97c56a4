package processdef

import (
	"reflect"

	"smartcrm/internal/crm"
	"smartcrm/internal/stagerules"
)

// Funnels, stages and the fields required from a stage on.

// Sorts that park a funnel's final stages out of the way while stages are added and
// deleted: the CRM checks the funnel's shape (in progress < success < failure) at
// every step, and the final order is set at the end.
const (
	parkedSuccess = 1_000_000
	parkedFailure = 2_000_000
	newFailure    = 3_000_000
)

// funnelPairs pairs the file's funnels of a process with the type's funnels on the
// server (through the unit), by code and default.
func (a *applier) funnelPairs(t *crm.Type, want []*Funnel) map[*Funnel]*crm.Category {
	var cur []*Funnel
	byCode := map[string]*crm.Category{}
	for _, c := range t.Categories() {
		code := funnelCode(c)
		byCode[code] = c
		cur = append(cur, &Funnel{Code: code, Default: c.IsDefault})
	}
	out := map[*Funnel]*crm.Category{}
	for w, c := range matchFunnels(want, cur) {
		out[w] = byCode[c.Code]
	}
	return out
}

// dropRules drops the rules the file no longer has, before fields and stages go.
func (a *applier) dropRules(want, cur *Process) error {
	t, err := a.typeOf(want.Code)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	pairs := a.funnelPairs(t, want.Funnels)
	for fn, c := range pairs {
		for _, r := range fn.Required {
			name, _ := a.reg.toServer(t.EntityTypeID, r.Field)
			keep[ruleKey(c.ID, name, t.StagePrefix(c.ID)+":"+r.From)] = true
		}
	}
	for _, r := range t.Requirements() {
		if !keep[ruleKey(r.CategoryID, string(r.Field.Name), r.FromStageID)] {
			if err := stagerules.DropIn(a.u, t.EntityTypeID, r.CategoryID, string(r.Field.Name)); err != nil {
				return err
			}
		}
	}
	return nil
}

func ruleKey(cat int64, field, stage string) string {
	return itoa(cat) + "|" + field + "|" + stage
}

// applyFunnels creates, changes and deletes funnels with their stages, then adds the
// rules the file has and the server lacks.
func (a *applier) applyFunnels(want, cur *Process) error {
	t, err := a.typeOf(want.Code)
	if err != nil {
		return err
	}
	pairs := a.funnelPairs(t, want.Funnels)
	kept := map[int64]bool{}
	for i, fn := range want.Funnels {
		sortValue := effSort(fn.Sort, i)
		c := pairs[fn]
		if c == nil {
			isDefault := false
			code := fn.Code
			if c, err = a.u.AddCategory(t.EntityTypeID, crm.CategorySpec{Name: &fn.Name, Sort: &sortValue, Code: &code, IsDefault: &isDefault}); err != nil {
				return err
			}
		} else if c.Name != fn.Name || c.Sort != sortValue || c.Code != fn.Code {
			code := fn.Code
			if c, err = a.u.UpdateCategory(t.EntityTypeID, c.ID, crm.CategorySpec{Name: &fn.Name, Sort: &sortValue, Code: &code}); err != nil {
				return err
			}
		}
		kept[c.ID] = true
		if err := a.syncStages(t.EntityTypeID, c.ID, fn, a.rawFunnel(want.Code, fn.Code)); err != nil {
			return err
		}
	}
	for _, c := range t.Categories() {
		if !kept[c.ID] {
			if err := a.u.DeleteCategory(t.EntityTypeID, c.ID); err != nil {
				return err
			}
		}
	}
	return a.addRules(want)
}

// rawFunnel is the funnel as the file wrote it (its stages' itemsFrom).
func (a *applier) rawFunnel(process, code string) *Funnel {
	if p := a.plan.raw[process]; p != nil {
		for _, fn := range p.Funnels {
			if fn != nil && fn.Code == code {
				return fn
			}
		}
	}
	return nil
}

func (a *applier) addRules(want *Process) error {
	t, err := a.typeOf(want.Code)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, r := range t.Requirements() {
		have[ruleKey(r.CategoryID, string(r.Field.Name), r.FromStageID)] = true
	}
	for fn, c := range a.funnelPairs(t, want.Funnels) {
		for _, r := range fn.Required {
			name, err := a.reg.toServer(t.EntityTypeID, r.Field)
			if err != nil {
				return crm.NewError(crm.ErrInvalidArg, "required %s: %v", r.Field, err)
			}
			stage := t.StagePrefix(c.ID) + ":" + r.From
			if f, ok := t.FieldByName(name); ok && !have[ruleKey(c.ID, string(f.Name), stage)] {
				if err := stagerules.RequireIn(a.u, t.EntityTypeID, name, stage); err != nil {
					return err
				}
			} else if !ok {
				return crm.NewError(crm.ErrInvalidArg, "required: %s has no field %q", t.Title, r.Field)
			}
		}
	}
	return nil
}

// syncStages makes a funnel's stages the file's: names and colours changed in place,
// new stages added, stages the file leaves out deleted (their items moved to the
// stage whose itemsFrom names them), and the file's order set.
func (a *applier) syncStages(etid, cat int64, fn, raw *Funnel) error {
	t, err := a.u.TypeOf(etid)
	if err != nil {
		return err
	}
	cur := t.StagesOf(cat)
	byCode := map[string]*crm.Stage{}
	var curOrder []string
	for _, st := range cur {
		byCode[stageCode(st.StatusID)] = st
		curOrder = append(curOrder, stageCode(st.StatusID))
	}
	var wantOrder []string
	changed := false
	for _, st := range fn.Stages {
		wantOrder = append(wantOrder, st.Code)
		old := byCode[st.Code]
		if old == nil {
			changed = true
			continue
		}
		if old.Name != st.Name || old.Color != st.Color {
			name, color := st.Name, st.Color
			if err := a.u.UpdateStage(old.ID, crm.StageSpec{Name: &name, Color: &color}); err != nil {
				return err
			}
		}
	}
	if !changed && reflect.DeepEqual(curOrder, wantOrder) {
		return nil
	}
	// Park the final stages, failures first (they must stay after success).
	for k, st := range cur {
		if st.Semantics == crm.Failure {
			s := int64(parkedFailure + 10*k)
			if err := a.u.UpdateStage(st.ID, crm.StageSpec{Sort: &s}); err != nil {
				return err
			}
		}
	}
	for _, st := range cur {
		if st.Semantics == crm.Success {
			s := int64(parkedSuccess)
			if err := a.u.UpdateStage(st.ID, crm.StageSpec{Sort: &s}); err != nil {
				return err
			}
		}
	}
	for i, st := range fn.Stages {
		if byCode[st.Code] != nil {
			continue
		}
		s := defaultSort(i) / 10
		sem := crm.InProgress
		switch st.Semantics {
		case "failure":
			s, sem = int64(newFailure+10*i), crm.Failure
		case "success":
			s, sem = int64(parkedSuccess-1), crm.Success
		}
		name, color := st.Name, st.Color
		if _, err := a.u.AddStage(crm.StageSpec{Directory: t.StageDirectory(cat), StatusID: st.Code, Semantics: sem, Name: &name, Sort: &s, Color: &color}); err != nil {
			return err
		}
	}
	wanted := map[string]bool{}
	for _, code := range wantOrder {
		wanted[code] = true
	}
	for _, st := range cur {
		code := stageCode(st.StatusID)
		if wanted[code] {
			continue
		}
		if to := itemsTargetIn(raw, code); to != "" {
			err = a.u.DeleteStageMovingItems(st.ID, t.StagePrefix(cat)+":"+to)
		} else {
			err = a.u.DeleteStage(st.ID, true)
		}
		if err != nil {
			return err
		}
	}
	ids := make([]string, len(wantOrder))
	for i, code := range wantOrder {
		ids[i] = t.StagePrefix(cat) + ":" + code
	}
	return a.u.ReorderStages(etid, cat, ids)
}

// itemsTargetIn is the stage of the file's funnel whose itemsFrom names code.
func itemsTargetIn(fn *Funnel, code string) string {
	if fn == nil {
		return ""
	}
	for _, st := range fn.Stages {
		if st == nil {
			continue
		}
		for _, from := range st.ItemsFrom {
			if from == code {
				return st.Code
			}
		}
	}
	return ""
}
