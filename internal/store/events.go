package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"smartcrm/internal/field"
	"smartcrm/internal/query"
)

// EventHandler is a subscription of an application (a webhook) to an event: a handler
// URL for online events, a connector's queue for offline ones.
type EventHandler struct {
	ID        int64
	AppID     int64
	UserID    int64
	Event     string // upper case
	Handler   string // "" for offline subscriptions
	AuthType  int64
	Offline   bool
	Connector string
	// Failures counts the attempts that failed in a row; FailingSinceMS is when the
	// first of them failed (0 while the handler answers).
	Failures       int64
	FailingSinceMS int64
	LastError      string
	CreatedMS      int64
	// MinTimeoutS is an ONOFFLINEEVENT handler's least number of seconds between
	// two notifications (event.bind's options[minTimeout]).
	MinTimeoutS int64
}

const eventHandlerColumns = `id, app_id, user_id, event, handler, auth_type, offline, connector, failures, failing_since_ms, last_error, created_ms, min_timeout_s`

// InsertEventHandler subscribes; ErrConflict when the same subscription exists.
func (tx *Tx) InsertEventHandler(ctx context.Context, h *EventHandler) error {
	err := tx.queryRow(ctx, `INSERT INTO event_handlers (app_id, user_id, event, handler, auth_type, offline, connector, created_ms, min_timeout_s)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, h.AppID, h.UserID, h.Event, h.Handler, h.AuthType, boolInt(h.Offline), h.Connector, h.CreatedMS, h.MinTimeoutS).Scan(&h.ID)
	if IsUniqueViolation(err) {
		return ErrConflict
	}
	return err
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// EventHandlers lists every subscription by id.
func (c conn) EventHandlers(ctx context.Context) ([]*EventHandler, error) {
	rows, err := c.query(ctx, `SELECT `+eventHandlerColumns+` FROM event_handlers ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*EventHandler
	for rows.Next() {
		h := &EventHandler{}
		var offline int64
		if err := rows.Scan(&h.ID, &h.AppID, &h.UserID, &h.Event, &h.Handler, &h.AuthType, &offline, &h.Connector,
			&h.Failures, &h.FailingSinceMS, &h.LastError, &h.CreatedMS, &h.MinTimeoutS); err != nil {
			return nil, err
		}
		h.Offline = offline == 1
		out = append(out, h)
	}
	return out, rows.Err()
}

// DeleteEventHandler removes a subscription with its pending deliveries.
func (tx *Tx) DeleteEventHandler(ctx context.Context, id int64) error {
	if _, err := tx.exec(ctx, `DELETE FROM event_deliveries WHERE handler_id = ? AND status = 'pending'`, id); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `DELETE FROM event_handlers WHERE id = ?`, id)
	return err
}

// SetHandlerHealth records how a handler has been answering.
func (tx *Tx) SetHandlerHealth(ctx context.Context, id, failures, failingSinceMS int64, lastError string) error {
	_, err := tx.exec(ctx, `UPDATE event_handlers SET failures = ?, failing_since_ms = ?, last_error = ? WHERE id = ?`,
		failures, failingSinceMS, lastError, id)
	return err
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// EventDelivery is one event on its way to one handler.
type EventDelivery struct {
	ID        int64
	HandlerID int64
	OutboxID  int64
	ItemKey   string
	Event     string
	Data      string // form-encoded
	EventMS   int64
	Status    string
	Attempts  int64
	NextMS    int64
	LastError string
	CreatedMS int64
	// FinishedMS is when it was delivered or given up (0 while pending).
	FinishedMS int64
}

const deliveryColumns = `id, handler_id, outbox_id, item_key, event, data, event_ms, status, attempts, next_ms, last_error, created_ms, finished_ms`

// InsertDeliveries records pending deliveries and sets their ids, many rows to a
// statement: a change fans out to every handler of its event, and the statement, not
// the row, is what costs the one SQLite writer most.
func (tx *Tx) InsertDeliveries(ctx context.Context, list []*EventDelivery) error {
	const cols = 12
	const chunk = 200
	for len(list) > 0 {
		part := list[:min(len(list), chunk)]
		list = list[len(part):]
		var b strings.Builder
		b.WriteString(`INSERT INTO event_deliveries (handler_id, outbox_id, item_key, event, data, event_ms, status, attempts, next_ms, last_error, created_ms, finished_ms) VALUES `)
		args := make([]any, 0, cols*len(part))
		for i, d := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, d.HandlerID, d.OutboxID, d.ItemKey, d.Event, d.Data, d.EventMS, d.Status, d.Attempts, d.NextMS, d.LastError, d.CreatedMS, d.FinishedMS)
		}
		// Each row is told by its handler and outbox row (a handler hears a change
		// once), so the ids need no assumption about the order RETURNING keeps.
		b.WriteString(" RETURNING id, handler_id, outbox_id")
		rows, err := tx.query(ctx, b.String(), args...)
		if err != nil {
			return err
		}
		type key struct{ handler, outbox int64 }
		ids := make(map[key]int64, len(part))
		for rows.Next() {
			var id int64
			var k key
			if err := rows.Scan(&id, &k.handler, &k.outbox); err != nil {
				rows.Close()
				return err
			}
			ids[k] = id
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, d := range part {
			d.ID = ids[key{d.HandlerID, d.OutboxID}]
		}
	}
	return nil
}

