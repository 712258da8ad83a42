// Package lib0 implements the binary encodings of lib0 v0.2.x, the library under yjs 13:
// the primitives every yjs update is made of, writeAny/readAny values, the column codecs
// of update format v2, JSON text as JS JSON.parse/JSON.stringify produce it, and the
// UTF-16 arithmetic yjs uses for string lengths. Output is byte-identical to lib0's; the
// golden vectors in testdata/vectors.json come from the real lib0 through
// testdata/gen.cjs.
//
// The package owns these encodings and nothing above them: it knows nothing about
// structs, clients, clocks or documents (engine/crdt does).
//
// # Wire layouts
//
//	uint8        1 raw byte
//	varUint      7 bits per byte, least significant group first; the high bit means
//	             "more bytes follow". 300 = ac 02. Decoded values are at most
//	             MaxSafeInteger (2^53-1) and at most MaxVarLen (10) bytes long.
//	varInt       first byte [more:1][negative:1][6 bits], then 7-bit groups as in a
//	             varUint. The magnitude is stored, so -0 exists (0x40); -1 = 41.
//	varString    varUint(byte length) · UTF-8 bytes
//	varUint8Array varUint(length) · bytes
//	float32/64, bigint64   big endian, 4 / 8 / 8 bytes
//
// Any (writeAny/readAny), one tag byte then the payload:
//
//	127 undefined    126 null          125 integer: varInt (|n| <= 2^31-1, -0 kept)
//	124 float32      123 float64       122 bigint: int64 big endian
//	121 false        120 true          119 string: varString
//	118 object: varUint n · n × (varString key · any)
//	117 array:  varUint n · n × any
//	116 Uint8Array: varUint8Array
//
// A number is written as 125 if it is an integer with |n| <= 2^31-1, else as 124 if
// float32 holds it exactly (±Inf included, NaN not), else as 123.
//
// Update v2 columns:
//
//	Rle<uint8>     per run: value · varUint(count-1); the last run has no count and the
//	               decoder repeats the last value forever
//	UintOptRle     per run: varInt(v) if count = 1, else varInt(-v) · varUint(count-2);
//	               v = 0 with a count uses -0 (0x40)
//	IntDiffOptRle  per run of equal differences d between consecutive values (starting
//	               from 0): varInt(2d + hasCount) · [varUint(count-2) if hasCount]
//	String         varString(all strings concatenated) · UintOptRle(UTF-16 lengths)
//
// # Go representation of Any
//
// ReadAny and ParseJSON return nil (null), Undefined, bool, float64 (every JS number),
// BigInt, string, Object (ordered properties, in JS Object.keys order), []any and []byte.
// AppendAny/WriteAny and StringifyJSON accept these plus Go conveniences (all integer
// kinds, float32, map[string]any, []string, []float64, json.Number).
//
// # Strings
//
// Go strings are UTF-8 while JS strings are UTF-16. Strings are written as their bytes;
// reading replaces invalid UTF-8 with U+FFFD exactly as a non-fatal TextDecoder does
// (ReadVarStringStrict instead rejects it, as lib0 v0.2.117's fatal decoder does). A JS
// lone surrogate has no Go equivalent and is represented as U+FFFD, which is what
// TextEncoder writes for it. UTF16Len and UTF16Offset convert between UTF-8 bytes and the
// UTF-16 code units yjs counts in.
//
// # Deviations from lib0 on malformed input
//
// lib0 returns garbage for some malformed input where this package fails instead:
// varUints/varInts above MaxSafeInteger (lib0 returns an imprecise number for some),
// reading a UintOptRle or IntDiffOptRle column past its end (lib0 yields 0 or repeats),
// an Rle column that is empty (lib0 yields undefined), an Any tag below 116 (lib0 calls
// undefined). Well-formed input, which is all lib0 itself writes, decodes identically.
//
// # Invariants
//
//   - No input makes any function panic. Failed reads return an error that is, or
//     wraps, one of the Err* sentinels.
//   - Nothing is allocated from an untrusted length before checking that enough input
//     remains: a count of 2^40 elements fails with ErrUnexpectedEOF, allocating nothing.
//     ReadAny and ParseJSON nest at most MaxAnyDepth deep; their allocations are linear
//     in the input size.
//   - A failed Decoder read leaves Pos unchanged.
//   - Aliasing: ReadVarBytes, ReadBytes and ReadRest return sub-slices of the decoder's
//     input, as lib0 does; the column decoders keep their input. ReadVarString and
//     ReadAny return copies. StringDecoder.Read returns substrings of the one decoded
//     column string. Encoder.Bytes and the column encoders' Bytes return the internal
//     buffer, valid until the next write or Reset.
//
// # Concurrency
//
// Encoder, Decoder and the column encoders and decoders are not safe for concurrent use;
// use one per goroutine. Package-level functions are safe for concurrent use.
package lib0
