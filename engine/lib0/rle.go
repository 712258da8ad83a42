package lib0

import "math"

// Column codecs of yjs update format v2 (lib0 encoding.js RleEncoder, UintOptRleEncoder,
// IntDiffOptRleEncoder, StringEncoder and their decoders). The zero value of every
// encoder is ready to use. Bytes returns a slice that stays valid until the next Write
// or Reset; calling Bytes twice returns the same encoding (unlike lib0's toUint8Array,
// which must be called only once).
//
// The decoders never allocate per value. After an error a decoder's state is
// unspecified; further reads may fail or return garbage but never panic.

// RleEncoder is lib0's RleEncoder over uint8 (writeUint8): each run is the value
// followed by varUint(count-1), except the last run, whose count is not written (the
// decoder repeats the last value forever).
type RleEncoder struct {
	buf   []byte
	s     uint8
	count uint64
}

// Write appends v.
func (e *RleEncoder) Write(v uint8) {
	if e.s == v && e.count > 0 {
		e.count++
		return
	}
	if e.count > 0 {
		e.buf = AppendVarUint(e.buf, e.count-1)
	}
	e.count = 1
	e.buf = append(e.buf, v)
	e.s = v
}

// Bytes returns the encoding.
func (e *RleEncoder) Bytes() []byte { return e.buf }

// Reset empties the encoder, keeping its buffer.
func (e *RleEncoder) Reset() { *e = RleEncoder{buf: e.buf[:0]} }

// RleDecoder reads an RleEncoder encoding. Once the input is exhausted it returns the
// last value forever; reading an empty input fails with ErrUnexpectedEOF (lib0 would
// return undefined).
type RleDecoder struct {
	d       Decoder
	s       uint8
	count   uint64 // values of the current run still to return
	forever bool
	err     error
}

// NewRleDecoder returns a decoder reading b (not copied).
func NewRleDecoder(b []byte) *RleDecoder { return &RleDecoder{d: Decoder{buf: b}} }

// Reset makes the decoder read b from its start.
func (d *RleDecoder) Reset(b []byte) { *d = RleDecoder{d: Decoder{buf: b}} }

// Read returns the next value.
func (d *RleDecoder) Read() (uint8, error) {
	if d.count == 0 && d.next() != nil {
		return 0, d.err
	}
	d.count--
	return d.s, nil
}

// next starts the next run, setting count to its length (including the value about
// to be returned).
func (d *RleDecoder) next() error {
	if d.forever {
		d.count = math.MaxUint64 // never reaches 0 in practice; next restores it if it does
		return nil
	}
	v, err := d.d.ReadUint8()
	if err != nil {
		d.err = err
		return err
	}
	d.s = v
	if d.d.Remaining() == 0 {
		d.forever = true
		d.count = math.MaxUint64
		return nil
	}
	c, err := d.d.ReadVarUint()
	if err != nil {
		d.err = err
		return err
	}
	d.count = c + 1
	return nil
}

// UintOptRleEncoder is lib0's UintOptRleEncoder: a value seen once is varInt(v); a run is
// varInt(-v) followed by varUint(count-2), where v = 0 uses -0.
type UintOptRleEncoder struct {
	buf     []byte
	s       uint64
	count   uint64
	flushed bool // buf ends with the pending run, which starts at mark
	mark    int
}

// Write appends v.
func (e *UintOptRleEncoder) Write(v uint64) {
	if e.flushed {
		e.buf = e.buf[:e.mark]
		e.flushed = false
	}
	if e.s == v {
		e.count++
		return
	}
	e.buf = appendUintOptRun(e.buf, e.s, e.count)
	e.count = 1
	e.s = v
}

func appendUintOptRun(dst []byte, s, count uint64) []byte {
	switch count {
	case 0:
		return dst
	case 1:
		return AppendVarIntSign(dst, s, false)
	}
	return AppendVarUint(AppendVarIntSign(dst, s, true), count-2)
}

// Bytes returns the encoding, including the pending run.
func (e *UintOptRleEncoder) Bytes() []byte {
	if !e.flushed {
		e.mark = len(e.buf)
		e.buf = appendUintOptRun(e.buf, e.s, e.count)
		e.flushed = true
	}
	return e.buf
}

