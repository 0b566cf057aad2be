package sdk

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// How errors cross the wire. A plugin's *Error travels as a gRPC status
// whose code follows Code and which carries an ErrorInfo detail in
// errorDomain. The detail is what lets a client tell the plugin saying
// "Unavailable" (a dependency of the plugin is down) from gRPC saying it
// (the plugin process is gone): only the former becomes an *Error; the
// latter, like DeadlineExceeded and Canceled, reaches the host as the
// original gRPC error for it to classify.

const errorDomain = "plugins.warroom.dev"

var codeReasons = [...]string{
	CodeInternal:           "INTERNAL",
	CodeInvalid:            "INVALID",
	CodeNotFound:           "NOT_FOUND",
	CodeFailedPrecondition: "FAILED_PRECONDITION",
	CodeUnavailable:        "UNAVAILABLE",
	CodeUnimplemented:      "UNIMPLEMENTED",
}

func grpcCode(c Code) codes.Code {
	switch c {
	case CodeInvalid:
		return codes.InvalidArgument
	case CodeNotFound:
		return codes.NotFound
	case CodeFailedPrecondition:
		return codes.FailedPrecondition
	case CodeUnavailable:
		return codes.Unavailable
	case CodeUnimplemented:
		return codes.Unimplemented
	}
	return codes.Internal
}

// toStatus turns an error of plugin code into the gRPC status the handler
// returns. The request's own cancellation or deadline stays what it is;
// any other error without a Code is CodeInternal.
func toStatus(ctx context.Context, err error) error {
	var e *Error
	if !errors.As(err, &e) && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return status.FromContextError(err).Err()
	}
	code := CodeOf(err)
	if code < 0 || int(code) >= len(codeReasons) {
		code = CodeInternal
	}
	st := status.New(grpcCode(code), err.Error())
	if withInfo, derr := st.WithDetails(&errdetails.ErrorInfo{Domain: errorDomain, Reason: codeReasons[code]}); derr == nil {
		st = withInfo
	}
	return st.Err()
}

// fromStatus turns the error of a gRPC call into what the SDK's clients
// return: an *Error for an answer of the plugin, the original gRPC error
// for a failure of the transport (see above).
func fromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == errorDomain {
			for code, reason := range codeReasons {
				if reason == info.GetReason() {
					return &Error{Code: Code(code), Message: st.Message()}
				}
			}
		}
	}
	// No detail: a plugin not built with this SDK, or gRPC itself (an
	// Unimplemented service the plugin does not serve). Unavailable,
	// DeadlineExceeded, Canceled and the rest stay transport errors.
	switch st.Code() {
	case codes.InvalidArgument:
		return &Error{Code: CodeInvalid, Message: st.Message()}
	case codes.NotFound:
		return &Error{Code: CodeNotFound, Message: st.Message()}
	case codes.FailedPrecondition:
		return &Error{Code: CodeFailedPrecondition, Message: st.Message()}
	case codes.Unimplemented:
		return &Error{Code: CodeUnimplemented, Message: st.Message()}
	case codes.Internal:
		return &Error{Code: CodeInternal, Message: st.Message()}
	}
	return err
}

// Is makes an *Error with CodeNotFound match ErrNotFound, so that
// errors.Is(err, sdk.ErrNotFound) holds for a plugin's NotFound answer
// while the error stays an *Error.
func (e *Error) Is(target error) bool {
	return target == ErrNotFound && e.Code == CodeNotFound
}

// ErrMalformed is matched (errors.Is) by the errors clients return when a
// plugin's answer breaks the contract: an unknown enum value, a sample of
// a series never declared, a deployment stream without a final event.
// The host treats such a plugin as faulty, like one that crashed.
var ErrMalformed = errors.New("malformed answer from plugin")

type malformedError struct{ msg string }

func (e *malformedError) Error() string        { return e.msg }
func (e *malformedError) Is(target error) bool { return target == ErrMalformed }

func malformedf(format string, args ...any) error {
	return &malformedError{msg: "malformed answer: " + fmt.Sprintf(format, args...)}
}
