package lib0

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"runtime"
	"testing"
)

func TestReadAnyHostileCounts(t *testing.T) {
	for _, in := range [][]byte{
		AppendVarUint([]byte{tagArray}, 1<<40),
		AppendVarUint([]byte{tagObject}, 1<<40),
		AppendVarUint([]byte{tagArray}, MaxSafeInteger),
		AppendVarUint([]byte{tagBytes}, 1<<40),
		AppendVarUint([]byte{tagString}, 1<<40),
		append(AppendVarUint([]byte{tagArray}, 3), 126, 126),     // 3 elements, 2 bytes
		append(AppendVarUint([]byte{tagObject}, 2), 0, 126, 0),   // 2 pairs, 3 bytes
		append(AppendVarUint([]byte{tagObject}, 1), 5, 'a', 126), // key longer than input
		{tagFloat64, 1, 2, 3}, {tagFloat32, 1}, {tagBigInt, 1, 2}, {tagInteger, 0x80},
	} {
		allocs := testing.AllocsPerRun(10, func() {
			d := NewDecoder(in)
			if _, err := d.ReadAny(); err != ErrUnexpectedEOF || d.Pos() != 0 {
				t.Errorf("ReadAny(% x) = %v at %d; want ErrUnexpectedEOF at 0", in, err, d.Pos())
			}
		})
		if allocs > 3 {
			t.Errorf("ReadAny(% x) allocated %v times", in, allocs)
		}
	}
}

func TestReadAnyUnknownTag(t *testing.T) {
	for tag := 0; tag < 116; tag++ {
		_, err := NewDecoder([]byte{byte(tag)}).ReadAny()
		if !errors.Is(err, ErrUnknownTag) {
			t.Errorf("tag %d: %v", tag, err)
		}
	}
	for tag := 128; tag < 256; tag++ {
		if _, err := NewDecoder([]byte{byte(tag)}).ReadAny(); !errors.Is(err, ErrUnknownTag) {
			t.Errorf("tag %d: %v", tag, err)
		}
	}
}

func nestedArrays(depth int) []byte {
	b := bytes.Repeat([]byte{tagArray, 1}, depth-1)
	return append(b, tagArray, 0)
}

func TestAnyDepth(t *testing.T) {
	v, err := NewDecoder(nestedArrays(MaxAnyDepth)).ReadAny()
	if err != nil {
		t.Fatalf("depth %d: %v", MaxAnyDepth, err)
	}
	if _, err := AppendAny(nil, v); err != nil {
		t.Fatalf("AppendAny depth %d: %v", MaxAnyDepth, err)
	}
	if _, err := StringifyJSON(v); err != nil {
		t.Fatalf("StringifyJSON depth %d: %v", MaxAnyDepth, err)
	}
	if _, err := NewDecoder(nestedArrays(MaxAnyDepth + 1)).ReadAny(); err != ErrTooDeep {
		t.Errorf("depth %d: %v", MaxAnyDepth+1, err)
	}
	obj := bytes.Repeat([]byte{tagObject, 1, 0}, MaxAnyDepth+1)
	if _, err := NewDecoder(obj).ReadAny(); err != ErrTooDeep {
		t.Errorf("object depth: %v", err)
	}
	// A cycle is caught by the depth limit instead of recursing forever.
	cyc := []any{nil}
	cyc[0] = cyc
	if _, err := AppendAny(nil, cyc); err != ErrTooDeep {
		t.Errorf("AppendAny(cycle) = %v", err)
	}
	if _, err := StringifyJSON(cyc); err != ErrTooDeep {
		t.Errorf("StringifyJSON(cycle) = %v", err)
	}
	deep := []any{}
	for i := 0; i < MaxAnyDepth; i++ {
		deep = []any{deep}
	}
	if _, err := AppendAny(nil, deep); err != ErrTooDeep {
		t.Errorf("AppendAny(depth %d) = %v", MaxAnyDepth+1, err)
	}
}

func TestReadAnyCopies(t *testing.T) {
	in := []byte{tagArray, 2, tagBytes, 2, 'a', 'b', tagString, 1, 'c'}
	v, err := NewDecoder(in).ReadAny()
	if err != nil {
		t.Fatal(err)
	}
	in[4], in[8] = 'X', 'Y'
	arr := v.([]any)
	if string(arr[0].([]byte)) != "ab" || arr[1].(string) != "c" {
		t.Errorf("ReadAny result aliases input: %v", arr)
	}
}

