package store

import (
	"context"
	"database/sql"
	"time"

	"smartcrm/internal/field"
	"smartcrm/internal/query"
)

// AutomationRun is a robot's run for one entry of an item into a stage.
type AutomationRun struct {
	ID           int64
	EntityTypeID int64
	ItemID       int64
	CategoryID   int64
	StageID      string
	EntryVersion int64 // the item's version when it entered the stage
	RobotID      string
	RobotType    string
	Position     int64 // the robot's place in its stage's list
	AfterRunID   int64 // the run that must finish first; 0: none
	Status       string
	Attempts     int64
	Error        string
	Result       string // JSON, "" when none
	Robot        string // the robot as it was at the entry, JSON
	UserID       int64
	Depth        int64
	// Zero times are unset.
	ScheduledTime, StartedTime, FinishedTime time.Time
	CreatedTime                              time.Time
}

const runsTable = "automation_runs"

var runColumns = []Column{
	{"id", field.StorageInt}, {"entity_type_id", field.StorageInt}, {"item_id", field.StorageInt}, {"category_id", field.StorageInt},
	{"stage_id", field.StorageText}, {"entry_version", field.StorageInt}, {"robot_id", field.StorageText}, {"robot_type", field.StorageText},
	{"position", field.StorageInt}, {"after_run_id", field.StorageInt}, {"status", field.StorageText}, {"attempts", field.StorageInt},
	{"error", field.StorageText}, {"result", field.StorageText}, {"robot", field.StorageText}, {"user_id", field.StorageInt},
	{"depth", field.StorageInt}, {"scheduled_time", field.StorageTime}, {"started_time", field.StorageTime},
	{"finished_time", field.StorageTime}, {"created_time", field.StorageTime},
}

func optTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func optInt(i int64) any {
	if i == 0 {
		return nil
	}
	return i
}

func (r *AutomationRun) values() []any {
	return []any{r.EntityTypeID, r.ItemID, r.CategoryID, r.StageID, r.EntryVersion, r.RobotID, r.RobotType, r.Position,
		optInt(r.AfterRunID), r.Status, r.Attempts, r.Error, r.Result, r.Robot, r.UserID, r.Depth,
		optTime(r.ScheduledTime), optTime(r.StartedTime), optTime(r.FinishedTime), r.CreatedTime}
}

func runFromRow(row []any) *AutomationRun {
	r := &AutomationRun{}
	r.ID, _ = row[0].(int64)
	r.EntityTypeID, _ = row[1].(int64)
	r.ItemID, _ = row[2].(int64)
	r.CategoryID, _ = row[3].(int64)
	r.StageID, _ = row[4].(string)
	r.EntryVersion, _ = row[5].(int64)
	r.RobotID, _ = row[6].(string)
	r.RobotType, _ = row[7].(string)
	r.Position, _ = row[8].(int64)
	r.AfterRunID, _ = row[9].(int64)
	r.Status, _ = row[10].(string)
	r.Attempts, _ = row[11].(int64)
	r.Error, _ = row[12].(string)
	r.Result, _ = row[13].(string)
	r.Robot, _ = row[14].(string)
	r.UserID, _ = row[15].(int64)
	r.Depth, _ = row[16].(int64)
	r.ScheduledTime, _ = row[17].(time.Time)
	r.StartedTime, _ = row[18].(time.Time)
	r.FinishedTime, _ = row[19].(time.Time)
	r.CreatedTime, _ = row[20].(time.Time)
	return r
}

// InsertRun records a run and sets its id.
func (tx *Tx) InsertRun(ctx context.Context, r *AutomationRun) error {
	id, err := tx.insertRow(ctx, runsTable, runColumns[1:], r.values())
	r.ID = id
	return err
}

// UpdateRun writes a run's state.
func (tx *Tx) UpdateRun(ctx context.Context, r *AutomationRun) error {
	return tx.updateRow(ctx, runsTable, r.ID, 0, false, runColumns[1:], r.values())
}

// Run reads a run.
func (c conn) Run(ctx context.Context, id int64) (*AutomationRun, error) {
	row, err := c.selectOne(ctx, runsTable, runColumns, id, noLock)
	if err != nil {
		return nil, err
	}
	return runFromRow(row), nil
}

// LockRun reads a run for change: on PostgreSQL its row stays locked until the
// transaction ends, so two workers cannot finish it twice.
func (tx *Tx) LockRun(ctx context.Context, id int64) (*AutomationRun, error) {
	row, err := tx.selectOne(ctx, runsTable, runColumns, id, lockRow)
	if err != nil {
		return nil, err
	}
	return runFromRow(row), nil
}

