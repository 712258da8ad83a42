package lib0

import (
	"math"
	"math/rand/v2"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// utf16Units is the reference: the UTF-16 encoding of what TextDecoder makes of s.
func utf16Units(s string) []uint16 { return utf16.Encode([]rune(ToValidUTF8(s))) }

func TestUTF16Offset(t *testing.T) {
	s := "a€😀b" // units: a(1) €(1) 😀(2) b(1)
	for _, c := range []struct {
		u16, off int
		split    bool
	}{
		{-1, 0, false}, {0, 0, false}, {1, 1, false}, {2, 4, false}, {3, 4, true},
		{4, 8, false}, {5, 9, false}, {6, 9, false}, {math.MaxInt, 9, false},
	} {
		off, split := UTF16Offset(s, c.u16)
		if off != c.off || split != c.split {
			t.Errorf("UTF16Offset(%q, %d) = %d, %v; want %d, %v", s, c.u16, off, split, c.off, c.split)
		}
	}
}

// randomUTF8ish returns strings mixing ASCII runs, multi-byte runes and invalid bytes.
func randomUTF8ish(r *rand.Rand) string {
	var b []byte
	n := r.IntN(40)
	for i := 0; i < n; i++ {
		switch r.IntN(6) {
		case 0:
			b = append(b, "abcdefghijklmnopqrstuvwxyz"[:r.IntN(26)]...)
		case 1:
			b = utf8.AppendRune(b, rune(0x80+r.IntN(0x780)))
		case 2:
			b = utf8.AppendRune(b, rune(0x800+r.IntN(0xd000)))
		case 3:
			b = utf8.AppendRune(b, rune(0x10000+r.IntN(0x100000)))
		case 4:
			b = append(b, byte(0x80+r.IntN(0x80)))
		default:
			full := utf8.AppendRune(nil, rune(0x10000+r.IntN(0x100000)))
			b = append(b, full[:1+r.IntN(len(full)-1)]...) // truncated sequence
		}
	}
	return string(b)
}

func TestUTF16Property(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 3000; i++ {
		s := randomUTF8ish(r)
		units := utf16Units(s)
		if got := UTF16Len(s); got != len(units) {
			t.Fatalf("UTF16Len(%q) = %d, want %d", s, got, len(units))
		}
		v := ToValidUTF8(s)
		if !utf8.ValidString(v) || UTF16Len(v) != len(units) {
			t.Fatalf("ToValidUTF8(%q) = %q", s, v)
		}
		if utf8.ValidString(s) && v != s {
			t.Fatalf("ToValidUTF8 changed valid %q", s)
		}
		// Every offset: the prefix before it has exactly u16 units (or u16-1 when it
		// splits a pair).
		for u := 0; u <= len(units)+1; u++ {
			off, split := UTF16Offset(s, u)
			want := min(u, len(units))
			got := UTF16Len(s[:off])
			if split {
				got++
				if r, size := utf8.DecodeRuneInString(s[off:]); size != 4 || r == utf8.RuneError {
					t.Fatalf("UTF16Offset(%q, %d) split at a non-pair", s, u)
				}
			}
			if got != want {
				t.Fatalf("UTF16Offset(%q, %d) = %d, %v: prefix has %d units", s, u, off, split, got)
			}
		}
	}
}

func TestUTF16LenNoAlloc(t *testing.T) {
	s := "hello wörld 😀 and some more ascii text"
	if a := testing.AllocsPerRun(100, func() { _ = UTF16Len(s); _, _ = UTF16Offset(s, 20) }); a != 0 {
		t.Errorf("allocs = %v", a)
	}
	if a := testing.AllocsPerRun(100, func() { _ = ToValidUTF8(s) }); a != 0 {
		t.Errorf("ToValidUTF8 allocs = %v", a)
	}
}
