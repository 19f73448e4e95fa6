package web

import (
	"errors"
	"net/http"

	"grassroots/errs"
)

// statusOf is the one table from error kind to HTTP status.
var statusOf = map[errs.Kind]int{
	errs.KindInvalid:         http.StatusBadRequest,
	errs.KindNotFound:        http.StatusNotFound,
	errs.KindConflict:        http.StatusConflict,
	errs.KindForbidden:       http.StatusForbidden,
	errs.KindUnauthenticated: http.StatusUnauthorized,
	errs.KindInternal:        http.StatusInternalServerError,
}

// tooLarge is the error for an oversized body; MaxBytesReader's own error is turned into it.
func tooLarge() *errs.Error {
	return errs.Invalid("", "上传内容过大（上限 32 MB）")
}

// classify turns any error into a service error with its status; internal causes stay in logs.
func classify(err error) (*errs.Error, int) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(), http.StatusRequestEntityTooLarge
	}
	e := errs.As(err)
	status, ok := statusOf[e.Kind]
	if !ok {
		status = http.StatusInternalServerError
	}
	return e, status
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    errs.Kind `json:"code"`
	Message string    `json:"message"`
	Field   string    `json:"field,omitempty"`
}

// writeError answers with a JSON error body; pages render their own error page instead.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, status := classify(err)
	WriteJSON(w, status, errorBody{errorDetail{Code: e.Kind, Message: e.Message, Field: e.Field}})
}

// atField points a service error at a form field, e.g. an unknown organisation typed into the
// "org" box; internal errors pass through untouched.
func atField(err error, field string) error {
	e := errs.As(err)
	if e.Kind == errs.KindInternal {
		return err
	}
	kind := e.Kind
	if kind == errs.KindNotFound {
		kind = errs.KindInvalid
	}
	return &errs.Error{Kind: kind, Field: field, Message: e.Message, Cause: e.Cause}
}
