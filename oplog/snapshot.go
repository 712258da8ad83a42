package oplog

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"path/filepath"

	"octobase/oplog/vfs"
)

// Snapshot file constants. Part of the on-disk format: see doc.go.
const (
	snapshotMagic      = "OCTOSNAP"
	snapshotHeaderSize = 48
	snapshotVersion    = 1
	// maxSnapshotSize bounds a snapshot's data, stored or raw.
	maxSnapshotSize = 1 << 32
)

// Snapshot is an opaque state blob as of an LSN: the state after applying
// every record up to and including LSN.
type Snapshot struct {
	LSN  LSN
	Data []byte
}

func snapshotName(lsn LSN) string { return fmt.Sprintf("%020d%s", lsn, snapshotExt) }

// encodeSnapshot returns the snapshot file's bytes:
//
//	off size field
//	  0    8 magic "OCTOSNAP"
//	  8    2 version (LE), 1
//	 10    1 codec: 0 none, 1 S2 block, 2 zstd frame
//	 11    1 flags, 0
//	 12    4 reserved, 0
//	 16    8 LSN (LE)
//	 24    8 stored length (LE)
//	 32    8 raw length (LE)
//	 40    4 reserved, 0
//	 44    4 CRC-32C (LE) of bytes [0, 44) followed by the stored data
//	 48      stored data
func encodeSnapshot(c codec, lsn LSN, data []byte) []byte {
	out := make([]byte, snapshotHeaderSize, snapshotHeaderSize+len(data)/2+64)
	if len(data) < minCompressLen {
		c = codecNone
	}
	if c != codecNone {
		out = compress(c, out, data)
		if len(out)-snapshotHeaderSize > len(data)-len(data)/minSavingDiv {
			out, c = out[:snapshotHeaderSize], codecNone
		}
	}
	if c == codecNone {
		out = append(out, data...)
	}
	copy(out, snapshotMagic)
	binary.LittleEndian.PutUint16(out[8:], snapshotVersion)
	out[10] = byte(c)
	binary.LittleEndian.PutUint64(out[16:], uint64(lsn))
	binary.LittleEndian.PutUint64(out[24:], uint64(len(out)-snapshotHeaderSize))
	binary.LittleEndian.PutUint64(out[32:], uint64(len(data)))
	crc := crc32.Update(crc32.Checksum(out[:44], castagnoli), castagnoli, out[snapshotHeaderSize:])
	binary.LittleEndian.PutUint32(out[44:], crc)
	return out
}

// decodeSnapshot checks a snapshot file's bytes and returns its data.
func decodeSnapshot(name string, b []byte) (Snapshot, error) {
	if len(b) < 10 || string(b[:8]) != snapshotMagic {
		return Snapshot{}, corruptf(name, 0, errBadMagic, "")
	}
	if v := binary.LittleEndian.Uint16(b[8:]); v > snapshotVersion {
		return Snapshot{}, &VersionError{File: name, Version: v, Supported: snapshotVersion}
	}
	if len(b) < snapshotHeaderSize {
		return Snapshot{}, corruptf(name, 0, errTruncated, "snapshot header has %d of %d bytes", len(b), snapshotHeaderSize)
	}
	stored, raw := binary.LittleEndian.Uint64(b[24:]), binary.LittleEndian.Uint64(b[32:])
	if stored != uint64(len(b)-snapshotHeaderSize) {
		return Snapshot{}, corruptf(name, 0, errTruncated, "header says %d data bytes, file has %d", stored, len(b)-snapshotHeaderSize)
	}
	crc := crc32.Update(crc32.Checksum(b[:44], castagnoli), castagnoli, b[snapshotHeaderSize:])
	if want := binary.LittleEndian.Uint32(b[44:]); crc != want {
		return Snapshot{}, corruptf(name, 0, errHeaderCRC, "snapshot checksum: stored %08x, computed %08x", want, crc)
	}
	c := codec(b[10])
	if c > codecMax || b[11] != 0 || raw > maxSnapshotSize || (c == codecNone && raw != stored) {
		return Snapshot{}, corruptf(name, 0, errFrameHeader, "snapshot codec %d, flags %d, raw length %d", c, b[11], raw)
	}
	lsn := LSN(binary.LittleEndian.Uint64(b[16:]))
	if want, ok := parseLSNName(name, snapshotExt); ok && want != lsn {
		return Snapshot{}, corruptf(name, 0, errFrameHeader, "header says LSN %d, name says %d", lsn, want)
	}
	h := frameHeader{codec: c, rawLen: uint32(raw), storedLen: uint32(stored)}
	var data []byte
	if c == codecNone {
		data = b[snapshotHeaderSize:]
	} else {
		var err error
		if raw > maxFrameRaw || stored > maxFrameRaw {
			// Large states: the frame limits do not apply, the bound is
			// maxSnapshotSize, checked above.
			data, err = decompressLarge(c, b[snapshotHeaderSize:], int(raw))
		} else {
			data, err = decompress(&h, b[snapshotHeaderSize:], int(raw))
		}
		if err != nil {
			return Snapshot{}, corruptf(name, snapshotHeaderSize, err, "")
		}
	}
	return Snapshot{LSN: lsn, Data: data}, nil
}

