// Package outbox reads the changes the domain wrote to the outbox, in order, from a
// durable cursor: what a reader does with a change commits in the same transaction
// that moves its cursor past it, so each change is handled exactly once, whatever
// crashes in between. Automation's triggers read it; outbound events will too.
package outbox

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/change"
	"smartcrm/internal/crm"
	"smartcrm/internal/store"
)

// Handler is what a reader does with changes.
type Handler interface {
	// Prepare runs before each batch, outside any unit: a handler refreshes what Wants
	// consults.
	Prepare(ctx context.Context) error
	// Wants tells, without touching the database, whether a change needs handling;
	// the others are passed over in batches.
	Wants(c *change.Change) bool
	// Actor is who acts on a change: the unit Handle runs in is the actor's.
	Actor(c *change.Change) access.Actor
	// Handle acts on a change inside the unit that advances the cursor.
	Handle(u *crm.Unit, c *change.Change) error
	// Failed records, in the unit that advances the cursor past it, a change Handle
	// refused with a domain error (a move the stage's rules forbid): such a change is
	// never handled again.
	Failed(u *crm.Unit, c *change.Change, err error) error
}

// HeaderFilter is a Handler that can pass over a change by its outbox header alone —
// entity, kind and type, the rest of the Change empty — so that changes nobody wants
// are never decoded: under a stream of adds the readers would otherwise spend more
// CPU decoding than the adds themselves. WantsHeader may say yes to a change Wants
// then refuses, never no to one Wants would take.
type HeaderFilter interface {
	WantsHeader(h *change.Change) bool
}

// Entry is a change with its place in the outbox.
type Entry struct {
	ID     int64
	Change *change.Change
}

// BatchHandler is a Handler that handles every wanted change of a batch in one unit,
// the one that moves the cursor past the batch: a reader that never refuses a change
// (outbound events) writes one transaction per batch instead of one per change.
type BatchHandler interface {
	Handler
	HandleBatch(u *crm.Unit, entries []Entry) error
}

// Reader follows the outbox under a name of its own.
type Reader struct {
	name    string
	crm     *crm.Service
	handler Handler
	log     *slog.Logger
	wake    chan struct{}
	// gapGrace is how long a hole in the ids may stay before the reader passes it. On
	// PostgreSQL ids are taken when rows are written and committed later, possibly out
	// of order, so a hole may be a change still committing; one that stays is a
	// rolled-back change and is passed.
	gapGrace time.Duration
	gapSince time.Time
	batch    int
	// quiet is set while the changes read wanted nothing: the reader then lets commits
	// gather longer before it reads again, since each read costs two queries and a
	// write transaction whatever it finds.
	quiet bool
}

// NewReader returns a reader that wakes whenever a change commits.
func NewReader(name string, svc *crm.Service, h Handler, log *slog.Logger) *Reader {
	r := &Reader{name: name, crm: svc, handler: h, log: log, wake: make(chan struct{}, 1), gapGrace: 5 * time.Second, batch: 500}
	svc.OnChange(r.Wake)
	readers.Store(name, true)
	return r
}

// readers are the names of the readers this process made: the outbox is trimmed only
// behind all of them.
var readers sync.Map

// Trim deletes the outbox rows that every reader has passed and that are older than
// before (readers that keep their place in memory, like the web UI's live updates,
// are at most that far behind). Nothing is trimmed while a reader of this process has
// no cursor yet: it will start from the beginning.
func Trim(ctx context.Context, st *store.Store, before time.Time) error {
	cursors, err := st.Cursors(ctx)
	if err != nil {
		return err
	}
	upTo := int64(-1)
	missing := false
	readers.Range(func(k, _ any) bool {
		pos, ok := cursors[k.(string)]
		if !ok {
			missing = true
			return false
		}
		if upTo < 0 || pos < upTo {
			upTo = pos
		}
		return true
	})
	if missing || upTo <= 0 {
		return nil
	}
	const chunk = 5000
	for {
		var n int64
		err := st.InTx(ctx, func(tx *store.Tx) error {
			var err error
			n, err = tx.TrimOutbox(ctx, upTo, before, chunk)
			return err
		})
		// Each round looks at the first chunk rows only: it goes on while a round
		// finds old rows there.
		if err != nil || n == 0 {
			return err
		}
	}
}

// Wake makes the reader look at the outbox now.
func (r *Reader) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run reads until ctx ends: after every commit, and every poll interval for changes
// written by other processes.
func (r *Reader) Run(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		for {
			more, err := r.Step(ctx)
			if err != nil {
				if ctx.Err() == nil {
					r.log.Error("reading the outbox", "reader", r.name, "err", err)
				}
				break
			}
			if !more {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
			// Let the commits of a busy moment gather: one step then reads them all,
			// instead of one step (two reads and a cursor write) per commit.
			wait := settleTime
			if r.quiet {
				wait = quietSettleTime
			}
			settle := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				settle.Stop()
				return
			case <-settle.C:
			}
		case <-t.C:
		}
	}
}

// settleTime is how long a woken reader waits for more commits before it reads: short
// beside the quarter second an event may take to reach its handler.
const settleTime = 10 * time.Millisecond

// quietSettleTime is settleTime while the reader's handler wants none of the changes it
// reads (no robot's trigger, no event subscription listens): a wanted change then
// waits at most this long, and a stream of unwanted ones costs a few reads a second.
const quietSettleTime = 250 * time.Millisecond

