package oplog

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	recs := []Record{
		{Time: 1, Origin: "", Data: nil},
		{Time: -5, Origin: "local", Data: []byte("x")},
		{Time: math.MaxInt64, Origin: strings.Repeat("o", MaxOriginLen), Data: bytes.Repeat([]byte{7}, 1000)},
		{Time: math.MinInt64, Origin: "local", Data: []byte("yjs")},
	}
	var raw []byte
	var prev int64
	for i := range recs {
		recs[i].LSN = 41 + LSN(i)
		raw = appendRecord(raw, recs[i].LSN, recs[i].Time, recs[i].Origin, recs[i].Data, dataCRC(recs[i].Data), prev)
		prev = recs[i].Time
	}
	got, err := decodeRecords(nil, raw, 41, len(recs))
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if recs[i].Data == nil {
			recs[i].Data = []byte{}
		}
		if err := sameRecord(got[i], recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	// Numbered from another LSN, the CRCs no longer match: a record cannot
	// move silently.
	if _, err := decodeRecords(nil, raw, 42, len(recs)); !errors.Is(err, errRecordCRC) {
		t.Fatalf("renumbered: %v", err)
	}
	if _, err := decodeRecords(nil, raw, 41, len(recs)-1); !errors.Is(err, errRecordFormat) {
		t.Fatalf("trailing bytes: %v", err)
	}
	if _, err := decodeRecords(nil, raw, 41, 1<<20); !errors.Is(err, errRecordFormat) {
		t.Fatalf("impossible count: %v", err)
	}
	for cut := 1; cut < len(raw); cut += 97 {
		if _, err := decodeRecords(nil, raw[:cut], 41, len(recs)); err == nil {
			t.Fatalf("truncated at %d decoded", cut)
		}
	}
}

func TestFrameRoundTripAllCodecs(t *testing.T) {
	recs := genRecords(7, 300)
	var raw []byte
	var prev, maxT int64 = 0, math.MinInt64
	for i := range recs {
		recs[i].LSN = 1000 + LSN(i)
		raw = appendRecord(raw, recs[i].LSN, recs[i].Time, recs[i].Origin, recs[i].Data, dataCRC(recs[i].Data), prev)
		prev, maxT = recs[i].Time, max(maxT, recs[i].Time)
	}
	for _, c := range []codec{codecNone, codecS2, codecZstd} {
		fb := appendFrame([]byte("prefix"), c, raw, 1000, len(recs), maxT)[len("prefix"):]
		h, err := parseFrameHeader(fb)
		if err != nil {
			t.Fatal(err)
		}
		if h.codec != c || h.firstLSN != 1000 || int(h.count) != len(recs) || h.maxTime != maxT || h.size() != int64(len(fb)) {
			t.Fatalf("%s: header %+v", c, h)
		}
		if c != codecNone && h.storedLen >= h.rawLen {
			t.Fatalf("%s did not compress: %d >= %d", c, h.storedLen, h.rawLen)
		}
		got, err := decodeFrame(nil, &h, fb[:frameHeaderSize], fb[frameHeaderSize:], maxFrameRaw)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		checkRecords(t, got, recs)
		// Every single-bit flip is caught by the frame CRC (or the header
		// checks), so no damaged frame is ever decoded.
		for i := 0; i < len(fb); i += 1 + i/4 {
			fb[i] ^= 0x10
			h2, err := parseFrameHeader(fb)
			if err == nil && int(h2.size()) == len(fb) {
				if _, err := decodeFrame(nil, &h2, fb[:frameHeaderSize], fb[frameHeaderSize:], maxFrameRaw); err == nil {
					t.Fatalf("%s: flip at %d undetected", c, i)
				}
			}
			fb[i] ^= 0x10
		}
	}
}

func TestFrameFallsBackToRaw(t *testing.T) {
	small := appendFrame(nil, codecS2, []byte("tiny payload"), 1, 1, 0)
	if small[12] != byte(codecNone) {
		t.Fatal("tiny frame was compressed")
	}
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(i*7919 + i*i*31)
	}
	rnd := appendFrame(nil, codecZstd, random, 1, 1, 0)
	if h, _ := parseFrameHeader(rnd); h.codec != codecNone && int(h.storedLen) > len(random)-len(random)/minSavingDiv {
		t.Fatalf("kept a compression that does not pay: %+v", h)
	}
}

func TestParseFrameHeaderRejects(t *testing.T) {
	good := appendFrame(nil, codecNone, bytes.Repeat([]byte{1}, 100), 5, 3, 9)
	cases := map[string]func(b []byte){
		"flags":       func(b []byte) { b[13] = 1 },
		"codec":       func(b []byte) { b[12] = 9 },
		"zero count":  func(b []byte) { b[14], b[15] = 0, 0 },
		"zero lsn":    func(b []byte) { clear(b[16:24]) },
		"raw too big": func(b []byte) { b[11] = 0x7f },
		"count":       func(b []byte) { b[14], b[15] = 0xff, 0xff },
		"raw!=stored": func(b []byte) { b[8]++ },
	}
	for name, mutate := range cases {
		b := append([]byte(nil), good...)
		mutate(b)
		if _, err := parseFrameHeader(b); !errors.Is(err, errFrameHeader) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := parseFrameHeader(good); err != nil {
		t.Fatal(err)
	}
}

func TestDecompressBoundsAllocation(t *testing.T) {
	raw := bytes.Repeat([]byte("yjs update "), 10000)
	for _, c := range []codec{codecS2, codecZstd} {
		stored := compress(c, nil, raw)
		h := frameHeader{codec: c, rawLen: uint32(len(raw)), storedLen: uint32(len(stored))}
		if _, err := decompress(&h, stored, len(raw)-1); !errors.Is(err, errDecompress) {
			t.Fatalf("%s: limit not enforced: %v", c, err)
		}
		// A header that lies about the size is caught before decoding into
		// a buffer of the wrong size.
		h.rawLen = 10
		if _, err := decompress(&h, stored, maxFrameRaw); !errors.Is(err, errDecompress) {
			t.Fatalf("%s: lying rawLen accepted: %v", c, err)
		}
	}
}
