package lib0

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Any tags (lib0 writeAny). The wire format decides the type by this first byte.
const (
	tagUndefined = 127
	tagNull      = 126
	tagInteger   = 125 // varInt
	tagFloat32   = 124 // 4 bytes big endian
	tagFloat64   = 123 // 8 bytes big endian
	tagBigInt    = 122 // 8 bytes big endian two's complement
	tagFalse     = 121
	tagTrue      = 120
	tagString    = 119 // varString
	tagObject    = 118 // varUint n, n × (varString key, any)
	tagArray     = 117 // varUint n, n × any
	tagBytes     = 116 // varUint8Array
)

// UndefinedType is the Go type of JS undefined. Its only value is Undefined.
type UndefinedType struct{}

// Undefined is JS undefined (Any tag 127).
var Undefined UndefinedType

// BigInt is a JS bigint that fits lib0's 64-bit encoding (Any tag 122). lib0 writes a
// bigint with DataView.setBigInt64, which wraps modulo 2^64.
type BigInt int64

// Field is one property of an Object.
type Field struct {
	Key   string
	Value any
}

// Object is a JS object as an ordered list of properties. ReadAny and ParseJSON return
// Objects in JS Object.keys order: canonical array-index keys ("0", "42"; no leading
// zeros; below 2^32-1) first in ascending numeric order, then the other keys in first
// insertion order, with no duplicate keys. WriteAny and StringifyJSON write an Object's
// fields in slice order, as given; use Normalize to put a hand-built Object in JS order.
type Object []Field

// Get returns the value of key (the last one, if o holds key more than once).
func (o Object) Get(key string) (any, bool) {
	for i := len(o) - 1; i >= 0; i-- {
		if o[i].Key == key {
			return o[i].Value, true
		}
	}
	return nil, false
}

// Normalize returns o in the order of a JS object built by assigning o's fields in
// order: array-index keys first ascending, then the others in first-insertion order;
// a duplicate key keeps its first position and takes its last value. It returns o
// itself when o is already in that order.
func (o Object) Normalize() Object {
	if o.isNormal() {
		return o
	}
	var b objBuilder
	for _, f := range o {
		b.set(f.Key, f.Value)
	}
	return b.finish()
}

// isNormal reports whether o has no duplicate keys and its array-index keys come first
// in ascending order.
func (o Object) isNormal() bool {
	if !o.isIndexOrdered() {
		return false
	}
	if len(o) <= 16 {
		for i := 1; i < len(o); i++ {
			for j := 0; j < i; j++ {
				if o[i].Key == o[j].Key {
					return false
				}
			}
		}
		return true
	}
	seen := make(map[string]struct{}, len(o))
	for _, f := range o {
		if _, dup := seen[f.Key]; dup {
			return false
		}
		seen[f.Key] = struct{}{}
	}
	return true
}

// arrayIndex reports whether key is a canonical JS array index and returns its value.
func arrayIndex(key string) (uint32, bool) {
	n := len(key)
	if n == 0 || n > 10 {
		return 0, false
	}
	if key[0] == '0' {
		return 0, n == 1
	}
	var v uint64
	for i := 0; i < n; i++ {
		c := key[i] - '0'
		if c > 9 {
			return 0, false
		}
		v = v*10 + uint64(c)
	}
	if v >= 1<<32-1 {
		return 0, false
	}
	return uint32(v), true
}

// objBuilder builds an Object the way obj[key] = value builds a JS object.
type objBuilder struct {
	fields     Object
	index      map[string]int // key → position, once fields outgrows linear search
	hasIndexes bool
}

const objLinearMax = 8

func (b *objBuilder) set(key string, v any) {
	if b.index != nil {
		if i, ok := b.index[key]; ok {
			b.fields[i].Value = v
			return
		}
		b.index[key] = len(b.fields)
	} else {
		for i := range b.fields {
			if b.fields[i].Key == key {
				b.fields[i].Value = v
				return
			}
		}
		if len(b.fields) == objLinearMax {
			b.index = make(map[string]int, 2*objLinearMax)
			for i, f := range b.fields {
				b.index[f.Key] = i
			}
			b.index[key] = len(b.fields)
		}
	}
	if !b.hasIndexes {
		_, b.hasIndexes = arrayIndex(key)
	}
	b.fields = append(b.fields, Field{key, v})
}

