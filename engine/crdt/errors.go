package crdt

import (
	"errors"
	"fmt"
	"math"

	"octobase/engine/lib0"
)

// ErrMalformed is returned (wrapped) for any update, state vector or delete
// set that cannot be decoded or does not describe a consistent history. The
// document is left unchanged when ApplyUpdate returns it.
var ErrMalformed = errors.New("crdt: malformed update")

// ErrUnsupported is returned for content yjs 13 does not define (for example
// yrs' weak links, type ref 7, or move content, ref 11).
var ErrUnsupported = errors.New("crdt: unsupported content")

// ErrOutOfRange is returned by list and text operations whose index or length
// exceeds the type's length.
var ErrOutOfRange = errors.New("crdt: index out of range")

// ErrInvalidValue is returned when a value cannot be stored in a shared type.
var ErrInvalidValue = errors.New("crdt: invalid value")

var errTruncated = lib0.ErrUnexpectedEOF

// decodeError carries what was being decoded.
type decodeError struct {
	what string
	err  error
}

func (e *decodeError) Error() string { return "crdt: decode " + e.what + ": " + e.err.Error() }
func (e *decodeError) Unwrap() []error {
	return []error{ErrMalformed, e.err}
}

func wrapDecode(what string, err error) error {
	var de *decodeError
	if errors.As(err, &de) {
		return err
	}
	return &decodeError{what: what, err: err}
}

func malformed(format string, args ...any) error {
	return &decodeError{what: "update", err: fmt.Errorf(format, args...)}
}

// reader wraps a lib0 decoder with the range checks every id needs.
type reader struct{ lib0.Decoder }

func newReader(b []byte) *reader {
	r := &reader{}
	r.Reset(b)
	return r
}

func (r *reader) varUint() (uint64, error) { return r.ReadVarUint() }
func (r *reader) remaining() int           { return r.Remaining() }

func (r *reader) client() (uint64, error) {
	v, err := r.ReadVarUint()
	if err != nil {
		return 0, err
	}
	if v > MaxClientID {
		return 0, fmt.Errorf("client id %d exceeds 2^53-1", v)
	}
	return v, nil
}

func (r *reader) clock() (uint32, error) {
	v, err := r.ReadVarUint()
	if err != nil {
		return 0, err
	}
	if v > math.MaxUint32 {
		return 0, fmt.Errorf("clock %d exceeds 2^32-1", v)
	}
	return uint32(v), nil
}

func appendVarUint(dst []byte, v uint64) []byte { return lib0.AppendVarUint(dst, v) }

type unsupportedError struct{ what string }

func (e *unsupportedError) Error() string { return "unsupported " + e.what }
func (e *unsupportedError) Unwrap() error { return ErrUnsupported }

func unsupportedf(format string, args ...any) error {
	return &unsupportedError{fmt.Sprintf(format, args...)}
}