// Reset empties the encoder, keeping its buffer.
func (e *UintOptRleEncoder) Reset() { *e = UintOptRleEncoder{buf: e.buf[:0]} }

// UintOptRleDecoder reads a UintOptRleEncoder encoding. Reading past the end fails with
// ErrUnexpectedEOF (lib0 would return 0 forever).
type UintOptRleDecoder struct {
	d     Decoder
	s     uint64
	count uint64
	err   error
}

// NewUintOptRleDecoder returns a decoder reading b (not copied).
func NewUintOptRleDecoder(b []byte) *UintOptRleDecoder {
	return &UintOptRleDecoder{d: Decoder{buf: b}}
}

// Reset makes the decoder read b from its start.
func (d *UintOptRleDecoder) Reset(b []byte) { *d = UintOptRleDecoder{d: Decoder{buf: b}} }

// Read returns the next value.
func (d *UintOptRleDecoder) Read() (uint64, error) {
	if d.count == 0 && d.next() != nil {
		return 0, d.err
	}
	d.count--
	return d.s, nil
}

func (d *UintOptRleDecoder) next() error {
	mag, neg, err := d.d.readVarIntMag()
	if err != nil {
		d.err = err
		return err
	}
	d.count = 1
	if neg {
		c, err := d.d.ReadVarUint()
		if err != nil {
			d.err = err
			return err
		}
		d.count = c + 2
	}
	d.s = mag
	return nil
}

// IntDiffOptRleEncoder is lib0's IntDiffOptRleEncoder: runs of equal differences between
// consecutive values (starting from 0) are written as varInt(diff*2 + hasCount), followed
// by varUint(count-2) when hasCount is 1. Differences must stay within ±2^52 for a
// decoder (JS or Go) to read them back.
type IntDiffOptRleEncoder struct {
	buf     []byte
	s       int64
	diff    int64
	count   uint64
	flushed bool
	mark    int
}

// Write appends v.
func (e *IntDiffOptRleEncoder) Write(v int64) {
	if e.flushed {
		e.buf = e.buf[:e.mark]
		e.flushed = false
	}
	if e.diff == v-e.s {
		e.s = v
		e.count++
		return
	}
	e.buf = appendIntDiffRun(e.buf, e.diff, e.count)
	e.count = 1
	e.diff = v - e.s
	e.s = v
}

func appendIntDiffRun(dst []byte, diff int64, count uint64) []byte {
	if count == 0 {
		return dst
	}
	enc := diff * 2
	if count > 1 {
		enc++
	}
	dst = AppendVarInt(dst, enc)
	if count > 1 {
		dst = AppendVarUint(dst, count-2)
	}
	return dst
}

// Bytes returns the encoding, including the pending run.
func (e *IntDiffOptRleEncoder) Bytes() []byte {
	if !e.flushed {
		e.mark = len(e.buf)
		e.buf = appendIntDiffRun(e.buf, e.diff, e.count)
		e.flushed = true
	}
	return e.buf
}

// Reset empties the encoder, keeping its buffer.
func (e *IntDiffOptRleEncoder) Reset() { *e = IntDiffOptRleEncoder{buf: e.buf[:0]} }

// IntDiffOptRleDecoder reads an IntDiffOptRleEncoder encoding. Reading past the end
// fails with ErrUnexpectedEOF (lib0 would repeat the last value), and a running value
// beyond ±MaxSafeInteger fails with ErrOverflow.
type IntDiffOptRleDecoder struct {
	d        Decoder
	s        int64 // always within ±MaxSafeInteger
	diff     int64
	count    uint64
	overflow bool // the current run was cut short: the read after it fails
	err      error
}

// NewIntDiffOptRleDecoder returns a decoder reading b (not copied).
func NewIntDiffOptRleDecoder(b []byte) *IntDiffOptRleDecoder {
	return &IntDiffOptRleDecoder{d: Decoder{buf: b}}
}

// Reset makes the decoder read b from its start.
func (d *IntDiffOptRleDecoder) Reset(b []byte) {
	*d = IntDiffOptRleDecoder{d: Decoder{buf: b}}
}

// Read returns the next value.
func (d *IntDiffOptRleDecoder) Read() (int64, error) {
	if d.count == 0 && d.next() != nil {
		return 0, d.err
	}
	d.count--
	d.s += d.diff // next keeps s within ±MaxSafeInteger for the whole run
	return d.s, nil
}

