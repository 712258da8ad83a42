package oplog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"octobase/oplog/vfs"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestSegmentHeader(t *testing.T) {
	h := appendSegmentHeader(nil, 77)
	if len(h) != segmentHeaderSize {
		t.Fatalf("header is %d bytes", len(h))
	}
	name := segmentName(77)
	if name != "00000000000000000077.seg" {
		t.Fatalf("name %q", name)
	}
	if first, err := parseSegmentHeader(name, h); err != nil || first != 77 {
		t.Fatalf("parse: %d %v", first, err)
	}
	if _, err := parseSegmentHeader(segmentName(78), h); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("name mismatch: %v", err)
	}
	for i := range h {
		b := append([]byte(nil), h...)
		b[i] ^= 4
		if _, err := parseSegmentHeader(name, b); err == nil {
			t.Fatalf("flip at %d undetected", i)
		}
	}
	if _, err := parseSegmentHeader(name, h[:20]); !errors.Is(err, errTruncated) {
		t.Fatalf("short header: %v", err)
	}
	if lsn, ok := parseLSNName("00000000000000000077.seg", segmentExt); !ok || lsn != 77 {
		t.Fatal("parseLSNName")
	}
	for _, bad := range []string{"77.seg", "00000000000000000000.seg", "0000000000000000007x.seg", "00000000000000000077.snap"} {
		if _, ok := parseLSNName(bad, segmentExt); ok {
			t.Fatalf("parsed %q", bad)
		}
	}
}

func TestFormatVersionRefusal(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, Options{})
	appendAll(t, l, genRecords(1, 10))
	l.Close()

	// Rewrite the header as a newer build would: version+1, valid CRC.
	path := filepath.Join(testDir, segmentName(1))
	b := readFile(t, fs, path)
	b[8]++
	b = append(appendSegmentHeaderRaw(b[:28]), b[32:]...)
	writeFile(t, fs, path, b)

	_, err := Open(testDir, &Options{FS: fs})
	var ve *VersionError
	if !errors.As(err, &ve) || !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("Open: %v", err)
	}
	if ve.Version != formatVersion+1 || ve.Supported != formatVersion || ve.File != segmentName(1) {
		t.Fatalf("VersionError %+v", ve)
	}
	msg := err.Error()
	for _, want := range []string{"oplog: ", segmentName(1), "format version 2", "up to 1", "newer octobase"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("message %q lacks %q", msg, want)
		}
	}
	// Nothing was truncated or removed on the way.
	if !bytes.Equal(readFile(t, fs, path), b) {
		t.Fatal("Open modified a newer-format segment")
	}
	if _, err := Verify(fs, testDir); !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("Verify: %v", err)
	}
	if err := Dump(fs, testDir, 0, &bytes.Buffer{}); !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("Dump: %v", err)
	}
}

// appendSegmentHeaderRaw appends the CRC of the first 28 header bytes.
func appendSegmentHeaderRaw(h28 []byte) []byte {
	h := append([]byte(nil), h28...)
	return binary.LittleEndian.AppendUint32(h, crc32.Checksum(h, castagnoli))
}

func readFile(t testing.TB, fs vfs.FS, path string) []byte {
	t.Helper()
	f, err := fs.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size, _ := f.Size()
	b := make([]byte, size)
	if n, err := f.ReadAt(b, 0); n != len(b) {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, fs vfs.FS, path string, b []byte) {
	t.Helper()
	f, err := fs.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	fs.SyncDir(filepath.Dir(path))
}

// goldenLog writes a small deterministic log: single appends and a batch,
// with fixed times, so its bytes pin the format.
func goldenLog(t *testing.T, comp Compression) (*vfs.MemFS, []Record) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, Options{Compression: comp})
	recs := genRecords(2024, 40)
	appendAll(t, l, recs[:8])
	first, err := l.AppendBatch(context.Background(), recs[8:])
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs[8:] {
		recs[8+i].LSN = first + LSN(i)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return fs, recs
}

// TestGoldenSegment pins the byte format: the checked-in segments must still
// decode to the same records (backward compatibility), and this build must
// still write exactly those bytes. If only the compressor's output changed
// (a klauspost/compress upgrade) and decoding still passes, rerun with
// -update.
func TestGoldenSegment(t *testing.T) {
	for _, comp := range []Compression{CompressionNone, CompressionS2, CompressionZstd} {
		t.Run(comp.String(), func(t *testing.T) {
			fs, recs := goldenLog(t, comp)
			got := readFile(t, fs, filepath.Join(testDir, segmentName(1)))
			golden := filepath.Join("testdata", "golden", comp.String(), segmentName(1))
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			// Decode the checked-in bytes.
			gfs := vfs.NewMem()
			gfs.MkdirAll(testDir)
			writeFile(t, gfs, filepath.Join(testDir, segmentName(1)), want)
			rep, err := Verify(gfs, testDir)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Records != int64(len(recs)) {
				t.Fatalf("golden holds %d records", rep.Records)
			}
			l := mustOpen(t, gfs, Options{})
			checkRecords(t, readAll(t, l, 0), recs)
			l.Close()
			if !bytes.Equal(got, want) {
				t.Fatalf("this build writes different bytes than %s (rerun with -update if only the compressor changed)", golden)
			}
		})
	}
}