func (b *objBuilder) finish() Object {
	o := b.fields
	if o == nil {
		o = Object{}
	}
	if !b.hasIndexes || o.isIndexOrdered() {
		return o
	}
	out := make(Object, 0, len(o))
	for _, f := range o {
		if _, ok := arrayIndex(f.Key); ok {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b Field) int {
		x, _ := arrayIndex(a.Key)
		y, _ := arrayIndex(b.Key)
		if x < y {
			return -1
		}
		return 1 // keys are unique
	})
	for _, f := range o {
		if _, ok := arrayIndex(f.Key); !ok {
			out = append(out, f)
		}
	}
	return out
}

// isIndexOrdered reports whether o's array-index keys come first, ascending.
func (o Object) isIndexOrdered() bool {
	inIndex := true
	var last uint32
	for i, f := range o {
		idx, ok := arrayIndex(f.Key)
		if ok {
			if !inIndex || (i > 0 && idx <= last) {
				return false
			}
			last = idx
		} else {
			inIndex = false
		}
	}
	return true
}

// AppendAny appends v in lib0 writeAny format.
//
// Accepted Go values: nil (null), Undefined, bool, float64 and float32, every Go integer
// kind (a JS number; magnitudes above MaxSafeInteger are an error — use BigInt), BigInt,
// string, Object, map[string]any (keys in JS order: array-index keys ascending, then the
// rest sorted bytewise), []any, []byte (Uint8Array), []string, []float64 and
// json.Number (parsed as a float64). Anything else fails with ErrUnsupportedType.
//
// Numbers follow writeAny exactly: an integer with |n| <= 2^31-1 is tag 125 (varInt, -0
// keeps its sign); else a value that float32 represents exactly (±Inf included, NaN
// excluded) is tag 124; else tag 123. NaN is written as 0x7ff8000000000000, the NaN of JS.
func AppendAny(dst []byte, v any) ([]byte, error) {
	return appendAny(dst, v, 0)
}

