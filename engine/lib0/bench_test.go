package lib0

import (
	"math/rand/v2"
	"strings"
	"testing"
)

var (
	sinkU64 uint64
	sinkI64 int64
	sinkU8  uint8
	sinkStr string
	sinkAny any
	sinkBuf []byte
)

func BenchmarkAppendVarUint(b *testing.B) {
	for _, bc := range []struct {
		name string
		v    uint64
	}{{"1byte", 100}, {"3byte", 1 << 20}, {"8byte", MaxSafeInteger}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 4096)
			for i := 0; i < b.N; i++ {
				if len(buf) > 4000 {
					buf = buf[:0]
				}
				buf = AppendVarUint(buf, bc.v)
			}
			sinkBuf = buf
		})
	}
}

func BenchmarkReadVarUint(b *testing.B) {
	for _, bc := range []struct {
		name string
		v    uint64
	}{{"1byte", 100}, {"3byte", 1 << 20}, {"8byte", MaxSafeInteger}} {
		b.Run(bc.name, func(b *testing.B) {
			var buf []byte
			for len(buf) < 4096 {
				buf = AppendVarUint(buf, bc.v)
			}
			n := len(buf) / varUintLen(bc.v)
			b.ReportAllocs()
			b.SetBytes(int64(varUintLen(bc.v)))
			d := NewDecoder(buf)
			for i := 0; i < b.N; i++ {
				if i%n == 0 {
					d.Reset(buf)
				}
				v, _ := d.ReadVarUint()
				sinkU64 += v
			}
		})
	}
}

func BenchmarkReadVarInt(b *testing.B) {
	var buf []byte
	for i := 0; len(buf) < 4096; i++ {
		buf = AppendVarInt(buf, int64(i%50-25))
	}
	b.ReportAllocs()
	d := NewDecoder(buf)
	for i := 0; i < b.N; i++ {
		if d.Remaining() == 0 {
			d.Reset(buf)
		}
		v, _, _ := d.ReadVarInt()
		sinkI64 += v
	}
}

func BenchmarkReadVarString(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"ascii16", "hello, world 123"},
		{"ascii256", strings.Repeat("abcdefgh", 32)},
		{"mixed64", strings.Repeat("aä€😀", 6)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			buf := AppendVarString(nil, bc.s)
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.s)))
			var d Decoder
			for i := 0; i < b.N; i++ {
				d.Reset(buf)
				sinkStr, _ = d.ReadVarString()
			}
		})
	}
}

func BenchmarkUTF16Len(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"ascii256", strings.Repeat("abcdefgh", 32)},
		{"mixed256", strings.Repeat("aä€😀xyz", 16)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.s)))
			for i := 0; i < b.N; i++ {
				sinkU64 += uint64(UTF16Len(bc.s))
			}
		})
	}
}

func rleInput(n int) []uint8 {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]uint8, n)
	for i := range out {
		if i > 0 && r.IntN(4) != 0 {
			out[i] = out[i-1]
		} else {
			out[i] = uint8(r.IntN(8))
		}
	}
	return out
}

func BenchmarkRleEncoderWrite(b *testing.B) {
	in := rleInput(4096)
	b.ReportAllocs()
	var e RleEncoder
	for i := 0; i < b.N; i++ {
		if i%len(in) == 0 {
			e.Reset()
		}
		e.Write(in[i%len(in)])
	}
	sinkBuf = e.Bytes()
}

func BenchmarkRleDecoderRead(b *testing.B) {
	in := rleInput(4096)
	var e RleEncoder
	for _, v := range in {
		e.Write(v)
	}
	enc := e.Bytes()
	b.ReportAllocs()
	d := NewRleDecoder(enc)
	for i := 0; i < b.N; i++ {
		if i%len(in) == 0 {
			d.Reset(enc)
		}
		v, _ := d.Read()
		sinkU8 += v
	}
}

func uintInput(n int) []uint64 {
	r := rand.New(rand.NewPCG(3, 4))
	out := make([]uint64, n)
	for i := range out {
		if i > 0 && r.IntN(3) != 0 {
			out[i] = out[i-1]
		} else {
			out[i] = uint64(r.IntN(300))
		}
	}
	return out
}

func BenchmarkUintOptRleEncoderWrite(b *testing.B) {
	in := uintInput(4096)
	b.ReportAllocs()
	var e UintOptRleEncoder
	for i := 0; i < b.N; i++ {
		if i%len(in) == 0 {
			e.Reset()
		}
		e.Write(in[i%len(in)])
	}
	sinkBuf = e.Bytes()
}