// decompressLarge decompresses a payload too large for a frame header's
// 32-bit lengths.
func decompressLarge(c codec, stored []byte, raw int) ([]byte, error) {
	switch c {
	case codecS2:
		return nil, fmt.Errorf("%w: S2 blocks over %d bytes are not written", errDecompress, maxFrameRaw)
	case codecZstd:
		out, err := zstdDecoder().DecodeAll(stored, make([]byte, 0, raw))
		if err != nil || len(out) != raw {
			return nil, fmt.Errorf("%w: zstd gave %d of %d bytes (%v)", errDecompress, len(out), raw, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: codec %d", errDecompress, c)
}

// WriteSnapshot stores data as the state of the log as of lsn (after
// applying records up to and including lsn), atomically: it writes a
// temporary file, fsyncs it, renames it into place and fsyncs the directory.
// lsn must lie in [FirstLSN-1, LastLSN]; records up to lsn are fsynced first
// if they are not yet, so a snapshot is never ahead of the durable log.
// Writing a snapshot for an LSN that has one replaces it.
func (l *Log) WriteSnapshot(lsn LSN, data []byte) error {
	l.maintMu.Lock()
	defer l.maintMu.Unlock()
	if l.tail.Load().closed {
		return ErrClosed
	}
	if lsn == 0 || lsn > l.LastLSN() {
		return fmt.Errorf("oplog: snapshot LSN %d outside the log [1, %d]", lsn, l.LastLSN())
	}
	if first := l.FirstLSN(); lsn+1 < first {
		return fmt.Errorf("%w: snapshot at LSN %d, but the log starts at %d", ErrCompacted, lsn, first)
	}
	if uint64(len(data)) > maxSnapshotSize {
		return fmt.Errorf("oplog: snapshot of %d bytes exceeds %d", len(data), uint64(maxSnapshotSize))
	}
	if LSN(l.durable.Load()) < lsn {
		if err := l.Sync(); err != nil {
			return err
		}
	}
	c := l.codec
	if c == codecS2 && len(data) > maxFrameRaw {
		c = codecZstd // S2 blocks are limited to 4 GiB; keep one rule for all sizes
	}
	return writeFileAtomic(l.fs, l.dir, snapshotName(lsn), encodeSnapshot(c, lsn, data))
}

// writeFileAtomic writes name in dir through a temporary file, fsync,
// rename and directory fsync.
func writeFileAtomic(fs vfs.FS, dir, name string, b []byte) error {
	err := vfs.WriteFileAtomic(fs, filepath.Join(dir, name), func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}, true)
	if err != nil {
		return fmt.Errorf("oplog: write %s: %w", name, err)
	}
	return nil
}

// Snapshots returns the LSNs of the stored snapshots, ascending.
func (l *Log) Snapshots() ([]LSN, error) { return listSnapshots(l.fs, l.dir) }

func listSnapshots(fs vfs.FS, dir string) ([]LSN, error) {
	names, err := fs.List(dir)
	if err != nil {
		return nil, fmt.Errorf("oplog: list %s: %w", dir, err)
	}
	var lsns []LSN
	for _, n := range names {
		if lsn, ok := parseLSNName(n, snapshotExt); ok {
			lsns = append(lsns, lsn)
		}
	}
	return lsns, nil
}

// LatestSnapshot returns the newest snapshot, or ErrNoSnapshot.
func (l *Log) LatestSnapshot() (Snapshot, error) { return l.SnapshotAtOrBefore(^LSN(0)) }

// SnapshotAtOrBefore returns the newest snapshot whose LSN is ≤ lsn, or
// ErrNoSnapshot. To reconstruct the state as of lsn, apply the records after
// the snapshot's LSN up to lsn (NewReader(snap.LSN+1)). A damaged snapshot
// is a *CorruptError, never skipped in favour of an older one.
func (l *Log) SnapshotAtOrBefore(lsn LSN) (Snapshot, error) {
	lsns, err := l.Snapshots()
	if err != nil {
		return Snapshot{}, err
	}
	for i := len(lsns) - 1; i >= 0; i-- {
		if lsns[i] <= lsn {
			return readSnapshot(l.fs, l.dir, lsns[i])
		}
	}
	return Snapshot{}, ErrNoSnapshot
}

func readSnapshot(fs vfs.FS, dir string, lsn LSN) (Snapshot, error) {
	name := snapshotName(lsn)
	f, err := fs.Open(filepath.Join(dir, name))
	if err != nil {
		return Snapshot{}, fmt.Errorf("oplog: open snapshot: %w", err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return Snapshot{}, fmt.Errorf("oplog: snapshot %s: %w", name, err)
	}
	if size > maxSnapshotSize+snapshotHeaderSize {
		return Snapshot{}, corruptf(name, 0, errFrameHeader, "file of %d bytes is too large", size)
	}
	b := make([]byte, size) // sized by the bytes present, not by a header field
	if n, err := f.ReadAt(b, 0); n < len(b) {
		return Snapshot{}, fmt.Errorf("oplog: read snapshot %s: %w", name, err)
	}
	return decodeSnapshot(name, b)
}
