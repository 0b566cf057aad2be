package sdk

import (
	"errors"
	"fmt"
)

// Code classifies an error a plugin returns, so warroom can tell a
// refusal from a fault. It travels as a gRPC status code.
type Code int

const (
	// CodeInternal is any other failure.
	CodeInternal Code = iota
	// CodeInvalid: the request or a setting is wrong; retrying will not help.
	CodeInvalid
	// CodeNotFound: what was asked for does not exist.
	CodeNotFound
	// CodeFailedPrecondition: the system is not in a state to do it now.
	CodeFailedPrecondition
	// CodeUnavailable: a dependency of the plugin is down; retry later.
	CodeUnavailable
	// CodeUnimplemented: the plugin does not do this.
	CodeUnimplemented
)

// Error is an error with a code.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an error with a code.
func Errorf(code Code, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns an error's code; errors without one are CodeInternal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrNotFound is returned (wrapped) by clients when the plugin answered
// NotFound.
var ErrNotFound = errors.New("not found")
