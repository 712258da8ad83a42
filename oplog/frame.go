package oplog

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"runtime"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Frame layout constants. Part of the on-disk format: do not change without
// bumping formatVersion (see doc.go).
const (
	frameHeaderSize = 32
	// maxFrameRaw bounds a frame's uncompressed payload; maxFrameStored its
	// stored payload (incompressible data is stored raw, so the bounds
	// match).
	maxFrameRaw    = 64 << 20
	maxFrameStored = maxFrameRaw
	// maxFrameRecords is the most records one frame holds (uint16 count).
	maxFrameRecords = 1<<16 - 1
)

// codec is the on-disk compression identifier of a frame's payload.
type codec uint8

const (
	codecNone codec = 0
	codecS2   codec = 1
	codecZstd codec = 2
	codecMax        = codecZstd
)

func (c codec) String() string {
	switch c {
	case codecNone:
		return "none"
	case codecS2:
		return "s2"
	case codecZstd:
		return "zstd"
	}
	return fmt.Sprintf("codec(%d)", uint8(c))
}

func codecFor(c Compression) codec {
	switch c {
	case CompressionS2:
		return codecS2
	case CompressionZstd:
		return codecZstd
	}
	return codecNone
}

// frameHeader is the fixed 32-byte header in front of every frame:
//
//	off size field
//	  0    4 CRC-32C (LE) of bytes [4, 32+storedLen): rest of header + payload
//	  4    4 storedLen: payload bytes on disk
//	  8    4 rawLen: payload bytes after decompression
//	 12    1 codec: 0 none, 1 S2 block, 2 zstd frame
//	 13    1 flags: reserved, must be 0
//	 14    2 count: records in the frame, ≥ 1
//	 16    8 firstLSN: LSN of the first record; the others follow contiguously
//	 24    8 maxTime: largest record Time in the frame (Unix ns)
type frameHeader struct {
	crc       uint32
	storedLen uint32
	rawLen    uint32
	codec     codec
	count     uint16
	firstLSN  LSN
	maxTime   int64
}

func (h *frameHeader) lastLSN() LSN { return h.firstLSN + LSN(h.count) - 1 }
func (h *frameHeader) size() int64  { return frameHeaderSize + int64(h.storedLen) }

// parseFrameHeader decodes b[:frameHeaderSize] and checks that its fields
// are plausible. It does not check the CRC.
func parseFrameHeader(b []byte) (frameHeader, error) {
	_ = b[frameHeaderSize-1]
	h := frameHeader{
		crc:       binary.LittleEndian.Uint32(b[0:]),
		storedLen: binary.LittleEndian.Uint32(b[4:]),
		rawLen:    binary.LittleEndian.Uint32(b[8:]),
		codec:     codec(b[12]),
		count:     binary.LittleEndian.Uint16(b[14:]),
		firstLSN:  LSN(binary.LittleEndian.Uint64(b[16:])),
		maxTime:   int64(binary.LittleEndian.Uint64(b[24:])),
	}
	switch {
	case b[13] != 0:
		return h, fmt.Errorf("%w: flags %#x", errFrameHeader, b[13])
	case h.codec > codecMax:
		return h, fmt.Errorf("%w: unknown codec %d", errFrameHeader, h.codec)
	case h.count == 0:
		return h, fmt.Errorf("%w: zero records", errFrameHeader)
	case h.firstLSN == 0 || h.firstLSN > h.firstLSN+LSN(h.count):
		return h, fmt.Errorf("%w: first LSN %d", errFrameHeader, h.firstLSN)
	case h.rawLen > maxFrameRaw || h.storedLen > maxFrameStored:
		return h, fmt.Errorf("%w: lengths %d/%d over the limit", errFrameHeader, h.storedLen, h.rawLen)
	case int(h.count) > int(h.rawLen)/minRecordLen:
		return h, fmt.Errorf("%w: %d records cannot fit in %d bytes", errFrameHeader, h.count, h.rawLen)
	case h.codec == codecNone && h.storedLen != h.rawLen:
		return h, fmt.Errorf("%w: uncompressed frame with stored %d != raw %d bytes", errFrameHeader, h.storedLen, h.rawLen)
	}
	return h, nil
}

// frameCRC computes the checksum of a frame given its header bytes (whose
// first four bytes are ignored) and stored payload.
func frameCRC(hdr, payload []byte) uint32 {
	return crc32.Update(crc32.Update(0, castagnoli, hdr[4:frameHeaderSize]), castagnoli, payload)
}

// Below minCompressLen bytes a frame is stored raw: there is nothing for a
// compressor to find. A compressed payload is kept only if it saves at least
// 1/minSavingDiv of the raw size; otherwise raw is stored, which is cheaper
// to read back.
const (
	minCompressLen = 64
	minSavingDiv   = 16
)

