// Package errs holds the few kinds of error the services return. A service error carries a
// message for the user (in Chinese), the form field it concerns, and optionally the underlying
// cause, which is logged but never shown.
package errs

import (
	"errors"
	"fmt"
)

// Kind says what went wrong in terms a client can act on; web maps each kind to one HTTP status.
type Kind string

const (
	KindInvalid         Kind = "invalid"
	KindNotFound        Kind = "not_found"
	KindConflict        Kind = "conflict"
	KindForbidden       Kind = "forbidden"
	KindUnauthenticated Kind = "unauthenticated"
	KindInternal        Kind = "internal"
)

// Error is a service error.
type Error struct {
	Kind    Kind
	Field   string // the input field at fault, when there is one
	Message string // shown to the user, in Chinese
	Cause   error  // logged, never shown
}

func (e *Error) Error() string {
	s := string(e.Kind) + ": " + e.Message
	if e.Field != "" {
		s += " (field " + e.Field + ")"
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Cause }

// Invalid reports bad input in one field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound reports a missing record, or one the caller may not see.
func NotFound(format string, args ...any) *Error {
	return &Error{Kind: KindNotFound, Message: fmt.Sprintf(format, args...)}
}

// Conflict reports a request that clashes with the current state.
func Conflict(format string, args ...any) *Error {
	return &Error{Kind: KindConflict, Message: fmt.Sprintf(format, args...)}
}

// Forbidden reports an action outside the caller's permissions.
func Forbidden(format string, args ...any) *Error {
	return &Error{Kind: KindForbidden, Message: fmt.Sprintf(format, args...)}
}

// Unauthenticated reports a missing, expired or wrong credential.
func Unauthenticated(format string, args ...any) *Error {
	return &Error{Kind: KindUnauthenticated, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected failure; the user sees only a generic message.
func Internal(cause error) *Error {
	return &Error{Kind: KindInternal, Message: "系统内部错误，请稍后重试", Cause: cause}
}

// KindOf returns the kind of err, or KindInternal for errors that are not service errors.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// As returns err as a service error, wrapping anything else as internal.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

// Is reports whether err is a service error of kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }
