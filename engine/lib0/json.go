package lib0

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// ParseJSON parses s like JS JSON.parse and returns the Any representation: nil, bool,
// float64, string, Object (JS key order, duplicates merged, "__proto__" kept as an
// ordinary key as JSON.parse does), []any. Numbers are rounded to the nearest float64;
// out-of-range magnitudes become ±Inf or 0 as in JS.
//
// Deviation: a JS string may hold a lone surrogate (from a "\ud800" escape); Go strings
// are UTF-8, so each lone surrogate becomes U+FFFD. Invalid UTF-8 in s is read as
// U+FFFD the same way (see ToValidUTF8). Nesting is limited to MaxAnyDepth.
// Syntax errors wrap ErrSyntax.
func ParseJSON(s string) (any, error) {
	p := jsonParser{s: s}
	p.skipWS()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipWS()
	if p.i != len(p.s) {
		return nil, p.errorf("unexpected data after value")
	}
	return v, nil
}

type jsonParser struct {
	s string
	i int
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("lib0: JSON offset %d: %s: %w", p.i, fmt.Sprintf(format, args...), ErrSyntax)
}

func (p *jsonParser) skipWS() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) literal(word string, v any) (any, error) {
	if len(p.s)-p.i >= len(word) && p.s[p.i:p.i+len(word)] == word {
		p.i += len(word)
		return v, nil
	}
	return nil, p.errorf("invalid literal")
}

func (p *jsonParser) value(depth int) (any, error) {
	if p.i >= len(p.s) {
		return nil, p.errorf("unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		if depth >= MaxAnyDepth {
			return nil, ErrTooDeep
		}
		p.i++
		var b objBuilder
		p.skipWS()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return b.finish(), nil
		}
		for {
			if p.i >= len(p.s) || p.s[p.i] != '"' {
				return nil, p.errorf("expected string key")
			}
			key, err := p.str()
			if err != nil {
				return nil, err
			}
			p.skipWS()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				return nil, p.errorf("expected ':'")
			}
			p.i++
			p.skipWS()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			b.set(key, v)
			p.skipWS()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
				p.skipWS()
				continue
			}
			if p.i < len(p.s) && p.s[p.i] == '}' {
				p.i++
				return b.finish(), nil
			}
			return nil, p.errorf("expected ',' or '}'")
		}
	case c == '[':
		if depth >= MaxAnyDepth {
			return nil, ErrTooDeep
		}
		p.i++
		arr := []any{}
		p.skipWS()
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return arr, nil
		}
		for {
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
			p.skipWS()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
				p.skipWS()
				continue
			}
			if p.i < len(p.s) && p.s[p.i] == ']' {
				p.i++
				return arr, nil
			}
			return nil, p.errorf("expected ',' or ']'")
		}
	case c == '"':
		return p.str()
	case c == 't':
		return p.literal("true", true)
	case c == 'f':
		return p.literal("false", false)
	case c == 'n':
		return p.literal("null", nil)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return nil, p.errorf("unexpected character %q", p.s[p.i])
}

func (p *jsonParser) number() (any, error) {
	start := p.i
	s := p.s
	i := p.i
	if s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		p.i = i
		return nil, p.errorf("invalid number")
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			p.i = i
			return nil, p.errorf("invalid number")
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			p.i = i
			return nil, p.errorf("invalid number")
		}
	}
	p.i = i
	f, err := strconv.ParseFloat(s[start:i], 64)
	if err != nil && !isRangeErr(err) {
		return nil, p.errorf("invalid number")
	}
	return boxNumber(f), nil
}

// isJSONNumber reports whether s is exactly one JSON number.
func isJSONNumber(s string) bool {
	if s == "" {
		return false
	}
	p := jsonParser{s: s}
	if c := s[0]; c != '-' && (c < '0' || c > '9') {
		return false
	}
	_, err := p.number()
	return err == nil && p.i == len(s)
}

func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return rune(c-'A') + 10
	}
	return -1
}

// hex4 reads 4 hex digits at s[i:].
func hex4(s string, i int) rune {
	if len(s)-i < 4 {
		return -1
	}
	var r rune
	for k := 0; k < 4; k++ {
		h := hexVal(s[i+k])
		if h < 0 {
			return -1
		}
		r = r<<4 | h
	}
	return r
}

