package oplog

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"octobase/oplog/vfs"
)

func TestVerifyReport(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, Options{SegmentSize: 2048})
	appendAll(t, l, genRecords(1, 500))
	l.WriteSnapshot(250, []byte("state"))
	st := l.Stats()
	l.Close()
	rep, err := Verify(fs, testDir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 500 || rep.FirstLSN != 1 || rep.LastLSN != 500 || rep.Segments != st.Segments ||
		rep.Frames != st.Frames || len(rep.Snapshots) != 1 || rep.RawBytes != st.RawBytes || rep.TornBytes != 0 {
		t.Fatalf("report %+v, stats %+v", rep, st)
	}
	// Empty directory.
	empty := vfs.NewMem()
	empty.MkdirAll(testDir)
	if rep, err := Verify(empty, testDir); err != nil || rep.Segments != 0 {
		t.Fatalf("empty: %+v %v", rep, err)
	}
}

func TestDump(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, Options{})
	recs := []Record{
		{Time: 1_735_787_045_000_000_006, Origin: "local", Data: []byte{0x01, 0x01, 0xc4}},
		{Time: 1_735_787_046_000_000_000, Origin: "peer:7f3a", Data: bytes.Repeat([]byte{0xab}, 40)},
		{Time: 1_735_787_047_000_000_000, Data: nil},
	}
	appendAll(t, l, recs)
	l.Close()
	var out bytes.Buffer
	if err := Dump(fs, testDir, 0, &out); err != nil {
		t.Fatal(err)
	}
	want := `lsn=1 time=2025-01-02T03:04:05.000000006Z origin="local" len=3 data=0101c4
lsn=2 time=2025-01-02T03:04:06Z origin="peer:7f3a" len=40 data=abababababababababababababababab…
lsn=3 time=2025-01-02T03:04:07Z origin="" len=0 data=
`
	if out.String() != want {
		t.Fatalf("Dump:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	Dump(fs, testDir, 3, &out)
	if !strings.HasPrefix(out.String(), "lsn=3 ") || strings.Count(out.String(), "\n") != 1 {
		t.Fatalf("Dump from 3: %q", out.String())
	}
	// A torn tail ends the dump with a comment.
	path := filepath.Join(testDir, segmentName(1))
	b := readFile(t, fs, path)
	writeFile(t, fs, path, append(b, 0x42, 0x42, 0x42))
	out.Reset()
	if err := Dump(fs, testDir, 0, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), fmt.Sprintf("# torn tail: 3 bytes at offset %d of %s", len(b), segmentName(1))) {
		t.Fatalf("Dump: %q", out.String())
	}
}

func TestOpenTruncatesTornTailAndReports(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, Options{})
	recs := genRecords(1, 20)
	appendAll(t, l, recs)
	l.Close()
	path := filepath.Join(testDir, segmentName(1))
	good := readFile(t, fs, path)
	// A partial frame: a valid header's first bytes and part of a payload.
	extra := appendFrame(nil, codecNone, bytes.Repeat([]byte{9}, 200), 21, 1, 0)[:77]
	writeFile(t, fs, path, append(append([]byte(nil), good...), extra...))
	logger, logBuf := testLogger(t)
	l = mustOpen(t, fs, Options{Logger: logger})
	rs := l.Recovery()
	if rs.TornBytes != 77 || rs.TornOffset != int64(len(good)) || rs.TornSegment != segmentName(1) || rs.LastLSN != 20 {
		t.Fatalf("recovery %+v", rs)
	}
	if !strings.Contains(logBuf.String(), "dropped_bytes=77") {
		t.Fatalf("log: %s", logBuf.String())
	}
	if got := readFile(t, fs, path); !bytes.Equal(got, good) {
		t.Fatalf("file is %d bytes after truncation, want %d", len(got), len(good))
	}
	// Appends continue right after the cut.
	if lsn, err := l.Append(context.Background(), Record{Data: []byte("next")}); err != nil || lsn != 21 {
		t.Fatalf("append: %d %v", lsn, err)
	}
	l.Close()

	// A torn segment header (crash right after a rotation created the
	// file) removes the file; the previous segment becomes active again.
	fs2 := vfs.NewMem()
	l = mustOpen(t, fs2, Options{SegmentSize: 1024})
	appendAll(t, l, genRecords(2, 100))
	last := l.LastLSN()
	l.Close()
	torn := filepath.Join(testDir, segmentName(last+1))
	writeFile(t, fs2, torn, appendSegmentHeader(nil, last+1)[:13])
	l = mustOpen(t, fs2, Options{SegmentSize: 1024})
	defer l.Close()
	if rs := l.Recovery(); rs.TornBytes != 13 || rs.TornOffset != 0 || rs.LastLSN != last {
		t.Fatalf("recovery %+v", rs)
	}
	if lsn, err := l.Append(context.Background(), Record{Data: []byte("x")}); err != nil || lsn != last+1 {
		t.Fatalf("append: %d %v", lsn, err)
	}
}
