package oplog

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"octobase/oplog/vfs"
)

// segmentInfo describes one segment file.
type segmentInfo struct {
	first   LSN   // LSN of its first record; its name
	last    LSN   // LSN of its last record; first-1 when empty
	size    int64 // bytes of valid content
	maxTime int64 // largest record Time (Unix ns); math.MinInt64 when empty
}

func (s segmentInfo) name() string { return segmentName(s.first) }

// RecoveryStats reports what Open found and repaired.
type RecoveryStats struct {
	Segments int // segment files in use after recovery
	// FirstLSN and LastLSN bound the records in the log; LastLSN is 0 and
	// FirstLSN the next LSN to be written when the log is empty.
	FirstLSN, LastLSN LSN
	// TornSegment names the segment whose torn tail was cut off, if any;
	// TornOffset is where the cut was made and TornBytes how many bytes were
	// dropped. A torn segment header drops the whole file (TornOffset 0).
	TornSegment string
	TornOffset  int64
	TornBytes   int64
	// TempFilesRemoved counts leftover temporary files (an interrupted
	// snapshot) that Open deleted.
	TempFilesRemoved int
	Duration         time.Duration
}

// scanOptions control scanSegment.
type scanOptions struct {
	// decodeFrom, when non-zero, makes the scan decompress and check the
	// records of every frame holding an LSN ≥ decodeFrom, and pass each
	// record with LSN ≥ decodeFrom to visit (if non-nil).
	decodeFrom LSN
	visit      func(*Record) error
}

// scanResult is what scanSegment learned about one segment.
type scanResult struct {
	info     segmentInfo
	fileSize int64
	frames   int64
	records  int64
	rawBytes int64 // decompressed payload bytes (decoded frames only)
	// badOff is the offset of the first frame (or the header, at 0) that
	// is damaged or incomplete, and badErr why; badOff is -1 if the whole
	// file is intact. The caller decides whether this is a torn tail.
	badOff int64
	badErr error
	// intactAfter is, when badOff ≥ 0, the offset of an intact frame
	// found after the damage, or -1.
	intactAfter int64
	// zeroBytes counts the zero bytes that follow the last frame to the
	// end of the file (badOff is -1 then): space the writer reserved
	// ahead of its frames, which ends the segment.
	zeroBytes int64
}

// isFormatErr reports whether err describes bad bytes rather than an I/O
// failure.
func isFormatErr(err error) bool {
	return errors.Is(err, errTruncated) || errors.Is(err, errFrameHeader) || errors.Is(err, errFrameCRC) ||
		errors.Is(err, errBadMagic) || errors.Is(err, errHeaderCRC)
}

