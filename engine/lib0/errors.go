package lib0

import "errors"

// Sentinel errors. Every error returned by this package is one of these or wraps one of
// them (check with errors.Is).
var (
	// ErrUnexpectedEOF means the input ended before the value was complete, or a length
	// prefix claims more bytes (or more elements) than remain.
	ErrUnexpectedEOF = errors.New("lib0: unexpected end of input")

	// ErrOverflow means a varUint or varInt is larger than MaxSafeInteger (2^53-1) or uses
	// more than MaxVarLen bytes, or an IntDiffOptRle running value left the safe range.
	ErrOverflow = errors.New("lib0: integer overflow")

	// ErrUnknownTag means ReadAny met a type tag outside 116..127.
	ErrUnknownTag = errors.New("lib0: unknown any tag")

	// ErrTooDeep means an Any value or JSON text nests arrays/objects deeper than MaxAnyDepth.
	ErrTooDeep = errors.New("lib0: value nested too deeply")

	// ErrInvalidUTF8 is returned by ReadVarStringStrict for bytes that are not valid UTF-8
	// (what lib0's fatal TextDecoder throws on).
	ErrInvalidUTF8 = errors.New("lib0: invalid utf-8")

	// ErrUnsupportedType means WriteAny or StringifyJSON was given a Go value that has no
	// Any representation (or a Go integer outside ±MaxSafeInteger).
	ErrUnsupportedType = errors.New("lib0: unsupported type")

	// ErrSyntax means ParseJSON was given text that JS JSON.parse rejects.
	ErrSyntax = errors.New("lib0: invalid JSON")

	// ErrUndefined is returned by StringifyJSON for a top-level Undefined, where JS
	// JSON.stringify returns undefined instead of a string.
	ErrUndefined = errors.New("lib0: JSON.stringify of undefined")

	// ErrBigIntJSON is returned by StringifyJSON for a BigInt, where JS JSON.stringify
	// throws "Do not know how to serialize a BigInt".
	ErrBigIntJSON = errors.New("lib0: JSON.stringify of a BigInt")
)

const (
	// MaxSafeInteger is JS Number.MAX_SAFE_INTEGER, the largest varUint/varInt magnitude
	// the decoders accept.
	MaxSafeInteger = 1<<53 - 1

	// MaxVarLen is the most bytes a varUint or varInt may occupy when decoding. Canonical
	// encodings of values up to MaxSafeInteger need at most 8; up to two redundant
	// zero groups are tolerated, as lib0 tolerates them.
	MaxVarLen = 10

	// MaxAnyDepth is how deeply arrays/objects may nest in ReadAny, WriteAny, ParseJSON
	// and StringifyJSON. The outermost container is depth 1.
	MaxAnyDepth = 512
)
