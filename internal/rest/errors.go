package rest

import (
	"errors"
	"net/http"

	"smartcrm/internal/crm"
	"smartcrm/internal/params"
	"smartcrm/internal/tasks"
)

// APIError is an error as it goes on the wire: HTTP status, the `error` value (a string
// code, or an integer where Bitrix24 answers one) and the description.
type APIError struct {
	Status int
	Code   any
	Desc   string
}

func (e *APIError) Error() string { return e.Desc }

func apiErr(status int, code any, desc string) *APIError {
	return &APIError{Status: status, Code: code, Desc: desc}
}

// System errors shared by every method.
var (
	errMethodNotFound = apiErr(http.StatusNotFound, "ERROR_METHOD_NOT_FOUND", "Method not found!")
	errNoAuth         = apiErr(http.StatusUnauthorized, "NO_AUTH_FOUND", "Wrong authorization data")
	errBatchLength    = apiErr(http.StatusBadRequest, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")
	errBatchMethod    = apiErr(http.StatusMethodNotAllowed, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage")
	errInternal       = apiErr(http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "Internal server error")
	errTooLarge       = apiErr(http.StatusRequestEntityTooLarge, "REQUEST_ENTITY_TOO_LARGE", "The request body is too large")
)

// family maps domain errors to the codes one method family uses (spec §1.5, §11).
type family int

const (
	familyItem         family = iota // crm.item.*: string codes, HTTP 400
	familyType                       // crm.type.*: like items, but "not found" is the integer 0
	familyCategory                   // crm.category.*: like items, a missing name is the integer 0
	familyStatus                     // crm.status.* except add: the message is the code
	familyStatusAdd                  // crm.status.add: the code is "" (ERROR_CORE for a taken code)
	familyUserField                  // userfieldconfig.*: the code is "" (ERROR_CORE for an unknown type)
	familyLegacy                     // crm.deal/contact/company/lead.*: the code is "", the text says what
	familyTimeline                   // crm.timeline.comment writes, logmessage, note, pin: codes like OWNER_NOT_FOUND
	familyTimelineText               // crm.timeline.comment reads and bindings: the code is "", the text says what
	familyTask                       // tasks.task.*: ERROR_CORE with the text; a missing task is the integer 0
	familyActivity                   // crm.activity.*: string codes of spec automation §3.6, 100 for missing parameters
)

// activityCodes are the codes of crm.activity.* (spec automation §3.6 and the method
// pages it cites). The docs name no code for the 100-bindings limit; ours says what.
var activityCodes = map[crm.ErrorKind]any{
	crm.ErrItemNotFound:       "NOT_FOUND",
	crm.ErrTypeNotFound:       "NOT_FOUND",
	crm.ErrOwnerNotFound:      "OWNER_NOT_FOUND",
	crm.ErrAccessDenied:       "ACCESS_DENIED",
	crm.ErrMissingParam:       100,
	crm.ErrNotIterable:        100,
	crm.ErrInvalidArg:         "INVALID_ARG_VALUE",
	crm.ErrInvalidValue:       "INVALID_ARG_VALUE",
	crm.ErrWrongDatetime:      "WRONG_DATETIME_FORMAT",
	crm.ErrCompletedToDo:      "CAN_NOT_UPDATE_COMPLETED_TODO",
	crm.ErrParentActivity:     "ERROR_PARENT_ACTIVITY_RESTRICT",
	crm.ErrAlreadyBound:       "ACTIVITY_IS_ALREADY_BOUND",
	crm.ErrBindingNotFound:    "BINDING_NOT_FOUND",
	crm.ErrLastBinding:        "LAST_BINDING_CANNOT_BE_DELETED",
	crm.ErrBindingTypesDiffer: "SOURCE_AND_TARGET_ENTITY_TYPES_ARE_NOT_EQUAL_ERROR",
	crm.ErrBindingSameItem:    "SOURCE_AND_TARGET_ENTITY_ID_ARE_EQUAL_ERROR",
	crm.ErrLimit:              "TOO_MANY_BINDINGS",
}

// wire turns any error from a handler into its wire form.
func (f family) wire(err error) *APIError {
	var api *APIError
	if errors.As(err, &api) {
		return api
	}
	if errors.Is(err, params.ErrMalformed) {
		return apiErr(http.StatusBadRequest, 100, err.Error())
	}
	if f == familyTask {
		return taskWire(err)
	}
	var de *crm.Error
	if !errors.As(err, &de) {
		return nil // not a client error: the caller logs it and answers 500
	}
	bad := func(code any) *APIError { return apiErr(http.StatusBadRequest, code, de.Msg) }
	switch f {
	case familyStatus, familyStatusAdd:
		if de.Kind == crm.ErrDuplicate {
			return bad("ERROR_CORE")
		}
		if de.Kind == crm.ErrAccessDenied {
			return bad("Access denied.")
		}
		if f == familyStatusAdd {
			return bad("")
		}
		return bad(de.Msg)
	case familyCategory:
		if de.Kind == crm.ErrRequired {
			return bad(0)
		}
	case familyUserField:
		if de.Kind == crm.ErrUnknownType {
			return bad("ERROR_CORE")
		}
		return bad("")
	case familyTimeline:
		switch de.Kind {
		case crm.ErrOwnerNotFound:
			return bad("OWNER_NOT_FOUND")
		case crm.ErrMultipleBindings:
			return bad("MULTIPLE_BINDINGS")
		case crm.ErrLimit:
			return bad(0)
		}
	case familyTimelineText:
		if de.Kind == crm.ErrAccessDenied {
			return bad("Access denied.")
		}
		return bad("")
	case familyActivity:
		if code, ok := activityCodes[de.Kind]; ok {
			return bad(code)
		}
		if de.Kind == crm.ErrConflict {
			return apiErr(http.StatusConflict, "CONFLICT", de.Msg)
		}
		return bad("ERROR")
	case familyLegacy:
		switch de.Kind {
		case crm.ErrItemNotFound:
			return apiErr(http.StatusBadRequest, "", "Not found")
		case crm.ErrAccessDenied:
			return apiErr(http.StatusBadRequest, "", "Access denied.")
		case crm.ErrConflict:
			return apiErr(http.StatusConflict, "CONFLICT", de.Msg)
		}
		return bad("")
	}
	switch de.Kind {
	case crm.ErrTypeNotFound:
		if f == familyType {
			return bad(0)
		}
		return bad("NOT_FOUND")
	case crm.ErrItemNotFound:
		return bad("NOT_FOUND")
	case crm.ErrInvalidValue:
		return bad("CRM_FIELD_ERROR_VALUE_NOT_VALID")
	case crm.ErrRequired:
		return bad("CRM_FIELD_ERROR_REQUIRED")
	case crm.ErrNotIterable, crm.ErrMissingParam:
		return bad(100)
	case crm.ErrInvalidArg:
		return bad("INVALID_ARG_VALUE")
	case crm.ErrAccessDenied:
		return bad("ACCESS_DENIED")
	case crm.ErrNotSupported:
		return bad("ENTITY_TYPE_NOT_SUPPORTED")
	case crm.ErrHasItems:
		return bad("BX_ERROR")
	case crm.ErrConflict:
		return apiErr(http.StatusConflict, "CONFLICT", de.Msg)
	}
	return bad("ERROR")
}

// taskWire maps the errors of the tasks.task.* methods. Bitrix24 answers a value a task
// cannot take with ERROR_CORE and a sentence, and a task that is missing (or hidden)
// with the integer 0; both are HTTP 400.
func taskWire(err error) *APIError {
	var te *tasks.Error
	if errors.As(err, &te) {
		if te.Kind == tasks.ErrNotFound {
			return apiErr(http.StatusBadRequest, 0, te.Msg)
		}
		return apiErr(http.StatusBadRequest, "ERROR_CORE", te.Msg)
	}
	var de *crm.Error
	if errors.As(err, &de) {
		if de.Kind == crm.ErrConflict {
			return apiErr(http.StatusConflict, "CONFLICT", de.Msg)
		}
		return apiErr(http.StatusBadRequest, "ERROR_CORE", de.Msg)
	}
	return nil
}
