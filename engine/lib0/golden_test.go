package lib0

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The vectors in testdata/vectors.json are produced by the real lib0 (v0.2.117) and V8
// through testdata/gen.cjs; see the comment at its top for the value notation and how
// to regenerate them.

type vectors struct {
	VarUint []struct {
		V   string `json:"v"`
		Hex string `json:"hex"`
	} `json:"varUint"`
	VarInt []struct {
		V   string `json:"v"`
		Hex string `json:"hex"`
	} `json:"varInt"`
	VarString []struct {
		S   string `json:"s"`
		U16 int    `json:"u16"`
		Hex string `json:"hex"`
	} `json:"varString"`
	UTF8Decode []struct {
		In         string `json:"in"`
		Out        string `json:"out"`
		U16        int    `json:"u16"`
		Lib0Throws bool   `json:"lib0Throws"`
	} `json:"utf8Decode"`
	Any []struct {
		V   json.RawMessage `json:"v"`
		Hex string          `json:"hex"`
	} `json:"any"`
	ReadAny []struct {
		V   json.RawMessage `json:"v"`
		Hex string          `json:"hex"`
	} `json:"readAny"`
	Rle []struct {
		Values []uint8 `json:"values"`
		Hex    string  `json:"hex"`
		Reads  []uint8 `json:"reads"`
	} `json:"rle"`
	UintOptRle    []columnVector `json:"uintOptRle"`
	IntDiffOptRle []columnVector `json:"intDiffOptRle"`
	String        []columnVector `json:"string"`
	StringDecode  []columnVector `json:"stringDecode"`
	NumberToStr   []struct {
		N    string `json:"n"`
		S    string `json:"s"`
		JSON string `json:"json"`
	} `json:"numberToString"`
	Stringify []struct {
		V   json.RawMessage `json:"v"`
		Out string          `json:"out"`
	} `json:"stringify"`
	Parse []struct {
		Text string          `json:"text"`
		V    json.RawMessage `json:"v"`
		Err  bool            `json:"err"`
	} `json:"parse"`
}

// columnVector holds numbers as decimal strings and strings as UTF-8 hex.
type columnVector struct {
	Values []string `json:"values"`
	Hex    string   `json:"hex"`
	Reads  []string `json:"reads"`
}

var loadVectors = sync.OnceValues(func() (*vectors, error) {
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		return nil, err
	}
	v := new(vectors)
	return v, json.Unmarshal(b, v)
})

func golden(t testing.TB) *vectors {
	t.Helper()
	v, err := loadVectors()
	if err != nil {
		t.Fatalf("load vectors: %v", err)
	}
	return v
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// typed converts the vector value notation (see gen.cjs) to the Any representation.
func typed(t testing.TB, raw json.RawMessage) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("bad typed value %s: %v", raw, err)
	}
	return fromTyped(t, v)
}

func fromTyped(t testing.TB, v any) any {
	switch v := v.(type) {
	case nil, bool:
		return v
	case map[string]any:
		for k, x := range v {
			switch k {
			case "u":
				return Undefined
			case "n":
				return math.Float64frombits(beUint64(unhex(t, x.(string))))
			case "b":
				i, err := strconv.ParseInt(x.(string), 10, 64)
				if err != nil {
					t.Fatalf("bigint %v: %v", x, err)
				}
				return BigInt(i)
			case "s":
				return string(unhex(t, x.(string)))
			case "y":
				return unhex(t, x.(string))
			case "a":
				arr := []any{}
				for _, e := range x.([]any) {
					arr = append(arr, fromTyped(t, e))
				}
				return arr
			case "o":
				o := Object{}
				for _, kv := range x.([]any) {
					p := kv.([]any)
					o = append(o, Field{string(unhex(t, p[0].(string))), fromTyped(t, p[1])})
				}
				return o
			}
		}
	}
	t.Fatalf("bad typed value %v", v)
	return nil
}

func beUint64(b []byte) uint64 {
	var u uint64
	for _, c := range b {
		u = u<<8 | uint64(c)
	}
	return u
}

// anyEqual compares Any values exactly: numbers by bits (any NaN equals any NaN, -0
// differs from 0), objects in order.
func anyEqual(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		if !ok {
			return false
		}
		if a != a || b != b {
			return a != a && b != b
		}
		return math.Float64bits(a) == math.Float64bits(b)
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !anyEqual(a[i], b[i]) {
				return false
			}
		}
		return true
	case Object:
		b, ok := b.(Object)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i].Key != b[i].Key || !anyEqual(a[i].Value, b[i].Value) {
				return false
			}
		}
		return true
	case []byte:
		b, ok := b.([]byte)
		return ok && bytes.Equal(a, b)
	}
	return a == b
}

