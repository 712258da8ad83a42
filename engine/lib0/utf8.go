package lib0

import "unicode/utf8"

// JS strings are UTF-16; Go strings here are UTF-8. Conversions follow the WHATWG
// encoding standard, which is what TextEncoder/TextDecoder implement:
//   - a JS lone surrogate becomes U+FFFD when encoded (TextEncoder), so a Go string
//     never holds one;
//   - invalid UTF-8 decodes to one U+FFFD per "maximal subpart" (TextDecoder with
//     fatal=false): a valid prefix of a multi-byte sequence followed by a byte that
//     cannot continue it is one U+FFFD, and that byte is decoded afresh.
//
// Every helper that measures or slices a string (UTF16Len, UTF16Offset, the
// StringEncoder) counts invalid UTF-8 the same way, so UTF16Len(s) ==
// UTF16Len(ToValidUTF8(s)) for every s.

const asciiMask = 0x8080808080808080

const replacementChar = "\uFFFD"

// load64 loads s[i:i+8] little endian (the compiler merges the byte loads).
func load64(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// invalidLen returns the length of the maximal subpart of an ill-formed sequence at
// the start of s (>= 1). It is only called where utf8.DecodeRuneInString reported an
// error, so s is non-empty and s does not start with a complete valid sequence.
func invalidLen(s string) int {
	b0 := s[0]
	var need int
	lo, hi := byte(0x80), byte(0xbf)
	switch {
	case b0 >= 0xc2 && b0 <= 0xdf:
		need = 1
	case b0 >= 0xe0 && b0 <= 0xef:
		need = 2
		if b0 == 0xe0 {
			lo = 0xa0
		} else if b0 == 0xed {
			hi = 0x9f
		}
	case b0 >= 0xf0 && b0 <= 0xf4:
		need = 3
		if b0 == 0xf0 {
			lo = 0x90
		} else if b0 == 0xf4 {
			hi = 0x8f
		}
	default:
		return 1
	}
	i := 1
	for ; i <= need && i < len(s); i++ {
		if c := s[i]; c < lo || c > hi {
			return i
		}
		lo, hi = 0x80, 0xbf
	}
	return i
}

func invalidLenBytes(b []byte) int {
	// Small helper so that []byte callers avoid a conversion that could allocate.
	var tmp [4]byte
	n := copy(tmp[:], b)
	return invalidLen(string(tmp[:n]))
}

func validUTF8(b []byte) bool { return utf8.Valid(b) }

// decodeUTF8 converts bytes to a string like a non-fatal TextDecoder with ignoreBOM.
func decodeUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			out = append(out, replacementChar...)
			i += invalidLenBytes(b[i:])
			continue
		}
		out = append(out, b[i:i+size]...)
		i += size
	}
	return string(out)
}

// ToValidUTF8 returns s with every maximal invalid UTF-8 subpart replaced by U+FFFD, the
// way a JS peer would see the bytes after TextDecoder. It returns s itself (no
// allocation) when s is valid.
func ToValidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			out = append(out, replacementChar...)
			i += invalidLen(s[i:])
			continue
		}
		out = append(out, s[i:i+size]...)
		i += size
	}
	return string(out)
}

// UTF16Len returns the length of s in UTF-16 code units (JS string.length): 2 for each
// rune above U+FFFF, 1 for every other rune and for every maximal invalid subpart.
func UTF16Len(s string) int {
	n, _ := utf16Len(s)
	return n
}

// utf16Len returns the UTF-16 length of s and whether s is valid UTF-8.
func utf16Len(s string) (n int, valid bool) {
	i := 0
	for len(s)-i >= 8 && load64(s, i)&asciiMask == 0 {
		i += 8
	}
	n = i
	valid = true
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			n++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			valid = false
			i += invalidLen(s[i:])
			n++
		case size == 4:
			i += 4
			n += 2
		default:
			i += size
			n++
		}
	}
	return n, valid
}

// UTF16Offset returns the byte offset in s of the u16-th UTF-16 code unit. If that unit
// is the low half of a surrogate pair, splitsPair is true and byteOffset is the start of
// the 4-byte rune holding the pair. u16 <= 0 gives 0; u16 >= UTF16Len(s) gives len(s).
// Invalid UTF-8 is counted as in UTF16Len.
func UTF16Offset(s string, u16 int) (byteOffset int, splitsPair bool) {
	i, units := 0, 0
	for units < u16 && i < len(s) {
		if u16-units >= 8 && len(s)-i >= 8 &&
			load64(s, i)&asciiMask == 0 {
			i += 8
			units += 8
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			units++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			i += invalidLen(s[i:])
			units++
		case size == 4:
			if units+1 == u16 {
				return i, true
			}
			i += 4
			units += 2
		default:
			i += size
			units++
		}
	}
	return i, false
}