// RunQueryFields is the catalog run lists filter on.
func RunQueryFields() []query.Field {
	i, t := field.Integer{}, field.Text{}
	return []query.Field{
		{Name: "id", Column: "id", Type: i}, {Name: "entityTypeId", Column: "entity_type_id", Type: i},
		{Name: "itemId", Column: "item_id", Type: i}, {Name: "status", Column: "status", Type: t},
		{Name: "afterRunId", Column: "after_run_id", Type: i}, {Name: "robotType", Column: "robot_type", Type: t},
		{Name: "entryVersion", Column: "entry_version", Type: i}, {Name: "robotId", Column: "robot_id", Type: t},
	}
}

// Runs lists runs matching where, newest first, at most limit; PostgreSQL locks them
// with lock.
func (c conn) Runs(ctx context.Context, where query.Group, limit int, lock bool) ([]*AutomationRun, error) {
	idf := &query.Field{Name: "id", Column: "id", Type: field.Integer{}}
	rows, err := c.selectRowsLocking(ctx, runsTable, runColumns, where, []query.Order{{Field: idf, Desc: true}}, Page{Limit: limit}, lockIf(lock))
	if err != nil {
		return nil, err
	}
	out := make([]*AutomationRun, len(rows))
	for i, row := range rows {
		out[i] = runFromRow(row)
	}
	return out, nil
}

