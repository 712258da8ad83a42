package lib0

// AppendVarUint appends v as a lib0 varUint: 7 bits per byte, least significant group
// first, high bit set on every byte but the last. Values above MaxSafeInteger are written
// (up to 10 bytes) but no JS peer, and not Decoder.ReadVarUint, can read them back.
func AppendVarUint(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// AppendVarInt appends v as a lib0 varInt: the first byte is [more:1][sign:1][6 bits],
// followed by 7-bit groups as in a varUint. The magnitude is written, not two's complement.
func AppendVarInt(dst []byte, v int64) []byte {
	if v < 0 {
		return AppendVarIntSign(dst, uint64(^v)+1, true)
	}
	return AppendVarIntSign(dst, uint64(v), false)
}

// AppendVarIntSign appends a varInt with an explicit sign, so that -0 (negative with
// magnitude 0, the byte 0x40) can be written. lib0's UintOptRle codec relies on -0.
func AppendVarIntSign(dst []byte, mag uint64, negative bool) []byte {
	b := byte(mag & 0x3f)
	if negative {
		b |= 0x40
	}
	mag >>= 6
	if mag == 0 {
		return append(dst, b)
	}
	return AppendVarUint(append(dst, b|0x80), mag)
}

// AppendVarString appends varUint(len(s)) followed by the bytes of s as they are. JS peers
// write UTF-8 produced by TextEncoder, which is always valid; a Go caller that wants JS
// peers to read the string must pass valid UTF-8 (see ToValidUTF8).
func AppendVarString(dst []byte, s string) []byte {
	dst = AppendVarUint(dst, uint64(len(s)))
	return append(dst, s...)
}

// AppendVarBytes appends varUint(len(b)) followed by b (lib0 writeVarUint8Array).
func AppendVarBytes(dst []byte, b []byte) []byte {
	dst = AppendVarUint(dst, uint64(len(b)))
	return append(dst, b...)
}

// varUintLen returns how many bytes AppendVarUint writes for v.
func varUintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