// scanSegment reads the segment file name in dir frame by frame, checking its
// header, every frame's CRC and LSN continuity, and (see scanOptions)
// decoding records. expect is the LSN its first record must have (0: any).
//
// Damage is reported in the result (badOff), with a search for intact
// frames after it, so the caller can tell a torn tail from corruption.
// Errors are I/O errors, *VersionError, and *CorruptError for damage that
// no crash explains: an LSN gap between intact frames, or intact frames
// whose records do not decode.
func scanSegment(fs vfs.FS, dir, name string, expect LSN, so scanOptions) (scanResult, error) {
	res := scanResult{badOff: -1, intactAfter: -1}
	nameLSN, _ := parseLSNName(name, segmentExt)
	res.info = segmentInfo{first: nameLSN, last: nameLSN - 1, maxTime: math.MinInt64}
	if expect != 0 && nameLSN != expect {
		return res, corruptf(name, 0, errFrameHeader, "LSN gap: segment starts at %d, the previous one ends at %d", nameLSN, expect-1)
	}
	f, err := fs.Open(filepath.Join(dir, name))
	if err != nil {
		return res, fmt.Errorf("oplog: open segment: %w", err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return res, fmt.Errorf("oplog: segment %s: %w", name, err)
	}
	res.fileSize = size
	fr := newFrameReader(f, name, size)

	hb, err := fr.read(0, int(min(size, maxSegmentHeaderSize)))
	if err != nil {
		return res, fmt.Errorf("oplog: read segment %s: %w", name, err)
	}
	if _, err := parseSegmentHeader(name, hb); err != nil {
		var ce *CorruptError
		if !errors.As(err, &ce) {
			return res, err // a *VersionError
		}
		res.badOff, res.badErr = 0, ce.Err
		res.info.size = 0
		res.intactAfter, err = fr.findIntactFrame(0, nameLSN)
		return res, err
	}

	off := int64(segmentHeaderSize)
	var recs []Record
	for off < size {
		h, hdr, payload, err := fr.frameAt(off)
		if err != nil {
			if !isFormatErr(err) {
				return res, fmt.Errorf("oplog: read segment %s at %d: %w", name, off, err)
			}
			zero, zerr := fr.zeroFrom(off)
			if zerr != nil {
				return res, fmt.Errorf("oplog: read segment %s: %w", name, zerr)
			}
			if zero {
				res.zeroBytes = size - off
				break
			}
			res.badOff, res.badErr = off, err
			if res.intactAfter, err = fr.findIntactFrame(off, res.info.last+1); err != nil {
				return res, fmt.Errorf("oplog: read segment %s: %w", name, err)
			}
			break
		}
		if h.firstLSN != res.info.last+1 {
			return res, corruptf(name, off, errFrameHeader, "LSN gap: frame starts at %d, want %d", h.firstLSN, res.info.last+1)
		}
		if so.decodeFrom != 0 && h.lastLSN() >= so.decodeFrom {
			recs, err = decodeFrame(recs[:0], &h, hdr, payload, maxFrameRaw)
			if err != nil {
				return res, corruptf(name, off, err, "")
			}
			res.rawBytes += int64(h.rawLen)
			for i := range recs {
				if recs[i].LSN >= so.decodeFrom && so.visit != nil {
					if err := so.visit(&recs[i]); err != nil {
						return res, err
					}
				}
			}
		}
		res.frames++
		res.records += int64(h.count)
		res.info.last = h.lastLSN()
		res.info.maxTime = max(res.info.maxTime, h.maxTime)
		off += h.size()
	}
	res.info.size = off
	if res.badOff >= 0 {
		res.info.size = res.badOff
	}
	return res, nil
}

// dirScan is the state of a log directory as found on disk.
type dirScan struct {
	segments  []segmentInfo // intact segments in LSN order (after cutting a torn tail)
	snapshots []LSN         // snapshot LSNs, ascending
	temps     []string      // leftover temporary files
	frames    int64
	records   int64
	bytes     int64 // valid segment bytes
	rawBytes  int64
	// A torn tail, if the last segment has one: its name, the offset where
	// the intact part ends, and the bytes past it. tornWhole means the
	// segment header itself is torn, so the whole file goes.
	tornSegment string
	tornOff     int64
	tornBytes   int64
	tornWhole   bool
	// zeroSegment is the last segment when zeros its writer reserved
	// follow its frames (zeroOff: where they start), which recovery cuts.
	zeroSegment string
	zeroOff     int64
}

// scanDir scans every segment in dir in LSN order and applies the recovery
// rules: damage in any segment but the last is corruption; damage in the
// last segment is a torn tail only if no intact frame follows it (a torn
// write leaves garbage or nothing after the last good frame, never a good
// frame). It changes nothing on disk.
func scanDir(fs vfs.FS, dir string, so scanOptions) (*dirScan, error) {
	names, err := fs.List(dir)
	if err != nil {
		return nil, fmt.Errorf("oplog: list %s: %w", dir, err)
	}
	ds := &dirScan{}
	var segNames []string
	for _, n := range names {
		switch {
		case filepath.Ext(n) == tempExt:
			ds.temps = append(ds.temps, n)
		case filepath.Ext(n) == segmentExt:
			if _, ok := parseLSNName(n, segmentExt); ok {
				segNames = append(segNames, n) // List sorts; the names sort by LSN
			}
		case filepath.Ext(n) == snapshotExt:
			if lsn, ok := parseLSNName(n, snapshotExt); ok {
				ds.snapshots = append(ds.snapshots, lsn)
			}
		}
	}
	var expect LSN
	for i, name := range segNames {
		last := i == len(segNames)-1
		res, err := scanSegment(fs, dir, name, expect, so)
		if err != nil {
			return ds, err
		}
		if res.zeroBytes > 0 {
			if !last {
				return ds, corruptf(name, res.info.size, errFrameHeader,
					"%d zero bytes end a sealed segment", res.zeroBytes)
			}
			ds.zeroSegment, ds.zeroOff = name, res.info.size
		}
		if res.badOff >= 0 {
			switch {
			case !last:
				return ds, corruptf(name, res.badOff, res.badErr, "in a sealed segment")
			case res.intactAfter >= 0:
				return ds, corruptf(name, res.badOff, res.badErr,
					"an intact frame follows at offset %d, so this is not a torn write", res.intactAfter)
			}
			ds.tornSegment, ds.tornOff, ds.tornBytes = name, res.badOff, res.fileSize-res.badOff
			if res.badOff == 0 {
				ds.tornWhole, ds.tornBytes = true, res.fileSize
				break // the segment holds nothing: leave it out
			}
		}
		ds.segments = append(ds.segments, res.info)
		ds.frames += res.frames
		ds.records += res.records
		ds.bytes += res.info.size
		ds.rawBytes += res.rawBytes
		expect = res.info.last + 1
	}
	return ds, nil
}

// recoverDir brings dir to a clean state: it removes temporary files,
// truncates a torn tail (or removes a segment whose header is torn), makes
// sure a segment exists, and syncs what it changed. It returns the
// segments, the snapshots and the stats.
func recoverDir(fs vfs.FS, dir string, opts *Options) (*dirScan, RecoveryStats, error) {
	start := time.Now()
	var st RecoveryStats
	ds, err := scanDir(fs, dir, scanOptions{})
	if err != nil {
		return nil, st, err
	}
	log := opts.Logger
	dirty := false
	for _, t := range ds.temps {
		if err := fs.Remove(filepath.Join(dir, t)); err != nil && !vfs.IsNotExist(err) {
			return nil, st, fmt.Errorf("oplog: remove temporary file: %w", err)
		}
		log.Info("oplog: removed leftover temporary file", "file", t)
		st.TempFilesRemoved++
		dirty = true
	}
	if ds.tornSegment != "" {
		path := filepath.Join(dir, ds.tornSegment)
		if ds.tornWhole {
			if err := fs.Remove(path); err != nil {
				return nil, st, fmt.Errorf("oplog: remove torn segment: %w", err)
			}
			dirty = true
		} else if err := truncateFile(fs, path, ds.tornOff); err != nil {
			return nil, st, err
		}
		log.Warn("oplog: truncated torn tail of the last segment",
			"segment", ds.tornSegment, "offset", ds.tornOff, "dropped_bytes", ds.tornBytes, "whole_file", ds.tornWhole)
		st.TornSegment, st.TornOffset, st.TornBytes = ds.tornSegment, ds.tornOff, ds.tornBytes
	}
	if ds.zeroSegment != "" {
		// Space reserved ahead of the writes, which a crash (or a process
		// that did not Close the log) left: cut, so that appends continue
		// right after the last frame.
		if err := truncateFile(fs, filepath.Join(dir, ds.zeroSegment), ds.zeroOff); err != nil {
			return nil, st, err
		}
		log.Debug("oplog: cut the space reserved past the last frame", "segment", ds.zeroSegment, "offset", ds.zeroOff)
	}
	if dirty {
		if err := fs.SyncDir(dir); err != nil {
			return nil, st, fmt.Errorf("oplog: sync dir: %w", err)
		}
	}

	var latestSnap LSN
	if n := len(ds.snapshots); n > 0 {
		latestSnap = ds.snapshots[n-1]
	}
	if len(ds.segments) == 0 {
		first := latestSnap + 1
		if err := createSegment(fs, dir, first); err != nil {
			return nil, st, err
		}
		ds.segments = append(ds.segments, segmentInfo{first: first, last: first - 1, size: segmentHeaderSize, maxTime: math.MinInt64})
	}
	last := ds.segments[len(ds.segments)-1].last
	if latestSnap > last {
		return nil, st, corruptf(snapshotName(latestSnap), 0, errFrameHeader,
			"snapshot at LSN %d is ahead of the log, which ends at LSN %d", latestSnap, last)
	}
	if err := checkHistoryStart(ds); err != nil {
		return nil, st, err
	}
	st.Segments = len(ds.segments)
	st.FirstLSN, st.LastLSN = ds.segments[0].first, last
	st.Duration = time.Since(start)
	return ds, st, nil
}

// checkHistoryStart fails if the log does not start at LSN 1 and no
// snapshot covers the records before its first one: history is missing.
func checkHistoryStart(ds *dirScan) error {
	first := ds.segments[0].first
	if first == 1 {
		return nil
	}
	for _, s := range ds.snapshots {
		if s+1 >= first {
			return nil
		}
	}
	return corruptf(ds.segments[0].name(), 0, errFrameHeader,
		"LSN gap: the log starts at LSN %d, but no snapshot covers the records before it", first)
}

// truncateFile cuts the file at size and syncs it.
func truncateFile(fs vfs.FS, path string, size int64) error {
	f, err := fs.OpenAppend(path)
	if err != nil {
		return fmt.Errorf("oplog: open for truncation: %w", err)
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return fmt.Errorf("oplog: truncate %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("oplog: sync %s: %w", filepath.Base(path), err)
	}
	return f.Close()
}

// createSegment creates the segment file for first, writes its header and
// makes file and directory entry durable.
func createSegment(fs vfs.FS, dir string, first LSN) error {
	f, err := createSegmentFile(fs, dir, first)
	if err != nil {
		return err
	}
	return f.Close()
}

// createSegmentFile is createSegment returning the open file.
func createSegmentFile(fs vfs.FS, dir string, first LSN) (vfs.File, error) {
	name := segmentName(first)
	f, err := fs.Create(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("oplog: create segment: %w", err)
	}
	fail := func(err error) (vfs.File, error) {
		f.Close()
		return nil, fmt.Errorf("oplog: create segment %s: %w", name, err)
	}
	if _, err := f.Write(appendSegmentHeader(nil, first)); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := fs.SyncDir(dir); err != nil {
		return fail(err)
	}
	return f, nil
}
