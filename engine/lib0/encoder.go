package lib0

import (
	"encoding/binary"
	"math"
)

// Encoder appends lib0 encodings to Buf. The zero value is ready to use. An Encoder is
// not safe for concurrent use.
type Encoder struct{ Buf []byte }

// NewEncoder returns an Encoder whose buffer has the given initial capacity.
func NewEncoder(capacity int) *Encoder {
	if capacity < 0 {
		capacity = 0
	}
	return &Encoder{Buf: make([]byte, 0, capacity)}
}

// Bytes returns the encoded bytes. The slice aliases the encoder's buffer: it is valid
// until the next write or Reset.
func (e *Encoder) Bytes() []byte { return e.Buf }

// Len returns the number of encoded bytes.
func (e *Encoder) Len() int { return len(e.Buf) }

// Reset empties the encoder, keeping its buffer for reuse.
func (e *Encoder) Reset() { e.Buf = e.Buf[:0] }

// WriteUint8 appends one raw byte.
func (e *Encoder) WriteUint8(v uint8) { e.Buf = append(e.Buf, v) }

// WriteVarUint appends a varUint (see AppendVarUint).
func (e *Encoder) WriteVarUint(v uint64) { e.Buf = AppendVarUint(e.Buf, v) }

// WriteVarInt appends a varInt (see AppendVarInt).
func (e *Encoder) WriteVarInt(v int64) { e.Buf = AppendVarInt(e.Buf, v) }

// WriteVarIntSign appends a varInt with an explicit sign (see AppendVarIntSign).
func (e *Encoder) WriteVarIntSign(mag uint64, negative bool) {
	e.Buf = AppendVarIntSign(e.Buf, mag, negative)
}

// WriteVarString appends a varString (see AppendVarString).
func (e *Encoder) WriteVarString(s string) { e.Buf = AppendVarString(e.Buf, s) }

// WriteVarBytes appends a varUint8Array (see AppendVarBytes).
func (e *Encoder) WriteVarBytes(b []byte) { e.Buf = AppendVarBytes(e.Buf, b) }

// WriteRaw appends b without a length prefix (lib0 writeUint8Array).
func (e *Encoder) WriteRaw(b []byte) { e.Buf = append(e.Buf, b...) }

// WriteFloat32 appends f as 4 bytes, big endian.
func (e *Encoder) WriteFloat32(f float32) {
	e.Buf = binary.BigEndian.AppendUint32(e.Buf, math.Float32bits(f))
}

// WriteFloat64 appends f as 8 bytes, big endian.
func (e *Encoder) WriteFloat64(f float64) {
	e.Buf = binary.BigEndian.AppendUint64(e.Buf, math.Float64bits(f))
}

// WriteBigInt64 appends v as 8 bytes, big endian two's complement.
func (e *Encoder) WriteBigInt64(v int64) {
	e.Buf = binary.BigEndian.AppendUint64(e.Buf, uint64(v))
}

// WriteAny appends v in lib0 writeAny format (see AppendAny). On error nothing is
// appended.
func (e *Encoder) WriteAny(v any) error {
	n := len(e.Buf)
	buf, err := AppendAny(e.Buf, v)
	if err != nil {
		e.Buf = e.Buf[:n]
		return err
	}
	e.Buf = buf
	return nil
}
