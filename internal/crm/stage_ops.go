package crm

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"smartcrm/internal/access"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// Stages (crm.status.*): each funnel's stages form a directory. A smart process's is
// DYNAMIC_{entityTypeId}_STAGE_{categoryId} with codes DT{etid}_{cat}:CODE; deals have
// DEAL_STAGE (codes without prefix) and DEAL_STAGE_{cat} (C{cat}:CODE); leads STATUS.

var directoryPattern = regexp.MustCompile(`^DYNAMIC_([0-9]{1,10})_STAGE_([0-9]{1,19})$`)

// stageCodePattern is what a stage code may hold after its prefix.
var stageCodePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// maxStatusIDLength bounds STATUS_ID with its prefix (spec §7.2).
const maxStatusIDLength = 50

// Directory is a stage directory of one funnel, for crm.status.entity.types.
type Directory struct {
	Type     *Type
	Category *store.CategoryRecord
}

// Directories lists the stage directory of every funnel of the standard types with
// stages and of every smart process.
func (s *Service) Directories(ctx context.Context) ([]Directory, error) {
	recs, err := s.st.ListTypes(ctx, query.Group{}, nil, store.Page{})
	if err != nil {
		return nil, err
	}
	etids := []int64{}
	for _, id := range standardTypeIDs() {
		if standardTypeDefs[id].stages != nil {
			etids = append(etids, id)
		}
	}
	for _, r := range recs {
		etids = append(etids, r.EntityTypeID)
	}
	var out []Directory
	for _, etid := range etids {
		t, err := s.typeByEntityTypeID(ctx, etid)
		if err != nil {
			return nil, err
		}
		for _, c := range t.categories {
			out = append(out, Directory{Type: t, Category: c})
		}
	}
	return out, nil
}

// directory resolves an ENTITY_ID to its type and funnel.
func (s *Service) directory(ctx context.Context, q typeReader, entityID string) (*Type, *store.CategoryRecord, error) {
	var etid, cat int64
	switch m := directoryPattern.FindStringSubmatch(entityID); {
	case m != nil:
		etid, _ = strconv.ParseInt(m[1], 10, 64)
		cat, _ = strconv.ParseInt(m[2], 10, 64)
	case entityID == "STATUS":
		t, err := s.loadType(ctx, q, 1, true)
		if err != nil || t.defaultCategory() == nil {
			return nil, nil, newErr(ErrNotSupported, "Specified entity type is not supported.")
		}
		return t, t.defaultCategory(), nil
	case entityID == "DEAL_STAGE":
		etid = 2
	case strings.HasPrefix(entityID, "DEAL_STAGE_"):
		n, err := strconv.ParseInt(strings.TrimPrefix(entityID, "DEAL_STAGE_"), 10, 64)
		if err != nil || n <= 0 { // funnel 0 is DEAL_STAGE, never DEAL_STAGE_0
			return nil, nil, newErr(ErrNotSupported, "Specified entity type is not supported.")
		}
		etid, cat = 2, n
	default:
		return nil, nil, newErr(ErrNotSupported, "Specified entity type is not supported.")
	}
	t, err := s.loadType(ctx, q, etid, true)
	if err != nil {
		return nil, nil, newErr(ErrNotSupported, "Specified entity type is not supported.")
	}
	c := t.category(cat)
	if c == nil {
		return nil, nil, newErr(ErrNotSupported, "Specified entity type is not supported.")
	}
	return t, c, nil
}

// DirectoryItems lists a directory's stages by sort (crm.status.entity.items).
func (s *Service) DirectoryItems(ctx context.Context, entityID string) ([]*store.StageRecord, error) {
	t, c, err := s.directory(ctx, s.st, entityID)
	if err != nil {
		return nil, newErr(ErrInvalidArg, "The parameter entityId is not defined or invalid.")
	}
	return t.stagesOf(c.ID), nil
}

// GetStage reads a stage row by its ID.
func (s *Service) GetStage(ctx context.Context, id int64) (*store.StageRecord, error) {
	st, _, err := s.st.StageByID(ctx, id)
	if isNotFound(err) {
		return nil, errStageNotFound()
	}
	return st, err
}

// ListStages answers crm.status.list: filter and order by the directory's UPPER_CASE
// fields, 50 a page.
func (s *Service) ListStages(ctx context.Context, filter, order any, start int64) ([]*store.StageRecord, int, error) {
	if o, ok := filter.(*params.Object); ok {
		if v, has := params.Lookup(o, "ENTITY_ID"); has {
			if _, isText := v.(string); !isText {
				return nil, 0, newErr(ErrInvalidArg, "Filter by ENTITY_ID must be a string")
			}
		}
	}
	where, ord, err := parseCatalogQuery(store.StageColumns(), "ID", filter, order)
	if err != nil {
		return nil, 0, err
	}
	rows, err := s.st.ListStages(ctx, where, ord, store.Page{Limit: PageSize, Offset: int(max(start, 0))})
	if err != nil {
		return nil, 0, err
	}
	total, err := s.st.CountStages(ctx, where)
	return rows, total, err
}

