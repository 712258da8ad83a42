package oplog

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"octobase/oplog/vfs"
)

func TestAppendReadReopen(t *testing.T) {
	for _, mode := range []Durability{SyncAlways, SyncInterval, SyncNone} {
		for _, comp := range []Compression{CompressionNone, CompressionS2, CompressionZstd} {
			t.Run(mode.String()+"/"+comp.String(), func(t *testing.T) {
				fs := vfs.NewMem()
				opts := Options{Durability: mode, Compression: comp}
				l := mustOpen(t, fs, opts)
				recs := genRecords(1, 500)
				appendAll(t, l, recs[:250])
				// A batch in between.
				first, err := l.AppendBatch(context.Background(), recs[250:])
				if err != nil {
					t.Fatal(err)
				}
				for i := range recs[250:] {
					recs[250+i].LSN = first + LSN(i)
				}
				if got := l.LastLSN(); got != 500 {
					t.Fatalf("LastLSN = %d", got)
				}
				checkRecords(t, readAll(t, l, 0), recs)
				checkRecords(t, readAll(t, l, 123), recs[122:])
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				if err := l.Close(); err != nil {
					t.Fatalf("second Close: %v", err)
				}
				l = mustOpen(t, fs, opts)
				defer l.Close()
				checkRecords(t, readAll(t, l, 0), recs)
				if st := l.Recovery(); st.TornBytes != 0 || st.LastLSN != 500 || st.FirstLSN != 1 {
					t.Fatalf("recovery %+v", st)
				}
				if _, err := Verify(fs, testDir); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func TestRotation(t *testing.T) {
	fs := vfs.NewMem()
	opts := Options{SegmentSize: 2048, FrameSize: 512}
	l := mustOpen(t, fs, opts)
	recs := genRecords(3, 2000)
	appendAll(t, l, recs[:1000])
	if _, err := l.AppendBatch(context.Background(), recs[1000:]); err != nil {
		t.Fatal(err)
	}
	for i := range recs[1000:] {
		recs[1000+i].LSN = LSN(1001 + i)
	}
	st := l.Stats()
	if st.Segments < 20 {
		t.Fatalf("only %d segments", st.Segments)
	}
	// Every segment is named by its first LSN and holds no more than one
	// frame beyond SegmentSize.
	segs := l.segmentsSnapshot()
	var onDisk int64
	for i, s := range segs {
		if i > 0 && s.first != segs[i-1].last+1 {
			t.Fatalf("segment %s does not follow %s", s.name(), segs[i-1].name())
		}
		b := readFile(t, fs, testDir+"/"+s.name())
		// Sealed segments end with their last frame; the active one may
		// be followed by reserved zeros.
		if i < len(segs)-1 && int64(len(b)) != s.size {
			t.Fatalf("sealed %s: %d bytes on disk, %d of frames", s.name(), len(b), s.size)
		}
		if int64(len(b)) < s.size || !bytes.Equal(b[s.size:], make([]byte, int64(len(b))-s.size)) {
			t.Fatalf("active %s: %d bytes on disk, %d of frames, then not zeros", s.name(), len(b), s.size)
		}
		b = b[:s.size]
		onDisk += int64(len(b))
		if first, err := parseSegmentHeader(s.name(), b); err != nil || first != s.first {
			t.Fatalf("%s: %d %v", s.name(), first, err)
		}
		if int64(len(b)) > opts.SegmentSize+int64(opts.FrameSize)+frameHeaderSize+256 && i < len(segs)-1 {
			t.Fatalf("%s is %d bytes", s.name(), len(b))
		}
	}
	if st.SegmentBytes != onDisk {
		t.Fatalf("Stats.SegmentBytes %d, the segment files hold %d", st.SegmentBytes, onDisk)
	}
	checkRecords(t, readAll(t, l, 0), recs)
	checkRecords(t, readAll(t, l, 1500), recs[1499:])
	l.Close()
	// A closed log keeps no reserved space.
	last := segs[len(segs)-1]
	if b := readFile(t, fs, testDir+"/"+last.name()); int64(len(b)) != last.size {
		t.Fatalf("closed: the active segment %s is %d bytes, its frames %d", last.name(), len(b), last.size)
	}
	l = mustOpen(t, fs, opts)
	if got := l.Stats().SegmentBytes; got != onDisk {
		t.Fatalf("reopened: Stats.SegmentBytes %d, the segment files hold %d", got, onDisk)
	}
	defer l.Close()
	checkRecords(t, readAll(t, l, 0), recs)
	rep, err := Verify(fs, testDir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Segments != st.Segments || rep.Records != 2000 || rep.FirstLSN != 1 || rep.LastLSN != 2000 {
		t.Fatalf("verify %+v vs stats %+v", rep, st)
	}
}

func TestAppendValidation(t *testing.T) {
	l := mustOpen(t, vfs.NewMem(), Options{MaxRecordSize: 100})
	defer l.Close()
	ctx := context.Background()
	if _, err := l.Append(ctx, Record{Data: make([]byte, 101)}); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("large: %v", err)
	}
	if _, err := l.Append(ctx, Record{Origin: strings.Repeat("x", 256)}); !errors.Is(err, ErrOriginTooLong) {
		t.Fatalf("origin: %v", err)
	}
	if _, err := l.AppendBatch(ctx, []Record{{Data: []byte("ok")}, {Data: make([]byte, 101)}}); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("batch: %v", err)
	}
	if lsn, err := l.AppendBatch(ctx, nil); lsn != 0 || err != nil {
		t.Fatalf("empty batch: %d %v", lsn, err)
	}
	// Nothing was assigned an LSN by the failed calls.
	if lsn, err := l.Append(ctx, Record{Data: make([]byte, 100)}); lsn != 1 || err != nil {
		t.Fatalf("first valid append: %d %v", lsn, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Append(cctx, Record{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled ctx: %v", err)
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, o := range []Options{
		{SegmentSize: 100}, {FrameSize: -1}, {MaxRecordSize: MaxRecordSizeLimit + 1},
		{Durability: 9}, {Compression: 9}, {SyncInterval: -1},
	} {
		o.FS = vfs.NewMem()
		if _, err := Open(testDir, &o); err == nil {
			t.Errorf("Open accepted %+v", o)
		}
	}
	l, err := Open(testDir, &Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}

func TestClockStampsRecords(t *testing.T) {
	clock := newFakeClock()
	l := mustOpen(t, vfs.NewMem(), Options{Clock: clock.Now})
	defer l.Close()
	ctx := context.Background()
	l.Append(ctx, Record{Data: []byte("a")})
	l.Append(ctx, Record{Time: 42, Data: []byte("b")})
	clock.Advance(time.Second)
	l.AppendBatch(ctx, []Record{{Data: []byte("c")}, {Time: 7}})
	got := readAll(t, l, 0)
	want := []int64{clock.Now().Add(-time.Second).UnixNano(), 42, clock.Now().UnixNano(), 7}
	for i, r := range got {
		if r.Time != want[i] {
			t.Fatalf("record %d time %d, want %d", i, r.Time, want[i])
		}
	}
}

func TestLockExcludesSecondOpen(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, Options{})
	if _, err := Open(testDir, &Options{FS: fs}); !errors.Is(err, vfs.ErrLocked) {
		t.Fatalf("second Open: %v", err)
	}
	l.Close()
	l = mustOpen(t, fs, Options{})
	l.Close()

	dir := t.TempDir()
	l1, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l1.Close()
	if _, err := Open(dir, nil); !errors.Is(err, vfs.ErrLocked) {
		t.Fatalf("second Open on the OS: %v", err)
	}
}

func TestClosedLog(t *testing.T) {
	l := mustOpen(t, vfs.NewMem(), Options{})
	appendAll(t, l, genRecords(1, 3))
	r, err := l.NewReader(0)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	ctx := context.Background()
	if _, err := l.Append(ctx, Record{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append: %v", err)
	}
	if err := l.Sync(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sync: %v", err)
	}
	if _, err := r.Next(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next: %v", err)
	}
	if err := r.Wait(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait: %v", err)
	}
	if _, err := l.NewReader(0); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewReader: %v", err)
	}
	if err := l.WriteSnapshot(1, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("WriteSnapshot: %v", err)
	}
	if _, err := l.Compact(Retention{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Compact: %v", err)
	}
	r.Close()
	r.Close()
}

func TestDurabilityModes(t *testing.T) {
	ctx := context.Background()
	t.Run("always", func(t *testing.T) {
		l := mustOpen(t, vfs.NewMem(), Options{})
		defer l.Close()
		for range 5 {
			lsn, _ := l.Append(ctx, Record{Data: []byte("x")})
			if st := l.Stats(); st.DurableLSN != lsn {
				t.Fatalf("acknowledged %d, durable %d", lsn, st.DurableLSN)
			}
		}
	})
	t.Run("none", func(t *testing.T) {
		l := mustOpen(t, vfs.NewMem(), Options{Durability: SyncNone})
		defer l.Close()
		syncs := l.Stats().Syncs
		lsn, _ := l.Append(ctx, Record{Data: []byte("x")})
		if st := l.Stats(); st.Syncs != syncs || st.DurableLSN >= lsn || st.LastLSN != lsn {
			t.Fatalf("none mode: %+v", st)
		}
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		if st := l.Stats(); st.DurableLSN != lsn {
			t.Fatalf("after Sync: %+v", st)
		}
	})
	t.Run("interval", func(t *testing.T) {
		l := mustOpen(t, vfs.NewMem(), Options{Durability: SyncInterval, SyncInterval: 5 * time.Millisecond})
		defer l.Close()
		lsn, _ := l.Append(ctx, Record{Data: []byte("x")})
		deadline := time.Now().Add(5 * time.Second)
		for l.Stats().DurableLSN < lsn {
			if time.Now().After(deadline) {
				t.Fatal("interval fsync never happened")
			}
			time.Sleep(time.Millisecond)
		}
	})
}

func TestGroupCommitSharesFsyncs(t *testing.T) {
	fs := vfs.NewErrorFS(vfs.NewMem(), vfs.InjectorFunc(func(op *vfs.Op) error {
		if op.Kind == vfs.OpSync {
			time.Sleep(2 * time.Millisecond) // a slow disk lets batches form
		}
		return nil
	}))
	l := mustOpen(t, fs, Options{})
	defer l.Close()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := range 20 {
				if _, err := l.Append(context.Background(), Record{Data: []byte{byte(w), byte(i)}}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	st := l.Stats()
	if st.Records != 320 || st.Syncs >= 160 {
		t.Fatalf("%d records took %d fsyncs: no group commit", st.Records, st.Syncs)
	}
	t.Logf("%d records, %d frames, %d fsyncs", st.Records, st.Frames, st.Syncs)
}

// TestLargeRecordsGetOwnFrames mixes records above and below
// FrameSize/ownFrameDiv in batches and single appends: large ones take a
// frame each (encoded outside the lock), small ones share frames, and the
// log reads back in order.
func TestLargeRecordsGetOwnFrames(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, Options{FrameSize: 4096})
	big := func(b byte) Record { return Record{Origin: "big", Data: bytes.Repeat([]byte{b}, 1500)} }
	small := func(b byte) Record { return Record{Origin: "small", Data: []byte{b, b}} }
	recs := []Record{small(1), big(2), small(3), small(4), big(5), big(6), small(7)}
	first, err := l.AppendBatch(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		recs[i].LSN = first + LSN(i)
	}
	more := []Record{big(8), small(9)}
	appendAll(t, l, more)
	recs = append(recs, more...)
	// Frames: [1] [2] [3 4] [5] [6] [7] then [8] [9].
	if st := l.Stats(); st.Frames != 8 {
		t.Fatalf("%d frames", st.Frames)
	}
	got := readAll(t, l, 0)
	for i := range got {
		got[i].Time, recs[i].Time = 0, 0
	}
	checkRecords(t, got, recs)
	l.Close()
	if rep, err := Verify(fs, testDir); err != nil || rep.Frames != 8 || rep.Records != 9 {
		t.Fatalf("verify %+v %v", rep, err)
	}
}

func TestParseDurability(t *testing.T) {
	for _, d := range []Durability{SyncAlways, SyncInterval, SyncNone} {
		if got, err := ParseDurability(d.String()); err != nil || got != d {
			t.Errorf("ParseDurability(%q) = %v, %v", d.String(), got, err)
		}
	}
	for _, s := range []string{"", "sometimes", "Always"} {
		if _, err := ParseDurability(s); err == nil || !strings.Contains(err.Error(), "always, interval or none") {
			t.Errorf("ParseDurability(%q): %v", s, err)
		}
	}
}
