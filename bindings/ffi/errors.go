package ffi

import (
	"context"
	"errors"
	"fmt"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/engine/lib0"
	"octobase/query"
)

// Code is a result code of the foreign interfaces. The values are part of
// the C ABI (cmd/liboctobase/octobase.h) and must never change.
type Code int32

// Result codes. OK and None are successes; every error is negative.
const (
	OK                Code = 0   // success
	None              Code = 1   // Poll: no change yet (not an error)
	CodeInternal      Code = -1  // a bug: a recovered panic, an unexpected failure
	CodeInvalidArg    Code = -2  // a NULL or invalid argument (name, index, option)
	CodeInvalidHandle Code = -3  // unknown, closed or wrong-kind handle
	CodeUnknownBuffer Code = -4  // free of a buffer the library did not return, or freed twice
	CodeJSON          Code = -5  // malformed JSON, or JSON of the wrong shape
	CodeUpdate        Code = -6  // a malformed or unsupported yjs update / state vector
	CodeNotFound      Code = -7  // no such block
	CodeExists        Code = -8  // a block with that id already exists
	CodeQuery         Code = -9  // an OQL statement that does not parse, bind or run
	CodeClosed        Code = -10 // the store or subscription is closed
	CodeIO            Code = -11 // the store could not be opened, read or written
)

// String returns the code's name as in the C header, without prefix.
func (c Code) String() string {
	switch c {
	case OK:
		return "OK"
	case None:
		return "NONE"
	case CodeInternal:
		return "ERR_INTERNAL"
	case CodeInvalidArg:
		return "ERR_INVALID_ARGUMENT"
	case CodeInvalidHandle:
		return "ERR_INVALID_HANDLE"
	case CodeUnknownBuffer:
		return "ERR_UNKNOWN_BUFFER"
	case CodeJSON:
		return "ERR_JSON"
	case CodeUpdate:
		return "ERR_UPDATE"
	case CodeNotFound:
		return "ERR_NOT_FOUND"
	case CodeExists:
		return "ERR_EXISTS"
	case CodeQuery:
		return "ERR_QUERY"
	case CodeClosed:
		return "ERR_CLOSED"
	case CodeIO:
		return "ERR_IO"
	}
	return fmt.Sprintf("Code(%d)", int32(c))
}

// Error is the error every API method returns: a Code and a message.
type Error struct {
	Code Code
	Msg  string
	Err  error // the underlying error, if any
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: "octobase: " + fmt.Sprintf(format, args...)}
}

// wrap classifies err (from the engine or query) and prefixes the message
// with what was being done. def is the code for errors it does not know.
func wrap(def Code, what string, err error) error {
	if err == nil {
		return nil
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	code := def
	var qe *query.Error
	switch {
	case errors.Is(err, engine.ErrClosed):
		code = CodeClosed
	case errors.Is(err, engine.ErrNotFound):
		code = CodeNotFound
	case errors.Is(err, engine.ErrExists):
		code = CodeExists
	case errors.Is(err, engine.ErrInvalidName), errors.Is(err, engine.ErrCycle),
		errors.Is(err, engine.ErrOutOfRange), errors.Is(err, engine.ErrNotText),
		errors.Is(err, engine.ErrFuture), errors.Is(err, crdt.ErrInvalidValue),
		errors.Is(err, crdt.ErrOutOfRange), errors.Is(err, lib0.ErrUnsupportedType):
		code = CodeInvalidArg
	case errors.Is(err, crdt.ErrMalformed), errors.Is(err, crdt.ErrUnsupported),
		errors.Is(err, lib0.ErrUnexpectedEOF), errors.Is(err, lib0.ErrOverflow),
		errors.Is(err, lib0.ErrUnknownTag), errors.Is(err, lib0.ErrTooDeep):
		code = CodeUpdate
	case errors.As(err, &qe):
		code = CodeQuery
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		code = CodeClosed
	}
	return &Error{Code: code, Msg: "octobase: " + what + ": " + err.Error(), Err: err}
}

// CodeOf returns the Code of err: OK for nil, the code of an *Error, and
// CodeInternal for anything else.
func CodeOf(err error) Code {
	if err == nil {
		return OK
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Code
	}
	return CodeInternal
}

// Recover turns a recovered panic value into an *Error with CodeInternal.
// Bindings call it from a deferred function at every exported entry point:
//
//	defer func() {
//		if r := recover(); r != nil {
//			err = ffi.Recover(r)
//		}
//	}()
func Recover(r any) *Error {
	return &Error{Code: CodeInternal, Msg: fmt.Sprintf("octobase: internal error (recovered panic): %v", r)}
}