// MarkDelivered records deliveries delivered at finishedMS, each after one more
// attempt, in one statement per chunk.
func (tx *Tx) MarkDelivered(ctx context.Context, ids []int64, finishedMS int64) error {
	const chunk = 500
	for len(ids) > 0 {
		part := ids[:min(len(ids), chunk)]
		ids = ids[len(part):]
		in, args := inList(part, finishedMS)
		q := `UPDATE event_deliveries SET status = 'delivered', attempts = attempts + 1, last_error = '', finished_ms = ? WHERE id IN (` + in + `)`
		if _, err := tx.exec(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// RecordDelivery writes the outcome of an attempt.
func (tx *Tx) RecordDelivery(ctx context.Context, d *EventDelivery) error {
	_, err := tx.exec(ctx, `UPDATE event_deliveries SET status = ?, attempts = ?, next_ms = ?, last_error = ?, finished_ms = ? WHERE id = ?`,
		d.Status, d.Attempts, d.NextMS, d.LastError, d.FinishedMS, d.ID)
	return err
}

func scanDeliveries(rows *sql.Rows, err error) ([]*EventDelivery, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*EventDelivery
	for rows.Next() {
		d := &EventDelivery{}
		if err := rows.Scan(&d.ID, &d.HandlerID, &d.OutboxID, &d.ItemKey, &d.Event, &d.Data, &d.EventMS, &d.Status,
			&d.Attempts, &d.NextMS, &d.LastError, &d.CreatedMS, &d.FinishedMS); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// PendingDeliveries lists pending deliveries after id, oldest first, at most limit.
func (c conn) PendingDeliveries(ctx context.Context, afterID int64, limit int) ([]*EventDelivery, error) {
	return scanDeliveries(c.query(ctx, `SELECT `+deliveryColumns+` FROM event_deliveries WHERE status = 'pending' AND id > ? ORDER BY id LIMIT ?`, afterID, limit))
}

// Deliveries lists deliveries newest first: of one handler (0: any), in one status
// ("": any), with ids below before (0: from the newest).
func (c conn) Deliveries(ctx context.Context, handlerID int64, status string, before int64, limit int) ([]*EventDelivery, error) {
	var where []string
	var args []any
	if handlerID != 0 {
		where, args = append(where, "handler_id = ?"), append(args, handlerID)
	}
	if status != "" {
		where, args = append(where, "status = ?"), append(args, status)
	}
	if before != 0 {
		where, args = append(where, "id < ?"), append(args, before)
	}
	q := `SELECT ` + deliveryColumns + ` FROM event_deliveries`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return scanDeliveries(c.query(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...))
}

// TrimDeliveries deletes, of the first limit delivered and the first limit failed
// deliveries, those that finished before beforeMS. Like TrimOutbox it reads no further:
// an hour of deliveries, every one of them young, was read every minute to find none.
func (tx *Tx) TrimDeliveries(ctx context.Context, beforeMS int64, limit int) (int64, error) {
	var n int64
	for _, status := range []string{DeliveryDelivered, DeliveryFailed} {
		res, err := tx.exec(ctx, `DELETE FROM event_deliveries WHERE id IN (SELECT id FROM (SELECT id, finished_ms FROM event_deliveries
WHERE status = ? ORDER BY id LIMIT ?) AS head WHERE finished_ms < ?)`, status, limit, beforeMS)
		if err != nil {
			return 0, err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		n += k
	}
	return n, nil
}

// TrimOutbox deletes, of the outbox's first limit rows up to upTo (those every reader
// is past), the ones older than before. It reads no further than those rows: looking
// for old rows among all of them (as it did) walked the whole outbox whenever its
// oldest row was still young, every minute, holding the writer, to delete nothing:
// 112,665 rows after a 5-minute PostgreSQL soak took 16 ms on an idle machine and up
// to 0.97 s in the soak (auto_explain); 370,000 rows took 44-48 ms in the sqlite3
// shell. The first 5,000 take 1.4 ms and 1 ms. Ids grow with time, so the old rows
// are the first ones; an old row behind limit younger ones (a clock set back) waits
// until they are old too.
func (tx *Tx) TrimOutbox(ctx context.Context, upTo int64, before time.Time, limit int) (int64, error) {
	res, err := tx.exec(ctx, `DELETE FROM outbox WHERE id IN (SELECT id FROM (SELECT id, created_time FROM outbox WHERE id <= ? ORDER BY id LIMIT ?) AS head WHERE created_time < ?)`,
		upTo, limit, tx.d.timeArg(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Cursors lists how far each outbox reader got.
func (c conn) Cursors(ctx context.Context) (map[string]int64, error) {
	rows, err := c.query(ctx, `SELECT name, position FROM outbox_cursors`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var pos int64
		if err := rows.Scan(&name, &pos); err != nil {
			return nil, err
		}
		out[name] = pos
	}
	return out, rows.Err()
}

// TakeLease makes owner the holder of the named lease until untilMS when it is free,
// lapsed (before nowMS) or owner's already; it reports whether owner holds it.
func (tx *Tx) TakeLease(ctx context.Context, name, owner string, nowMS, untilMS int64) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO leases (name, owner, until_ms) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms
WHERE leases.owner = excluded.owner OR leases.until_ms < ?`, name, owner, untilMS, nowMS)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ReleaseLease lets another process take the lease at once.
func (tx *Tx) ReleaseLease(ctx context.Context, name, owner string) error {
	_, err := tx.exec(ctx, `DELETE FROM leases WHERE name = ? AND owner = ?`, name, owner)
	return err
}

// OfflineEvent is an object's latest change in an offline queue.
type OfflineEvent struct {
	ID         int64
	AppID      int64
	Connector  string
	MessageID  string
	Event      string
	Data       string // JSON
	Additional string // JSON
	Timestamp  time.Time
	ProcessID  string
	ReservedMS int64
	Error      bool
}

const offlineTable = "event_offline"

var offlineColumns = []Column{
	{"id", field.StorageInt}, {"app_id", field.StorageInt}, {"connector", field.StorageText}, {"message_id", field.StorageText},
	{"event", field.StorageText}, {"data", field.StorageText}, {"additional", field.StorageText}, {"timestamp_x", field.StorageTime},
	{"process_id", field.StorageText}, {"reserved_ms", field.StorageInt}, {"error", field.StorageInt},
}

// OfflineQueryFields is the catalog event.offline.get and .list filter and order on,
// by their wire names.
func OfflineQueryFields() []query.Field {
	i, t := field.Integer{}, field.Text{}
	return []query.Field{
		{Name: "ID", Column: "id", Type: i}, {Name: "TIMESTAMP_X", Column: "timestamp_x", Type: field.DateTime{}},
		{Name: "EVENT_NAME", Column: "event", Type: t}, {Name: "MESSAGE_ID", Column: "message_id", Type: t},
		{Name: "PROCESS_ID", Column: "process_id", Type: t}, {Name: "ERROR", Column: "error", Type: i},
		{Name: "APP_ID", Column: "app_id", Type: i, NoFilter: true, NoOrder: true},
		{Name: "CONNECTOR", Column: "connector", Type: t, NoFilter: true, NoOrder: true},
	}
}

func offlineFromRow(row []any) *OfflineEvent {
	e := &OfflineEvent{}
	e.ID, _ = row[0].(int64)
	e.AppID, _ = row[1].(int64)
	e.Connector, _ = row[2].(string)
	e.MessageID, _ = row[3].(string)
	e.Event, _ = row[4].(string)
	e.Data, _ = row[5].(string)
	e.Additional, _ = row[6].(string)
	e.Timestamp, _ = row[7].(time.Time)
	e.ProcessID, _ = row[8].(string)
	e.ReservedMS, _ = row[9].(int64)
	errFlag, _ := row[10].(int64)
	e.Error = errFlag == 1
	return e
}

// PutOfflineEvent records an object's change in a queue: the object's unreserved
// record takes the new event, or a new record is made.
func (tx *Tx) PutOfflineEvent(ctx context.Context, e *OfflineEvent) error {
	_, err := tx.exec(ctx, `INSERT INTO event_offline (app_id, connector, message_id, event, data, additional, timestamp_x, process_id, reserved_ms, error)
VALUES (?, ?, ?, ?, ?, ?, ?, '', 0, 0)
ON CONFLICT (app_id, connector, message_id) WHERE process_id = '' DO UPDATE SET event = excluded.event, data = excluded.data,
additional = excluded.additional, timestamp_x = excluded.timestamp_x, error = 0`,
		e.AppID, e.Connector, e.MessageID, e.Event, e.Data, e.Additional, tx.d.timeArg(e.Timestamp))
	return err
}

// OfflineEvents lists the records of a queue matching where, in order, at most limit
// from offset; with lock PostgreSQL locks them (a reservation takes them).
func (c conn) OfflineEvents(ctx context.Context, where query.Group, order []query.Order, page Page, lock bool) ([]*OfflineEvent, error) {
	rows, err := c.selectRowsLocking(ctx, offlineTable, offlineColumns, where, order, page, lockIf(lock))
	if err != nil {
		return nil, err
	}
	out := make([]*OfflineEvent, len(rows))
	for i, row := range rows {
		out[i] = offlineFromRow(row)
	}
	return out, nil
}

// CountOfflineEvents counts the records matching where.
func (c conn) CountOfflineEvents(ctx context.Context, where query.Group) (int, error) {
	return c.countRows(ctx, offlineTable, where)
}

// ReserveOfflineEvents gives the records with ids to a reading process.
func (tx *Tx) ReserveOfflineEvents(ctx context.Context, ids []int64, processID string, nowMS int64) error {
	for _, id := range ids {
		if _, err := tx.exec(ctx, `UPDATE event_offline SET process_id = ?, reserved_ms = ? WHERE id = ? AND process_id = ''`, processID, nowMS, id); err != nil {
			return err
		}
	}
	return nil
}

// DeleteOfflineEvents deletes records by id.
func (tx *Tx) DeleteOfflineEvents(ctx context.Context, ids []int64) error {
	for _, id := range ids {
		if _, err := tx.exec(ctx, `DELETE FROM event_offline WHERE id = ?`, id); err != nil {
			return err
		}
	}
	return nil
}

// MarkOfflineErrors marks records of a process as failed and gives them back to the
// queue, where event.offline.get with error=1 finds them. A record whose object
// changed since (it has an unreserved record again) is dropped: the newer one stands
// for it.
func (tx *Tx) MarkOfflineErrors(ctx context.Context, ids []int64) error {
	for _, id := range ids {
		_, err := tx.exec(ctx, `UPDATE event_offline SET process_id = '', reserved_ms = 0, error = 1 WHERE id = ?`, id)
		if IsUniqueViolation(err) {
			_, err = tx.exec(ctx, `DELETE FROM event_offline WHERE id = ?`, id)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ExpireOfflineReservations deletes records reserved before beforeMS and never
// cleared.
func (tx *Tx) ExpireOfflineReservations(ctx context.Context, beforeMS int64) error {
	_, err := tx.exec(ctx, expireOfflineSQL, beforeMS)
	return err
}

// expireOfflineSQL finds the reserved records through the process_id index: a
// process_id greater than the empty string is a range the index serves, where "not
// empty" (the same records: the column is never NULL, and the empty string sorts
// first) read the whole table, the unread queue included, every minute, holding the
// writer.
const expireOfflineSQL = `DELETE FROM event_offline WHERE process_id > '' AND reserved_ms < ?`

// ApplicationToken is the token of the application a webhook is; ErrNotFound when the
// webhook is gone.
func (c conn) ApplicationToken(ctx context.Context, appID int64) (string, error) {
	var token string
	err := c.queryRow(ctx, `SELECT application_token FROM webhooks WHERE id = ?`, appID).Scan(&token)
	return token, errNoRows(err)
}

// WebhooksWithoutToken lists the webhooks made before applications had tokens.
func (c conn) WebhooksWithoutToken(ctx context.Context) ([]int64, error) {
	return queryColumn[int64](ctx, c, `SELECT id FROM webhooks WHERE application_token = ''`)
}

// SetApplicationToken gives a webhook its application token.
func (tx *Tx) SetApplicationToken(ctx context.Context, appID int64, token string) error {
	_, err := tx.exec(ctx, `UPDATE webhooks SET application_token = ? WHERE id = ? AND application_token = ''`, token, appID)
	return err
}

// Setting reads an installation setting, creating it with make() when it is missing.
func (s *Store) Setting(ctx context.Context, name string, make func() (string, error)) (string, error) {
	var value string
	err := errNoRows(s.queryRow(ctx, `SELECT value FROM app_settings WHERE name = ?`, name).Scan(&value))
	if err == nil || !errors.Is(err, ErrNotFound) {
		return value, err
	}
	if value, err = make(); err != nil {
		return "", err
	}
	err = s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO app_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, value)
		return err
	})
	if err != nil {
		return "", err
	}
	err = errNoRows(s.queryRow(ctx, `SELECT value FROM app_settings WHERE name = ?`, name).Scan(&value))
	return value, err // another process may have won the race: its value stands
}

// AppRobot is a robot an application registered (bizproc.robot.add).
type AppRobot struct {
	Code            string
	AppID           int64
	Handler         string
	AuthUserID      int64
	UseSubscription string
	Definition      string // JSON: NAME, DESCRIPTION, PROPERTIES, RETURN_PROPERTIES…
	CreatedBy       int64
	CreatedMS       int64
}

// InsertAppRobot registers a robot; ErrConflict when its code is taken.
func (tx *Tx) InsertAppRobot(ctx context.Context, r *AppRobot) error {
	_, err := tx.exec(ctx, `INSERT INTO app_robots (code, app_id, handler, auth_user_id, use_subscription, definition, created_by, created_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.Code, r.AppID, r.Handler, r.AuthUserID, r.UseSubscription, r.Definition, r.CreatedBy, r.CreatedMS)
	if IsUniqueViolation(err) {
		return ErrConflict
	}
	return err
}

// UpdateAppRobot rewrites a robot; ErrNotFound when there is none.
func (tx *Tx) UpdateAppRobot(ctx context.Context, r *AppRobot) error {
	return oneRow(tx.exec(ctx, `UPDATE app_robots SET handler = ?, auth_user_id = ?, use_subscription = ?, definition = ? WHERE code = ?`,
		r.Handler, r.AuthUserID, r.UseSubscription, r.Definition, r.Code))
}

// oneRow is ErrNotFound for a statement that touched no row.
func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = ErrNotFound
		}
		return err
	}
	return nil
}

// DeleteAppRobot removes a robot; ErrNotFound when there is none.
func (tx *Tx) DeleteAppRobot(ctx context.Context, code string) error {
	return oneRow(tx.exec(ctx, `DELETE FROM app_robots WHERE code = ?`, code))
}

// AppRobots lists the registered robots by code.
func (c conn) AppRobots(ctx context.Context) ([]*AppRobot, error) {
	rows, err := c.query(ctx, `SELECT code, app_id, handler, auth_user_id, use_subscription, definition, created_by, created_ms FROM app_robots ORDER BY code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*AppRobot
	for rows.Next() {
		r := &AppRobot{}
		if err := rows.Scan(&r.Code, &r.AppID, &r.Handler, &r.AuthUserID, &r.UseSubscription, &r.Definition, &r.CreatedBy, &r.CreatedMS); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// PutEventToken makes tokenHash the one token run waits on, replacing any before.
func (tx *Tx) PutEventToken(ctx context.Context, runID int64, tokenHash string, nowMS int64) error {
	if _, err := tx.exec(ctx, `DELETE FROM automation_event_tokens WHERE run_id = ?`, runID); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `INSERT INTO automation_event_tokens (token_hash, run_id, created_ms) VALUES (?, ?, ?)`, tokenHash, runID, nowMS)
	return err
}

// TakeEventToken finds the run a token belongs to and deletes the token: a token is
// good once. ErrNotFound for an unknown or used one.
func (tx *Tx) TakeEventToken(ctx context.Context, tokenHash string) (int64, error) {
	runID, err := tx.EventTokenRun(ctx, tokenHash)
	if err != nil {
		return 0, err
	}
	_, err = tx.exec(ctx, `DELETE FROM automation_event_tokens WHERE token_hash = ?`, tokenHash)
	return runID, err
}

// EventTokenRun finds the run a token belongs to; ErrNotFound for an unknown one.
func (c conn) EventTokenRun(ctx context.Context, tokenHash string) (int64, error) {
	var runID int64
	err := c.queryRow(ctx, `SELECT run_id FROM automation_event_tokens WHERE token_hash = ?`, tokenHash).Scan(&runID)
	return runID, errNoRows(err)
}

// DeleteEventTokens deletes the token a run waits on.
func (tx *Tx) DeleteEventTokens(ctx context.Context, runID int64) error {
	_, err := tx.exec(ctx, `DELETE FROM automation_event_tokens WHERE run_id = ?`, runID)
	return err
}

// CursorPosition is how far an outbox reader got, read without locking: 0 when it
// never read.
func (c conn) CursorPosition(ctx context.Context, name string) (int64, error) {
	var pos int64
	err := errNoRows(c.queryRow(ctx, `SELECT position FROM outbox_cursors WHERE name = ?`, name).Scan(&pos))
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	return pos, err
}
