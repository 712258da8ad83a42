package oplog

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"strings"

	"octobase/oplog/vfs"
)

// Segment file constants. Part of the on-disk format: see doc.go.
const (
	segmentMagic      = "OCTOPLOG"
	segmentHeaderSize = 32
	// formatVersion is the newest segment format this build writes and
	// reads. Bump it for any incompatible change to segments or frames.
	formatVersion = 1

	segmentExt  = ".seg"
	snapshotExt = ".snap"
	tempExt     = vfs.TempExt // what WriteFileAtomic leaves behind after a crash
	lockName    = "LOCK"
)

// segmentName returns the file name of the segment whose first record is
// first: the LSN in 20 decimal digits, so names sort in LSN order.
func segmentName(first LSN) string { return fmt.Sprintf("%020d%s", first, segmentExt) }

// parseLSNName parses "<20 digits><ext>".
func parseLSNName(name, ext string) (LSN, bool) {
	s, ok := strings.CutSuffix(name, ext)
	if !ok || len(s) != 20 {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v == 0 {
		return 0, false
	}
	return LSN(v), true
}

// appendSegmentHeader appends the 32-byte segment header:
//
//	off size field
//	  0    8 magic "OCTOPLOG"
//	  8    2 format version (LE), 1
//	 10    2 header size (LE), 32
//	 12    4 flags, 0
//	 16    8 first LSN (LE): the LSN of the segment's first record, = its name
//	 24    4 reserved, 0
//	 28    4 CRC-32C (LE) of bytes [0, 28)
//
// Every future version keeps bytes [0, 12) as they are and ends its header
// with a CRC-32C of the rest of it, so any build can tell a newer version
// from a damaged header.
func appendSegmentHeader(dst []byte, first LSN) []byte {
	start := len(dst)
	dst = append(dst, segmentMagic...)
	dst = binary.LittleEndian.AppendUint16(dst, formatVersion)
	dst = binary.LittleEndian.AppendUint16(dst, segmentHeaderSize)
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(first))
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// maxSegmentHeaderSize bounds the header size field any version may use.
const maxSegmentHeaderSize = 4096

// parseSegmentHeader checks the header at the start of b, read from the
// segment file named name, and returns the first LSN. A header whose
// checksum holds but whose version is newer gives a *VersionError; anything
// else wrong gives a *CorruptError at offset 0 (errTruncated if b is too
// short to hold the header it announces).
func parseSegmentHeader(name string, b []byte) (LSN, error) {
	if len(b) < 12 {
		return 0, corruptf(name, 0, errTruncated, "segment header has %d bytes", len(b))
	}
	if string(b[:8]) != segmentMagic {
		return 0, corruptf(name, 0, errBadMagic, "")
	}
	hs := int(binary.LittleEndian.Uint16(b[10:]))
	if hs < segmentHeaderSize || hs > maxSegmentHeaderSize {
		return 0, corruptf(name, 0, errHeaderCRC, "header size %d", hs)
	}
	if len(b) < hs {
		return 0, corruptf(name, 0, errTruncated, "segment header has %d of %d bytes", len(b), hs)
	}
	if got, want := crc32.Checksum(b[:hs-4], castagnoli), binary.LittleEndian.Uint32(b[hs-4:]); got != want {
		return 0, corruptf(name, 0, errHeaderCRC, "stored %08x, computed %08x", want, got)
	}
	if v := binary.LittleEndian.Uint16(b[8:]); v > formatVersion {
		return 0, &VersionError{File: name, Version: v, Supported: formatVersion}
	} else if v == 0 || hs != segmentHeaderSize {
		return 0, corruptf(name, 0, errHeaderCRC, "version %d with header size %d", v, hs)
	}
	first := LSN(binary.LittleEndian.Uint64(b[16:]))
	if want, ok := parseLSNName(name, segmentExt); ok && first != want {
		return 0, corruptf(name, 0, errHeaderCRC, "header says first LSN %d, name says %d", first, want)
	}
	return first, nil
}

// frameReader reads frames from a segment file sequentially through a
// buffer, so scanning many small frames costs few reads.
type frameReader struct {
	f      io.ReaderAt
	name   string // segment file name, for errors
	limit  int64  // bytes that may be read: the file size, or what is visible
	buf    []byte
	bufOff int64 // file offset of buf[0]
}

const frameReaderBuf = 256 << 10

func newFrameReader(f io.ReaderAt, name string, limit int64) *frameReader {
	return &frameReader{f: f, name: name, limit: limit}
}

// read returns n bytes at off, valid until the next call. It fails with
// errTruncated if fewer than n bytes lie before the limit. n is checked
// against the limit before any buffer is sized by it.
func (r *frameReader) read(off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off+int64(n) > r.limit {
		return nil, errTruncated
	}
	if off >= r.bufOff && off+int64(n) <= r.bufOff+int64(len(r.buf)) {
		return r.buf[off-r.bufOff : off-r.bufOff+int64(n)], nil
	}
	want := min(max(n, frameReaderBuf), int(r.limit-off))
	if cap(r.buf) < want {
		r.buf = make([]byte, want)
	}
	r.buf = r.buf[:want]
	m, err := r.f.ReadAt(r.buf, off)
	r.buf, r.bufOff = r.buf[:m], off
	if m < n {
		if err == nil || err == io.EOF {
			err = errTruncated // the file is shorter than the limit said
		}
		return nil, err
	}
	return r.buf[:n], nil
}

// frameAt reads and checks the frame at off: header plausibility, that it
// fits before the limit, and its CRC. It returns the header, the header
// bytes and the stored payload (both valid until the next read). Errors:
// errTruncated (not enough bytes: a torn tail candidate), errFrameHeader,
// errFrameCRC, or an I/O error.
func (r *frameReader) frameAt(off int64) (frameHeader, []byte, []byte, error) {
	hb, err := r.read(off, frameHeaderSize)
	if err != nil {
		return frameHeader{}, nil, nil, err
	}
	h, err := parseFrameHeader(hb)
	if err != nil {
		return h, nil, nil, err
	}
	if off+h.size() > r.limit {
		return h, nil, nil, fmt.Errorf("%w: frame of %d bytes at %d overruns the %d available", errTruncated, h.size(), off, r.limit)
	}
	b, err := r.read(off, int(h.size()))
	if err != nil {
		return h, nil, nil, err
	}
	hdr, payload := b[:frameHeaderSize], b[frameHeaderSize:]
	if got := frameCRC(hdr, payload); got != h.crc {
		return h, nil, nil, fmt.Errorf("%w: stored %08x, computed %08x", errFrameCRC, h.crc, got)
	}
	return h, hdr, payload, nil
}

// zeroFrom reports whether every byte from off to the limit is zero: the
// space a writer reserved ahead of its frames (vfs.File.Allocate).
func (r *frameReader) zeroFrom(off int64) (bool, error) {
	const window = 1 << 20
	for off < r.limit {
		n := int(min(int64(window), r.limit-off))
		b, err := r.read(off, n)
		if err != nil {
			return false, err
		}
		for _, c := range b {
			if c != 0 {
				return false, nil
			}
		}
		off += int64(n)
	}
	return true, nil
}

// findIntactFrame looks for an intact frame (plausible header, CRC match)
// starting anywhere in (from, limit) whose first LSN is at least want. It is
// how recovery tells a torn tail (garbage to the end) from corruption
// (damage followed by data that was once good). It returns -1 if none.
func (r *frameReader) findIntactFrame(from int64, want LSN) (int64, error) {
	const window = 1 << 20
	for start := from + 1; start+frameHeaderSize <= r.limit; {
		n := int(min(int64(window), r.limit-start))
		b, err := r.read(start, n)
		if err != nil {
			return -1, err
		}
		b = append([]byte(nil), b...) // frameAt reuses the buffer
		for i := 0; i+frameHeaderSize <= len(b); i++ {
			h, err := parseFrameHeader(b[i : i+frameHeaderSize])
			if err != nil || h.firstLSN < want || h.firstLSN-want > 1<<32 {
				continue
			}
			if _, _, _, err := r.frameAt(start + int64(i)); err == nil {
				return start + int64(i), nil
			}
		}
		start += int64(n - frameHeaderSize + 1)
	}
	return -1, nil
}
