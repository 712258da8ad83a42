package oplog

import (
	"fmt"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"octobase/oplog/oplogtest"
)

// benchFrames builds frames' uncompressed payloads exactly as the log does,
// from a yjs-like update stream: each frame holds records until it reaches
// size bytes (size > 0) or n records (n > 0).
func benchFrames(total, n, size int) [][]byte {
	g := oplogtest.NewUpdateGen(42)
	var frames [][]byte
	var raw []byte
	var lsn LSN = 1
	t := int64(1_700_000_000_000_000_000)
	var prevTime int64
	count, bytes := 0, 0
	for bytes < total {
		t += g.Tick()
		rec := Record{Time: t, Origin: g.Origin(), Data: g.Next()}
		raw = appendRecord(raw, lsn, rec.Time, rec.Origin, rec.Data, dataCRC(rec.Data), prevTime)
		prevTime = t
		lsn++
		count++
		if (n > 0 && count == n) || (size > 0 && len(raw) >= size) {
			frames = append(frames, raw)
			bytes += len(raw)
			raw, count, prevTime = nil, 0, 0
		}
	}
	return frames
}

type benchCodec struct {
	name string
	enc  func(dst, src []byte) []byte
	dec  func(dst, src []byte) ([]byte, error)
}

func benchCodecs(b *testing.B) []benchCodec {
	zfast, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(1))
	zdef, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(1))
	zdec, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	b.Cleanup(func() { zfast.Close(); zdef.Close(); zdec.Close() })
	zd := func(dst, src []byte) ([]byte, error) { return zdec.DecodeAll(src, dst[:0]) }
	return []benchCodec{
		{"s2", s2.Encode, s2.Decode},
		{"s2better", s2.EncodeBetter, s2.Decode},
		{"zstd-fastest", func(dst, src []byte) []byte { return zfast.EncodeAll(src, dst[:0]) }, zd},
		{"zstd-default", func(dst, src []byte) []byte { return zdef.EncodeAll(src, dst[:0]) }, zd},
	}
}

// BenchmarkCompression measures codecs on frame payloads built from a
// yjs-like update stream (oplogtest.UpdateGen, ~48 B per update), per unit:
// one record per frame, group-commit frames of 8 and 64 records, and frames
// filled to 4 KiB and 64 KiB. It reports the compression ratio, encode MB/s
// (b.SetBytes of raw bytes) and decode MB/s. The numbers are in
// docs/format.md.
//
//	go test -run '^$' -bench Compression -benchtime 2000x ./oplog
func BenchmarkCompression(b *testing.B) {
	units := []struct {
		name    string
		n, size int
	}{
		{"rec1", 1, 0}, {"rec8", 8, 0}, {"rec64", 64, 0}, {"4KiB", 0, 4 << 10}, {"16KiB", 0, 16 << 10}, {"32KiB", 0, 32 << 10}, {"64KiB", 0, 64 << 10},
	}
	for _, u := range units {
		frames := benchFrames(1<<20, u.n, u.size)
		rawBytes := 0
		for _, f := range frames {
			rawBytes += len(f)
		}
		for _, c := range benchCodecs(b) {
			b.Run(fmt.Sprintf("%s/%s", u.name, c.name), func(b *testing.B) {
				enc := make([][]byte, len(frames))
				stored := 0
				for i, f := range frames {
					enc[i] = c.enc(make([]byte, s2.MaxEncodedLen(len(f))+64), f)
					stored += min(len(enc[i]), len(f)) // raw fallback when it does not pay
				}
				dst := make([]byte, 0, 256<<10)
				b.SetBytes(int64(rawBytes))
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					for _, f := range frames {
						dst = c.enc(dst[:cap(dst)], f)
					}
				}
				b.StopTimer()
				// Decode speed, measured outside the timed loop.
				const decRounds = 20
				t0 := nowNano()
				for range decRounds {
					for _, e := range enc {
						var err error
						if dst, err = c.dec(dst[:cap(dst)], e); err != nil {
							b.Fatal(err)
						}
					}
				}
				decSec := float64(nowNano()-t0) / 1e9
				b.ReportMetric(float64(rawBytes)/float64(stored), "ratio")
				b.ReportMetric(float64(rawBytes)/float64(len(frames)), "B/frame")
				b.ReportMetric(float64(rawBytes)*decRounds/decSec/1e6, "decMB/s")
			})
		}
	}
}

func nowNano() int64 { return time.Now().UnixNano() }
