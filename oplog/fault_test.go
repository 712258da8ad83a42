package oplog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"octobase/oplog/vfs"
)

// TestFailedIOIsSticky: when a write or fsync fails, the appends of that
// batch get the error (wrapping ErrFailed and the cause), the log refuses
// further appends, no acknowledged record is lost, and reopening recovers.
func TestFailedIOIsSticky(t *testing.T) {
	for _, kind := range []vfs.OpKind{vfs.OpSync, vfs.OpWrite} {
		for _, after := range []int64{0, 1, 5, 20} {
			t.Run(fmt.Sprintf("%s/after=%d", kind, after), func(t *testing.T) {
				base := vfs.NewCrashableMem()
				efs := vfs.NewErrorFS(base, nil)
				l := mustOpen(t, efs, Options{SegmentSize: 2048})
				efs.SetInjector(vfs.FailAfter(after, kind))

				var mu sync.Mutex
				acked := map[LSN][]byte{}
				var failures []error
				var wg sync.WaitGroup
				for w := range 8 {
					wg.Go(func() {
						for i := range 20 {
							data := fmt.Appendf(nil, "w%d-%d", w, i)
							lsn, err := l.Append(context.Background(), Record{Data: data})
							mu.Lock()
							if err != nil {
								failures = append(failures, err)
							} else {
								acked[lsn] = data
							}
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				if len(failures) == 0 {
					t.Fatal("no append failed")
				}
				sawCause := false
				for _, err := range failures {
					if !errors.Is(err, ErrFailed) {
						t.Fatalf("failure does not wrap ErrFailed: %v", err)
					}
					sawCause = sawCause || errors.Is(err, vfs.ErrInjected)
				}
				if !sawCause {
					t.Fatal("no failure carries the injected cause")
				}
				if _, err := l.Append(context.Background(), Record{}); !errors.Is(err, ErrFailed) {
					t.Fatalf("append after failure: %v", err)
				}
				if err := l.Sync(); !errors.Is(err, ErrFailed) {
					t.Fatalf("Sync after failure: %v", err)
				}
				// Readers still see exactly the acknowledged records.
				visible := readAll(t, l, 0)
				if len(visible) != len(acked) {
					t.Fatalf("readers see %d records, %d acknowledged", len(visible), len(acked))
				}
				efs.SetInjector(nil)
				if err := l.Close(); !errors.Is(err, ErrFailed) {
					t.Fatalf("Close of a failed log: %v", err)
				}

				// Power loss, then recovery: every acknowledged record is there.
				for _, fs := range []*vfs.MemFS{base.CrashClone(vfs.CrashOptions{}), base} {
					l2 := mustOpen(t, fs, Options{})
					got := map[LSN][]byte{}
					for _, r := range readAll(t, l2, 0) {
						got[r.LSN] = r.Data
					}
					for lsn, data := range acked {
						if !bytes.Equal(got[lsn], data) {
							t.Fatalf("acknowledged LSN %d: %q, want %q", lsn, got[lsn], data)
						}
					}
					if _, err := l2.Append(context.Background(), Record{Data: []byte("after")}); err != nil {
						t.Fatalf("append after recovery: %v", err)
					}
					l2.Close()
					if _, err := Verify(fs, testDir); err != nil {
						t.Fatal(err)
					}
				}
			})
		}
	}
}

func TestRotationFailure(t *testing.T) {
	base := vfs.NewMem()
	efs := vfs.NewErrorFS(base, nil)
	l := mustOpen(t, efs, Options{SegmentSize: 1024})
	efs.SetInjector(vfs.FailKinds(vfs.OpCreate))
	var err error
	n := 0
	for ; err == nil && n < 1000; n++ {
		_, err = l.Append(context.Background(), Record{Data: bytes.Repeat([]byte{1}, 100)})
	}
	if !errors.Is(err, ErrFailed) || !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("append at rotation: %v", err)
	}
	if err := l.Close(); !errors.Is(err, ErrFailed) {
		t.Fatalf("Close after failure: %v", err)
	}
	efs.SetInjector(nil)
	l = mustOpen(t, base, Options{SegmentSize: 1024})
	defer l.Close()
	if got := len(readAll(t, l, 0)); got < n-1 {
		t.Fatalf("%d records after reopen, %d acknowledged", got, n-1)
	}
	appendAll(t, l, genRecords(1, 50))
}

// buildSealedLog writes a log of several segments and returns the FS and
// the frame boundaries of each segment.
func buildSealedLog(t *testing.T) (*vfs.MemFS, map[string][]int64) {
	fs := vfs.NewCrashableMem()
	l := mustOpen(t, fs, Options{SegmentSize: 4096, FrameSize: 600})
	recs := genRecords(9, 1200)
	for i := 0; i < len(recs); i += 8 {
		if _, err := l.AppendBatch(context.Background(), recs[i:min(i+8, len(recs))]); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	frames := map[string][]int64{}
	names, _ := fs.List(testDir)
	for _, name := range names {
		if filepath.Ext(name) != segmentExt {
			continue
		}
		b := readFile(t, fs, filepath.Join(testDir, name))
		for off := int64(segmentHeaderSize); off < int64(len(b)); {
			frames[name] = append(frames[name], off)
			h, err := parseFrameHeader(b[off:])
			if err != nil {
				t.Fatal(err)
			}
			off += h.size()
		}
		frames[name] = append(frames[name], int64(len(b)))
	}
	return fs, frames
}

// damagedOffset returns where the damage at pos should be reported: the
// start of the frame holding pos, or 0 inside the segment header.
func damagedOffset(bounds []int64, pos int64) int64 {
	if pos < segmentHeaderSize {
		return 0
	}
	for i := len(bounds) - 2; i >= 0; i-- {
		if bounds[i] <= pos {
			return bounds[i]
		}
	}
	return 0
}

// TestBitFlipsDetectedAndNamed flips one bit at random places at rest: in
// sealed segments and in the last segment before its last frame, Open,
// Verify and readers must fail with a *CorruptError naming the segment and
// the offset of the damaged frame (or header); nothing is skipped.
func TestBitFlipsDetectedAndNamed(t *testing.T) {
	fs, frames := buildSealedLog(t)
	var names []string
	for n := range frames {
		names = append(names, n)
	}
	sortStrings(names)
	last := names[len(names)-1]
	rng := rand.New(rand.NewPCG(11, 12))
	for i := range 60 {
		name := names[rng.IntN(len(names))]
		bounds := frames[name]
		end := bounds[len(bounds)-1]
		if name == last {
			end = bounds[len(bounds)-2] // not the last frame: see the torn test
		}
		pos := rng.Int64N(end)
		t.Run(fmt.Sprintf("%d/%s@%d", i, name[14:20], pos), func(t *testing.T) {
			c := fs.CrashClone(vfs.CrashOptions{})
			if err := c.FlipBit(filepath.Join(testDir, name), pos, uint(rng.IntN(8))); err != nil {
				t.Fatal(err)
			}
			want := damagedOffset(bounds, pos)
			_, err := Open(testDir, &Options{FS: c})
			if ce := mustCorrupt(t, err, name); ce.Offset != want {
				t.Fatalf("Open: offset %d, want %d: %v", ce.Offset, want, err)
			}
			rep, err := Verify(c, testDir)
			if ce := mustCorrupt(t, err, name); ce.Offset != want {
				t.Fatalf("Verify: offset %d, want %d: %v", ce.Offset, want, err)
			}
			if rep.Records >= 1200 {
				t.Fatalf("Verify report claims all records: %+v", rep)
			}
			var out bytes.Buffer
			mustCorrupt(t, Dump(c, testDir, 0, &out), name)
		})
	}
}

// TestFlipInLastFrameIsTornTail documents the limit of torn-tail detection:
// damage to the very last frame of the last segment looks exactly like a
// torn write, so Open truncates it and reports it (never silently).
func TestFlipInLastFrameIsTornTail(t *testing.T) {
	fs, frames := buildSealedLog(t)
	var names []string
	for n := range frames {
		names = append(names, n)
	}
	sortStrings(names)
	last := names[len(names)-1]
	bounds := frames[last]
	lastFrame := bounds[len(bounds)-2]
	if err := fs.FlipBit(filepath.Join(testDir, last), lastFrame+frameHeaderSize+3, 1); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(fs, testDir)
	if err != nil || rep.TornSegment != last || rep.TornOffset != lastFrame {
		t.Fatalf("Verify: %+v, %v", rep, err)
	}
	logger, logBuf := testLogger(t)
	l, err := Open(testDir, &Options{FS: fs, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rs := l.Recovery()
	if rs.TornSegment != last || rs.TornOffset != lastFrame || rs.TornBytes != bounds[len(bounds)-1]-lastFrame {
		t.Fatalf("recovery %+v", rs)
	}
	for _, want := range []string{"torn tail", last, fmt.Sprint("dropped_bytes=", rs.TornBytes)} {
		if !strings.Contains(logBuf.String(), want) {
			t.Fatalf("log lacks %q: %s", want, logBuf.String())
		}
	}
}

func TestLSNGapIsCorruption(t *testing.T) {
	fs, frames := buildSealedLog(t)
	var names []string
	for n := range frames {
		names = append(names, n)
	}
	sortStrings(names)
	if len(names) < 4 {
		t.Fatalf("only %d segments", len(names))
	}
	c := fs.CrashClone(vfs.CrashOptions{})
	c.Remove(filepath.Join(testDir, names[2]))
	_, err := Open(testDir, &Options{FS: c})
	if ce := mustCorrupt(t, err, names[3]); !strings.Contains(ce.Error(), "LSN gap") {
		t.Fatalf("Open: %v", err)
	}
	_, err = Verify(c, testDir)
	mustCorrupt(t, err, names[3])

	// Without its first segment and with no snapshot, history is missing.
	c = fs.CrashClone(vfs.CrashOptions{})
	c.Remove(filepath.Join(testDir, names[0]))
	_, err = Open(testDir, &Options{FS: c})
	if ce := mustCorrupt(t, err, names[1]); !strings.Contains(ce.Error(), "no snapshot covers") {
		t.Fatalf("Open: %v", err)
	}
}

func TestDamageFollowedByIntactFrameIsCorruption(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, Options{})
	appendAll(t, l, genRecords(4, 20))
	l.Close()
	path := filepath.Join(testDir, segmentName(1))
	b := readFile(t, fs, path)
	// Zero a frame in the middle: not a torn write, since frames follow.
	h, _ := parseFrameHeader(b[segmentHeaderSize:])
	off := segmentHeaderSize + h.size()
	h2, _ := parseFrameHeader(b[off:])
	clear(b[off : off+h2.size()])
	writeFile(t, fs, path, b)
	_, err := Open(testDir, &Options{FS: fs})
	ce := mustCorrupt(t, err, segmentName(1))
	if ce.Offset != off || !strings.Contains(err.Error(), "intact frame follows") {
		t.Fatalf("Open: %v", err)
	}
}
