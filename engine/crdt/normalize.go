package crdt

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"octobase/engine/lib0"
)

// normalizeAny converts a Go value into the canonical Any representation
// lib0 reads back: numbers become float64, maps become lib0.Object in
// JavaScript key order, slices become []any. It rejects values yjs cannot
// store (channels, functions, integers beyond 2^53, shared types nested
// inside plain values, ...).
func normalizeAny(v any) (any, error) {
	return normalizeDepth(v, 0)
}

func normalizeDepth(v any, depth int) (any, error) {
	if depth > 512 {
		return nil, fmt.Errorf("%w: value nested too deeply", ErrInvalidValue)
	}
	switch x := v.(type) {
	case nil, bool, string, lib0.UndefinedType, lib0.BigInt:
		return x, nil
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int:
		return intNumber(int64(x))
	case int8:
		return float64(x), nil
	case int16:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case int64:
		return intNumber(x)
	case uint:
		return uintNumber(uint64(x))
	case uint8:
		return float64(x), nil
	case uint16:
		return float64(x), nil
	case uint32:
		return float64(x), nil
	case uint64:
		return uintNumber(x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidValue, err)
		}
		return f, nil
	case []byte:
		return append([]byte(nil), x...), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalizeDepth(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, nil
	case lib0.Object:
		out := make(lib0.Object, 0, len(x))
		for _, f := range x {
			n, err := normalizeDepth(f.Value, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, lib0.Field{Key: f.Key, Value: n})
		}
		return jsOrder(out), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out := make(lib0.Object, 0, len(x))
		for _, k := range keys {
			n, err := normalizeDepth(x[k], depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, lib0.Field{Key: k, Value: n})
		}
		return jsOrder(out), nil
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		return normalizeDepth(m, depth)
	}
	return nil, fmt.Errorf("%w: cannot store a %T", ErrInvalidValue, v)
}

func intNumber(i int64) (any, error) {
	if i > lib0.MaxSafeInteger || i < -lib0.MaxSafeInteger {
		return nil, fmt.Errorf("%w: integer %d is beyond 2^53; use lib0.BigInt", ErrInvalidValue, i)
	}
	return float64(i), nil
}

func uintNumber(u uint64) (any, error) {
	if u > lib0.MaxSafeInteger {
		return nil, fmt.Errorf("%w: integer %d is beyond 2^53; use lib0.BigInt", ErrInvalidValue, u)
	}
	return float64(u), nil
}

// jsOrder puts canonical array-index keys first, ascending, like a
// JavaScript object does; the rest keep their order.
func jsOrder(o lib0.Object) lib0.Object {
	var idx, rest lib0.Object
	for _, f := range o {
		if isArrayIndex(f.Key) {
			idx = append(idx, f)
		} else {
			rest = append(rest, f)
		}
	}
	if len(idx) == 0 {
		return o
	}
	slices.SortStableFunc(idx, func(a, b lib0.Field) int {
		x, _ := strconv.ParseUint(a.Key, 10, 64)
		y, _ := strconv.ParseUint(b.Key, 10, 64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	return append(idx, rest...)
}

func isArrayIndex(k string) bool {
	if k == "" || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < '0' || k[i] > '9' {
			return false
		}
	}
	n, _ := strconv.ParseUint(k, 10, 64)
	return n < math.MaxUint32
}

// ToJSON converts an Any value (or a shared type) into plain Go values that
// encoding/json prints the way JSON.stringify would: objects keep their
// order, undefined is dropped from objects and null in arrays.
func ToJSON(v any) any {
	switch x := v.(type) {
	case *Map:
		return x.ToJSON()
	case *Array:
		return x.ToJSON()
	case *Text:
		return x.String()
	case *XmlText:
		return x.String()
	case *XmlElement:
		return x.String()
	case *XmlFragment:
		return x.String()
	case *XmlHook:
		return x.ToJSON()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = ToJSON(e)
		}
		return out
	case lib0.Object:
		out := make(lib0.Object, 0, len(x))
		for _, f := range x {
			out = append(out, lib0.Field{Key: f.Key, Value: ToJSON(f.Value)})
		}
		return out
	case *SubDoc:
		return lib0.Object{{Key: "guid", Value: x.GUID}}
	}
	return v
}
