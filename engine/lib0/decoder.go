package lib0

import (
	"encoding/binary"
	"math"
)

// Decoder reads lib0 encodings from a byte slice. The zero value reads an empty input;
// Reset points it at new input. A Decoder is not safe for concurrent use.
//
// A read that fails returns an error and leaves Pos unchanged. No input makes a read
// panic.
type Decoder struct {
	buf []byte
	pos int
}

// NewDecoder returns a Decoder reading b. The Decoder does not copy b; b must not be
// modified while it is read.
func NewDecoder(b []byte) *Decoder { return &Decoder{buf: b} }

// Reset makes the decoder read b from its start.
func (d *Decoder) Reset(b []byte) { d.buf, d.pos = b, 0 }

// Pos returns how many bytes have been consumed.
func (d *Decoder) Pos() int { return d.pos }

// Remaining returns how many bytes are left.
func (d *Decoder) Remaining() int { return len(d.buf) - d.pos }

// ReadUint8 reads one raw byte.
func (d *Decoder) ReadUint8() (uint8, error) {
	if d.pos >= len(d.buf) {
		return 0, ErrUnexpectedEOF
	}
	b := d.buf[d.pos]
	d.pos++
	return b, nil
}

// ReadVarUint reads a varUint. Values above MaxSafeInteger, and encodings longer than
// MaxVarLen bytes, fail with ErrOverflow (lib0 throws "Integer out of Range").
func (d *Decoder) ReadVarUint() (uint64, error) {
	if d.pos < len(d.buf) {
		if b := d.buf[d.pos]; b < 0x80 {
			d.pos++
			return uint64(b), nil
		}
	}
	return d.readVarUintSlow()
}

func (d *Decoder) readVarUintSlow() (uint64, error) {
	v, n, err := uvarint(d.buf[d.pos:])
	d.pos += n
	return v, err
}

// uvarint decodes a varUint from the start of b, returning the value and the bytes used
// (0 on error).
func uvarint(b []byte) (uint64, int, error) {
	var v uint64
	// The first 7 bytes hold at most 49 bits: no overflow is possible.
	for i := 0; i < len(b) && i < 7; i++ {
		c := b[i]
		v |= uint64(c&0x7f) << (7 * uint(i))
		if c < 0x80 {
			return v, i + 1, nil
		}
	}
	return uvarintTail(b, v, 7, 49)
}

// uvarintTail continues a varUint (or varInt) at b[i], where v holds the bits below
// shift, checking the MaxSafeInteger and MaxVarLen limits.
func uvarintTail(b []byte, v uint64, i int, shift uint) (uint64, int, error) {
	for ; i < len(b); i++ {
		if i == MaxVarLen {
			return 0, 0, ErrOverflow
		}
		c := b[i]
		if c&0x7f != 0 {
			if shift >= 53 {
				return 0, 0, ErrOverflow
			}
			v |= uint64(c&0x7f) << shift
			if v > MaxSafeInteger {
				return 0, 0, ErrOverflow
			}
		}
		if c < 0x80 {
			return v, i + 1, nil
		}
		shift += 7
	}
	if len(b) >= MaxVarLen {
		return 0, 0, ErrOverflow
	}
	return 0, 0, ErrUnexpectedEOF
}

// ReadVarInt reads a varInt and returns its value with the sign carried separately:
// negative is true for -0 (the byte 0x40), where v is 0. The magnitude limit is
// MaxSafeInteger, as in ReadVarUint.
func (d *Decoder) ReadVarInt() (v int64, negative bool, err error) {
	if d.pos < len(d.buf) {
		if b := d.buf[d.pos]; b < 0x80 {
			d.pos++
			if b&0x40 != 0 {
				return -int64(b & 0x3f), true, nil
			}
			return int64(b), false, nil
		}
	}
	mag, neg, n, err := varint(d.buf[d.pos:])
	if err != nil {
		return 0, false, err
	}
	d.pos += n
	if neg {
		return -int64(mag), true, nil
	}
	return int64(mag), false, nil
}

// readVarIntMag reads a varInt as magnitude and sign.
func (d *Decoder) readVarIntMag() (mag uint64, negative bool, err error) {
	if d.pos < len(d.buf) {
		if b := d.buf[d.pos]; b < 0x80 {
			d.pos++
			return uint64(b & 0x3f), b&0x40 != 0, nil
		}
	}
	mag, negative, n, err := varint(d.buf[d.pos:])
	d.pos += n
	return mag, negative, err
}

