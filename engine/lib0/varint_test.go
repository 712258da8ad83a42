package lib0

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

func TestVarUintLimits(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want uint64
		err  error
	}{
		{[]byte{}, 0, ErrUnexpectedEOF},
		{[]byte{0x80}, 0, ErrUnexpectedEOF},
		{[]byte{0xff, 0xff}, 0, ErrUnexpectedEOF},
		{[]byte{0x00}, 0, nil},
		{[]byte{0x7f}, 127, nil},
		{[]byte{0xac, 0x02}, 300, nil},
		{AppendVarUint(nil, MaxSafeInteger), MaxSafeInteger, nil},
		{AppendVarUint(nil, MaxSafeInteger+1), 0, ErrOverflow},
		{AppendVarUint(nil, math.MaxUint64), 0, ErrOverflow},
		// redundant zero groups, up to MaxVarLen bytes in all
		{[]byte{0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 1, nil},
		{[]byte{0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 0, ErrOverflow},
		{bytes.Repeat([]byte{0x80}, 10), 0, ErrOverflow},
		{bytes.Repeat([]byte{0x80}, 100), 0, ErrOverflow},
		// 2^53 exactly, in 8 bytes
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10}, 0, ErrOverflow},
		// a bit at 2^56 in the 9th byte
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 0, ErrOverflow},
	} {
		d := NewDecoder(c.in)
		got, err := d.ReadVarUint()
		if !errors.Is(err, c.err) || got != c.want {
			t.Errorf("ReadVarUint(% x) = %d, %v; want %d, %v", c.in, got, err, c.want, c.err)
		}
		if err != nil && d.Pos() != 0 {
			t.Errorf("ReadVarUint(% x) failed but moved to %d", c.in, d.Pos())
		}
	}
}

func TestVarIntLimits(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want int64
		neg  bool
		err  error
	}{
		{[]byte{}, 0, false, ErrUnexpectedEOF},
		{[]byte{0xc0}, 0, false, ErrUnexpectedEOF},
		{[]byte{0x40}, 0, true, nil},
		{[]byte{0x41}, -1, true, nil},
		{[]byte{0x3f}, 63, false, nil},
		{[]byte{0x80, 0x01}, 64, false, nil},
		{[]byte{0xc0, 0x80, 0x00}, 0, true, nil},
		{AppendVarInt(nil, -MaxSafeInteger), -MaxSafeInteger, true, nil},
		{AppendVarInt(nil, MaxSafeInteger), MaxSafeInteger, false, nil},
		{AppendVarInt(nil, MaxSafeInteger+1), 0, false, ErrOverflow},
		{AppendVarInt(nil, math.MinInt64), 0, false, ErrOverflow},
		{bytes.Repeat([]byte{0xc0}, 11), 0, false, ErrOverflow},
	} {
		d := NewDecoder(c.in)
		got, neg, err := d.ReadVarInt()
		if !errors.Is(err, c.err) || got != c.want || neg != c.neg {
			t.Errorf("ReadVarInt(% x) = %d, %v, %v; want %d, %v, %v", c.in, got, neg, err, c.want, c.neg, c.err)
		}
		if err != nil && d.Pos() != 0 {
			t.Errorf("ReadVarInt(% x) failed but moved to %d", c.in, d.Pos())
		}
	}
	if got := AppendVarInt(nil, math.MinInt64); len(got) != 10 {
		t.Errorf("AppendVarInt(MinInt64) = % x", got)
	}
	if got := AppendVarUint(nil, math.MaxUint64); len(got) != 10 || varUintLen(math.MaxUint64) != 10 {
		t.Errorf("AppendVarUint(MaxUint64) = % x", got)
	}
}