func TestGoldenVarUint(t *testing.T) {
	for _, c := range golden(t).VarUint {
		v, err := strconv.ParseUint(c.V, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		want := unhex(t, c.Hex)
		if got := AppendVarUint(nil, v); !bytes.Equal(got, want) {
			t.Errorf("AppendVarUint(%d) = %x, lib0 %x", v, got, want)
		}
		d := NewDecoder(want)
		got, err := d.ReadVarUint()
		if err != nil || got != v || d.Remaining() != 0 {
			t.Errorf("ReadVarUint(%x) = %d, %v (rest %d), want %d", want, got, err, d.Remaining(), v)
		}
	}
}

func TestGoldenVarInt(t *testing.T) {
	for _, c := range golden(t).VarInt {
		neg := strings.HasPrefix(c.V, "-")
		mag, err := strconv.ParseUint(strings.TrimPrefix(c.V, "-"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		want := unhex(t, c.Hex)
		if got := AppendVarIntSign(nil, mag, neg); !bytes.Equal(got, want) {
			t.Errorf("AppendVarIntSign(%d, %v) = %x, lib0 %x", mag, neg, got, want)
		}
		if c.V != "-0" {
			v, _ := strconv.ParseInt(c.V, 10, 64)
			if got := AppendVarInt(nil, v); !bytes.Equal(got, want) {
				t.Errorf("AppendVarInt(%d) = %x, lib0 %x", v, got, want)
			}
		}
		d := NewDecoder(want)
		v, gotNeg, err := d.ReadVarInt()
		wantV := int64(mag)
		if neg {
			wantV = -wantV
		}
		if err != nil || v != wantV || gotNeg != neg || d.Remaining() != 0 {
			t.Errorf("ReadVarInt(%x) = %d, %v, %v; want %s", want, v, gotNeg, err, c.V)
		}
	}
}

func TestGoldenVarString(t *testing.T) {
	for _, c := range golden(t).VarString {
		s := string(unhex(t, c.S))
		want := unhex(t, c.Hex)
		if got := AppendVarString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("AppendVarString(%q) = %x, lib0 %x", s, got, want)
		}
		d := NewDecoder(want)
		if got, err := d.ReadVarString(); err != nil || got != s {
			t.Errorf("ReadVarString(%x) = %q, %v; want %q", want, got, err, s)
		}
		if got := UTF16Len(s); got != c.U16 {
			t.Errorf("UTF16Len(%q) = %d, JS length %d", s, got, c.U16)
		}
	}
}

func TestGoldenUTF8Decode(t *testing.T) {
	for _, c := range golden(t).UTF8Decode {
		in := unhex(t, c.In)
		want := string(unhex(t, c.Out))
		enc := AppendVarBytes(nil, in)
		got, err := NewDecoder(enc).ReadVarString()
		if err != nil || got != want {
			t.Errorf("ReadVarString(% x) = %q, %v; TextDecoder %q", in, got, err, want)
		}
		if got := ToValidUTF8(string(in)); got != want {
			t.Errorf("ToValidUTF8(% x) = %q; TextDecoder %q", in, got, want)
		}
		if got := UTF16Len(string(in)); got != c.U16 {
			t.Errorf("UTF16Len(% x) = %d; TextDecoder gives length %d", in, got, c.U16)
		}
		_, err = NewDecoder(enc).ReadVarStringStrict()
		if (err != nil) != c.Lib0Throws {
			t.Errorf("ReadVarStringStrict(% x) err = %v; lib0 throws: %v", in, err, c.Lib0Throws)
		}
	}
}

func TestGoldenAny(t *testing.T) {
	for _, c := range golden(t).Any {
		v := typed(t, c.V)
		want := unhex(t, c.Hex)
		got, err := AppendAny(nil, v)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("AppendAny(%s) = %x, %v; lib0 %x", c.V, got, err, want)
		}
		d := NewDecoder(want)
		back, err := d.ReadAny()
		if err != nil || !anyEqual(back, v) || d.Remaining() != 0 {
			t.Errorf("ReadAny(%x) = %#v, %v; want %s", want, back, err, c.V)
		}
	}
}

func TestGoldenReadAny(t *testing.T) {
	for _, c := range golden(t).ReadAny {
		want := typed(t, c.V)
		in := unhex(t, c.Hex)
		d := NewDecoder(in)
		got, err := d.ReadAny()
		if err != nil || !anyEqual(got, want) || d.Remaining() != 0 {
			t.Errorf("ReadAny(%x) = %#v, %v; lib0 %s", in, got, err, c.V)
		}
	}
}

func TestGoldenRle(t *testing.T) {
	for _, c := range golden(t).Rle {
		var e RleEncoder
		for _, v := range c.Values {
			e.Write(v)
		}
		want := unhex(t, c.Hex)
		if got := e.Bytes(); !bytes.Equal(got, want) {
			t.Errorf("RleEncoder(%v) = %x, lib0 %x", c.Values, got, want)
		}
		d := NewRleDecoder(want)
		for i, w := range c.Reads {
			if got, err := d.Read(); err != nil || got != w {
				t.Errorf("RleDecoder(%x) read %d = %d, %v; lib0 %d", want, i, got, err, w)
				break
			}
		}
	}
}

func parseUints(t testing.TB, ss []string) []uint64 {
	out := make([]uint64, len(ss))
	for i, s := range ss {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = v
	}
	return out
}

func parseInts(t testing.TB, ss []string) []int64 {
	out := make([]int64, len(ss))
	for i, s := range ss {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = v
	}
	return out
}

func hexStrings(t testing.TB, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(unhex(t, s))
	}
	return out
}

