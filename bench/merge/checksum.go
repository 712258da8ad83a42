package merge

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"octobase/engine/lib0"
)

// Content checksums let the runner check that every implementation ended
// with the same document. A text is hashed as its UTF-8 bytes; arrays and
// maps as a canonical serialization that bench/js/bench.cjs reproduces:
//
//	null, true, false      as is
//	number                 decimal integer (non-integers: shortest 'g' form)
//	string                 s<UTF-8 byte length>:<bytes>
//	array                  [v,v,...]
//	object                 {key:v,...} with keys sorted (keys written as strings)
//
// The checksum is the first 16 hex digits of SHA-256.

func checksumText(s string) string { return checksumBytes([]byte(s)) }

func checksumValue(v any) string {
	var b strings.Builder
	canonical(&b, v)
	return checksumBytes([]byte(b.String()))
}

func checksumBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func canonical(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil, lib0.UndefinedType:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e21 {
			b.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
		} else {
			b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		}
	case string:
		fmt.Fprintf(b, "s%d:%s", len(x), x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			canonical(b, e)
		}
		b.WriteByte(']')
	case lib0.Object:
		m := make(map[string]any, len(x))
		for _, f := range x {
			m[f.Key] = f.Value
		}
		canonicalMap(b, m)
	case map[string]any:
		canonicalMap(b, x)
	default:
		// Unexpected types still hash deterministically, and then differ
		// from the JavaScript side, which the runner reports.
		fmt.Fprintf(b, "?%T:%v", v, v)
	}
}

func canonicalMap(b *strings.Builder, m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		canonical(b, k)
		b.WriteByte(':')
		canonical(b, m[k])
	}
	b.WriteByte('}')
}
