package rest

import (
	"errors"
	"net/http"

	"smartcrm/internal/crm"
	"smartcrm/internal/events"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
	"smartcrm/internal/store"
)

// APIError is an error as it goes on the wire: HTTP status, the `error` value (a string
// code, or an integer where Bitrix24 answers one) and the description.
type APIError struct {
	Status int
	Code   any
	Desc   string
	// Problems, when set, goes out beside the description as `problems`: the list a
	// refused automation document (or process file) names each mistake in.
	Problems any
}

// envelope is the error as the body (or a batch's result_error entry) carries it.
func (e *APIError) envelope() jsonx.Map {
	m := jsonx.Map{{K: "error", V: e.Code}, {K: "error_description", V: e.Desc}}
	if e.Problems != nil {
		m = append(m, jsonx.KV{K: "problems", V: e.Problems})
	}
	return m
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

// errorTable is how one method family spells domain errors (spec §1.5, §11): the
// `error` value per kind, a code for the kinds it does not list, fixed descriptions
// where the family has them. Every error is HTTP 400 but a conflict, which is 409 in
// every family: CONFLICT when concurrent writers collided, VERSION_CONFLICT when the
// item changed since the version the caller said it read.
type errorTable struct {
	codes map[crm.ErrorKind]any
	// other is the code of kinds not in codes; messageCode answers the message itself
	// as the code instead.
	other       any
	messageCode bool
	// texts replace the domain's message for some kinds.
	texts map[crm.ErrorKind]string
	// fieldPrefix starts the message with the field's UPPER_CASE name (tasks).
	fieldPrefix bool
}

// itemCodes are the codes of crm.item.* and the families that follow it (spec §4.9).
var itemCodes = map[crm.ErrorKind]any{
	crm.ErrTypeNotFound: "NOT_FOUND",
	crm.ErrItemNotFound: "NOT_FOUND",
	crm.ErrInvalidValue: "CRM_FIELD_ERROR_VALUE_NOT_VALID",
	crm.ErrRequired:     "CRM_FIELD_ERROR_REQUIRED",
	crm.ErrNotIterable:  100,
	crm.ErrMissingParam: 100,
	crm.ErrInvalidArg:   "INVALID_ARG_VALUE",
	crm.ErrAccessDenied: "ACCESS_DENIED",
	crm.ErrNotSupported: "ENTITY_TYPE_NOT_SUPPORTED",
	crm.ErrHasItems:     "BX_ERROR",
}

// with returns itemCodes with some kinds spelt otherwise.
func with(over map[crm.ErrorKind]any) map[crm.ErrorKind]any {
	out := make(map[crm.ErrorKind]any, len(itemCodes)+len(over))
	for k, v := range itemCodes {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// family names a method family, which shares its error spelling.
type family int

const (
	familyItem         family = iota // crm.item.*: string codes
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
	familyAutomation                 // smartcrm.automation.*: item codes; AUTOMATION_INVALID lists problems
	familyTrigger                    // crm.automation.trigger*: the code is "" (ACCESS_DENIED for rights), the text says what
	familyEvent                      // event.*, events, smartcrm.events.*: codes of spec core §9.3 (events.Error)
	familyBizproc                    // bizproc.robot.*, bizproc.event.send, bizproc.activity.log: codes of spec automation §4.4
	familyProcess                    // smartcrm.process.*: item codes; PROCESS_FILE_INVALID lists problems
)

var errorTables = map[family]errorTable{
	familyAutomation: {codes: with(map[crm.ErrorKind]any{crm.ErrNotSupported: "AUTOMATION_NOT_ENABLED"}), other: "ERROR"},
	familyTrigger:    {codes: map[crm.ErrorKind]any{crm.ErrAccessDenied: "ACCESS_DENIED"}, other: ""},
	familyProcess:    {codes: with(nil), other: "ERROR"},
	familyEvent:      {codes: with(nil), other: "ERROR_CORE"},
	familyBizproc:    {codes: map[crm.ErrorKind]any{crm.ErrAccessDenied: "ACCESS_DENIED"}, other: "ERROR_CORE"},
	familyItem:       {codes: itemCodes, other: "ERROR"},
	familyType:       {codes: with(map[crm.ErrorKind]any{crm.ErrTypeNotFound: 0}), other: "ERROR"},
	familyCategory:   {codes: with(map[crm.ErrorKind]any{crm.ErrRequired: 0}), other: "ERROR"},
	familyStatus: {codes: map[crm.ErrorKind]any{crm.ErrDuplicate: "ERROR_CORE", crm.ErrAccessDenied: "Access denied."},
		messageCode: true},
	familyStatusAdd: {codes: map[crm.ErrorKind]any{crm.ErrDuplicate: "ERROR_CORE", crm.ErrAccessDenied: "Access denied."},
		other: ""},
	familyUserField: {codes: map[crm.ErrorKind]any{crm.ErrUnknownType: "ERROR_CORE"}, other: ""},
	familyLegacy: {other: "",
		texts: map[crm.ErrorKind]string{crm.ErrItemNotFound: "Not found", crm.ErrAccessDenied: "Access denied."}},
	familyTimeline: {codes: with(map[crm.ErrorKind]any{crm.ErrOwnerNotFound: "OWNER_NOT_FOUND",
		crm.ErrMultipleBindings: "MULTIPLE_BINDINGS", crm.ErrLimit: 0}), other: "ERROR"},
	familyTimelineText: {codes: map[crm.ErrorKind]any{crm.ErrAccessDenied: "Access denied."}, other: ""},
	familyTask:         {codes: map[crm.ErrorKind]any{crm.ErrItemNotFound: 0}, other: "ERROR_CORE", fieldPrefix: true},
	familyActivity: {codes: map[crm.ErrorKind]any{
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
		// The docs name no code for the 100-bindings limit; ours says what.
		crm.ErrLimit: "TOO_MANY_BINDINGS",
	}, other: "ERROR"},
}

// wire turns any error from a handler into its wire form; nil for errors that are not
// the caller's (the server logs them and answers 500).
func (f family) wire(err error) *APIError {
	var api *APIError
	if errors.As(err, &api) {
		return api
	}
	var ee *events.Error
	if errors.As(err, &ee) {
		return apiErr(ee.Status, ee.Code, ee.Msg)
	}
	if errors.Is(err, params.ErrMalformed) {
		return apiErr(http.StatusBadRequest, 100, err.Error())
	}
	if errors.Is(err, store.ErrQueryTimeout) {
		// Bitrix24's answer when a method ran out of time: clients back off and retry.
		return apiErr(http.StatusTooManyRequests, "OPERATION_TIME_LIMIT", err.Error())
	}
	var de *crm.Error
	if !errors.As(err, &de) {
		return nil
	}
	switch de.Kind {
	case crm.ErrConflict:
		return apiErr(http.StatusConflict, "CONFLICT", de.Msg)
	case crm.ErrStaleVersion:
		return apiErr(http.StatusConflict, "VERSION_CONFLICT", de.Msg)
	}
	table := errorTables[f]
	msg := de.Msg
	if text, ok := table.texts[de.Kind]; ok {
		msg = text
	}
	if table.fieldPrefix && de.Field != "" {
		msg = upperName(de.Field) + ": " + msg
	}
	code, ok := table.codes[de.Kind]
	switch {
	case ok:
	case table.messageCode:
		code = msg
	default:
		code = table.other
	}
	return apiErr(http.StatusBadRequest, code, msg)
}