func TestGoldenUintOptRle(t *testing.T) {
	for _, c := range golden(t).UintOptRle {
		var e UintOptRleEncoder
		for _, v := range parseUints(t, c.Values) {
			e.Write(v)
		}
		want := unhex(t, c.Hex)
		if got := e.Bytes(); !bytes.Equal(got, want) {
			t.Errorf("UintOptRleEncoder(%v) = %x, lib0 %x", c.Values, got, want)
		}
		if got := e.Bytes(); !bytes.Equal(got, want) {
			t.Errorf("second Bytes() = %x, want %x", got, want)
		}
		d := NewUintOptRleDecoder(want)
		for i, w := range parseUints(t, c.Reads) {
			if got, err := d.Read(); err != nil || got != w {
				t.Errorf("UintOptRleDecoder(%x) read %d = %d, %v; lib0 %d", want, i, got, err, w)
				break
			}
		}
		if _, err := d.Read(); err != ErrUnexpectedEOF {
			t.Errorf("UintOptRleDecoder(%x) past end: err = %v", want, err)
		}
	}
}

func TestGoldenIntDiffOptRle(t *testing.T) {
	for _, c := range golden(t).IntDiffOptRle {
		var e IntDiffOptRleEncoder
		for _, v := range parseInts(t, c.Values) {
			e.Write(v)
		}
		want := unhex(t, c.Hex)
		if got := e.Bytes(); !bytes.Equal(got, want) {
			t.Errorf("IntDiffOptRleEncoder(%v) = %x, lib0 %x", c.Values, got, want)
		}
		d := NewIntDiffOptRleDecoder(want)
		for i, w := range parseInts(t, c.Reads) {
			if got, err := d.Read(); err != nil || got != w {
				t.Errorf("IntDiffOptRleDecoder(%x) read %d = %d, %v; lib0 %d", want, i, got, err, w)
				break
			}
		}
		if _, err := d.Read(); err != ErrUnexpectedEOF {
			t.Errorf("IntDiffOptRleDecoder(%x) past end: err = %v", want, err)
		}
	}
}

func TestGoldenString(t *testing.T) {
	for _, c := range golden(t).String {
		var e StringEncoder
		for _, s := range hexStrings(t, c.Values) {
			e.Write(s)
		}
		want := unhex(t, c.Hex)
		if got := e.Bytes(); !bytes.Equal(got, want) {
			t.Errorf("StringEncoder(%q) = %x, lib0 %x", hexStrings(t, c.Values), got, want)
		}
		checkStringReads(t, want, hexStrings(t, c.Reads))
	}
	for _, c := range golden(t).StringDecode {
		checkStringReads(t, unhex(t, c.Hex), hexStrings(t, c.Reads))
	}
}

func checkStringReads(t *testing.T, in []byte, reads []string) {
	t.Helper()
	d, err := NewStringDecoder(in)
	if err != nil {
		t.Errorf("NewStringDecoder(%x): %v", in, err)
		return
	}
	for i, w := range reads {
		if got, err := d.Read(); err != nil || got != w {
			t.Errorf("StringDecoder(%x) read %d = %q, %v; lib0 %q", in, i, got, err, w)
			return
		}
	}
}

func TestGoldenNumberToString(t *testing.T) {
	for _, c := range golden(t).NumberToStr {
		f := math.Float64frombits(beUint64(unhex(t, c.N)))
		if got := FormatNumber(f); got != c.S {
			t.Errorf("FormatNumber(%v [%s]) = %q, JS String() %q", f, c.N, got, c.S)
		}
		if got, err := StringifyJSON(f); err != nil || got != c.JSON {
			t.Errorf("StringifyJSON(%v) = %q, %v; JS %q", f, got, err, c.JSON)
		}
	}
}

func TestGoldenStringify(t *testing.T) {
	for _, c := range golden(t).Stringify {
		v := typed(t, c.V)
		if got, err := StringifyJSON(v); err != nil || got != c.Out {
			t.Errorf("StringifyJSON(%s) = %q, %v; JS %q", c.V, got, err, c.Out)
		}
	}
}

func TestGoldenParse(t *testing.T) {
	for _, c := range golden(t).Parse {
		text := string(unhex(t, c.Text))
		got, err := ParseJSON(text)
		if c.Err {
			if err == nil {
				t.Errorf("ParseJSON(%q) = %#v; JS throws", text, got)
			}
			continue
		}
		want := typed(t, c.V)
		if err != nil || !anyEqual(got, want) {
			t.Errorf("ParseJSON(%q) = %#v, %v; JS %s", text, got, err, c.V)
		}
	}
}