func appendAny(dst []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, tagNull), nil
	case UndefinedType:
		return append(dst, tagUndefined), nil
	case bool:
		if v {
			return append(dst, tagTrue), nil
		}
		return append(dst, tagFalse), nil
	case float64:
		return appendNumber(dst, v), nil
	case string:
		return AppendVarString(append(dst, tagString), v), nil
	case Object:
		if depth >= MaxAnyDepth {
			return dst, ErrTooDeep
		}
		dst = AppendVarUint(append(dst, tagObject), uint64(len(v)))
		var err error
		for _, f := range v {
			dst = AppendVarString(dst, f.Key)
			if dst, err = appendAny(dst, f.Value, depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case []any:
		if depth >= MaxAnyDepth {
			return dst, ErrTooDeep
		}
		dst = AppendVarUint(append(dst, tagArray), uint64(len(v)))
		var err error
		for _, e := range v {
			if dst, err = appendAny(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case []byte:
		return AppendVarBytes(append(dst, tagBytes), v), nil
	case BigInt:
		return binary.BigEndian.AppendUint64(append(dst, tagBigInt), uint64(v)), nil
	case float32:
		return appendNumber(dst, float64(v)), nil
	case int:
		return appendInt(dst, int64(v))
	case int8:
		return appendNumber(dst, float64(v)), nil
	case int16:
		return appendNumber(dst, float64(v)), nil
	case int32:
		return appendNumber(dst, float64(v)), nil
	case int64:
		return appendInt(dst, v)
	case uint:
		return appendUint(dst, uint64(v))
	case uint8:
		return appendNumber(dst, float64(v)), nil
	case uint16:
		return appendNumber(dst, float64(v)), nil
	case uint32:
		return appendNumber(dst, float64(v)), nil
	case uint64:
		return appendUint(dst, v)
	case uintptr:
		return appendUint(dst, uint64(v))
	case map[string]any:
		if depth >= MaxAnyDepth {
			return dst, ErrTooDeep
		}
		keys := mapKeysJSOrder(v)
		dst = AppendVarUint(append(dst, tagObject), uint64(len(keys)))
		var err error
		for _, k := range keys {
			dst = AppendVarString(dst, k)
			if dst, err = appendAny(dst, v[k], depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case []string:
		if depth >= MaxAnyDepth {
			return dst, ErrTooDeep
		}
		dst = AppendVarUint(append(dst, tagArray), uint64(len(v)))
		for _, s := range v {
			dst = AppendVarString(append(dst, tagString), s)
		}
		return dst, nil
	case []float64:
		if depth >= MaxAnyDepth {
			return dst, ErrTooDeep
		}
		dst = AppendVarUint(append(dst, tagArray), uint64(len(v)))
		for _, f := range v {
			dst = appendNumber(dst, f)
		}
		return dst, nil
	case json.Number:
		f, err := parseJSONNumber(string(v))
		if err != nil {
			return dst, fmt.Errorf("lib0: json.Number %q: %w", string(v), ErrUnsupportedType)
		}
		return appendNumber(dst, f), nil
	}
	return dst, fmt.Errorf("lib0: cannot encode %T: %w", v, ErrUnsupportedType)
}

func appendInt(dst []byte, v int64) ([]byte, error) {
	if v > MaxSafeInteger || v < -MaxSafeInteger {
		return dst, fmt.Errorf("lib0: integer %d beyond MaxSafeInteger (use BigInt): %w", v, ErrUnsupportedType)
	}
	return appendNumber(dst, float64(v)), nil
}

func appendUint(dst []byte, v uint64) ([]byte, error) {
	if v > MaxSafeInteger {
		return dst, fmt.Errorf("lib0: integer %d beyond MaxSafeInteger (use BigInt): %w", v, ErrUnsupportedType)
	}
	return appendNumber(dst, float64(v)), nil
}

// jsNaN is the bit pattern of the JS NaN value as DataView.setFloat64 writes it.
const jsNaN = 0x7ff8000000000000

// appendNumber appends a JS number with writeAny's choice of tag.
func appendNumber(dst []byte, f float64) []byte {
	if a := math.Abs(f); a <= math.MaxInt32 && f == math.Trunc(f) {
		return AppendVarIntSign(append(dst, tagInteger), uint64(a), math.Signbit(f))
	}
	if isFloat32(f) {
		return binary.BigEndian.AppendUint32(append(dst, tagFloat32), math.Float32bits(float32(f)))
	}
	bits := math.Float64bits(f)
	if f != f {
		bits = jsNaN
	}
	return binary.BigEndian.AppendUint64(append(dst, tagFloat64), bits)
}

// isFloat32 reports whether float32 represents f exactly (lib0 isFloat32). The range
// check keeps the conversion well defined: a finite f beyond MaxFloat32 never equals
// its float32 rounding.
func isFloat32(f float64) bool {
	if math.IsInf(f, 0) {
		return true
	}
	return math.Abs(f) <= math.MaxFloat32 && float64(float32(f)) == f
}

// mapKeysJSOrder returns m's keys: array-index keys ascending, then the rest sorted
// bytewise.
func mapKeysJSOrder(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		x, xok := arrayIndex(a)
		y, yok := arrayIndex(b)
		switch {
		case xok && yok:
			if x < y {
				return -1
			} else if x > y {
				return 1
			}
			return 0
		case xok:
			return -1
		case yok:
			return 1
		}
		return strings.Compare(a, b)
	})
	return keys
}

// smallInts holds boxed float64 values 0..255 so ReadAny does not allocate for them.
var smallInts = func() (t [256]any) {
	for i := range t {
		t[i] = float64(i)
	}
	return t
}()

// boxNumber converts f to an interface, avoiding an allocation for small integers.
func boxNumber(f float64) any {
	if f >= 0 && f < 256 && f == math.Trunc(f) && !math.Signbit(f) {
		return smallInts[int(f)]
	}
	return f
}

// ReadAny reads a value in lib0 writeAny format and returns it as: nil (null),
// Undefined, bool, float64 (tags 125, 124, 123; -0 is kept), BigInt, string, Object,
// []any or []byte. Strings and byte slices are copies: the result never aliases the
// input.
//
// Objects are built as lib0's readAny builds them (obj[key] = value), so they come out
// in JS key order with duplicates merged (see Object). A "__proto__" key is dropped:
// in JS that assignment sets the prototype (or is ignored) and never creates a key;
// no other prototype effect is modelled.
//
// Counts are checked against the remaining input before anything is allocated, and
// containers nest at most MaxAnyDepth deep (ErrTooDeep). Tags below 116 fail with
// ErrUnknownTag. On error Pos is unchanged.
func (d *Decoder) ReadAny() (any, error) {
	start := d.pos
	r := anyReader{Decoder: d, budget: len(d.buf) - d.pos}
	v, err := r.readAny(0)
	if err != nil {
		d.pos = start
		return nil, err
	}
	return v, nil
}

// anyReader carries ReadAny's element budget. Every array element starts at its own tag
// byte and every object property at its own key-length byte and value tag byte, so in
// valid input the counts of all containers (objects counted twice) add up to at most
// the input length. Charging each count against that budget before allocating keeps
// the memory of nested pre-allocated containers linear in the input: without it, 512
// nested arrays that each claim the whole input would pre-allocate 512 times as much.
type anyReader struct {
	*Decoder
	budget int
}

// charge reserves n element starts, failing when the input cannot hold them.
func (d *anyReader) charge(n uint64) error {
	if n > uint64(d.budget) || n > uint64(len(d.buf)-d.pos) {
		return ErrUnexpectedEOF
	}
	d.budget -= int(n)
	return nil
}

func (d *anyReader) readAny(depth int) (any, error) {
	if d.pos >= len(d.buf) {
		return nil, ErrUnexpectedEOF
	}
	tag := d.buf[d.pos]
	d.pos++
	switch tag {
	case tagUndefined:
		return Undefined, nil
	case tagNull:
		return nil, nil
	case tagInteger:
		mag, neg, err := d.readVarIntMag()
		if err != nil {
			return nil, err
		}
		if neg {
			return -float64(mag), nil
		}
		if mag < 256 {
			return smallInts[mag], nil
		}
		return float64(mag), nil
	case tagFloat32:
		f, err := d.ReadFloat32()
		if err != nil {
			return nil, err
		}
		return boxNumber(float64(f)), nil
	case tagFloat64:
		f, err := d.ReadFloat64()
		if err != nil {
			return nil, err
		}
		return boxNumber(f), nil
	case tagBigInt:
		v, err := d.ReadBigInt64()
		if err != nil {
			return nil, err
		}
		return BigInt(v), nil
	case tagFalse:
		return false, nil
	case tagTrue:
		return true, nil
	case tagString:
		s, err := d.ReadVarString()
		if err != nil {
			return nil, err
		}
		return s, nil
	case tagObject:
		if depth >= MaxAnyDepth {
			return nil, ErrTooDeep
		}
		n, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		// Each property takes at least 2 bytes (key length, value tag).
		if n > uint64(len(d.buf)-d.pos)/2 {
			return nil, ErrUnexpectedEOF
		}
		if err := d.charge(2 * n); err != nil {
			return nil, err
		}
		b := objBuilder{fields: make(Object, 0, int(n))}
		for i := 0; i < int(n); i++ {
			key, err := d.ReadVarString()
			if err != nil {
				return nil, err
			}
			v, err := d.readAny(depth + 1)
			if err != nil {
				return nil, err
			}
			if key == "__proto__" {
				continue
			}
			b.set(key, v)
		}
		return b.finish(), nil
	case tagArray:
		if depth >= MaxAnyDepth {
			return nil, ErrTooDeep
		}
		n, err := d.ReadVarUint()
		if err != nil {
			return nil, err
		}
		// Each element takes at least 1 byte (its tag).
		if err := d.charge(n); err != nil {
			return nil, err
		}
		arr := make([]any, int(n))
		for i := range arr {
			if arr[i], err = d.readAny(depth + 1); err != nil {
				return nil, err
			}
		}
		return arr, nil
	case tagBytes:
		b, err := d.ReadVarBytes()
		if err != nil {
			return nil, err
		}
		return append(make([]byte, 0, len(b)), b...), nil
	}
	return nil, fmt.Errorf("lib0: any tag %d: %w", tag, ErrUnknownTag)
}

// parseJSONNumber parses the JSON number grammar (as json.Number holds it).
func parseJSONNumber(s string) (float64, error) {
	if !isJSONNumber(s) {
		return 0, ErrSyntax
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) {
		return 0, ErrSyntax
	}
	return f, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
