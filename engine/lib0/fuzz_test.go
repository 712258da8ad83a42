package lib0

import (
	"bytes"
	"math"
	"testing"
	"unicode/utf8"
)

// Seeds come from the golden vectors (bytes written by the real lib0) plus hostile
// inputs. Plain `go test` runs every seed; `go test -fuzz FuzzX` explores further.

func FuzzReadAny(f *testing.F) {
	v := golden(f)
	for _, c := range v.Any {
		f.Add(unhex(f, c.Hex))
	}
	for _, c := range v.ReadAny {
		f.Add(unhex(f, c.Hex))
	}
	f.Add(nestedArrays(MaxAnyDepth + 1))
	f.Add(AppendVarUint([]byte{tagArray}, 1<<40))
	f.Add([]byte{tagObject, 2, 1, '1', tagNull, 1, '0', tagNull})
	f.Fuzz(func(t *testing.T, in []byte) {
		d := NewDecoder(in)
		v1, err := d.ReadAny()
		if err != nil {
			if d.Pos() != 0 {
				t.Fatalf("failed ReadAny moved to %d", d.Pos())
			}
			return
		}
		enc1, err := AppendAny(nil, v1)
		if err != nil {
			t.Fatalf("AppendAny(ReadAny(% x)): %v", in, err)
		}
		v2, err := NewDecoder(enc1).ReadAny()
		if err != nil {
			t.Fatalf("ReadAny(AppendAny(...)) of % x: %v", enc1, err)
		}
		if !anyEqual(v1, v2) {
			t.Fatalf("round trip differs:\n%#v\n%#v", v1, v2)
		}
		enc2, _ := AppendAny(nil, v2)
		if !bytes.Equal(enc1, enc2) {
			t.Fatalf("encoding not stable:\n% x\n% x", enc1, enc2)
		}
		// (The re-encoding can be longer than the input: invalid UTF-8 becomes U+FFFD
		// and a float32-tagged small integer becomes a varInt.)
	})
}

func FuzzVarUint(f *testing.F) {
	for _, c := range golden(f).VarUint {
		f.Add(unhex(f, c.Hex))
	}
	for _, c := range golden(f).VarInt {
		f.Add(unhex(f, c.Hex))
	}
	f.Add(AppendVarUint(nil, math.MaxUint64))
	f.Add(bytes.Repeat([]byte{0x80}, 12))
	f.Fuzz(func(t *testing.T, in []byte) {
		d := NewDecoder(in)
		if v, err := d.ReadVarUint(); err == nil {
			if v > MaxSafeInteger || d.Pos() > MaxVarLen {
				t.Fatalf("ReadVarUint(% x) = %d using %d bytes", in, v, d.Pos())
			}
			enc := AppendVarUint(nil, v)
			if len(enc) > d.Pos() {
				t.Fatalf("canonical encoding of %d longer than input", v)
			}
			if back, err := NewDecoder(enc).ReadVarUint(); back != v || err != nil {
				t.Fatalf("varUint %d round trip: %d, %v", v, back, err)
			}
			if d.Pos() == len(enc) && !bytes.Equal(enc, in[:d.Pos()]) {
				t.Fatalf("two canonical encodings of %d", v)
			}
		} else if d.Pos() != 0 {
			t.Fatal("failed read moved")
		}
		d.Reset(in)
		if v, neg, err := d.ReadVarInt(); err == nil {
			if v > MaxSafeInteger || v < -MaxSafeInteger || (v < 0) != (neg && v != 0) {
				t.Fatalf("ReadVarInt(% x) = %d, %v", in, v, neg)
			}
			mag := uint64(v)
			if v < 0 {
				mag = uint64(-v)
			}
			enc := AppendVarIntSign(nil, mag, neg)
			if back, bneg, err := NewDecoder(enc).ReadVarInt(); back != v || bneg != neg || err != nil {
				t.Fatalf("varInt %d/%v round trip: %d, %v, %v", v, neg, back, bneg, err)
			}
		} else if d.Pos() != 0 {
			t.Fatal("failed read moved")
		}
	})
}

func FuzzVarString(f *testing.F) {
	for _, c := range golden(f).VarString {
		f.Add(unhex(f, c.Hex))
	}
	for _, c := range golden(f).UTF8Decode {
		f.Add(AppendVarBytes(nil, unhex(f, c.In)))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d := NewDecoder(in)
		s, err := d.ReadVarString()
		if err != nil {
			return
		}
		hd := NewDecoder(in)
		_, _ = hd.ReadVarUint()
		raw := in[hd.Pos():d.Pos()]
		if !utf8.ValidString(s) {
			t.Fatalf("ReadVarString returned invalid UTF-8 %q", s)
		}
		strict, serr := NewDecoder(in).ReadVarStringStrict()
		if utf8.Valid(raw) != (serr == nil) || (serr == nil && strict != s) {
			t.Fatalf("strict/lenient disagree on % x: %q %v / %q", raw, strict, serr, s)
		}
		if s != ToValidUTF8(string(raw)) {
			t.Fatalf("ReadVarString != ToValidUTF8 for % x", raw)
		}
		if UTF16Len(s) != UTF16Len(string(raw)) || UTF16Len(s) != len(utf16Units(s)) {
			t.Fatalf("UTF16Len inconsistent for % x", raw)
		}
		back, err := NewDecoder(AppendVarString(nil, s)).ReadVarString()
		if err != nil || back != s {
			t.Fatalf("round trip %q: %q, %v", s, back, err)
		}
		n := UTF16Len(string(raw))
		prev := 0
		for u := 0; u <= n; u++ {
			off, _ := UTF16Offset(string(raw), u)
			if off < prev || off > len(raw) {
				t.Fatalf("UTF16Offset(% x, %d) = %d after %d", raw, u, off, prev)
			}
			prev = off
		}
	})
}