func (d *IntDiffOptRleDecoder) next() error {
	if d.overflow {
		d.err = ErrOverflow
		return d.err
	}
	mag, neg, err := d.d.readVarIntMag()
	if err != nil {
		d.err = err
		return err
	}
	v := int64(mag)
	if neg {
		v = -v
	}
	d.diff = v >> 1 // floor(v/2)
	count := uint64(1)
	if mag&1 != 0 {
		c, err := d.d.ReadVarUint()
		if err != nil {
			d.err = err
			return err
		}
		count = c + 2
	}
	// Cut the run where s would leave ±MaxSafeInteger; the read after the cut fails.
	if d.diff != 0 {
		var room uint64
		if d.diff > 0 {
			room = uint64(MaxSafeInteger-d.s) / uint64(d.diff)
		} else {
			room = uint64(d.s+MaxSafeInteger) / uint64(-d.diff)
		}
		if count > room {
			count = room
			d.overflow = true
			if count == 0 {
				d.err = ErrOverflow
				return d.err
			}
		}
	}
	d.count = count
	return nil
}

// StringEncoder is lib0's StringEncoder: all strings concatenated into one varString,
// followed by a UintOptRle encoding of each string's length in UTF-16 code units.
// Invalid UTF-8 in a written string is replaced by U+FFFD (ToValidUTF8) so that the
// lengths stay consistent with what a decoder sees.
type StringEncoder struct {
	str  []byte
	lens UintOptRleEncoder
	out  []byte
}

// Write appends s.
func (e *StringEncoder) Write(s string) {
	n, valid := utf16Len(s)
	if !valid {
		s = ToValidUTF8(s)
	}
	e.str = append(e.str, s...)
	e.lens.Write(uint64(n))
}

// Bytes returns the encoding.
func (e *StringEncoder) Bytes() []byte {
	lens := e.lens.Bytes()
	out := AppendVarUint(e.out[:0], uint64(len(e.str)))
	out = append(out, e.str...)
	e.out = append(out, lens...)
	return e.out
}

// Reset empties the encoder, keeping its buffers.
func (e *StringEncoder) Reset() {
	e.str = e.str[:0]
	e.lens.Reset()
	e.out = e.out[:0]
}

// StringDecoder reads a StringEncoder encoding. The strings it returns are substrings
// of one string holding the whole column (no allocation per read); strings.Clone the
// few that must outlive a large column.
//
// A length that runs past the end of the column yields what remains (then ""), as JS
// String.prototype.slice does. A length that ends inside a surrogate pair splits it as
// JS does; since Go strings cannot hold lone surrogates, each half becomes U+FFFD,
// which is what TextEncoder writes for a lone surrogate.
type StringDecoder struct {
	str        string
	pos        int // byte offset in str
	lens       UintOptRleDecoder
	pendingLow bool // str[pos-4:pos] is a pair whose low half was not returned yet
}

// NewStringDecoder reads the varString at the start of b; the lengths are read lazily.
func NewStringDecoder(b []byte) (*StringDecoder, error) {
	d := Decoder{buf: b}
	s, err := d.ReadVarString()
	if err != nil {
		return nil, err
	}
	return &StringDecoder{str: s, lens: UintOptRleDecoder{d: Decoder{buf: d.ReadRest()}}}, nil
}

// Read returns the next string.
func (d *StringDecoder) Read() (string, error) {
	n, err := d.lens.Read()
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", nil
	}
	lead := d.pendingLow
	if lead {
		d.pendingLow = false
		n--
	}
	rest := d.str[d.pos:]
	if n > uint64(len(rest)) {
		n = uint64(len(rest)) // each code unit takes at least one byte
	}
	off, split := UTF16Offset(rest, int(n))
	piece := rest[:off]
	d.pos += off
	if split {
		d.pos += 4
		d.pendingLow = true
	}
	if !lead && !split {
		return piece, nil
	}
	b := make([]byte, 0, len(piece)+6)
	if lead {
		b = append(b, replacementChar...)
	}
	b = append(b, piece...)
	if split {
		b = append(b, replacementChar...)
	}
	return string(b), nil
}