// Step handles the next batch of changes; more says whether a full batch was read.
func (r *Reader) Step(ctx context.Context) (more bool, err error) {
	// Read without a write transaction: most wakes find little or nothing, and on
	// SQLite a write transaction waits for the one writer. The units that act lock the
	// cursor and check it is still where it was read (errMoved when another process
	// read on meanwhile).
	st := r.crm.Store()
	pos, err := st.CursorPosition(ctx, r.name)
	if err != nil {
		return false, err
	}
	hf, _ := r.handler.(HeaderFilter)
	var recs []store.OutboxRow
	if hf != nil {
		// Headers first: most changes are passed over by them, and their payloads —
		// the bulk of each row — are never read.
		recs, err = st.OutboxHeadersAfter(ctx, pos, r.batch)
	} else {
		recs, err = st.OutboxAfter(ctx, pos, r.batch)
	}
	if err != nil || len(recs) == 0 {
		return false, err
	}
	if err := r.handler.Prepare(ctx); err != nil {
		return false, err
	}
	wanted := make([]bool, len(recs))
	if hf != nil {
		var ids []int64
		for i, rec := range recs {
			if wanted[i] = hf.WantsHeader(header(rec)); wanted[i] {
				ids = append(ids, rec.ID)
			}
		}
		if len(ids) > 0 {
			payloads, err := st.OutboxPayloads(ctx, ids)
			if err != nil {
				return false, err
			}
			for i := range recs {
				recs[i].Payload = payloads[recs[i].ID]
			}
		}
	}
	rows := make([]row, 0, len(recs))
	for i, rec := range recs {
		if hf != nil && !wanted[i] {
			rows = append(rows, row{id: rec.ID})
			continue
		}
		c, err := change.Decode([]byte(rec.Payload))
		if err != nil {
			r.log.Error("an outbox row does not decode; passed", "reader", r.name, "id", rec.ID, "err", err)
			c = nil
		}
		rows = append(rows, row{id: rec.ID, c: c})
	}
	if bh, ok := r.handler.(BatchHandler); ok {
		return r.stepBatch(ctx, bh, pos, rows)
	}
	// Handle in order up to the first hole that is too young to pass.
	last := pos
	r.quiet = true
	for _, rw := range rows {
		if !r.passable(rw.id, last) {
			break
		}
		if rw.c != nil && r.handler.Wants(rw.c) {
			r.quiet = false
			if err := r.flush(ctx, pos, last); err != nil {
				return false, err
			}
			if err := r.handle(ctx, last, rw); err != nil {
				return false, err
			}
			pos = rw.id
		}
		last = rw.id
	}
	if err := r.flush(ctx, pos, last); err != nil {
		return false, err
	}
	return len(rows) == r.batch && last == rows[len(rows)-1].id, nil
}

// passable tells whether the row after last may be handled now: it follows last, or
// the hole before it is old enough to be a change that rolled back.
func (r *Reader) passable(id, last int64) bool {
	if id != last+1 {
		if r.gapSince.IsZero() {
			r.gapSince = time.Now()
		}
		if time.Since(r.gapSince) < r.gapGrace {
			return false
		}
	}
	r.gapSince = time.Time{}
	return true
}

// stepBatch handles the wanted changes up to the first young hole in one unit.
func (r *Reader) stepBatch(ctx context.Context, bh BatchHandler, pos int64, rows []row) (bool, error) {
	last := pos
	var entries []Entry
	for _, rw := range rows {
		if !r.passable(rw.id, last) {
			break
		}
		if rw.c != nil && r.handler.Wants(rw.c) {
			entries = append(entries, Entry{ID: rw.id, Change: rw.c})
		}
		last = rw.id
	}
	if last == pos {
		return false, nil
	}
	r.quiet = len(entries) == 0
	err := r.crm.Run(ctx, access.System, func(u *crm.Unit) error {
		if err := r.advance(u, pos, last); err != nil {
			return err
		}
		if len(entries) == 0 {
			return nil
		}
		return bh.HandleBatch(u, entries)
	})
	if err != nil {
		return false, err
	}
	return len(rows) == r.batch && last == rows[len(rows)-1].id, nil
}

// row is a change read from the outbox; c is nil for one passed over unread (or one
// that does not decode).
type row struct {
	id int64
	c  *change.Change
}

// header is what an outbox row says about its change without decoding it.
func header(rec store.OutboxRow) *change.Change {
	entity, kind, _ := strings.Cut(rec.Topic, ".")
	return &change.Change{Entity: change.Entity(entity), Kind: change.Kind(kind), EntityTypeID: rec.EntityTypeID}
}

// errMoved is the cursor found elsewhere than expected: another process reads too.
var errMoved = errors.New("the outbox cursor moved: another reader is at work")

// flush moves the cursor past changes nobody wanted.
func (r *Reader) flush(ctx context.Context, from, to int64) error {
	if to == from {
		return nil
	}
	return r.crm.Run(ctx, access.System, func(u *crm.Unit) error { return r.advance(u, from, to) })
}

func (r *Reader) advance(u *crm.Unit, from, to int64) error {
	moved, err := u.Tx().MoveCursor(u.Ctx(), r.name, from, to)
	if err == nil && !moved {
		return errMoved
	}
	return err
}

// handle acts on one change and moves the cursor to it, in one unit; a change the
// domain refuses is recorded as failed, the cursor moving past it all the same.
func (r *Reader) handle(ctx context.Context, from int64, rw row) error {
	err := r.crm.Run(ctx, r.handler.Actor(rw.c), func(u *crm.Unit) error {
		if err := r.advance(u, from, rw.id); err != nil {
			return err
		}
		return r.handler.Handle(u, rw.c)
	})
	if err == nil || crm.KindOf(err) == 0 {
		return err
	}
	return r.crm.Run(ctx, access.System, func(u *crm.Unit) error {
		if err := r.advance(u, from, rw.id); err != nil {
			return err
		}
		return r.handler.Failed(u, rw.c, err)
	})
}