// readColumn reads up to max values with read, stopping at the first error.
func readColumn[T any](max int, read func() (T, error)) []T {
	var out []T
	for i := 0; i < max; i++ {
		v, err := read()
		if err != nil {
			break
		}
		out = append(out, v)
	}
	return out
}

func FuzzRleDecoders(f *testing.F) {
	v := golden(f)
	for _, c := range v.Rle {
		f.Add(unhex(f, c.Hex))
	}
	for _, c := range v.UintOptRle {
		f.Add(unhex(f, c.Hex))
	}
	for _, c := range v.IntDiffOptRle {
		f.Add(unhex(f, c.Hex))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 2000
		rd := NewRleDecoder(in)
		u8s := readColumn(max, rd.Read)
		var re RleEncoder
		for _, x := range u8s {
			re.Write(x)
		}
		if got := readColumn(len(u8s), NewRleDecoder(re.Bytes()).Read); !equalSlices(got, u8s) {
			t.Fatalf("Rle round trip differs")
		}

		us := readColumn(max, NewUintOptRleDecoder(in).Read)
		var ue UintOptRleEncoder
		for _, x := range us {
			if x > MaxSafeInteger {
				t.Fatalf("UintOptRle value %d", x)
			}
			ue.Write(x)
		}
		if got := readColumn(len(us)+1, NewUintOptRleDecoder(ue.Bytes()).Read); !equalSlices(got, us) {
			t.Fatalf("UintOptRle round trip differs")
		}

		is := readColumn(max, NewIntDiffOptRleDecoder(in).Read)
		var ie IntDiffOptRleEncoder
		encodable := true
		var prev int64
		for _, x := range is {
			if x > MaxSafeInteger || x < -MaxSafeInteger {
				t.Fatalf("IntDiffOptRle value %d", x)
			}
			if d := x - prev; d > MaxSafeInteger/2 || d < -MaxSafeInteger/2 {
				encodable = false // 2·diff would not fit a varInt
			}
			prev = x
			ie.Write(x)
		}
		if encodable {
			if got := readColumn(len(is)+1, NewIntDiffOptRleDecoder(ie.Bytes()).Read); !equalSlices(got, is) {
				t.Fatalf("IntDiffOptRle round trip differs:\n%v\n%v", got, is)
			}
		}
	})
}

func equalSlices[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzStringDecoder(f *testing.F) {
	for _, c := range golden(f).String {
		f.Add(unhex(f, c.Hex))
	}
	for _, c := range golden(f).StringDecode {
		f.Add(unhex(f, c.Hex))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := NewStringDecoder(in)
		if err != nil {
			return
		}
		ss := readColumn(2000, d.Read)
		var e StringEncoder
		for _, s := range ss {
			if !utf8.ValidString(s) {
				t.Fatalf("StringDecoder returned invalid UTF-8 %q", s)
			}
			e.Write(s)
		}
		d2, err := NewStringDecoder(e.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if got := readColumn(len(ss)+1, d2.Read); !equalSlices(got, ss) {
			t.Fatalf("StringDecoder round trip differs:\n%q\n%q", got, ss)
		}
	})
}

func FuzzParseJSON(f *testing.F) {
	for _, c := range golden(f).Parse {
		f.Add(string(unhex(f, c.Text)))
	}
	for _, c := range golden(f).Stringify {
		f.Add(c.Out)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v1, err := ParseJSON(s)
		if err != nil {
			return
		}
		t1, err := StringifyJSON(v1)
		if err != nil {
			t.Fatalf("StringifyJSON(ParseJSON(%q)): %v", s, err)
		}
		v2, err := ParseJSON(t1)
		if err != nil {
			t.Fatalf("ParseJSON(%q) (from %q): %v", t1, s, err)
		}
		// JSON cannot carry -0 or ±Inf (1e400), so compare v1 and v2 as JSON sees them.
		if !anyEqual(jsonView(v1), v2) {
			t.Fatalf("parse→stringify→parse differs for %q:\n%#v\n%#v", s, v1, v2)
		}
		t2, err := StringifyJSON(v2)
		if err != nil || t2 != t1 {
			t.Fatalf("stringify not stable: %q vs %q (%v)", t1, t2, err)
		}
		// The Any encoding of parsed JSON round-trips too.
		enc, err := AppendAny(nil, v2)
		if err != nil {
			t.Fatal(err)
		}
		if v3, err := NewDecoder(enc).ReadAny(); err != nil || !anyEqual(v3, dropProto(v2)) {
			t.Fatalf("Any round trip of %q: %#v, %v", t1, v3, err)
		}
	})
}

// dropProto removes "__proto__" keys, as ReadAny does (JSON.parse keeps them).
func dropProto(v any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i := range v {
			out[i] = dropProto(v[i])
		}
		return out
	case Object:
		out := Object{}
		for _, f := range v {
			if f.Key != "__proto__" {
				out = append(out, Field{f.Key, dropProto(f.Value)})
			}
		}
		return out
	}
	return v
}

// jsonView maps ±Inf to nil and -0 to 0, as a JSON round trip does.
func jsonView(v any) any {
	switch v := v.(type) {
	case float64:
		if math.IsInf(v, 0) {
			return nil
		}
		if v == 0 {
			return 0.0
		}
	case []any:
		out := make([]any, len(v))
		for i := range v {
			out[i] = jsonView(v[i])
		}
		return out
	case Object:
		out := make(Object, len(v))
		for i := range v {
			out[i] = Field{v[i].Key, jsonView(v[i].Value)}
		}
		return out
	}
	return v
}
