package oplog

import (
	"errors"
	"fmt"
)

// Sentinel errors. Each documents when it is returned; test with errors.Is.
var (
	// ErrCorrupt marks damage the log cannot explain by a crash: a bad
	// checksum in a sealed segment or before the tail of the last one, an
	// LSN gap, a malformed header. It is never skipped silently; errors
	// carrying it are *CorruptError values naming the file and offset.
	ErrCorrupt = errors.New("oplog: corrupt log")
	// ErrUnsupportedVersion is returned by Open, Verify and Dump when a file
	// was written by a newer format version than this build reads. The error
	// is a *VersionError.
	ErrUnsupportedVersion = errors.New("oplog: unsupported format version")
	// ErrClosed is returned by operations on a closed Log or Reader.
	ErrClosed = errors.New("oplog: log is closed")
	// ErrFailed is returned by Append, AppendBatch and Sync after a write or
	// fsync failed. The log then refuses further appends, because after a
	// failed fsync the kernel's view of the file can no longer be trusted;
	// Close and Open it again to recover. The first error returned wraps the
	// underlying cause as well.
	ErrFailed = errors.New("oplog: log failed after an I/O error; reopen to recover")
	// ErrCompacted is returned by NewReader and Reader.Next when the
	// requested LSN lies before the first record still in the log.
	ErrCompacted = errors.New("oplog: position was compacted away")
	// ErrNoSnapshot is returned by LatestSnapshot and SnapshotAtOrBefore
	// when there is no matching snapshot.
	ErrNoSnapshot = errors.New("oplog: no snapshot")
	// ErrRecordTooLarge is returned by Append when a record's data exceeds
	// Options.MaxRecordSize.
	ErrRecordTooLarge = errors.New("oplog: record too large")
	// ErrOriginTooLong is returned by Append when an origin is longer than
	// MaxOriginLen bytes.
	ErrOriginTooLong = errors.New("oplog: origin too long")
)

// Reasons carried in CorruptError.Err.
var (
	errBadMagic     = errors.New("bad magic: not an oplog file")
	errHeaderCRC    = errors.New("file header checksum mismatch")
	errFrameHeader  = errors.New("malformed frame header")
	errFrameCRC     = errors.New("frame checksum mismatch")
	errTruncated    = errors.New("truncated frame")
	errRecordFormat = errors.New("malformed record")
	errRecordCRC    = errors.New("record checksum mismatch")
	errDecompress   = errors.New("frame payload does not decompress")
)

// CorruptError reports corruption at a precise place. errors.Is(err,
// ErrCorrupt) holds for every *CorruptError.
type CorruptError struct {
	Segment string // file name (not path) of the segment or snapshot file
	Offset  int64  // byte offset in that file of the damaged header or frame
	Err     error  // what is wrong
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("oplog: corrupt %s at offset %d: %v", e.Segment, e.Offset, e.Err)
}

// Unwrap returns the reason.
func (e *CorruptError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// VersionError reports a file written by a newer format version.
type VersionError struct {
	File      string // file name
	Version   uint16 // version found in the file
	Supported uint16 // newest version this build reads
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("oplog: %s has format version %d, but this build reads versions up to %d: open it with a newer octobase",
		e.File, e.Version, e.Supported)
}

// Is makes errors.Is(err, ErrUnsupportedVersion) true.
func (e *VersionError) Is(target error) bool { return target == ErrUnsupportedVersion }

func corruptf(segment string, off int64, reason error, format string, args ...any) *CorruptError {
	if format != "" {
		reason = fmt.Errorf("%w: "+format, append([]any{reason}, args...)...)
	}
	return &CorruptError{Segment: segment, Offset: off, Err: reason}
}
