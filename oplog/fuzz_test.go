package oplog

import (
	"bytes"
	"path/filepath"
	"testing"

	"octobase/oplog/vfs"
)

// fuzzMaxRaw bounds decompressed sizes in fuzzing, like the format's limit
// but small enough that no input makes the fuzzer allocate much.
const fuzzMaxRaw = 1 << 20

// FuzzFrame decodes arbitrary bytes as a frame. With fixCRC set it first
// rewrites the CRC so the fuzzer reaches decompression and record parsing.
// Whatever decodes must re-encode to a frame that decodes to the same
// records. It must never panic.
func FuzzFrame(f *testing.F) {
	for _, c := range []codec{codecNone, codecS2, codecZstd} {
		recs := genRecords(uint64(c), 12)
		var raw []byte
		var prev int64
		for i := range recs {
			raw = appendRecord(raw, LSN(5+i), recs[i].Time, recs[i].Origin, recs[i].Data, dataCRC(recs[i].Data), prev)
			prev = recs[i].Time
		}
		f.Add(appendFrame(nil, c, raw, 5, len(recs), prev), false)
		f.Add(appendFrame(nil, c, raw, 5, len(recs), prev), true)
	}
	f.Add(make([]byte, frameHeaderSize), true)
	f.Fuzz(func(t *testing.T, b []byte, fixCRC bool) {
		if len(b) < frameHeaderSize {
			return
		}
		h, err := parseFrameHeader(b)
		if err != nil || h.size() > int64(len(b)) {
			return
		}
		fb := append([]byte(nil), b[:h.size()]...)
		if fixCRC {
			h.crc = frameCRC(fb, fb[frameHeaderSize:])
		}
		recs, err := decodeFrame(nil, &h, fb[:frameHeaderSize], fb[frameHeaderSize:], fuzzMaxRaw)
		if err != nil {
			return
		}
		var raw []byte
		var prev, maxT int64 = 0, recs[0].Time
		for _, r := range recs {
			raw = appendRecord(raw, r.LSN, r.Time, r.Origin, r.Data, dataCRC(r.Data), prev)
			prev, maxT = r.Time, max(maxT, r.Time)
		}
		for _, c := range []codec{codecNone, codecS2, codecZstd} {
			again := appendFrame(nil, c, raw, h.firstLSN, len(recs), maxT)
			h2, err := parseFrameHeader(again)
			if err != nil {
				t.Fatalf("re-encoded header: %v", err)
			}
			recs2, err := decodeFrame(nil, &h2, again[:frameHeaderSize], again[frameHeaderSize:], maxFrameRaw)
			if err != nil {
				t.Fatalf("re-encoded frame: %v", err)
			}
			if len(recs2) != len(recs) {
				t.Fatalf("%d records, then %d", len(recs), len(recs2))
			}
			for i := range recs {
				if err := sameRecord(recs[i], recs2[i]); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// FuzzRecords decodes arbitrary bytes as a frame's uncompressed payload.
func FuzzRecords(f *testing.F) {
	recs := genRecords(3, 5)
	var raw []byte
	var prev int64
	for i := range recs {
		raw = appendRecord(raw, LSN(1+i), recs[i].Time, recs[i].Origin, recs[i].Data, dataCRC(recs[i].Data), prev)
		prev = recs[i].Time
	}
	f.Add(raw, uint16(5))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, uint16(1))
	f.Fuzz(func(t *testing.T, raw []byte, count uint16) {
		recs, err := decodeRecords(nil, raw, 1, int(count))
		if err == nil && len(recs) != int(count) {
			t.Fatalf("decoded %d of %d records without error", len(recs), count)
		}
	})
}

// FuzzSegment runs recovery, Verify and Dump over an arbitrary segment file
// (seeded with real ones, intact, torn and damaged). They must never panic,
// and whatever Open accepts must verify and read back.
func FuzzSegment(f *testing.F) {
	for _, comp := range []Compression{CompressionNone, CompressionS2, CompressionZstd} {
		fs := vfs.NewMem()
		l := mustOpen(f, fs, Options{Compression: comp, FrameSize: 300})
		recs := genRecords(uint64(comp), 30)
		appendAll(f, l, recs[:10])
		l.AppendBatch(t0ctx, recs[10:])
		l.Close()
		b := readFile(f, fs, filepath.Join(testDir, segmentName(1)))
		f.Add(b)
		f.Add(b[:len(b)-7])
		flipped := append([]byte(nil), b...)
		flipped[len(b)/2] ^= 1
		f.Add(flipped)
	}
	f.Add(appendSegmentHeader(nil, 1))
	f.Add([]byte(segmentMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		fs := vfs.NewMem()
		fs.MkdirAll(testDir)
		path := filepath.Join(testDir, segmentName(1))
		writeFile(t, fs, path, b)
		Verify(fs, testDir)
		Dump(fs, testDir, 0, &bytes.Buffer{})
		l, err := Open(testDir, &Options{FS: fs})
		if err != nil {
			return
		}
		got := readAll(t, l, 0)
		l.Close()
		rep, err := Verify(fs, testDir)
		if err != nil {
			t.Fatalf("Open accepted a log that does not verify: %v", err)
		}
		if rep.TornBytes != 0 || int64(len(got)) != rep.Records {
			t.Fatalf("after recovery: %+v, read %d records", rep, len(got))
		}
	})
}
