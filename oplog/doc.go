// Package oplog is OctoBase's op-log: a segmented, compressed, checksummed,
// crash-safe, append-only log of opaque records, plus state snapshots,
// retention-bounded compaction, and verify/dump tools. Every CRDT update is
// appended here before anything else sees it; the log is the source of
// truth from which views, indexes and replication are derived.
//
// # What the package owns
//
// One directory per log, holding:
//
//	LOCK                          advisory lock held while a Log is open
//	<20-digit first LSN>.seg      segments: headers and frames of records
//	<20-digit LSN>.snap           snapshots: a state blob as of an LSN
//	*.tmp                         temporary files (removed by Open)
//
// A [Journal] (journal.go) is shared by the logs of a store, in the
// directory JournalDir of their common root: logs with Options.Journal
// make their commits durable by journaling the bytes they wrote instead of
// fsyncing their segments, one journal fsync per round for all of them.
// Its layout and invariants (J1–J4) are documented on the type.
//
// The filesystem is reached only through [vfs.FS], so tests run on in-memory
// and crashable filesystems. The package imports only the standard library
// and klauspost/compress.
//
// # Records
//
// A [Record] is opaque Data (at most Options.MaxRecordSize ≤ 32 MiB) with an
// LSN, a Time (Unix nanoseconds, supplied by the caller or, when 0, by
// Options.Clock) and an Origin (a byte string of at most 255 bytes naming
// where the update came from, e.g. "local" or a peer id). LSNs are uint64,
// contiguous from 1; 0 means none.
//
// # Byte layout (format version 1)
//
// All integers are little-endian. CRC-32C is the Castagnoli CRC-32
// (hash/crc32.Castagnoli). docs/format.md repeats this layout; keep the two
// in agreement. The constants below are part of the format: changing any of
// them requires a new format version.
//
// A segment file is a 32-byte header followed by frames (the last segment
// may then hold zeros to the end of the file: see L3):
//
//	segment header (32 bytes)
//	  0    8 magic "OCTOPLOG"
//	  8    2 format version: 1
//	 10    2 header size: 32
//	 12    4 flags: 0
//	 16    8 first LSN (equals the file name)
//	 24    4 reserved: 0
//	 28    4 CRC-32C of bytes [0, 28)
//
// Any future version keeps bytes [0, 12) and ends its header with a CRC-32C
// of the rest of the header. A reader checks magic, header size and CRC
// first, then the version: a valid header with a newer version is refused
// with a [*VersionError] ("… has format version 2, but this build reads
// versions up to 1"), never mistaken for corruption or a torn tail.
//
// A frame holds one or more consecutive records, compressed together:
//
//	frame header (32 bytes)
//	  0    4 CRC-32C of bytes [4, 32+storedLen): rest of header + payload
//	  4    4 storedLen: payload bytes on disk
//	  8    4 rawLen: payload bytes after decompression (≤ 64 MiB)
//	 12    1 codec: 0 none, 1 S2 block, 2 zstd frame
//	 13    1 flags: 0
//	 14    2 count: records in the frame, ≥ 1
//	 16    8 first LSN; the frame holds LSNs first … first+count-1
//	 24    8 maxTime: the largest record Time in the frame
//	 32      payload (storedLen bytes)
//
// The decompressed payload is count records back to back:
//
//	record
//	  uvarint   len(Data) (≤ 32 MiB)
//	  varint    Time minus the previous record's Time in the frame
//	            (zig-zag; the first record's is relative to 0)
//	  uint8     len(Origin)
//	  [n]byte   Origin
//	  uint32    CRC-32C of Data ‖ LSN (u64) ‖ Time (i64) ‖ len(Origin) (u8) ‖ Origin
//	  [n]byte   Data
//
// A record's LSN is implicit (frame first LSN + index) but covered by its
// CRC, so a record cannot silently move. Frames are compressed when they are
// at least 64 bytes and compression saves at least 1/16; otherwise stored
// raw (codec 0). New frames use Options.Compression (S2 by default; see
// docs/format.md for the measurements); readers accept every codec.
//
// Records appended together share frames up to Options.FrameSize
// (uncompressed); a record of at least FrameSize/4 gets a frame of its own.
// Frame boundaries carry no meaning: readers see a stream of records.
//
// A snapshot file is written whole and renamed into place:
//
//	snapshot header (48 bytes)
//	  0    8 magic "OCTOSNAP"
//	  8    2 version: 1
//	 10    1 codec: 0 none, 1 S2 block, 2 zstd frame
//	 11    1 flags: 0
//	 12    4 reserved: 0
//	 16    8 LSN: the state is as of this LSN (records ≤ LSN applied)
//	 24    8 stored length
//	 32    8 raw length
//	 40    4 reserved: 0
//	 44    4 CRC-32C of bytes [0, 44) ‖ stored data
//	 48      stored data
//
// # Invariants
//
//   - L1 (contiguity). LSNs are contiguous: within a frame, across frames,
//     across segments. A segment's name is its first LSN, which is the
//     previous segment's last LSN + 1. If the first segment starts after
//     LSN 1, a snapshot at or after its first LSN − 1 exists.
//   - L2 (acknowledged ⇒ durable per mode). When Append returns nil in
//     SyncAlways mode, the record's frame is fsynced and its segment's
//     directory entry is durable; in SyncInterval and SyncNone modes the
//     frame was written to the file (it survives a process crash; a power
//     loss may lose what followed the last fsync: at most one interval in
//     SyncInterval mode).
//   - L3 (only the tail may tear). A segment is fsynced before the next one
//     is created, so after any crash only the last segment may end in a
//     partial frame. Open truncates such a torn tail, logs it, and reports
//     it in [RecoveryStats]. Zeros from the end of the last segment's last
//     frame to the end of its file are not damage but space the writer
//     reserved ahead of its frames (vfs.File.Allocate, so that appends do
//     not change the file's size and an fsync has no size to record); Open
//     cuts them. Sealed segments, and the active one of a closed log, end
//     with their last frame. Everything else that is wrong (a bad CRC in a
//     sealed segment, damage in the last segment followed by an intact
//     frame, an LSN gap, a bad header) fails Open with a [*CorruptError]
//     naming the file and offset. Nothing is skipped silently.
//   - L4 (visibility). Readers and LastLSN see exactly the acknowledged
//     records, in LSN order.
//   - L5 (compaction keeps history). Compact removes a segment only if a
//     verified snapshot covers all of its records and retention does not
//     require them, and never the active segment.
//   - L6 (I/O failure is sticky). After a failed write or fsync the log
//     refuses appends ([ErrFailed]); records acknowledged before the failure
//     stay intact, and reopening recovers (records whose Append failed may
//     or may not be present).
//
// # Concurrency
//
// A [Log]'s methods are safe for concurrent use. Appends are group-committed:
// an appender encodes its records into the pending batch under Log.mu (one
// copy; large records are only referenced), wakes the committer goroutine,
// and waits. An appender whose record fills a frame compresses that frame
// itself, outside the lock, in parallel with the others and with the
// committer's fsync. The committer takes the whole pending batch, compresses
// its last frame, writes all frames in one write, fsyncs once (SyncAlways),
// publishes the new visible end, and releases every appender of the batch.
// Appends arriving meanwhile form the next batch, so one fsync serves many
// appends. After an fsync the committer briefly waits (at most a quarter of
// the fsync's duration) for the appenders it released to come back, so
// closed-loop writers do not split into two groups taking turns.
//
// Readers ([Reader], [Log.Tail]) do not take Log.mu on the hot path: they
// load the published tail (an immutable value behind an atomic pointer)
// and read segment files directly, never past the published offset of the
// active segment. Waiting readers block on a channel closed at each publish.
// A Reader itself is for one goroutine.
//
// Locks, in the order they are taken:
//
//  1. Log.maintMu: serializes WriteSnapshot, Compact and Close.
//  2. Log.mu: pending batch, LSN assignment, segment list, failure state.
//     Never held during I/O.
//
// The committer goroutine owns the active segment file (Log.w); only it
// writes, fsyncs and rotates. Compact removes only sealed segments.
//
// # Tools
//
// [Verify] checks every byte of a log directory (every CRC, decompression,
// LSN continuity, snapshots) and names the first problem's file and offset.
// [Dump] prints one line per record. Both take a [vfs.FS] and a directory
// and change nothing.
package oplog