func BenchmarkUintOptRleDecoderRead(b *testing.B) {
	in := uintInput(4096)
	var e UintOptRleEncoder
	for _, v := range in {
		e.Write(v)
	}
	enc := e.Bytes()
	b.ReportAllocs()
	d := NewUintOptRleDecoder(enc)
	for i := 0; i < b.N; i++ {
		if i%len(in) == 0 {
			d.Reset(enc)
		}
		v, _ := d.Read()
		sinkU64 += v
	}
}

// clockInput looks like a keyClock/leftClock column: mostly +1 steps with jumps.
func clockInput(n int) []int64 {
	r := rand.New(rand.NewPCG(5, 6))
	out := make([]int64, n)
	var s int64
	for i := range out {
		if r.IntN(5) == 0 {
			s += int64(r.IntN(1000)) - 300
		} else {
			s++
		}
		out[i] = s
	}
	return out
}

func BenchmarkIntDiffOptRleEncoderWrite(b *testing.B) {
	in := clockInput(4096)
	b.ReportAllocs()
	var e IntDiffOptRleEncoder
	for i := 0; i < b.N; i++ {
		if i%len(in) == 0 {
			e.Reset()
		}
		e.Write(in[i%len(in)])
	}
	sinkBuf = e.Bytes()
}

func BenchmarkIntDiffOptRleDecoderRead(b *testing.B) {
	in := clockInput(4096)
	var e IntDiffOptRleEncoder
	for _, v := range in {
		e.Write(v)
	}
	enc := e.Bytes()
	b.ReportAllocs()
	d := NewIntDiffOptRleDecoder(enc)
	for i := 0; i < b.N; i++ {
		if i%len(in) == 0 {
			d.Reset(enc)
		}
		v, _ := d.Read()
		sinkI64 += v
	}
}

func BenchmarkStringDecoderRead(b *testing.B) {
	words := strings.Fields("the quick brown fox jumps over the lazy dog ä € 😀 key value")
	var e StringEncoder
	const n = 4096
	for i := 0; i < n; i++ {
		e.Write(words[i%len(words)])
	}
	enc := append([]byte(nil), e.Bytes()...)
	b.ReportAllocs()
	d, _ := NewStringDecoder(enc)
	for i := 0; i < b.N; i++ {
		if i%n == 0 {
			b.StopTimer()
			d, _ = NewStringDecoder(enc)
			b.StartTimer()
		}
		sinkStr, _ = d.Read()
	}
}

func BenchmarkStringEncoderWrite(b *testing.B) {
	words := strings.Fields("the quick brown fox jumps over the lazy dog ä € 😀 key value")
	b.ReportAllocs()
	var e StringEncoder
	for i := 0; i < b.N; i++ {
		if i%4096 == 0 {
			e.Reset()
		}
		e.Write(words[i%len(words)])
	}
	sinkBuf = e.Bytes()
}

var benchAnyValue any = Object{
	{"id", 12345.0},
	{"title", "Hello, world"},
	{"done", false},
	{"tags", []any{"a", "b", "c"}},
	{"score", 0.75},
	{"meta", Object{{"created", 1.7e12}, {"by", "alice"}, {"nil", nil}}},
}

func BenchmarkAppendAny(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 256)
	for i := 0; i < b.N; i++ {
		buf, _ = AppendAny(buf[:0], benchAnyValue)
	}
	b.SetBytes(int64(len(buf)))
	sinkBuf = buf
}

func BenchmarkReadAny(b *testing.B) {
	enc, _ := AppendAny(nil, benchAnyValue)
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	var d Decoder
	for i := 0; i < b.N; i++ {
		d.Reset(enc)
		sinkAny, _ = d.ReadAny()
	}
}

func BenchmarkParseJSON(b *testing.B) {
	text, _ := StringifyJSON(benchAnyValue)
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for i := 0; i < b.N; i++ {
		sinkAny, _ = ParseJSON(text)
	}
}

func BenchmarkStringifyJSON(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		sinkStr, _ = StringifyJSON(benchAnyValue)
	}
}

func BenchmarkFormatNumber(b *testing.B) {
	nums := []float64{0.1, 1234.5678, 1e21, 3.14159e-9, 42}
	b.ReportAllocs()
	var buf []byte
	for i := 0; i < b.N; i++ {
		buf = AppendNumber(buf[:0], nums[i%len(nums)])
	}
	sinkBuf = buf
}
