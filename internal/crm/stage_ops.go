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
	"smartcrm/internal/change"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// Stages: each funnel's stages form a directory. A smart process's is
// DYNAMIC_{entityTypeId}_STAGE_{categoryId} with codes DT{etid}_{cat}:CODE; deals have
// DEAL_STAGE (codes without prefix) and DEAL_STAGE_{cat} (C{cat}:CODE); leads STATUS.

// StageSpec is what a caller sets on a stage; nil leaves a value as it is. Directory,
// StatusID and Semantics are taken on add only.
type StageSpec struct {
	Directory string // the funnel's directory (ENTITY_ID)
	StatusID  string // the code, with or without the funnel's prefix
	Semantics Semantics
	Name      *string
	Sort      *int64
	Color     *string
}

var directoryPattern = regexp.MustCompile(`^DYNAMIC_([0-9]{1,10})_STAGE_([0-9]{1,19})$`)

// stageCodePattern is what a stage code may hold after its prefix.
var stageCodePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

var colorPattern = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)

// maxStatusIDLength bounds STATUS_ID with its prefix (spec §7.2).
const maxStatusIDLength = 50

// Directory is the stage directory of one funnel.
type Directory struct {
	Type     *Type
	Category *Category
}

// ID is the directory's name (crm.status ENTITY_ID).
func (d Directory) ID() string { return d.Type.StageDirectory(d.Category.ID) }

// Title is the directory's human name.
func (d Directory) Title() string { return fmt.Sprintf("%s (%s)", d.Type.Title, d.Category.Name) }

