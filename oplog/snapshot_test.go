package oplog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"octobase/oplog/vfs"
)

func TestSnapshotWriteRead(t *testing.T) {
	for _, comp := range []Compression{CompressionNone, CompressionS2, CompressionZstd} {
		t.Run(comp.String(), func(t *testing.T) {
			fs := vfs.NewCrashableMem()
			l := mustOpen(t, fs, Options{Compression: comp, Durability: SyncNone})
			defer l.Close()
			if _, err := l.LatestSnapshot(); !errors.Is(err, ErrNoSnapshot) {
				t.Fatalf("empty: %v", err)
			}
			appendAll(t, l, genRecords(1, 100))
			state := func(lsn LSN) []byte { return bytes.Repeat(fmt.Appendf(nil, "state@%d;", lsn), 50) }
			for _, lsn := range []LSN{10, 50, 90} {
				if err := l.WriteSnapshot(lsn, state(lsn)); err != nil {
					t.Fatal(err)
				}
			}
			// Snapshots are never ahead of the durable log: WriteSnapshot
			// synced it, even in SyncNone mode.
			if d := l.Stats().DurableLSN; d < 90 {
				t.Fatalf("durable %d after a snapshot at 90", d)
			}
			if err := l.WriteSnapshot(101, nil); err == nil {
				t.Fatal("snapshot beyond the log accepted")
			}
			if err := l.WriteSnapshot(0, nil); err == nil {
				t.Fatal("snapshot at LSN 0 accepted")
			}
			for _, tc := range []struct{ at, want LSN }{{9, 0}, {10, 10}, {49, 10}, {50, 50}, {1000, 90}} {
				s, err := l.SnapshotAtOrBefore(tc.at)
				if tc.want == 0 {
					if !errors.Is(err, ErrNoSnapshot) {
						t.Fatalf("at %d: %v", tc.at, err)
					}
					continue
				}
				if err != nil || s.LSN != tc.want || !bytes.Equal(s.Data, state(tc.want)) {
					t.Fatalf("at %d: %d %v", tc.at, s.LSN, err)
				}
			}
			if s, _ := l.LatestSnapshot(); s.LSN != 90 {
				t.Fatalf("latest %d", s.LSN)
			}
			// Survives a crash (rename and directory were synced).
			c := fs.CrashClone(vfs.CrashOptions{})
			l2 := mustOpen(t, c, Options{})
			defer l2.Close()
			if s, err := l2.LatestSnapshot(); err != nil || s.LSN != 90 || !bytes.Equal(s.Data, state(90)) {
				t.Fatalf("after crash: %d %v", s.LSN, err)
			}
		})
	}
}

func TestSnapshotCorruptionIsNamed(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, Options{SegmentSize: 1024})
	appendAll(t, l, genRecords(1, 200))
	l.WriteSnapshot(100, []byte("hundred"))
	l.WriteSnapshot(150, []byte("hundred and fifty"))
	l.Close()
	fs.FlipBit(filepath.Join(testDir, snapshotName(150)), 50, 2)
	l = mustOpen(t, fs, Options{SegmentSize: 1024})
	defer l.Close()
	// The damaged newest snapshot is reported, not skipped for the older one.
	_, err := l.LatestSnapshot()
	mustCorrupt(t, err, snapshotName(150))
	if s, err := l.SnapshotAtOrBefore(149); err != nil || string(s.Data) != "hundred" {
		t.Fatalf("older snapshot: %v", err)
	}
	_, err = Verify(fs, testDir)
	mustCorrupt(t, err, snapshotName(150))
	// Compaction refuses to drop history on a damaged snapshot's word.
	if _, err := l.Compact(Retention{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Compact: %v", err)
	}
}

func TestSnapshotVersionRefusal(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, Options{})
	appendAll(t, l, genRecords(1, 3))
	l.WriteSnapshot(2, []byte("x"))
	l.Close()
	path := filepath.Join(testDir, snapshotName(2))
	b := readFile(t, fs, path)
	binary.LittleEndian.PutUint16(b[8:], snapshotVersion+1)
	writeFile(t, fs, path, b)
	l = mustOpen(t, fs, Options{})
	defer l.Close()
	if _, err := l.LatestSnapshot(); !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("LatestSnapshot: %v", err)
	}
}

func TestInterruptedSnapshotLeavesNoTrace(t *testing.T) {
	base := vfs.NewCrashableMem()
	efs := vfs.NewErrorFS(base, nil)
	l := mustOpen(t, efs, Options{})
	appendAll(t, l, genRecords(1, 10))
	efs.SetInjector(vfs.FailKinds(vfs.OpRename))
	if err := l.WriteSnapshot(5, []byte("x")); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("WriteSnapshot: %v", err)
	}
	efs.SetInjector(nil)
	if err := l.WriteSnapshot(6, []byte("y")); err != nil {
		t.Fatal(err)
	}
	// Leave a temporary file behind as a crash mid-write would.
	f, _ := base.Create(filepath.Join(testDir, snapshotName(7)+tempExt))
	f.Write([]byte("partial"))
	f.Sync()
	base.SyncDir(testDir)
	l.Close()
	l = mustOpen(t, base, Options{})
	defer l.Close()
	if l.Recovery().TempFilesRemoved != 1 {
		t.Fatalf("recovery %+v", l.Recovery())
	}
	names, _ := base.List(testDir)
	for _, n := range names {
		if filepath.Ext(n) == tempExt {
			t.Fatalf("temporary file %s left", n)
		}
	}
	if s, err := l.LatestSnapshot(); err != nil || s.LSN != 6 {
		t.Fatalf("latest %d %v", s.LSN, err)
	}
}