// appendFrame compresses raw with c (falling back to no compression when it
// does not pay), and appends the complete frame to dst.
func appendFrame(dst []byte, c codec, raw []byte, first LSN, count int, maxTime int64) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, frameHeaderSize)...)
	if len(raw) < minCompressLen {
		c = codecNone
	}
	stored := 0
	if c != codecNone {
		dst = compress(c, dst, raw)
		stored = len(dst) - start - frameHeaderSize
		if stored > len(raw)-len(raw)/minSavingDiv {
			dst, c = dst[:start+frameHeaderSize], codecNone
		}
	}
	if c == codecNone {
		dst = append(dst, raw...)
		stored = len(raw)
	}
	h := dst[start : start+frameHeaderSize]
	binary.LittleEndian.PutUint32(h[4:], uint32(stored))
	binary.LittleEndian.PutUint32(h[8:], uint32(len(raw)))
	h[12] = byte(c)
	h[13] = 0
	binary.LittleEndian.PutUint16(h[14:], uint16(count))
	binary.LittleEndian.PutUint64(h[16:], uint64(first))
	binary.LittleEndian.PutUint64(h[24:], uint64(maxTime))
	binary.LittleEndian.PutUint32(h[0:], frameCRC(h, dst[start+frameHeaderSize:]))
	return dst
}

// decodeFrame checks a frame's CRC, decompresses its payload into a new
// buffer and decodes its records, appending them to dst. hdr holds the
// frame's header bytes and payload its stored bytes. maxRaw bounds the
// decompressed size (the format allows maxFrameRaw); it is checked before
// anything is allocated.
func decodeFrame(dst []Record, h *frameHeader, hdr, payload []byte, maxRaw int) ([]Record, error) {
	if got := frameCRC(hdr, payload); got != h.crc {
		return dst, fmt.Errorf("%w: stored %08x, computed %08x", errFrameCRC, h.crc, got)
	}
	raw, err := decompress(h, payload, maxRaw)
	if err != nil {
		return dst, err
	}
	return decodeRecords(dst, raw, h.firstLSN, int(h.count))
}

// decompress returns the frame's uncompressed payload in a new buffer.
func decompress(h *frameHeader, payload []byte, maxRaw int) ([]byte, error) {
	if int64(h.rawLen) > int64(maxRaw) {
		return nil, fmt.Errorf("%w: %d bytes exceed the limit %d", errDecompress, h.rawLen, maxRaw)
	}
	switch h.codec {
	case codecNone:
		return append([]byte(nil), payload...), nil
	case codecS2:
		n, err := s2.DecodedLen(payload)
		if err != nil || n != int(h.rawLen) {
			return nil, fmt.Errorf("%w: s2 length %d, header says %d (%v)", errDecompress, n, h.rawLen, err)
		}
		raw, err := s2.Decode(make([]byte, h.rawLen), payload)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errDecompress, err)
		}
		return raw, nil
	case codecZstd:
		// The decoder is limited to cap(dst), so it cannot allocate more
		// than the header's (checked) rawLen.
		raw, err := zstdDecoder().DecodeAll(payload, make([]byte, 0, h.rawLen))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errDecompress, err)
		}
		if len(raw) != int(h.rawLen) {
			return nil, fmt.Errorf("%w: zstd gave %d bytes, header says %d", errDecompress, len(raw), h.rawLen)
		}
		return raw, nil
	}
	return nil, fmt.Errorf("%w: unknown codec %d", errDecompress, h.codec)
}

// compress appends the compressed form of raw to dst.
func compress(c codec, dst, raw []byte) []byte {
	switch c {
	case codecS2:
		n := s2.MaxEncodedLen(len(raw))
		dst = growTo(dst, len(dst)+n)
		out := s2.Encode(dst[len(dst):len(dst)+n], raw)
		return dst[:len(dst)+len(out)]
	case codecZstd:
		return zstdEncoder().EncodeAll(raw, dst)
	}
	return append(dst, raw...)
}

// growTo returns b with capacity for at least n bytes, keeping len(b).
func growTo(b []byte, n int) []byte {
	if cap(b) >= n {
		return b
	}
	nb := make([]byte, len(b), max(n, 2*cap(b)))
	copy(nb, b)
	return nb
}

var zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
	e, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderCRC(false), // frames carry their own CRC-32C
		zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)),
		zstd.WithWindowSize(1<<20),
	)
	if err != nil {
		panic(err) // options are constant
	}
	return e
})

var zstdDecoder = sync.OnceValue(func() *zstd.Decoder {
	d, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(runtime.GOMAXPROCS(0)),
		zstd.WithDecoderMaxMemory(maxFrameRaw),
		zstd.WithDecodeAllCapLimit(true),
	)
	if err != nil {
		panic(err) // options are constant
	}
	return d
})