// varint decodes a varInt from the start of b, returning magnitude, sign and the bytes
// used (0 on error).
func varint(b []byte) (mag uint64, negative bool, n int, err error) {
	if len(b) == 0 {
		return 0, false, 0, ErrUnexpectedEOF
	}
	c := b[0]
	mag = uint64(c & 0x3f)
	negative = c&0x40 != 0
	if c < 0x80 {
		return mag, negative, 1, nil
	}
	// Bytes 2..7 bring the total to at most 48 bits: no overflow is possible.
	for i := 1; i < len(b) && i < 7; i++ {
		c = b[i]
		mag |= uint64(c&0x7f) << (7*uint(i) - 1)
		if c < 0x80 {
			return mag, negative, i + 1, nil
		}
	}
	mag, n, err = uvarintTail(b, mag, 7, 48)
	return mag, negative, n, err
}

// ReadVarString reads a varString. Invalid UTF-8 is replaced by U+FFFD exactly as a
// non-fatal WHATWG TextDecoder does (one U+FFFD per maximal invalid subpart). A leading
// BOM is kept (lib0 uses ignoreBOM). Valid input costs one copy (the string itself).
//
// Note: lib0 v0.2.117 itself decodes with a fatal TextDecoder and throws on invalid
// UTF-8; use ReadVarStringStrict for that behaviour.
func (d *Decoder) ReadVarString() (string, error) {
	b, err := d.ReadVarBytes()
	if err != nil {
		return "", err
	}
	return decodeUTF8(b), nil
}

// ReadVarStringStrict reads a varString like ReadVarString but fails with
// ErrInvalidUTF8 (leaving Pos unchanged) where lib0's fatal TextDecoder throws.
func (d *Decoder) ReadVarStringStrict() (string, error) {
	start := d.pos
	b, err := d.ReadVarBytes()
	if err != nil {
		return "", err
	}
	if !validUTF8(b) {
		d.pos = start
		return "", ErrInvalidUTF8
	}
	return string(b), nil
}

// ReadVarBytes reads a varUint8Array. The result aliases the decoder's input (it is not
// copied), like lib0's readVarUint8Array; copy it to keep it past the input's lifetime.
func (d *Decoder) ReadVarBytes() ([]byte, error) {
	start := d.pos
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(d.buf)-d.pos) {
		d.pos = start
		return nil, ErrUnexpectedEOF
	}
	b := d.buf[d.pos : d.pos+int(n) : d.pos+int(n)]
	d.pos += int(n)
	return b, nil
}

// ReadBytes reads n raw bytes. The result aliases the input. A negative n fails with
// ErrUnexpectedEOF.
func (d *Decoder) ReadBytes(n int) ([]byte, error) {
	if n < 0 || n > len(d.buf)-d.pos {
		return nil, ErrUnexpectedEOF
	}
	b := d.buf[d.pos : d.pos+n : d.pos+n]
	d.pos += n
	return b, nil
}

// ReadRest returns all remaining bytes and consumes them. The result aliases the input.
func (d *Decoder) ReadRest() []byte {
	b := d.buf[d.pos:len(d.buf):len(d.buf)]
	d.pos = len(d.buf)
	return b
}

// ReadFloat32 reads 4 bytes as a big-endian float32.
func (d *Decoder) ReadFloat32() (float32, error) {
	if len(d.buf)-d.pos < 4 {
		return 0, ErrUnexpectedEOF
	}
	v := binary.BigEndian.Uint32(d.buf[d.pos:])
	d.pos += 4
	return math.Float32frombits(v), nil
}

// ReadFloat64 reads 8 bytes as a big-endian float64.
func (d *Decoder) ReadFloat64() (float64, error) {
	if len(d.buf)-d.pos < 8 {
		return 0, ErrUnexpectedEOF
	}
	v := binary.BigEndian.Uint64(d.buf[d.pos:])
	d.pos += 8
	return math.Float64frombits(v), nil
}

// ReadBigInt64 reads 8 bytes as a big-endian two's complement int64.
func (d *Decoder) ReadBigInt64() (int64, error) {
	if len(d.buf)-d.pos < 8 {
		return 0, ErrUnexpectedEOF
	}
	v := binary.BigEndian.Uint64(d.buf[d.pos:])
	d.pos += 8
	return int64(v), nil
}