func TestCompactWithRetention(t *testing.T) {
	clock := newFakeClock()
	fs := vfs.NewMem()
	l := mustOpen(t, fs, Options{SegmentSize: 2048, Clock: clock.Now})
	defer l.Close()
	ctx := context.Background()
	// 1000 records, one per minute of caller-supplied time.
	recs := genRecords(2, 1000)
	for i := range recs {
		recs[i].Time = clock.Now().Add(time.Duration(i-1000) * time.Minute).UnixNano()
		lsn, err := l.Append(ctx, recs[i])
		if err != nil {
			t.Fatal(err)
		}
		recs[i].LSN = lsn
	}
	segsBefore := len(l.segmentsSnapshot())

	// No snapshot: nothing can go, whatever the retention.
	if cs, err := l.Compact(Retention{}); err != nil || cs.SegmentsRemoved != 0 {
		t.Fatalf("without a snapshot: %+v %v", cs, err)
	}
	for _, s := range []LSN{200, 500, 800} {
		if err := l.WriteSnapshot(s, fmt.Appendf(nil, "state@%d", s)); err != nil {
			t.Fatal(err)
		}
	}

	// Keep the newest 600 records reconstructible: boundary 401, anchor
	// snapshot 200, so only segments ending at or before 200 go.
	cs, err := l.Compact(Retention{Records: 600})
	if err != nil {
		t.Fatal(err)
	}
	if cs.Boundary != 401 || cs.Snapshot != 200 || cs.SegmentsRemoved == 0 || cs.FirstLSN > 201 {
		t.Fatalf("records retention: %+v", cs)
	}
	if l.FirstLSN() != cs.FirstLSN {
		t.Fatalf("FirstLSN %d, stats %d", l.FirstLSN(), cs.FirstLSN)
	}
	// Time travel to any LSN ≥ 401 still works: snapshot + replay.
	for _, at := range []LSN{401, 650, 1000} {
		s, err := l.SnapshotAtOrBefore(at)
		if err != nil {
			t.Fatal(err)
		}
		got := readAll(t, l, s.LSN+1)
		checkRecords(t, got[:at-s.LSN], recs[s.LSN:at])
	}
	if _, err := l.NewReader(1); !errors.Is(err, ErrCompacted) {
		t.Fatalf("reader at 1 after compaction: %v", err)
	}

	// Keep 5 hours by age: records older than that are minutes 1000..301
	// back; the boundary sits just before the first segment holding a
	// record younger than the cutoff.
	cs, err = l.Compact(Retention{Age: 5 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	cutoff := clock.Now().Add(-5 * time.Hour).UnixNano()
	if cs.Snapshot != 500 {
		t.Fatalf("age retention: %+v", cs)
	}
	for _, r := range readAll(t, l, l.FirstLSN()) {
		if r.LSN > cs.Boundary {
			break
		}
		if r.Time >= cutoff {
			t.Fatalf("record %d younger than the cutoff lies before the boundary %d", r.LSN, cs.Boundary)
		}
	}
	// Snapshots older than the new start are gone; the anchor stays.
	snaps, _ := l.Snapshots()
	if len(snaps) == 0 || snaps[0] < l.FirstLSN()-1 || snaps[0] > 500 {
		t.Fatalf("snapshots %v, first LSN %d", snaps, l.FirstLSN())
	}
	// Zero retention: everything the latest snapshot covers may go, but
	// never the active segment.
	cs, err = l.Compact(Retention{})
	if err != nil || cs.Snapshot != 800 {
		t.Fatalf("zero retention: %+v %v", cs, err)
	}
	if l.FirstLSN() > 801 || len(l.segmentsSnapshot()) >= segsBefore {
		t.Fatalf("first %d, segments %d of %d", l.FirstLSN(), len(l.segmentsSnapshot()), segsBefore)
	}
	l.Close()
	// The compacted log reopens and verifies.
	l2 := mustOpen(t, fs, Options{})
	defer l2.Close()
	rep, err := Verify(fs, testDir)
	if err != nil || rep.LastLSN != 1000 || rep.FirstLSN != l2.FirstLSN() {
		t.Fatalf("verify %+v %v", rep, err)
	}
}

func TestReaderKeepsReadingCompactedSegment(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, Options{SegmentSize: 1024})
	defer l.Close()
	recs := genRecords(3, 300)
	appendAll(t, l, recs)
	r, _ := l.NewReader(1)
	defer r.Close()
	if _, err := r.Next(); err != nil { // opens the first segment
		t.Fatal(err)
	}
	l.WriteSnapshot(300, []byte("all"))
	if cs, err := l.Compact(Retention{}); err != nil || cs.SegmentsRemoved == 0 {
		t.Fatalf("%+v %v", cs, err)
	}
	// The reader finishes the open segment, then finds the next one gone.
	var err error
	n := 1
	for ; err == nil; n++ {
		_, err = r.Next()
	}
	if !errors.Is(err, ErrCompacted) || n < 2 {
		t.Fatalf("after %d records: %v", n, err)
	}
}