// AddStage creates a stage from crm.status.add fields and returns its row ID.
func (s *Service) AddStage(ctx context.Context, actor access.Actor, in *params.Object) (int64, error) {
	if err := requireAdmin(actor); err != nil {
		return 0, err
	}
	field := func(name string) (string, bool) {
		v, ok := params.Lookup(in, name)
		if !ok || v == nil {
			return "", false
		}
		str, isText := params.String(v)
		return strings.TrimSpace(str), isText && strings.TrimSpace(str) != ""
	}
	entityID, hasEntity := field("ENTITY_ID")
	statusID, hasStatus := field("STATUS_ID")
	var missing []string
	if !hasEntity {
		missing = append(missing, "The field ENTITY_ID is required.")
	}
	if !hasStatus {
		missing = append(missing, "The field STATUS_ID is required.")
	}
	if len(missing) > 0 {
		return 0, newErr(ErrRequired, "%s", strings.Join(missing, " "))
	}
	var id int64
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		t, c, err := s.directory(ctx, tx, entityID)
		if err != nil {
			return err
		}
		prefix := t.StagePrefix(c.ID)
		code := statusID
		if p, rest, found := strings.Cut(statusID, ":"); found {
			if p != prefix {
				return newErr(ErrInvalidArg, "STATUS_ID %q belongs to another directory: stages of %s start with %s:", statusID, entityID, prefix)
			}
			code = rest
		}
		if !stageCodePattern.MatchString(code) {
			return newErr(ErrInvalidArg, "STATUS_ID may hold only latin letters, digits, '_' and '-'")
		}
		st := &store.StageRecord{EntityID: entityID, StatusID: t.stageStatusID(c.ID, code), CategoryID: c.ID, Sort: 10}
		if limit := t.maxStatusID(); len(st.StatusID) > limit {
			return newErr(ErrInvalidArg, "STATUS_ID is longer than %d characters with its prefix", limit)
		}
		if t.stage(c.ID, st.StatusID) != nil {
			return newErr(ErrDuplicate, "The specified status ID already exists.")
		}
		name, ok := field("NAME")
		if !ok {
			return newErr(ErrRequired, "The field Title is required.")
		}
		st.Name = name
		if err := readStageInput(st, in); err != nil {
			return err
		}
		if v, ok := params.Lookup(in, "SEMANTICS"); ok && v != nil {
			sem, _ := params.String(v)
			switch strings.ToUpper(strings.TrimSpace(sem)) {
			case "", "P":
			case "S":
				st.Semantics = "S"
			case "F":
				st.Semantics = "F"
			default:
				return newErr(ErrInvalidArg, "SEMANTICS must be empty (in progress), S (success) or F (failure)")
			}
		}
		if err := checkStageOrder(append(t.stagesOf(c.ID), st)); err != nil {
			return err
		}
		if err := tx.InsertStage(ctx, st); err != nil {
			return err
		}
		id = st.ID
		return nil
	})
	if err == nil {
		s.forgetTypes()
	}
	return id, err
}

// UpdateStage changes a stage's NAME, SORT or COLOR.
func (s *Service) UpdateStage(ctx context.Context, actor access.Actor, id int64, in *params.Object) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	return s.changeStage(ctx, id, func(tx *store.Tx, t *Type, st *store.StageRecord) error {
		changed := *st
		if v, ok := params.Lookup(in, "NAME"); ok {
			name, _ := params.String(v)
			if strings.TrimSpace(name) == "" {
				return newErr(ErrRequired, "The field Title is required.")
			}
			changed.Name = strings.TrimSpace(name)
		}
		if err := readStageInput(&changed, in); err != nil {
			return err
		}
		others := []*store.StageRecord{&changed}
		for _, o := range t.stagesOf(st.CategoryID) {
			if o.ID != st.ID {
				others = append(others, o)
			}
		}
		if err := checkStageOrder(others); err != nil {
			return err
		}
		return tx.UpdateStage(ctx, &changed)
	})
}

// DeleteStage removes a stage that holds no items. System stages need forced, and a
// funnel keeps at least one stage of each kind.
func (s *Service) DeleteStage(ctx context.Context, actor access.Actor, id int64, forced bool) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	return s.changeStage(ctx, id, func(tx *store.Tx, t *Type, st *store.StageRecord) error {
		if st.System && !forced {
			return newErr(ErrInvalidArg, `CRM System Status can be deleted only if parameter FORCED is specified and equal to "Y".`)
		}
		has, err := tx.HasItemsInStage(ctx, t.EntityTypeID, st.CategoryID, st.StatusID)
		if err != nil {
			return err
		}
		if has {
			return newErr(ErrHasItems, "There are active items in this status.")
		}
		var rest []*store.StageRecord
		for _, o := range t.stagesOf(st.CategoryID) {
			if o.ID != st.ID {
				rest = append(rest, o)
			}
		}
		if err := checkStageOrder(rest); err != nil {
			return err
		}
		return tx.DeleteStage(ctx, t.EntityTypeID, st)
	})
}

