package oplog

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
)

// LSN is a log sequence number. Records are numbered 1, 2, 3, … with no
// gaps; 0 means "none".
type LSN uint64

// Record is one entry of the log: opaque data plus a small header.
type Record struct {
	// LSN is the record's position. Append assigns it and ignores the value
	// passed in.
	LSN LSN
	// Time is the record's timestamp in Unix nanoseconds, supplied by the
	// caller. Append replaces 0 with Options.Clock().UnixNano(). Times need
	// not be monotonic.
	Time int64
	// Origin says where the update came from (a peer, "local", a stream
	// name); at most MaxOriginLen bytes, empty allowed. Keep it short: it is
	// stored with every record (compression absorbs repeats).
	Origin string
	// Data is the payload, at most Options.MaxRecordSize bytes. Append does
	// not retain it; records returned by readers own their Data.
	Data []byte
}

const (
	// MaxOriginLen is the longest Origin a record may carry.
	MaxOriginLen = 255
	// MaxRecordSizeLimit is the format's bound on a record's Data. Part of
	// the on-disk format: do not change.
	MaxRecordSizeLimit = 32 << 20

	// minRecordLen is the smallest encoded record: a one-byte length, a
	// one-byte time delta, a zero origin length and a CRC.
	minRecordLen = 1 + 1 + 1 + 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// dataCRC starts a record checksum: CRC-32C over the data. Callers finish it
// with recordCRC, which continues over the header fields. Splitting the two
// lets Append checksum the data before it knows the record's LSN.
func dataCRC(data []byte) uint32 { return crc32.Update(0, castagnoli, data) }

// recordCRC finishes a record checksum: CRC-32C of
// Data ‖ LSN (8 bytes LE) ‖ Time (8 bytes LE) ‖ len(Origin) (1 byte) ‖ Origin,
// given crc = dataCRC(Data). It builds the trailer in scratch's spare
// capacity (allocating only if there is not enough).
func recordCRC(scratch []byte, crc uint32, lsn LSN, time int64, origin string) uint32 {
	b := binary.LittleEndian.AppendUint64(scratch[:0], uint64(lsn))
	b = binary.LittleEndian.AppendUint64(b, uint64(time))
	b = append(b, byte(len(origin)))
	b = append(b, origin...)
	return crc32.Update(crc, castagnoli, b)
}

// recordTrailerMax is the most scratch space recordCRC needs.
const recordTrailerMax = 17 + MaxOriginLen

// appendRecord appends a record's encoding, as it appears in a frame's
// uncompressed payload, to dst. prevTime is the Time of the previous record
// in the frame (0 for the first); dcrc is dataCRC(data).
//
//	uvarint   len(Data)
//	varint    Time − prevTime (zig-zag)
//	uint8     len(Origin)
//	[]byte    Origin
//	uint32 LE CRC-32C (see recordCRC)
//	[]byte    Data
func appendRecord(dst []byte, lsn LSN, time int64, origin string, data []byte, dcrc uint32, prevTime int64) []byte {
	dst = slices.Grow(dst, uvarintLen(uint64(len(data)))+binary.MaxVarintLen64+recordTrailerMax+4+len(data))
	crc := recordCRC(dst[len(dst):], dcrc, lsn, time, origin) // scratch: the space about to be filled
	dst = binary.AppendUvarint(dst, uint64(len(data)))
	dst = binary.AppendVarint(dst, time-prevTime)
	dst = append(dst, byte(len(origin)))
	dst = append(dst, origin...)
	dst = binary.LittleEndian.AppendUint32(dst, crc)
	return append(dst, data...)
}

// encodedRecordLen returns len(appendRecord(nil, …)) without the time delta,
// which is at most binary.MaxVarintLen64 bytes.
func encodedRecordLen(rec *Record) int {
	return uvarintLen(uint64(len(rec.Data))) + binary.MaxVarintLen64 + 1 + len(rec.Origin) + 4 + len(rec.Data)
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// decodeRecords decodes count records from a frame's uncompressed payload,
// numbering them from first, and appends them to dst. Data slices alias raw.
// It fails unless raw holds exactly count well-formed records with valid
// checksums. It allocates nothing sized by an untrusted length: a record's
// length is checked against the bytes that remain.
func decodeRecords(dst []Record, raw []byte, first LSN, count int) ([]Record, error) {
	if count > len(raw)/minRecordLen {
		return dst, fmt.Errorf("%w: %d records cannot fit in %d bytes", errRecordFormat, count, len(raw))
	}
	var prevTime int64
	var prevOrigin string
	scratch := make([]byte, 0, recordTrailerMax)
	for i := range count {
		lsn := first + LSN(i)
		dlen, n := binary.Uvarint(raw)
		if n <= 0 || dlen > MaxRecordSizeLimit {
			return dst, fmt.Errorf("%w: bad length at record %d (LSN %d)", errRecordFormat, i, lsn)
		}
		raw = raw[n:]
		delta, n := binary.Varint(raw)
		if n <= 0 {
			return dst, fmt.Errorf("%w: bad time at record %d (LSN %d)", errRecordFormat, i, lsn)
		}
		raw = raw[n:]
		if len(raw) < 1 || len(raw) < 1+int(raw[0])+4 {
			return dst, fmt.Errorf("%w: short header at record %d (LSN %d)", errRecordFormat, i, lsn)
		}
		olen := int(raw[0])
		ob := raw[1 : 1+olen]
		if string(ob) != prevOrigin { // compiles to a comparison without allocating
			prevOrigin = string(ob)
		}
		crc := binary.LittleEndian.Uint32(raw[1+olen:])
		raw = raw[1+olen+4:]
		if uint64(len(raw)) < dlen {
			return dst, fmt.Errorf("%w: data of record %d (LSN %d) overruns the frame", errRecordFormat, i, lsn)
		}
		rec := Record{LSN: lsn, Time: prevTime + delta, Origin: prevOrigin, Data: raw[:dlen:dlen]}
		raw = raw[dlen:]
		if got := recordCRC(scratch, dataCRC(rec.Data), lsn, rec.Time, rec.Origin); got != crc {
			return dst, fmt.Errorf("%w: record %d (LSN %d): stored %08x, computed %08x", errRecordCRC, i, lsn, crc, got)
		}
		prevTime = rec.Time
		dst = append(dst, rec)
	}
	if len(raw) != 0 {
		return dst, fmt.Errorf("%w: %d trailing bytes after %d records", errRecordFormat, len(raw), count)
	}
	return dst, nil
}
