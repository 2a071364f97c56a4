// Package crm is the core of the domain: smart-process and built-in types, their items,
// funnels, stages and relations, and the one operation through which every item change
// is made (operation.go). It takes and returns Go values — Patch, TypeSpec,
// CategorySpec, StageSpec, ItemQuery — so the REST API, the web UI, robots and process
// files all call the same functions; changes compose in a Unit, one transaction. It
// knows nothing of HTTP or wire names; the protocols shape its answers and turn its
// errors into their codes.
package crm

import (
	"errors"
	"fmt"
)

// ErrorKind classifies domain errors; the protocol layer picks the wire code.
type ErrorKind int

// Error kinds.
const (
	ErrTypeNotFound       ErrorKind = iota + 1 // no such smart process
	ErrItemNotFound                            // no such item
	ErrInvalidValue                            // a field value the field cannot hold
	ErrRequired                                // a required field is empty
	ErrNotIterable                             // a scalar for a multiple field
	ErrInvalidArg                              // a bad parameter (ranges, filter, order)
	ErrMissingParam                            // a required parameter is absent
	ErrAccessDenied                            // the caller may not do this
	ErrConflict                                // concurrent change won; retry
	ErrNotSupported                            // the entity type does not support this
	ErrHasItems                                // refused while items exist
	ErrDuplicate                               // a code that must be unique is taken
	ErrUnknownType                             // a custom field type nobody registered
	ErrOwnerNotFound                           // a timeline or activity call about an item that does not exist
	ErrLimit                                   // a limit is reached (pinned entries, bindings)
	ErrMultipleBindings                        // a timeline entry bound to several items needs an owner
	ErrWrongDatetime                           // a date and time in no accepted spelling
	ErrCompletedToDo                           // a completed to-do cannot be edited
	ErrParentActivity                          // a to-do cannot follow up a completed activity
	ErrAlreadyBound                            // the activity is already bound to the item
	ErrBindingNotFound                         // the activity is not bound to the item
	ErrLastBinding                             // an activity keeps at least one binding
	ErrBindingTypesDiffer                      // a binding moves within one entity type only
	ErrBindingSameItem                         // a binding moves to another item
	ErrStaleVersion                            // the item changed since the version the caller read
)

// Error is a domain error with the field it concerns, if any.
type Error struct {
	Kind  ErrorKind
	Field string // wire name of the field, when the error is about one
	Msg   string
}

func (e *Error) Error() string { return e.Msg }

func newErr(kind ErrorKind, format string, a ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, a...)}
}

// NewError makes a domain error, for the domain packages beside this one.
func NewError(kind ErrorKind, format string, a ...any) *Error { return newErr(kind, format, a...) }

// KindOf returns the kind of a domain error, or 0 for any other error.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}