// CancelOpenRuns cancels an item's runs that have not started (it left their stage or
// was deleted) and tells how many there were.
func (tx *Tx) CancelOpenRuns(ctx context.Context, entityTypeID, itemID int64, reason string, now time.Time) (int64, error) {
	res, err := tx.exec(ctx, `UPDATE automation_runs SET status = 'cancelled', error = ?, finished_time = ?
WHERE entity_type_id = ? AND item_id = ? AND status IN ('queued', 'waiting')`, reason, tx.d.timeArg(now), entityTypeID, itemID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// AutomationDocuments lists every stored automation (the trigger reader indexes them).
func (c conn) AutomationDocuments(ctx context.Context) ([]*AutomationDocument, error) {
	rows, err := c.query(ctx, `SELECT entity_type_id, category_id, version, document FROM automation_documents`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*AutomationDocument
	for rows.Next() {
		d := &AutomationDocument{}
		if err := rows.Scan(&d.EntityTypeID, &d.CategoryID, &d.Version, &d.Document); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// AutomationDocument is the stored automation of one funnel.
type AutomationDocument struct {
	EntityTypeID, CategoryID int64
	Version                  int64
	Document                 string // JSON
	UpdatedBy                int64
	UpdatedTime              time.Time
}

// AutomationDocument reads the automation of a funnel; ErrNotFound when it has none.
func (c conn) AutomationDocument(ctx context.Context, entityTypeID, categoryID int64) (*AutomationDocument, error) {
	d := &AutomationDocument{EntityTypeID: entityTypeID, CategoryID: categoryID}
	updated := c.d.scanTarget(field.StorageTime)
	err := c.queryRow(ctx, `SELECT version, document, updated_by, updated_time FROM automation_documents
WHERE entity_type_id = ? AND category_id = ?`, entityTypeID, categoryID).Scan(&d.Version, &d.Document, &d.UpdatedBy, updated)
	if err = errNoRows(err); err != nil {
		return nil, err
	}
	t, err := c.d.decode(field.StorageTime, updated)
	d.UpdatedTime, _ = t.(time.Time)
	return d, err
}

// PutAutomationDocument writes a funnel's automation at d.Version, which must follow
// the version the writer read (0: none yet); a writer that read an older one gets
// ErrConflict and writes nothing.
func (tx *Tx) PutAutomationDocument(ctx context.Context, d *AutomationDocument) error {
	if d.Version == 1 {
		_, err := tx.exec(ctx, `INSERT INTO automation_documents (entity_type_id, category_id, version, document, updated_by, updated_time)
VALUES (?, ?, 1, ?, ?, ?)`, d.EntityTypeID, d.CategoryID, d.Document, d.UpdatedBy, tx.d.timeArg(d.UpdatedTime))
		if IsUniqueViolation(err) {
			return ErrConflict
		}
		return err
	}
	res, err := tx.exec(ctx, `UPDATE automation_documents SET version = ?, document = ?, updated_by = ?, updated_time = ?
WHERE entity_type_id = ? AND category_id = ? AND version = ?`, d.Version, d.Document, d.UpdatedBy, tx.d.timeArg(d.UpdatedTime),
		d.EntityTypeID, d.CategoryID, d.Version-1)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = ErrConflict
		}
		return err
	}
	return nil
}

// DeleteAutomationDocuments removes the automation of a type's funnels (the type or
// funnel is gone).
func (tx *Tx) DeleteAutomationDocuments(ctx context.Context, entityTypeID, categoryID int64) error {
	_, err := tx.exec(ctx, `DELETE FROM automation_documents WHERE entity_type_id = ? AND category_id = ?`, entityTypeID, categoryID)
	return err
}

// MoveCursor moves an outbox reader's cursor from one position to another, and reports
// false (moving nothing) when it is not at from: another process read on meanwhile. A
// cursor that never moved is at 0. The row stays locked until the transaction ends, so
// of two processes moving it from the same position the second waits and then finds it
// moved: one statement does what a locking read and an update did.
func (tx *Tx) MoveCursor(ctx context.Context, name string, from, to int64) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO outbox_cursors (name, position) VALUES (?, ?)
ON CONFLICT (name) DO UPDATE SET position = excluded.position WHERE outbox_cursors.position = ?`, name, to, from)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// LastOutboxID is the id of the newest outbox row, 0 when there is none.
func (c conn) LastOutboxID(ctx context.Context) (int64, error) {
	var id sql.NullInt64
	err := c.queryRow(ctx, `SELECT MAX(id) FROM outbox`).Scan(&id)
	return id.Int64, err
}

// NextInRotation returns the next position of a round-robin robot and advances it, in
// the transaction that uses it: concurrent runs each get their own.
func (tx *Tx) NextInRotation(ctx context.Context, entityTypeID, categoryID int64, robotID string) (int64, error) {
	_, err := tx.exec(ctx, `INSERT INTO automation_rotation (entity_type_id, category_id, robot_id, next) VALUES (?, ?, ?, 1)
ON CONFLICT (entity_type_id, category_id, robot_id) DO UPDATE SET next = automation_rotation.next + 1`, entityTypeID, categoryID, robotID)
	if err != nil {
		return 0, err
	}
	var next int64
	err = tx.queryRow(ctx, `SELECT next FROM automation_rotation WHERE entity_type_id = ? AND category_id = ? AND robot_id = ?`,
		entityTypeID, categoryID, robotID).Scan(&next)
	return next - 1, err
}

// AppTrigger is a trigger an application registered.
type AppTrigger struct {
	Code, Name  string
	CreatedBy   int64
	CreatedTime time.Time
}

// PutAppTrigger registers a trigger, renaming it when its code exists.
func (tx *Tx) PutAppTrigger(ctx context.Context, t AppTrigger) error {
	_, err := tx.exec(ctx, `INSERT INTO automation_app_triggers (code, name, created_by, created_time) VALUES (?, ?, ?, ?)
ON CONFLICT (code) DO UPDATE SET name = excluded.name`, t.Code, t.Name, t.CreatedBy, tx.d.timeArg(t.CreatedTime))
	return err
}

// AppTriggers lists the registered triggers by code.
func (c conn) AppTriggers(ctx context.Context) ([]AppTrigger, error) {
	rows, err := c.query(ctx, `SELECT code, name, created_by FROM automation_app_triggers ORDER BY code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AppTrigger
	for rows.Next() {
		var t AppTrigger
		if err := rows.Scan(&t.Code, &t.Name, &t.CreatedBy); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteAppTrigger removes a registered trigger and reports whether there was one.
func (tx *Tx) DeleteAppTrigger(ctx context.Context, code string) (bool, error) {
	res, err := tx.exec(ctx, `DELETE FROM automation_app_triggers WHERE code = ?`, code)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// JobDB is the connection pool the job queue (River) runs its own queries on: the
// write pool, since on SQLite River writes through the one writer like everyone.
func (s *Store) JobDB() *sql.DB { return s.write }

// JobTx is the transaction underneath tx, for the job queue to insert jobs in the
// transaction of the change that schedules them: a job exists exactly when the change
// committed.
func (tx *Tx) JobTx() *sql.Tx { return tx.tx }

// IsPostgres reports whether the store runs on PostgreSQL (the job queue picks its
// driver by it).
func (s *Store) IsPostgres() bool { return s.d.name == Postgres }

// ReviveInterruptedJobs puts the job queue's running jobs back in it. Only for a
// SQLite database whose queue this process alone works (it holds the queue's lock):
// a job found running then was running in a process that died.
func (s *Store) ReviveInterruptedJobs(ctx context.Context) error {
	_, err := s.write.ExecContext(ctx, `UPDATE river_job SET state = 'available' WHERE state = 'running'`)
	return err
}
