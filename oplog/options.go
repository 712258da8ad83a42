package oplog

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"octobase/oplog/vfs"
)

// Durability says when Append returns.
type Durability uint8

const (
	// SyncAlways (the default) returns from Append only after the record is
	// fsynced. Concurrent appends share one fsync (group commit).
	SyncAlways Durability = iota
	// SyncInterval returns from Append once the record is written to the
	// file (it survives a process crash) and fsyncs at most every
	// Options.SyncInterval, so a power loss can lose up to one interval.
	SyncInterval
	// SyncNone returns from Append once the record is written to the file;
	// the log fsyncs only on rotation, Sync and Close.
	SyncNone
)

func (d Durability) String() string {
	switch d {
	case SyncAlways:
		return "always"
	case SyncInterval:
		return "interval"
	case SyncNone:
		return "none"
	}
	return fmt.Sprintf("Durability(%d)", d)
}

// ParseDurability parses "always", "interval" or "none" (String's output).
func ParseDurability(s string) (Durability, error) {
	for _, d := range []Durability{SyncAlways, SyncInterval, SyncNone} {
		if s == d.String() {
			return d, nil
		}
	}
	return 0, fmt.Errorf("durability %q is not always, interval or none", s)
}

// Compression selects how frames are compressed. It affects only new
// frames: a log may mix codecs, and every build reads all of them.
type Compression uint8

const (
	// CompressionDefault is CompressionS2; see docs/format.md for the
	// measurements behind the choice.
	CompressionDefault Compression = iota
	// CompressionNone stores frames uncompressed.
	CompressionNone
	// CompressionS2 compresses frames with S2 (klauspost/compress/s2).
	CompressionS2
	// CompressionZstd compresses frames with zstd at its fastest level.
	CompressionZstd
)

func (c Compression) String() string {
	switch c {
	case CompressionDefault:
		return "default"
	case CompressionNone:
		return "none"
	case CompressionS2:
		return "s2"
	case CompressionZstd:
		return "zstd"
	}
	return fmt.Sprintf("Compression(%d)", c)
}

// Defaults for zero Options fields.
const (
	DefaultSegmentSize   = 64 << 20
	DefaultFrameSize     = 64 << 10
	DefaultMaxRecordSize = 16 << 20
	DefaultSyncInterval  = 100 * time.Millisecond

	minSegmentSize = 1 << 10
)

// Options configures a Log. The zero value (or a nil *Options) is valid;
// each field documents what its zero value means.
type Options struct {
	// FS is the filesystem; nil means vfs.Default, the OS filesystem.
	FS vfs.FS
	// Durability says when Append returns; zero means SyncAlways.
	Durability Durability
	// SyncInterval is the longest time between fsyncs in SyncInterval mode;
	// zero means DefaultSyncInterval.
	SyncInterval time.Duration
	// SegmentSize is the size at which the active segment is sealed and a
	// new one started (a segment may exceed it by one frame). Zero means
	// DefaultSegmentSize; the minimum is 1 KiB.
	SegmentSize int64
	// FrameSize is the uncompressed size at which a frame is closed and the
	// next one started, when many records are written at once. Larger
	// frames compress better. Zero means DefaultFrameSize.
	FrameSize int
	// MaxRecordSize bounds a record's Data; zero means DefaultMaxRecordSize.
	// It cannot exceed MaxRecordSizeLimit.
	MaxRecordSize int
	// Compression selects the codec for new frames; zero means
	// CompressionDefault.
	Compression Compression
	// Clock supplies the time: Append stamps records whose Time is zero
	// with Clock().UnixNano(), and Compact measures age against it. Nil
	// means time.Now. (The SyncInterval timer always uses real time.)
	Clock func() time.Time
	// Logger receives recovery reports (torn tails truncated, temporary
	// files removed) and compaction notes. Nil discards them.
	Logger *slog.Logger
	// Syncer, if set, makes the active segment durable instead of its
	// File.Sync: logs that share a GroupSyncer share the system calls of
	// the fsyncs they need at the same time. Directory syncs are not
	// affected. Nil means File.Sync.
	Syncer *GroupSyncer
	// Journal, if set, makes commits durable by journaling the bytes
	// written to the active segment instead of fsyncing it: the logs that
	// share a Journal share one fsync of one file per round (see
	// Journal). The log's directory must be under the journal's root.
	// Segments are still fsynced when sealed, at Open and at Close.
	// Exclusive with Syncer.
	Journal *Journal
	// SyncCount, if set, is incremented with every fsync of a segment file
	// (Stats.Syncs), so that the logs of a store can share one monotonic
	// count.
	SyncCount *atomic.Int64
}

// resolve returns a copy with defaults filled in, or an error for invalid
// settings.
func (o *Options) resolve() (Options, error) {
	var r Options
	if o != nil {
		r = *o
	}
	if r.FS == nil {
		r.FS = vfs.Default
	}
	if r.Journal != nil && r.Syncer != nil {
		return r, errors.New("oplog: Options.Journal and Options.Syncer are exclusive")
	}
	if r.Durability > SyncNone {
		return r, fmt.Errorf("oplog: invalid Durability %d", r.Durability)
	}
	if r.SyncInterval < 0 {
		return r, errors.New("oplog: negative SyncInterval")
	}
	if r.SyncInterval == 0 {
		r.SyncInterval = DefaultSyncInterval
	}
	switch {
	case r.SegmentSize == 0:
		r.SegmentSize = DefaultSegmentSize
	case r.SegmentSize < minSegmentSize:
		return r, fmt.Errorf("oplog: SegmentSize %d below the minimum %d", r.SegmentSize, minSegmentSize)
	}
	switch {
	case r.FrameSize == 0:
		r.FrameSize = DefaultFrameSize
	case r.FrameSize < 0 || r.FrameSize > maxFrameRaw/2:
		return r, fmt.Errorf("oplog: FrameSize %d out of range (0, %d]", r.FrameSize, maxFrameRaw/2)
	}
	switch {
	case r.MaxRecordSize == 0:
		r.MaxRecordSize = DefaultMaxRecordSize
	case r.MaxRecordSize < 0 || r.MaxRecordSize > MaxRecordSizeLimit:
		return r, fmt.Errorf("oplog: MaxRecordSize %d out of range (0, %d]", r.MaxRecordSize, MaxRecordSizeLimit)
	}
	if r.Compression > CompressionZstd {
		return r, fmt.Errorf("oplog: invalid Compression %d", r.Compression)
	}
	if r.Compression == CompressionDefault {
		r.Compression = CompressionS2
	}
	if r.Clock == nil {
		r.Clock = time.Now
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	return r, nil
}
