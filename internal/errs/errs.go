// Package errs defines the error codes every layer of groundcrew shares.
//
// A domain service returns an *Error with a Code (and, for invalid input,
// the Field at fault); the API and the UI turn the code into an HTTP status
// in exactly one place each. Errors without a code are internal errors: the
// caller sees a generic message and the log sees the details.
package errs

import (
	"errors"
	"fmt"
)

// Code classifies an error for people and for HTTP.
type Code string

// The error codes. Their HTTP mapping lives in HTTPStatus.
const (
	Invalid      Code = "invalid"      // bad input; Field names the culprit
	NotFound     Code = "not_found"    // the object does not exist (or the actor may not know it does)
	Conflict     Code = "conflict"     // the object already exists or is in use
	Precondition Code = "precondition" // a stale ETag / If-Match
	Unauthorized Code = "unauthorized" // no or bad credentials
	Forbidden    Code = "forbidden"    // authenticated, but not allowed
	TooMany      Code = "too_many"     // throttled
	Unavailable  Code = "unavailable"  // a dependency is down
	Internal     Code = "internal"     // a bug or an unexpected failure
	TooLarge     Code = "too_large"    // request body over the limit
)

// Error is an error with a code, an optional field and a message safe to
// show to the person who caused it.
type Error struct {
	Code    Code
	Where   string // where the input came from, e.g. "apps.yaml: document 3 (Service/x)"; empty if none
	Field   string // dotted path of the bad input, e.g. "spec.owner"; empty if none
	Message string
	Err     error // the underlying error, for logs; never shown
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Where != "" {
		msg = e.Where + ": " + msg
	}
	if e.Err != nil && msg == "" {
		return e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Invalidf returns an Invalid error for field.
func Invalidf(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFoundf returns a NotFound error.
func NotFoundf(format string, args ...any) *Error {
	return &Error{Code: NotFound, Message: fmt.Sprintf(format, args...)}
}

// Conflictf returns a Conflict error.
func Conflictf(format string, args ...any) *Error {
	return &Error{Code: Conflict, Message: fmt.Sprintf(format, args...)}
}

// Forbiddenf returns a Forbidden error.
func Forbiddenf(format string, args ...any) *Error {
	return &Error{Code: Forbidden, Message: fmt.Sprintf(format, args...)}
}

// Unauthorizedf returns an Unauthorized error.
func Unauthorizedf(format string, args ...any) *Error {
	return &Error{Code: Unauthorized, Message: fmt.Sprintf(format, args...)}
}

// Preconditionf returns a Precondition error.
func Preconditionf(format string, args ...any) *Error {
	return &Error{Code: Precondition, Message: fmt.Sprintf(format, args...)}
}

// E returns a coded error with a message.
func E(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf reports the code of err, or Internal when err carries none.
// A nil error has no code ("").
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }

// FieldOf returns the field named by err, if any.
func FieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// MessageOf returns the message safe to show for err: the coded message, or
// a generic one for internal errors so that no detail leaks.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != Internal {
		return e.Error()
	}
	return "internal error"
}

// WithField returns err with its field prefixed by prefix ("spec" + "owner"
// = "spec.owner"). Errors without a code are returned unchanged.
func WithField(prefix string, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	if c.Field == "" {
		c.Field = prefix
	} else if prefix != "" {
		c.Field = prefix + "." + c.Field
	}
	return &c
}

// HTTPStatus maps a code to its HTTP status.
func HTTPStatus(c Code) int {
	switch c {
	case Invalid:
		return 422
	case NotFound:
		return 404
	case Conflict:
		return 409
	case Precondition:
		return 412
	case Unauthorized:
		return 401
	case Forbidden:
		return 403
	case TooMany:
		return 429
	case Unavailable:
		return 503
	case TooLarge:
		return 413
	default:
		return 500
	}
}
