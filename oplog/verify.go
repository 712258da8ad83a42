package oplog

import (
	"errors"
	"fmt"
	"io"
	"time"

	"octobase/oplog/vfs"
)

// VerifyReport is what Verify checked.
type VerifyReport struct {
	Segments          int
	Frames, Records   int64
	FirstLSN, LastLSN LSN   // LastLSN is FirstLSN-1 for a log without records
	Bytes             int64 // valid segment bytes
	RawBytes          int64 // decompressed frame payload bytes
	Snapshots         []LSN // snapshots, all verified
	// A torn tail at the end of the last segment, which Open would cut off:
	// its segment, offset and length. Not an error.
	TornSegment string
	TornOffset  int64
	TornBytes   int64
}

// Verify reads every segment and snapshot in dir without changing anything:
// segment headers, every frame's CRC, decompression, every record's CRC,
// LSN continuity within and across segments, that snapshots cover any
// missing start of history, and every snapshot's checksum. It applies the
// same torn-tail rule as Open (reported in the report, not as an error).
// The first problem is returned as a *CorruptError naming the file and
// offset (or a *VersionError); the report covers what was checked before
// it. Verify takes no lock: run it on a log that is not being written, or
// accept that the tail may look torn. A nil fs means vfs.Default.
func Verify(fs vfs.FS, dir string) (VerifyReport, error) {
	if fs == nil {
		fs = vfs.Default
	}
	var rep VerifyReport
	ds, err := scanDir(fs, dir, scanOptions{decodeFrom: 1})
	if ds != nil {
		rep.Segments = len(ds.segments)
		rep.Frames, rep.Records, rep.Bytes, rep.RawBytes = ds.frames, ds.records, ds.bytes, ds.rawBytes
		rep.TornSegment, rep.TornOffset, rep.TornBytes = ds.tornSegment, ds.tornOff, ds.tornBytes
		if len(ds.segments) > 0 {
			rep.FirstLSN, rep.LastLSN = ds.segments[0].first, ds.segments[len(ds.segments)-1].last
		}
	}
	if err != nil {
		return rep, err
	}
	if len(ds.segments) > 0 {
		if err := checkHistoryStart(ds); err != nil {
			return rep, err
		}
	}
	for _, lsn := range ds.snapshots {
		if _, err := readSnapshot(fs, dir, lsn); err != nil {
			return rep, err
		}
		if len(ds.segments) > 0 && lsn > rep.LastLSN {
			return rep, corruptf(snapshotName(lsn), 0, errFrameHeader,
				"snapshot at LSN %d is ahead of the log, which ends at LSN %d", lsn, rep.LastLSN)
		}
		rep.Snapshots = append(rep.Snapshots, lsn)
	}
	return rep, nil
}

// dumpDataBytes is how much of each record's data Dump prints.
const dumpDataBytes = 16

// Dump writes one line per record with LSN ≥ from (0: all) to w:
//
//	lsn=42 time=2025-01-02T03:04:05.000000006Z origin="local" len=37 data=0101c4e8a1f40a0084c4e8a1f40a0001…
//
// Time is UTC; data shows the first 16 bytes in hex, with "…" if there are
// more. A torn tail ends the dump with a "# torn tail" comment line. Damage
// stops the dump with the error Verify would give. A nil fs means
// vfs.Default.
func Dump(fs vfs.FS, dir string, from LSN, w io.Writer) error {
	if fs == nil {
		fs = vfs.Default
	}
	var werr error
	visit := func(r *Record) error {
		d, more := r.Data, ""
		if len(d) > dumpDataBytes {
			d, more = d[:dumpDataBytes], "…"
		}
		_, werr = fmt.Fprintf(w, "lsn=%d time=%s origin=%q len=%d data=%x%s\n",
			r.LSN, time.Unix(0, r.Time).UTC().Format(time.RFC3339Nano), r.Origin, len(r.Data), d, more)
		return werr
	}
	ds, err := scanDir(fs, dir, scanOptions{decodeFrom: max(from, 1), visit: visit})
	if err != nil {
		if werr != nil && errors.Is(err, werr) {
			return fmt.Errorf("oplog: dump: %w", werr)
		}
		return err
	}
	if ds.tornSegment != "" {
		_, err = fmt.Fprintf(w, "# torn tail: %d bytes at offset %d of %s (Open truncates them)\n",
			ds.tornBytes, ds.tornOff, ds.tornSegment)
	}
	return err
}