// Directories lists the stage directory of every funnel of the standard types with
// stages and of every smart process.
func (s *Service) Directories(ctx context.Context, actor access.Actor) ([]Directory, error) {
	if err := s.allow(actor, access.ActRead, access.Resource{Kind: "stage"}); err != nil {
		return nil, err
	}
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

// directory resolves a directory name to its type and funnel.
func (s *Service) directory(ctx context.Context, q typeReader, entityID string) (*Type, *Category, error) {
	notSupported := newErr(ErrNotSupported, "Specified entity type is not supported.")
	var etid, cat int64
	switch m := directoryPattern.FindStringSubmatch(entityID); {
	case m != nil:
		etid, _ = strconv.ParseInt(m[1], 10, 64)
		cat, _ = strconv.ParseInt(m[2], 10, 64)
	case entityID == "STATUS":
		t, err := s.loadType(ctx, q, 1, true)
		if err != nil || t.DefaultCategory() == nil {
			return nil, nil, notSupported
		}
		return t, t.DefaultCategory(), nil
	case entityID == "DEAL_STAGE":
		etid = 2
	case strings.HasPrefix(entityID, "DEAL_STAGE_"):
		n, err := strconv.ParseInt(strings.TrimPrefix(entityID, "DEAL_STAGE_"), 10, 64)
		if err != nil || n <= 0 { // funnel 0 is DEAL_STAGE, never DEAL_STAGE_0
			return nil, nil, notSupported
		}
		etid, cat = 2, n
	default:
		return nil, nil, notSupported
	}
	t, err := s.loadType(ctx, q, etid, true)
	if err != nil {
		return nil, nil, notSupported
	}
	c := t.Category(cat)
	if c == nil {
		return nil, nil, notSupported
	}
	return t, c, nil
}

// DirectoryItems lists a directory's stages by sort.
func (s *Service) DirectoryItems(ctx context.Context, actor access.Actor, entityID string) ([]*Stage, error) {
	t, c, err := s.directory(ctx, s.st, entityID)
	if err != nil {
		return nil, newErr(ErrInvalidArg, "The parameter entityId is not defined or invalid.")
	}
	return t.StagesOf(c.ID), s.allow(actor, access.ActRead, access.Resource{EntityTypeID: t.EntityTypeID, Kind: "stage"})
}

// directoryStages lists a directory's stages inside the unit (reference checks).
func (u *Unit) directoryStages(entityID string) ([]*Stage, error) {
	if !u.registryChanged {
		t, c, err := u.s.directory(u.ctx, u.s.st, entityID)
		if err != nil {
			return nil, err
		}
		if cached, err := u.typeOf(t.EntityTypeID); err == nil {
			t = cached
		}
		return t.StagesOf(c.ID), nil
	}
	t, c, err := u.s.directory(u.ctx, u.tx, entityID)
	if err != nil {
		return nil, err
	}
	return t.StagesOf(c.ID), nil
}

// GetStage reads a stage by its row id.
func (s *Service) GetStage(ctx context.Context, actor access.Actor, id int64) (*Stage, error) {
	st, etid, err := s.st.StageByID(ctx, id)
	if isNotFound(err) {
		return nil, errStageNotFound()
	}
	if err != nil {
		return nil, err
	}
	return stageFromRecord(st), s.allow(actor, access.ActRead, access.Resource{EntityTypeID: etid, Kind: "stage"})
}

// StageQueryFields is the catalog stage lists filter and order on.
func StageQueryFields() []query.Field {
	return []query.Field{
		{Name: "id", Column: "id", Type: field.Integer{}},
		{Name: "entityId", Column: "entity_id", Type: field.Text{}},
		{Name: "statusId", Column: "status_id", Type: field.Text{}},
		{Name: "name", Column: "name", Type: field.Text{}},
		{Name: "nameInit", Column: "name_init", Type: field.Text{}},
		{Name: "sort", Column: "sort", Type: field.Integer{}},
		{Name: "system", Column: "system", Type: field.Flag{}},
		{Name: "categoryId", Column: "category_id", Type: field.Integer{}},
		{Name: "color", Column: "color", Type: field.Text{}},
		{Name: "semantics", Column: "semantics", Type: field.Text{}},
	}
}

// ListStages lists stages of every directory (StageQueryFields), 50 a page.
func (s *Service) ListStages(ctx context.Context, actor access.Actor, where query.Group, order []query.Order, offset int) ([]*Stage, int, error) {
	if err := s.allow(actor, access.ActRead, access.Resource{Kind: "stage"}); err != nil {
		return nil, 0, err
	}
	order = withIDOrder(StageQueryFields(), "id", order)
	rows, err := s.st.ListStages(ctx, where, order, store.Page{Limit: PageSize, Offset: max(offset, 0)})
	if err != nil {
		return nil, 0, err
	}
	out := make([]*Stage, len(rows))
	for i, r := range rows {
		out[i] = stageFromRecord(r)
	}
	total, err := s.st.CountStages(ctx, where)
	return out, total, err
}

// AddStage creates a stage in a funnel's directory and returns it.
func (s *Service) AddStage(ctx context.Context, actor access.Actor, spec StageSpec) (*Stage, error) {
	var out *Stage
	err := s.Run(ctx, actor, func(u *Unit) (err error) {
		out, err = u.AddStage(spec)
		return err
	})
	return out, err
}

// AddStage creates a stage inside the unit.
func (u *Unit) AddStage(spec StageSpec) (*Stage, error) {
	var missing []string
	if spec.Directory == "" {
		missing = append(missing, "The field ENTITY_ID is required.")
	}
	if spec.StatusID == "" {
		missing = append(missing, "The field STATUS_ID is required.")
	}
	if len(missing) > 0 {
		return nil, newErr(ErrRequired, "%s", strings.Join(missing, " "))
	}
	t, c, err := u.s.directory(u.ctx, u.tx, spec.Directory)
	if err != nil {
		return nil, err
	}
	if err := u.s.allow(u.actor, access.ActConfigure, access.Resource{EntityTypeID: t.EntityTypeID, Kind: "stage"}); err != nil {
		return nil, err
	}
	prefix := t.StagePrefix(c.ID)
	code := spec.StatusID
	if p, rest, found := strings.Cut(spec.StatusID, ":"); found {
		if p != prefix {
			return nil, newErr(ErrInvalidArg, "STATUS_ID %q belongs to another directory: stages of %s start with %s:", spec.StatusID, spec.Directory, prefix)
		}
		code = rest
	}
	if !stageCodePattern.MatchString(code) {
		return nil, newErr(ErrInvalidArg, "STATUS_ID may hold only latin letters, digits, '_' and '-'")
	}
	st := &Stage{Directory: spec.Directory, StatusID: t.stageStatusID(c.ID, code), CategoryID: c.ID, Sort: 10, Semantics: InProgress}
	if limit := t.maxStatusID(); len(st.StatusID) > limit {
		return nil, newErr(ErrInvalidArg, "STATUS_ID is longer than %d characters with its prefix", limit)
	}
	if t.Stage(c.ID, st.StatusID) != nil {
		return nil, newErr(ErrDuplicate, "The specified status ID already exists.")
	}
	if spec.Name == nil || strings.TrimSpace(*spec.Name) == "" {
		return nil, newErr(ErrRequired, "The field Title is required.")
	}
	if err := st.apply(spec); err != nil {
		return nil, err
	}
	switch spec.Semantics {
	case "", InProgress:
	case Success, Failure:
		st.Semantics = spec.Semantics
	default:
		return nil, newErr(ErrInvalidArg, "SEMANTICS must be empty (in progress), S (success) or F (failure)")
	}
	if err := checkStageOrder(append(t.StagesOf(c.ID), st)); err != nil {
		return nil, err
	}
	rec := st.record()
	if err := u.tx.InsertStage(u.ctx, rec); err != nil {
		return nil, err
	}
	st.ID = rec.ID
	u.RegistryChanged()
	return st, u.Emit(change.Change{Entity: change.Stage, Kind: change.Added, EntityTypeID: t.EntityTypeID, ID: st.ID})
}

// UpdateStage changes a stage's name, sort or colour.
func (s *Service) UpdateStage(ctx context.Context, actor access.Actor, id int64, spec StageSpec) error {
	return s.Run(ctx, actor, func(u *Unit) error { return u.UpdateStage(id, spec) })
}

// UpdateStage changes a stage inside the unit.
func (u *Unit) UpdateStage(id int64, spec StageSpec) error {
	t, st, err := u.lockStage(id)
	if err != nil {
		return err
	}
	if spec.Name != nil && strings.TrimSpace(*spec.Name) == "" {
		return newErr(ErrRequired, "The field Title is required.")
	}
	changed := *st
	if err := changed.apply(spec); err != nil {
		return err
	}
	others := []*Stage{&changed}
	for _, o := range t.StagesOf(st.CategoryID) {
		if o.ID != st.ID {
			others = append(others, o)
		}
	}
	if err := checkStageOrder(others); err != nil {
		return err
	}
	if err := u.tx.UpdateStage(u.ctx, changed.record()); err != nil {
		return err
	}
	u.RegistryChanged()
	return u.Emit(change.Change{Entity: change.Stage, Kind: change.Updated, EntityTypeID: t.EntityTypeID, ID: id})
}

// DeleteStage removes a stage that holds no items. System stages need forced, and a
// funnel keeps at least one stage of each kind.
func (s *Service) DeleteStage(ctx context.Context, actor access.Actor, id int64, forced bool) error {
	return s.Run(ctx, actor, func(u *Unit) error { return u.DeleteStage(id, forced) })
}

// DeleteStage removes a stage inside the unit.
func (u *Unit) DeleteStage(id int64, forced bool) error {
	t, st, err := u.lockStage(id)
	if err != nil {
		return err
	}
	if st.System && !forced {
		return newErr(ErrInvalidArg, `CRM System Status can be deleted only if parameter FORCED is specified and equal to "Y".`)
	}
	has, err := u.tx.HasItemsInStage(u.ctx, t.EntityTypeID, st.CategoryID, st.StatusID)
	if err != nil {
		return err
	}
	if has {
		return newErr(ErrHasItems, "There are active items in this status.")
	}
	var rest []*Stage
	for _, o := range t.StagesOf(st.CategoryID) {
		if o.ID != st.ID {
			rest = append(rest, o)
		}
	}
	if err := checkStageOrder(rest); err != nil {
		return err
	}
	if err := u.tx.DeleteStage(u.ctx, t.EntityTypeID, st.record()); err != nil {
		return err
	}
	u.RegistryChanged()
	return u.Emit(change.Change{Entity: change.Stage, Kind: change.Deleted, EntityTypeID: t.EntityTypeID, ID: id})
}

// lockStage reads a stage and its type for change inside the unit.
func (u *Unit) lockStage(id int64) (*Type, *Stage, error) {
	rec, etid, err := u.tx.StageByID(u.ctx, id)
	if isNotFound(err) {
		return nil, nil, errStageNotFound()
	}
	if err != nil {
		return nil, nil, err
	}
	if err := u.s.allow(u.actor, access.ActConfigure, access.Resource{EntityTypeID: etid, Kind: "stage"}); err != nil {
		return nil, nil, err
	}
	t, err := u.s.loadType(u.ctx, u.tx, etid, true)
	if err != nil {
		return nil, nil, err
	}
	return t, stageFromRecord(rec), nil
}

// apply sets a stage's name, sort and colour from a spec.
func (st *Stage) apply(spec StageSpec) error {
	if spec.Name != nil {
		name := strings.TrimSpace(*spec.Name)
		if utf8.RuneCountInString(name) > 255 {
			return newErr(ErrInvalidArg, "NAME must be at most 255 characters")
		}
		st.Name = name
	}
	if spec.Sort != nil {
		if *spec.Sort < 0 || *spec.Sort > 1<<31 {
			return newErr(ErrInvalidArg, "SORT must be a non-negative integer")
		}
		st.Sort = *spec.Sort
	}
	if spec.Color != nil {
		if *spec.Color != "" && !colorPattern.MatchString(*spec.Color) {
			return newErr(ErrInvalidArg, "COLOR must look like #RRGGBB")
		}
		st.Color = *spec.Color
	}
	return nil
}

// checkStageOrder enforces the shape of a funnel (spec §7.3): at least one stage in
// progress, exactly one success stage, at least one failure stage, and by sort every
// stage in progress before the success stage and every failure stage after it.
func checkStageOrder(stages []*Stage) error {
	var success []*Stage
	progress, failure := 0, 0
	for _, s := range stages {
		switch s.Semantics {
		case Success:
			success = append(success, s)
		case Failure:
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
	sorted := append([]*Stage(nil), stages...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Sort < sorted[j].Sort })
	for _, s := range sorted {
		if s.Semantics == InProgress && s.Sort >= win {
			return newErr(ErrInvalidArg, "Cannot create more stages after the final stage: stage %s (SORT %d) is in progress but sorts after the success stage (SORT %d)", s.StatusID, s.Sort, win)
		}
		if s.Semantics == Failure && s.Sort <= win {
			return newErr(ErrInvalidArg, "Failure stage %s (SORT %d) must sort after the success stage (SORT %d)", s.StatusID, s.Sort, win)
		}
	}
	return nil
}

// errStageNotFound is the stage directory's own wording.
func errStageNotFound() error { return newErr(ErrItemNotFound, "Status is not found.") }
