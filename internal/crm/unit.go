package crm

import (
	"context"
	"errors"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/change"
	"smartcrm/internal/store"
)

// Unit is one database transaction in which changes compose. Every change of the
// domain — an item written, a type created, a comment added, a task completed — is
// applied inside a unit, and one unit may hold many of them: a process file's apply, a
// robot's effects together with marking its run done. Either all of a unit's changes
// commit or none does; what must happen only after a commit (dropping caches, waking
// the job runner) is registered with AfterCommit and runs then.
//
// A unit is only ever opened by Service.Run, and Run refuses to open one inside
// another: the changes of a use case take the unit they run in, so a nested
// transaction cannot be written by accident.
type Unit struct {
	ctx   context.Context
	tx    *store.Tx
	s     *Service
	actor access.Actor
	now   time.Time
	after []func()
	// registryChanged is set once the unit changed a type, field, funnel or stage: from
	// then on types are read through the transaction, which sees those changes.
	registryChanged bool
	types           map[int64]*Type
	// emitted is set once the unit wrote a change to the outbox.
	emitted bool
	// assumeWritten lets the unit's first item load start from the item as this
	// process last wrote it; assumed says it did (operation.load).
	assumeWritten, assumed bool
}

type unitKey struct{}

// ErrNestedUnit is returned by Run called inside a unit.
var ErrNestedUnit = errors.New("crm: a unit of work cannot start inside another; pass the unit on instead")

// Run opens a unit for actor, runs fn in it and commits when fn returns nil. After the
// commit, the unit's after-commit hooks run in the order they were added.
func (s *Service) Run(ctx context.Context, actor access.Actor, fn func(u *Unit) error) error {
	if ctx.Value(unitKey{}) != nil {
		return ErrNestedUnit
	}
	var u *Unit
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		u = &Unit{ctx: context.WithValue(ctx, unitKey{}, true), tx: tx, s: s, actor: actor, now: s.Now()}
		return fn(u)
	})
	if err != nil {
		return err
	}
	for _, f := range u.after {
		f()
	}
	if u.emitted {
		s.notifyCommitted()
	}
	return nil
}

// OnChange registers fn to run after every unit that wrote a change commits: the
// readers of the outbox (triggers, event delivery, live pages) wake on it instead of
// polling. fn must not block.
func (s *Service) OnChange(fn func()) {
	s.mu.Lock()
	s.onChange = append(s.onChange, fn)
	s.mu.Unlock()
}

func (s *Service) notifyCommitted() {
	s.mu.Lock()
	fns := s.onChange
	s.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// Ctx is the unit's context.
func (u *Unit) Ctx() context.Context { return u.ctx }

// Tx is the unit's transaction, for the domain packages that keep tables of their own.
func (u *Unit) Tx() *store.Tx { return u.tx }

// Actor is who the unit's changes are made by.
func (u *Unit) Actor() access.Actor { return u.actor }

// Now is the moment the unit's changes are stamped with.
func (u *Unit) Now() time.Time { return u.now }

// Service is the service the unit belongs to.
func (u *Unit) Service() *Service { return u.s }

// AfterCommit registers fn to run once the unit has committed; it never runs for a unit
// that rolled back.
func (u *Unit) AfterCommit(fn func()) { u.after = append(u.after, fn) }

// typeOf reads a type: from the service's cache, or through the transaction once the
// unit has changed the registry.
func (u *Unit) typeOf(etid int64) (*Type, error) {
	if !u.registryChanged {
		return u.s.typeByEntityTypeID(u.ctx, etid)
	}
	if t, ok := u.types[etid]; ok {
		return t, nil
	}
	t, err := u.s.loadType(u.ctx, u.tx, etid, true)
	if err != nil {
		return nil, err
	}
	if u.types == nil {
		u.types = map[int64]*Type{}
	}
	u.types[etid] = t
	return t, nil
}

// TypeOf is typeOf for the domain packages beside this one.
func (u *Unit) TypeOf(etid int64) (*Type, error) { return u.typeOf(etid) }

// RegistryChanged notes that the unit changed the registry (a type, field, funnel or
// stage): later reads in the unit see the change, and the service's cache is dropped
// when the unit commits.
func (u *Unit) RegistryChanged() {
	if !u.registryChanged {
		u.AfterCommit(u.s.forgetTypes)
	}
	u.registryChanged = true
	u.types = nil
}

// Emit writes a change to the outbox in the unit's transaction, stamped with the unit's
// actor and time.
func (u *Unit) Emit(c change.Change) error {
	c.UserID, c.Origin, c.Depth, c.Time, c.Connector = u.actor.UserID, u.actor.Origin.String(), u.actor.Depth, u.now, u.actor.Connector
	b, err := c.Encode()
	if err != nil {
		return err
	}
	u.emitted = true
	return u.tx.InsertOutbox(u.ctx, c.Topic(), c.EntityTypeID, c.ID, string(b))
}