// str parses a JSON string starting at the opening quote.
func (p *jsonParser) str() (string, error) {
	p.i++ // opening quote
	start := p.i
	s := p.s
	// Fast path: no escapes, no control characters, valid UTF-8.
	i := start
	for i < len(s) {
		c := s[i]
		if c == '"' {
			p.i = i + 1
			return s[start:i], nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		i += size
	}
	out := make([]byte, 0, i-start+16)
	out = append(out, s[start:i]...)
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			p.i = i + 1
			return string(out), nil
		case c < 0x20:
			p.i = i
			return "", p.errorf("control character in string")
		case c == '\\':
			if i+1 >= len(s) {
				p.i = i
				return "", p.errorf("unterminated escape")
			}
			e := s[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r := hex4(s, i)
				if r < 0 {
					p.i = i
					return "", p.errorf("invalid \\u escape")
				}
				i += 4
				if utf16.IsSurrogate(r) {
					if r < 0xdc00 && len(s)-i >= 6 && s[i] == '\\' && s[i+1] == 'u' {
						if r2 := hex4(s, i+2); r2 >= 0xdc00 && r2 <= 0xdfff {
							r = utf16.DecodeRune(r, r2)
							i += 6
						} else {
							r = utf8.RuneError
						}
					} else {
						r = utf8.RuneError
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				p.i = i - 1
				return "", p.errorf("invalid escape")
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size <= 1 {
				out = append(out, replacementChar...)
				i += invalidLen(s[i:])
				continue
			}
			out = append(out, s[i:i+size]...)
			i += size
		}
	}
	p.i = i
	return "", p.errorf("unterminated string")
}

// StringifyJSON returns the text JS JSON.stringify produces for v (no indentation).
// Numbers use FormatNumber (NaN and ±Inf become null, -0 becomes 0). Strings escape
// '"', '\\', \b \f \n \r \t and other characters below U+0020 as \u00xx (lowercase),
// and nothing else. Undefined is omitted as an object property and written as null in
// an array; a top-level Undefined fails with ErrUndefined (JS returns undefined, not a
// string). A BigInt fails with ErrBigIntJSON (JS throws). []byte is written like a
// Uint8Array: {"0":1,"1":2}. Objects are written in slice order; Go maps in JS order.
// Other accepted types are those of AppendAny.
//
// Deviation: where JS would write a lone surrogate as \udxxx, Go input holds invalid
// UTF-8 instead, which is written as U+FFFD (see ToValidUTF8).
func StringifyJSON(v any) (string, error) {
	if _, ok := v.(UndefinedType); ok {
		return "", ErrUndefined
	}
	var buf [256]byte
	b, err := appendJSON(buf[:0], v, 0)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// MarshalJSON implements json.Marshaler with StringifyJSON's output, keeping o's order.
func (o Object) MarshalJSON() ([]byte, error) {
	return appendJSON(nil, o, 0)
}

func isUndefined(v any) bool {
	_, ok := v.(UndefinedType)
	return ok
}

func appendJSON(dst []byte, v any, depth int) ([]byte, error) {
	var err error
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case UndefinedType:
		return append(dst, "null"...), nil // only reached inside arrays
	case bool:
		if v {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case float64:
		return appendJSONNumber(dst, v), nil
	case string:
		return appendQuoted(dst, v), nil
	case Object:
		if depth >= MaxAnyDepth {
			return dst, ErrTooDeep
		}
		dst = append(dst, '{')
		first := true
		for _, f := range v {
			if isUndefined(f.Value) {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(appendQuoted(dst, f.Key), ':')
			if dst, err = appendJSON(dst, f.Value, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case []any:
		if depth >= MaxAnyDepth {
			return dst, ErrTooDeep
		}
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendJSON(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case []byte:
		dst = append(dst, '{')
		for i, b := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '"')
			dst = strconv.AppendInt(dst, int64(i), 10)
			dst = append(dst, '"', ':')
			dst = strconv.AppendInt(dst, int64(b), 10)
		}
		return append(dst, '}'), nil
	case BigInt:
		return dst, ErrBigIntJSON
	case map[string]any:
		if depth >= MaxAnyDepth {
			return dst, ErrTooDeep
		}
		dst = append(dst, '{')
		first := true
		for _, k := range mapKeysJSOrder(v) {
			if isUndefined(v[k]) {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(appendQuoted(dst, k), ':')
			if dst, err = appendJSON(dst, v[k], depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case []string:
		dst = append(dst, '[')
		for i, s := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendQuoted(dst, s)
		}
		return append(dst, ']'), nil
	case []float64:
		dst = append(dst, '[')
		for i, f := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONNumber(dst, f)
		}
		return append(dst, ']'), nil
	}
	// Remaining numeric kinds: reuse AppendAny's conversion rules.
	f, ok, err := toNumber(v)
	if err != nil {
		return dst, err
	}
	if ok {
		return appendJSONNumber(dst, f), nil
	}
	return dst, fmt.Errorf("lib0: cannot stringify %T: %w", v, ErrUnsupportedType)
}

// toNumber converts the Go numeric kinds (other than float64) to a JS number.
func toNumber(v any) (f float64, ok bool, err error) {
	var i int64
	var u uint64
	signed := true
	switch v := v.(type) {
	case float32:
		return float64(v), true, nil
	case int:
		i = int64(v)
	case int8:
		i = int64(v)
	case int16:
		i = int64(v)
	case int32:
		i = int64(v)
	case int64:
		i = v
	case uint:
		u, signed = uint64(v), false
	case uint8:
		u, signed = uint64(v), false
	case uint16:
		u, signed = uint64(v), false
	case uint32:
		u, signed = uint64(v), false
	case uint64:
		u, signed = v, false
	case uintptr:
		u, signed = uint64(v), false
	case json.Number:
		f, err := parseJSONNumber(string(v))
		if err != nil {
			return 0, false, fmt.Errorf("lib0: json.Number %q: %w", string(v), ErrUnsupportedType)
		}
		return f, true, nil
	default:
		return 0, false, nil
	}
	if signed {
		if i > MaxSafeInteger || i < -MaxSafeInteger {
			return 0, false, fmt.Errorf("lib0: integer %d beyond MaxSafeInteger: %w", i, ErrUnsupportedType)
		}
		return float64(i), true, nil
	}
	if u > MaxSafeInteger {
		return 0, false, fmt.Errorf("lib0: integer %d beyond MaxSafeInteger: %w", u, ErrUnsupportedType)
	}
	return float64(u), true, nil
}

func appendJSONNumber(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	return AppendNumber(dst, f)
}

// FormatNumber returns String(f) as JS computes it (ECMAScript Number::toString with
// radix 10): the shortest digits that round-trip, plain notation for 1e-7 <= |f| <
// 1e21 and exponent notation ("1e+21", "1.5e-7") outside it; -0 gives "0"; NaN,
// "Infinity" and "-Infinity" for the non-finite values.
func FormatNumber(f float64) string {
	var buf [32]byte
	return string(AppendNumber(buf[:0], f))
}

// AppendNumber appends FormatNumber(f) to dst.
func AppendNumber(dst []byte, f float64) []byte {
	switch {
	case f != f:
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		return append(dst, '0')
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	if f < 1<<53 && f == math.Trunc(f) {
		return strconv.AppendUint(dst, uint64(f), 10)
	}
	// Shortest round-trip digits d1.d2...dk e±x, so the value is 0.d1...dk × 10^n
	// with n = x+1.
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	var digits [24]byte
	k := 0
	i := 0
	for ; i < len(e) && e[i] != 'e'; i++ {
		if e[i] != '.' {
			digits[k] = e[i]
			k++
		}
	}
	x, _ := strconv.Atoi(string(e[i+1:]))
	n := x + 1
	d := digits[:k]
	switch {
	case k <= n && n <= 21:
		dst = append(dst, d...)
		for j := 0; j < n-k; j++ {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, d[:n]...)
		dst = append(dst, '.')
		dst = append(dst, d[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for j := 0; j < -n; j++ {
			dst = append(dst, '0')
		}
		dst = append(dst, d...)
	default:
		dst = append(dst, d[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, d[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}

// appendQuoted appends s as JSON.stringify quotes it.
func appendQuoted(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, replacementChar...)
			i += invalidLen(s[i:])
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
