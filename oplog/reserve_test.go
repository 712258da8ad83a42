package oplog

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"octobase/oplog/vfs"
)

// TestReservedSpace runs on the operating system's filesystem: the active
// segment is reserved ahead of the writes (fallocate), so it is longer on
// disk than its frames, with zeros after them. A process that stops
// without Close leaves the zeros; Open cuts them without calling them a
// torn tail, every acknowledged record is there, and appends continue
// right after the last frame.
func TestReservedSpace(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Durability: SyncAlways}
	l, err := Open(dir, &opts)
	if err != nil {
		t.Fatal(err)
	}
	recs := genRecords(7, 50)
	appendAll(t, l, recs)
	seg := filepath.Join(dir, segmentName(1))
	fi, err := os.Stat(seg)
	if err != nil {
		t.Fatal(err)
	}
	frames := l.segmentsSnapshot()[0].size
	if l.w.noAlloc {
		t.Skip("this filesystem does not reserve space (no fallocate)")
	}
	if fi.Size() <= frames {
		t.Fatalf("active segment is %d bytes on disk for %d of frames: nothing reserved", fi.Size(), frames)
	}

	// A copy of the directory as the process left it (no Close): what a
	// crash right after the last acknowledged append leaves.
	crashed := t.TempDir()
	for _, name := range []string{segmentName(1)} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b[frames:], make([]byte, len(b)-int(frames))) {
			t.Fatal("the reserved space is not zeros")
		}
		if err := os.WriteFile(filepath.Join(crashed, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(seg); fi.Size() != frames {
		t.Fatalf("after Close the segment is %d bytes, its frames %d", fi.Size(), frames)
	}

	rep, err := Verify(nil, crashed)
	if err != nil || rep.TornSegment != "" {
		t.Fatalf("Verify of the reserved zeros: %+v, %v", rep, err)
	}
	l2, err := Open(crashed, &Options{Durability: SyncAlways})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if st := l2.Recovery(); st.TornSegment != "" || st.LastLSN != 50 {
		t.Fatalf("recovery: %+v", st)
	}
	more := genRecords(8, 10)
	if _, err := l2.AppendBatch(context.Background(), more); err != nil {
		t.Fatal(err)
	}
	for i := range more {
		more[i].LSN = LSN(51 + i)
	}
	checkRecords(t, readAll(t, l2, 0), append(recs, more...))
}

// TestZerosEndingSealedSegment: reserved zeros are cut before a segment
// is sealed, so zeros after the frames of a segment that is not the last
// are damage, not a tail.
func TestZerosEndingSealedSegment(t *testing.T) {
	fs := vfs.NewMem()
	opts := Options{SegmentSize: 1024, FrameSize: 256}
	l := mustOpen(t, fs, opts)
	appendAll(t, l, genRecords(9, 200))
	segs := l.segmentsSnapshot()
	if len(segs) < 2 {
		t.Fatalf("%d segments", len(segs))
	}
	l.Close()
	f, err := fs.OpenAppend(testDir + "/" + segs[0].name())
	if err != nil {
		t.Fatal(err)
	}
	f.Allocate(segs[0].size + 100)
	f.Close()
	opts.FS = fs
	_, err = Open(testDir, &opts)
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("Open with zeros ending a sealed segment: %v, want a CorruptError", err)
	}
}

// TestReserveFailure: a filesystem that fails to reserve space costs the
// log nothing: it appends without a reservation from then on.
func TestReserveFailure(t *testing.T) {
	inj := vfs.InjectorFunc(func(op *vfs.Op) error {
		if op.Kind == vfs.OpAllocate {
			return vfs.ErrInjected
		}
		return nil
	})
	fs := vfs.NewErrorFS(vfs.NewMem(), inj)
	l := mustOpen(t, fs, Options{Durability: SyncAlways})
	recs := genRecords(10, 20)
	appendAll(t, l, recs)
	if !l.w.noAlloc {
		t.Fatal("the log did not note the failed reservation")
	}
	checkRecords(t, readAll(t, l, 0), recs)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}
