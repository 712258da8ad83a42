package index

import (
	"errors"
	"fmt"
)

// Sentinel errors. Each documents when it is returned; test with errors.Is.
var (
	// ErrEmptyID is returned by Apply when a change has an empty block id.
	// The whole batch is refused; nothing is applied.
	ErrEmptyID = errors.New("index: block change with empty id")
	// ErrFull is returned by Apply when the batch could need more rows than
	// an index holds (MaxRows). Nothing is applied.
	ErrFull = errors.New("index: too many rows")
	// ErrCorrupt marks a persisted index that cannot be read: bad magic,
	// checksum mismatch, truncation, malformed or inconsistent contents.
	// Errors carrying it are *CorruptError values.
	ErrCorrupt = errors.New("index: corrupt index file")
	// ErrUnsupportedVersion is returned by ReadFrom for a file written by a
	// newer format version than this build reads; the error is a
	// *VersionError.
	ErrUnsupportedVersion = errors.New("index: unsupported format version")
	// ErrMismatch is returned by Compare and Check when two indexes differ;
	// the error is a *MismatchError naming the first difference.
	ErrMismatch = errors.New("index: indexes differ")
	// ErrInconsistent is returned by Verify when an index breaks one of its
	// invariants (see the package documentation).
	ErrInconsistent = errors.New("index: inconsistent index")
)

// Reasons carried in CorruptError.Err.
var (
	errBadMagic  = errors.New("bad magic: not an index file")
	errChecksum  = errors.New("checksum mismatch")
	errTruncated = errors.New("truncated")
	errMalformed = errors.New("malformed")
)

// CorruptError reports why a persisted index cannot be read.
type CorruptError struct {
	Offset int64 // byte offset from the start of the index file, when known
	Err    error // what is wrong
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("index: corrupt index file at offset %d: %v", e.Offset, e.Err)
}

// Unwrap returns the reason.
func (e *CorruptError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

func corruptf(off int64, reason error, format string, args ...any) *CorruptError {
	if format != "" {
		reason = fmt.Errorf("%w: "+format, append([]any{reason}, args...)...)
	}
	return &CorruptError{Offset: off, Err: reason}
}

// VersionError reports a file written by a newer format version.
type VersionError struct {
	Version   uint32 // version found in the file
	Supported uint32 // newest version this build reads
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("index: file has format version %d, but this build reads versions up to %d: read it with a newer octobase, or rebuild the index from the log",
		e.Version, e.Supported)
}

// Is makes errors.Is(err, ErrUnsupportedVersion) true.
func (e *VersionError) Is(target error) bool { return target == ErrUnsupportedVersion }

// MismatchError names the first difference Compare found between two
// indexes, a and b.
type MismatchError struct {
	What   string // the posting or table, e.g. `flavour "affine:page"`, `ids`
	Detail string // e.g. `row 17 ("blk-17") is in a, not in b`
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("index: indexes differ: %s: %s", e.What, e.Detail)
}

// Is makes errors.Is(err, ErrMismatch) true.
func (e *MismatchError) Is(target error) bool { return target == ErrMismatch }

// inconsistent wraps a Verify failure.
func inconsistent(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInconsistent}, args...)...)
}
