package lib0

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestStringifyJSONErrors(t *testing.T) {
	if s, err := StringifyJSON(Undefined); err != ErrUndefined || s != "" {
		t.Errorf("StringifyJSON(Undefined) = %q, %v", s, err)
	}
	if _, err := StringifyJSON(BigInt(1)); err != ErrBigIntJSON {
		t.Errorf("StringifyJSON(BigInt) = %v", err)
	}
	if _, err := StringifyJSON(Object{{"a", []any{BigInt(1)}}}); err != ErrBigIntJSON {
		t.Errorf("nested BigInt = %v", err)
	}
	if _, err := StringifyJSON(struct{}{}); !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("struct = %v", err)
	}
	if _, err := StringifyJSON(int64(1 << 60)); !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("int64 = %v", err)
	}
}

func TestStringifyJSONGoTypes(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{map[string]any{"b": 1, "a": Undefined, "1": []string{"x"}, "f": []float64{0.5, math.NaN()}}, `{"1":["x"],"b":1,"f":[0.5,null]}`},
		{[]any{Undefined, int8(-3), uint64(9), float32(0.5), json.Number("1e21")}, `[null,-3,9,0.5,1e+21]`},
		{"\xff\xfe ok \xe2\x82", `"\ufffd\ufffd ok \ufffd"`},
		{[]byte{}, `{}`},
		{Object{}, `{}`},
		{[]any{}, `[]`},
		{math.Copysign(0, -1), `0`},
	} {
		got, err := StringifyJSON(c.in)
		want := c.want
		if strings.Contains(want, `\ufffd`) {
			want = strings.ReplaceAll(want, `\ufffd`, "\uFFFD")
		}
		if err != nil || got != want {
			t.Errorf("StringifyJSON(%#v) = %q, %v; want %q", c.in, got, err, want)
		}
	}
	b, err := json.Marshal(map[string]any{"o": Object{{"z", 1.0}, {"a", "\u2028"}}})
	if err != nil || string(b) != `{"o":{"z":1,"a":"\u2028"}}` {
		t.Errorf("json.Marshal(Object) = %s, %v", b, err)
	}
}

func TestParseJSONErrors(t *testing.T) {
	for _, s := range []string{"", "[", `{"a":}`, `"\u00"`, `"\q"`, "[1,,2]", "{,}", `{"a":1`, `"a` + "\n" + `"`, "1e+", "-01", "true false"} {
		if v, err := ParseJSON(s); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseJSON(%q) = %#v, %v", s, v, err)
		}
	}
	deep := strings.Repeat("[", MaxAnyDepth) + strings.Repeat("]", MaxAnyDepth)
	if _, err := ParseJSON(deep); err != nil {
		t.Errorf("depth %d: %v", MaxAnyDepth, err)
	}
	if _, err := ParseJSON("[" + deep + "]"); err != ErrTooDeep {
		t.Errorf("depth %d: %v", MaxAnyDepth+1, err)
	}
	if _, err := ParseJSON(strings.Repeat(`{"a":`, MaxAnyDepth+1)); err != ErrTooDeep {
		t.Errorf("object depth: %v", err)
	}
}

func TestParseJSONStrings(t *testing.T) {
	for in, want := range map[string]string{
		`"plain"`:              "plain",
		`"a\"b\\c\/d"`:         `a"b\c/d`,
		`"\ud83d\ude00"`:       "😀",
		`"\ud83d"`:             "\uFFFD",
		`"\ud83dx"`:            "\uFFFDx",
		`"\ude00\ud83d"`:       "\uFFFD\uFFFD",
		`"\ud83d\u0041"`:       "\uFFFDA",
		`"\ud83d\ud83d\ude00"`: "\uFFFD😀",
		"\"raw \xff byte\"":    "raw \uFFFD byte",
		"\"é€😀\"":              "é€😀",
	} {
		got, err := ParseJSON(in)
		if err != nil || got != want {
			t.Errorf("ParseJSON(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestFormatNumberSpecial(t *testing.T) {
	for f, want := range map[float64]string{
		math.Inf(1): "Infinity", math.Inf(-1): "-Infinity", 1e21: "1e+21", 1e-7: "1e-7",
		123e-20: "1.23e-18", -1.5e-7: "-1.5e-7", 0.000001: "0.000001", 1 << 53: "9007199254740992",
		1e20: "100000000000000000000", -2.5: "-2.5",
	} {
		if got := FormatNumber(f); got != want {
			t.Errorf("FormatNumber(%v) = %q, want %q", f, got, want)
		}
	}
	if got := FormatNumber(math.NaN()); got != "NaN" {
		t.Errorf("FormatNumber(NaN) = %q", got)
	}
}