func TestDecoderPrimitives(t *testing.T) {
	var e Encoder
	e.WriteUint8(7)
	e.WriteFloat32(1.5)
	e.WriteFloat64(-0.1)
	e.WriteBigInt64(math.MinInt64)
	e.WriteVarBytes([]byte("xyz"))
	e.WriteVarString("héllo")
	e.WriteVarIntSign(0, true)
	e.WriteRaw([]byte{1, 2, 3})
	if e.Len() != len(e.Bytes()) {
		t.Fatal("Len mismatch")
	}
	d := NewDecoder(e.Bytes())
	if v, err := d.ReadUint8(); v != 7 || err != nil {
		t.Errorf("ReadUint8 = %d, %v", v, err)
	}
	if v, err := d.ReadFloat32(); v != 1.5 || err != nil {
		t.Errorf("ReadFloat32 = %v, %v", v, err)
	}
	if v, err := d.ReadFloat64(); v != -0.1 || err != nil {
		t.Errorf("ReadFloat64 = %v, %v", v, err)
	}
	if v, err := d.ReadBigInt64(); v != math.MinInt64 || err != nil {
		t.Errorf("ReadBigInt64 = %v, %v", v, err)
	}
	if v, err := d.ReadVarBytes(); string(v) != "xyz" || err != nil || cap(v) != 3 {
		t.Errorf("ReadVarBytes = %q (cap %d), %v", v, cap(v), err)
	}
	if v, err := d.ReadVarString(); v != "héllo" || err != nil {
		t.Errorf("ReadVarString = %q, %v", v, err)
	}
	if v, neg, err := d.ReadVarInt(); v != 0 || !neg || err != nil {
		t.Errorf("ReadVarInt = %d, %v, %v", v, neg, err)
	}
	if _, err := d.ReadBytes(-1); err != ErrUnexpectedEOF {
		t.Errorf("ReadBytes(-1) err = %v", err)
	}
	if _, err := d.ReadBytes(4); err != ErrUnexpectedEOF {
		t.Errorf("ReadBytes(4) err = %v", err)
	}
	if v, err := d.ReadBytes(1); !bytes.Equal(v, []byte{1}) || err != nil {
		t.Errorf("ReadBytes(1) = %v, %v", v, err)
	}
	if d.Remaining() != 2 {
		t.Errorf("Remaining = %d", d.Remaining())
	}
	if v := d.ReadRest(); !bytes.Equal(v, []byte{2, 3}) || d.Remaining() != 0 {
		t.Errorf("ReadRest = %v", v)
	}
	if v := d.ReadRest(); len(v) != 0 {
		t.Errorf("ReadRest at end = %v", v)
	}
	for name, f := range map[string]func() error{
		"ReadUint8":     func() error { _, err := d.ReadUint8(); return err },
		"ReadFloat32":   func() error { _, err := d.ReadFloat32(); return err },
		"ReadFloat64":   func() error { _, err := d.ReadFloat64(); return err },
		"ReadBigInt64":  func() error { _, err := d.ReadBigInt64(); return err },
		"ReadVarString": func() error { _, err := d.ReadVarString(); return err },
		"ReadAny":       func() error { _, err := d.ReadAny(); return err },
	} {
		if err := f(); err != ErrUnexpectedEOF {
			t.Errorf("%s at end: %v", name, err)
		}
	}
	e.Reset()
	if e.Len() != 0 {
		t.Error("Reset did not empty")
	}
	if NewEncoder(-1).Len() != 0 || cap(NewEncoder(64).Buf) != 64 {
		t.Error("NewEncoder")
	}
	// A length prefix beyond the input fails without moving.
	d.Reset([]byte{0x05, 'a', 'b'})
	if _, err := d.ReadVarString(); err != ErrUnexpectedEOF || d.Pos() != 0 {
		t.Errorf("short varString: %v at %d", err, d.Pos())
	}
	d.Reset(AppendVarBytes(nil, []byte{0xff}))
	if _, err := d.ReadVarStringStrict(); err != ErrInvalidUTF8 || d.Pos() != 0 {
		t.Errorf("strict invalid: %v at %d", err, d.Pos())
	}
	if s, err := d.ReadVarString(); s != "\uFFFD" || err != nil {
		t.Errorf("lenient invalid: %q, %v", s, err)
	}
	var zero Decoder
	if _, err := zero.ReadVarUint(); err != ErrUnexpectedEOF {
		t.Errorf("zero Decoder: %v", err)
	}
}

func TestVarRoundTripExhaustiveSmall(t *testing.T) {
	for v := uint64(0); v < 1<<16; v++ {
		b := AppendVarUint(nil, v)
		if len(b) != varUintLen(v) {
			t.Fatalf("varUintLen(%d)", v)
		}
		got, err := NewDecoder(b).ReadVarUint()
		if err != nil || got != v {
			t.Fatalf("varUint %d: %d, %v", v, got, err)
		}
		i := int64(v) - 1<<15
		got2, neg, err := NewDecoder(AppendVarInt(nil, i)).ReadVarInt()
		if err != nil || got2 != i || neg != (i < 0) {
			t.Fatalf("varInt %d: %d, %v, %v", i, got2, neg, err)
		}
	}
}

// refVar is a naive reference decoder (first byte carries firstBits bits).
func refVar(b []byte, firstBits uint) (*big.Int, int, error) {
	v := new(big.Int)
	shift := uint(0)
	for i, c := range b {
		if i == MaxVarLen {
			return nil, 0, ErrOverflow
		}
		bits, mask := uint(7), byte(0x7f)
		if i == 0 {
			bits, mask = firstBits, byte(1<<firstBits-1)
		}
		v.Or(v, new(big.Int).Lsh(big.NewInt(int64(c&mask)), shift))
		if v.Cmp(big.NewInt(MaxSafeInteger)) > 0 {
			return nil, 0, ErrOverflow
		}
		shift += bits
		if c < 0x80 {
			return v, i + 1, nil
		}
	}
	if len(b) >= MaxVarLen {
		return nil, 0, ErrOverflow
	}
	return nil, 0, ErrUnexpectedEOF
}

func TestVarDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for iter := 0; iter < 50000; iter++ {
		b := make([]byte, r.IntN(13))
		for i := range b {
			switch r.IntN(4) {
			case 0:
				b[i] = 0x80
			case 1:
				b[i] = byte(r.IntN(0x80))
			default:
				b[i] = byte(r.IntN(0x100))
			}
		}
		want, wn, werr := refVar(b, 7)
		d := NewDecoder(b)
		got, err := d.ReadVarUint()
		if err != werr || (err == nil && (got != want.Uint64() || d.Pos() != wn)) {
			t.Fatalf("ReadVarUint(% x) = %d, %v at %d; reference %v, %v at %d", b, got, err, d.Pos(), want, werr, wn)
		}
		want, wn, werr = refVar(b, 6)
		d.Reset(b)
		v, neg, err := d.ReadVarInt()
		if err != werr {
			t.Fatalf("ReadVarInt(% x) err %v; reference %v", b, err, werr)
		}
		if err == nil {
			m := want.Int64()
			wantNeg := b[0]&0x40 != 0
			if wantNeg {
				m = -m
			}
			if v != m || neg != wantNeg || d.Pos() != wn {
				t.Fatalf("ReadVarInt(% x) = %d, %v at %d; reference %d, %v at %d", b, v, neg, d.Pos(), m, wantNeg, wn)
			}
		}
	}
}