func TestAppendAnyGoTypes(t *testing.T) {
	num := func(f float64) []byte { b, _ := AppendAny(nil, f); return b }
	for _, c := range []struct {
		in   any
		want []byte
	}{
		{int(5), num(5)},
		{int8(-5), num(-5)},
		{int16(300), num(300)},
		{int32(-70000), num(-70000)},
		{int64(MaxSafeInteger), num(MaxSafeInteger)},
		{int64(-MaxSafeInteger), num(-MaxSafeInteger)},
		{uint(7), num(7)},
		{uint8(255), num(255)},
		{uint16(65535), num(65535)},
		{uint32(1 << 31), num(1 << 31)},
		{uint64(MaxSafeInteger), num(MaxSafeInteger)},
		{uintptr(1), num(1)},
		{float32(0.1), num(float64(float32(0.1)))},
		{json.Number("1e3"), num(1000)},
		{json.Number("-0"), []byte{tagInteger, 0x40}},
		{[]string{"a", "b"}, []byte{tagArray, 2, tagString, 1, 'a', tagString, 1, 'b'}},
		{[]float64{1, 0.5}, append([]byte{tagArray, 2, tagInteger, 1}, num(0.5)...)},
		{map[string]any{"b": 1, "a": 2, "10": 3, "2": 4, "01": 5}, mustAny(t, Object{
			{"2", 4.0}, {"10", 3.0}, {"01", 5.0}, {"a", 2.0}, {"b", 1.0}})},
		{Undefined, []byte{tagUndefined}},
		{nil, []byte{tagNull}},
		{BigInt(-1), []byte{tagBigInt, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{math.NaN(), []byte{tagFloat64, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}},
		{math.Float64frombits(0xfff8000000000abc), []byte{tagFloat64, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}},
		{Object{{"__proto__", 1.0}}, []byte{tagObject, 1, 9, '_', '_', 'p', 'r', 'o', 't', 'o', '_', '_', tagInteger, 1}},
	} {
		got, err := AppendAny(nil, c.in)
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("AppendAny(%#v) = % x, %v; want % x", c.in, got, err, c.want)
		}
	}
	for _, bad := range []any{
		int64(MaxSafeInteger + 1), int64(math.MinInt64), uint64(1 << 60),
		struct{}{}, &Object{}, map[string]int{}, []int{1}, json.Number("abc"), json.Number("01"),
		[]any{1, make(chan int)}, Object{{"k", func() {}}}, map[string]any{"x": complex(1, 2)},
	} {
		var e Encoder
		e.WriteUint8(9)
		if err := e.WriteAny(bad); !errors.Is(err, ErrUnsupportedType) {
			t.Errorf("WriteAny(%#v) err = %v", bad, err)
		}
		if !bytes.Equal(e.Bytes(), []byte{9}) {
			t.Errorf("WriteAny(%#v) left % x", bad, e.Bytes())
		}
	}
}

func mustAny(t *testing.T, v any) []byte {
	t.Helper()
	b, err := AppendAny(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNumberTags(t *testing.T) {
	for _, c := range []struct {
		f   float64
		tag byte
	}{
		{0, tagInteger}, {math.Copysign(0, -1), tagInteger}, {math.MaxInt32, tagInteger},
		{-math.MaxInt32, tagInteger}, {math.MinInt32, tagFloat32}, {1 << 31, tagFloat32},
		{1 << 40, tagFloat32}, {0.5, tagFloat32}, {0.1, tagFloat64}, {math.Inf(1), tagFloat32},
		{math.Inf(-1), tagFloat32}, {math.NaN(), tagFloat64}, {math.MaxFloat32, tagFloat32},
		{math.Nextafter(math.MaxFloat32, math.Inf(1)), tagFloat64}, {1e300, tagFloat64},
		{math.SmallestNonzeroFloat32, tagFloat32}, {math.SmallestNonzeroFloat64, tagFloat64},
	} {
		b := appendNumber(nil, c.f)
		if b[0] != c.tag {
			t.Errorf("number %v: tag %d, want %d", c.f, b[0], c.tag)
		}
		v, err := NewDecoder(b).ReadAny()
		if err != nil || !anyEqual(v, c.f) {
			t.Errorf("number %v: read back %v, %v", c.f, v, err)
		}
	}
}

func TestObjectOrder(t *testing.T) {
	o := Object{{"b", 1.0}, {"10", 2.0}, {"a", 3.0}, {"2", 4.0}, {"b", 5.0}, {"4294967295", 6.0}, {"4294967294", 7.0}}
	want := Object{{"2", 4.0}, {"10", 2.0}, {"4294967294", 7.0}, {"b", 5.0}, {"a", 3.0}, {"4294967295", 6.0}}
	if got := o.Normalize(); !anyEqual(got, want) {
		t.Errorf("Normalize = %v, want %v", got, want)
	}
	if v, ok := o.Get("b"); !ok || v != 5.0 {
		t.Errorf("Get(b) = %v, %v", v, ok)
	}
	if _, ok := o.Get("zz"); ok {
		t.Error("Get(zz) found")
	}
	// Already-normal objects are returned as is.
	if got := want.Normalize(); &got[0] != &want[0] {
		t.Error("Normalize copied a normal object")
	}
	big := Object{}
	for i := 0; i < 40; i++ {
		big = append(big, Field{string(rune('A' + i)), float64(i)})
	}
	if got := big.Normalize(); &got[0] != &big[0] {
		t.Error("Normalize copied a large normal object")
	}
	big = append(big, Field{"A", -1.0})
	if got := big.Normalize(); len(got) != 40 || got[0].Value != -1.0 {
		t.Errorf("Normalize large with duplicate: %v", got[:2])
	}
	// ReadAny builds objects with the same rule, past the linear-search size too.
	var e Encoder
	e.WriteUint8(tagObject)
	e.WriteVarUint(30)
	for i := 0; i < 30; i++ {
		e.WriteVarString(string(rune('a' + i%12)))
		_ = e.WriteAny(float64(i))
	}
	v, err := NewDecoder(e.Bytes()).ReadAny()
	if err != nil {
		t.Fatal(err)
	}
	got := v.(Object)
	if len(got) != 12 || got[0].Key != "a" || got[0].Value != 24.0 || got[11].Value != 23.0 {
		t.Errorf("ReadAny duplicates: %v", got)
	}
	for _, k := range []string{"0", "1", "42", "4294967294"} {
		if _, ok := arrayIndex(k); !ok {
			t.Errorf("arrayIndex(%q) false", k)
		}
	}
	for _, k := range []string{"", "01", "-1", "1.0", "4294967295", "99999999999", "1a", " 1"} {
		if _, ok := arrayIndex(k); ok {
			t.Errorf("arrayIndex(%q) true", k)
		}
	}
}

func TestReadAnySmallIntsShared(t *testing.T) {
	in := []byte{tagArray, 3, tagInteger, 5, tagFloat32, 0x3f, 0x80, 0, 0, tagInteger, 0x40}
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := NewDecoder(in).ReadAny(); err != nil {
			t.Fatal(err)
		}
	})
	// the decoder, the slice, and the boxed -0
	if allocs > 3 {
		t.Errorf("ReadAny allocated %v times", allocs)
	}
	v, _ := NewDecoder(in).ReadAny()
	if x := v.([]any)[2].(float64); !math.Signbit(x) {
		t.Error("-0 lost its sign")
	}
}

// TestReadAnyNestedCountsMemory: nested containers that each claim the whole input must
// not each pre-allocate for it.
func TestReadAnyNestedCountsMemory(t *testing.T) {
	const pad = 100_000
	var in []byte
	for i := 0; i < MaxAnyDepth; i++ {
		in = AppendVarUint(append(in, tagArray), pad)
	}
	in = append(in, bytes.Repeat([]byte{tagNull}, pad)...)
	for _, obj := range []bool{false, true} {
		if obj {
			in = in[:0]
			for i := 0; i < MaxAnyDepth; i++ {
				in = append(AppendVarUint(append(in, tagObject), pad/2), 0)
			}
			in = append(in, bytes.Repeat([]byte{0, tagNull}, pad/2)...)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := NewDecoder(in).ReadAny()
		runtime.ReadMemStats(&after)
		if err != ErrUnexpectedEOF {
			t.Errorf("object=%v: err = %v", obj, err)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 40*uint64(len(in)) {
			t.Errorf("object=%v: ReadAny of %d bytes allocated %d bytes", obj, len(in), got)
		}
	}
}