func (s *Service) changeStage(ctx context.Context, id int64, fn func(tx *store.Tx, t *Type, st *store.StageRecord) error) error {
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		st, etid, err := tx.StageByID(ctx, id)
		if isNotFound(err) {
			return errStageNotFound()
		}
		if err != nil {
			return err
		}
		t, err := s.loadType(ctx, tx, etid, true)
		if err != nil {
			return err
		}
		return fn(tx, t, st)
	})
	if err == nil {
		s.forgetTypes()
	}
	return err
}

// readStageInput reads SORT and COLOR.
func readStageInput(st *store.StageRecord, in *params.Object) error {
	if v, ok := params.Lookup(in, "SORT"); ok {
		n, isInt := params.Int(v)
		if !isInt || n < 0 || n > 1<<31 {
			return newErr(ErrInvalidArg, "SORT must be a non-negative integer")
		}
		st.Sort = n
	}
	if v, ok := params.Lookup(in, "COLOR"); ok {
		c, _ := params.String(v)
		if c != "" && !colorPattern.MatchString(c) {
			return newErr(ErrInvalidArg, "COLOR must look like #RRGGBB")
		}
		st.Color = c
	}
	if v, ok := params.Lookup(in, "NAME"); ok {
		if n, _ := params.String(v); utf8.RuneCountInString(n) > 255 {
			return newErr(ErrInvalidArg, "NAME must be at most 255 characters")
		}
	}
	return nil
}

var colorPattern = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)

// checkStageOrder enforces the shape of a funnel (spec §7.3): at least one stage in
// progress, exactly one success stage, at least one failure stage, and by SORT every
// stage in progress before the success stage and every failure stage after it.
func checkStageOrder(stages []*store.StageRecord) error {
	var success []*store.StageRecord
	progress, failure := 0, 0
	for _, s := range stages {
		switch s.Semantics {
		case "S":
			success = append(success, s)
		case "F":
			failure++
		default:
			progress++
		}
	}
	switch {
	case len(success) > 1:
		return newErr(ErrInvalidArg, "A pipeline has exactly one success stage; %s is one already", success[0].StatusID)
	case len(success) == 0:
		return newErr(ErrInvalidArg, "A pipeline needs its success stage")
	case progress == 0:
		return newErr(ErrInvalidArg, "A pipeline needs at least one stage in progress")
	case failure == 0:
		return newErr(ErrInvalidArg, "A pipeline needs at least one failure stage")
	}
	win := success[0].Sort
	sorted := append([]*store.StageRecord(nil), stages...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Sort < sorted[j].Sort })
	for _, s := range sorted {
		if s.Semantics == "" && s.Sort >= win {
			return newErr(ErrInvalidArg, "Cannot create more stages after the final stage: stage %s (SORT %d) is in progress but sorts after the success stage (SORT %d)", s.StatusID, s.Sort, win)
		}
		if s.Semantics == "F" && s.Sort <= win {
			return newErr(ErrInvalidArg, "Failure stage %s (SORT %d) must sort after the success stage (SORT %d)", s.StatusID, s.Sort, win)
		}
	}
	return nil
}

// StageWire is a stage row as crm.status.get answers it: numbers as strings, no EXTRA
// for smart-process stages (spec §7.2).
func StageWire(s *store.StageRecord) jsonx.Map {
	var sem any
	if s.Semantics != "" {
		sem = s.Semantics
	}
	var cat any = strconv.FormatInt(s.CategoryID, 10)
	if s.CategoryID < 0 {
		cat = nil // leads' statuses belong to no funnel a client sees
	}
	out := jsonx.Map{
		{K: "ID", V: strconv.FormatInt(s.ID, 10)}, {K: "ENTITY_ID", V: s.EntityID}, {K: "STATUS_ID", V: s.StatusID},
		{K: "NAME", V: s.Name}, {K: "NAME_INIT", V: s.NameInit}, {K: "SORT", V: strconv.FormatInt(s.Sort, 10)},
		{K: "SYSTEM", V: yn(s.System)}, {K: "CATEGORY_ID", V: cat},
		{K: "COLOR", V: s.Color}, {K: "SEMANTICS", V: sem},
	}
	// Lead statuses and deal stages also carry EXTRA (spec §7.2); smart processes' do not.
	if s.EntityID == "STATUS" || strings.HasPrefix(s.EntityID, "DEAL_STAGE") {
		word := map[string]string{"": "process", "S": "success", "F": "failure"}[s.Semantics]
		out = append(out, jsonx.KV{K: "EXTRA", V: jsonx.Map{{K: "SEMANTICS", V: word}, {K: "COLOR", V: s.Color}}})
	}
	return out
}

// DirectoryTitle is a directory's NAME in crm.status.entity.types.
func (d Directory) Title() string { return fmt.Sprintf("%s (%s)", d.Type.Title, d.Category.Name) }
