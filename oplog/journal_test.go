package oplog

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"octobase/oplog/oplogtest"
	"octobase/oplog/vfs"
)

var journalRounds = flag.Int("journal.rounds", 30, "rounds of TestJournalCrash")

const journalRoot = "/store"

func journalLogDir(i int) string { return filepath.Join(journalRoot, fmt.Sprintf("ws%d", i), "log") }

func mustOpenJournal(t testing.TB, fs vfs.FS, opts JournalOptions) (*Journal, JournalReplay) {
	t.Helper()
	opts.FS = fs
	j, rep, err := OpenJournal(journalRoot, &opts)
	if err != nil {
		t.Fatalf("OpenJournal: %v", err)
	}
	return j, rep
}

func journalFiles(t testing.TB, fs vfs.FS) []string {
	t.Helper()
	names, err := fs.List(filepath.Join(journalRoot, JournalDir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		if strings.HasSuffix(n, JournalExt) {
			out = append(out, n)
		}
	}
	return out
}

// TestJournalCommits checks that logs sharing a journal share its fsyncs,
// fsync their segments only at Open, rotation and Close, and that a closed
// journal leaves no file behind.
func TestJournalCommits(t *testing.T) {
	fs := vfs.NewCrashableMem()
	j, _ := mustOpenJournal(t, fs, JournalOptions{})
	var logs []*Log
	for i := range 4 {
		logs = append(logs, mustOpenAt(t, journalLogDir(i), Options{FS: fs, Journal: j}))
	}
	var wg sync.WaitGroup
	for i, l := range logs {
		for w := range 4 {
			wg.Go(func() {
				for _, r := range genRecords(uint64(i*10+w), 50) {
					if _, err := l.Append(context.Background(), r); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	st := j.Stats()
	if st.Records == 0 || st.Rounds == 0 || st.Records < st.Rounds {
		t.Fatalf("journal stats %+v", st)
	}
	for i, l := range logs {
		if s := l.Stats(); s.Syncs != 0 {
			t.Errorf("log %d fsynced its segment %d times while journaled", i, s.Syncs)
		}
	}
	t.Logf("%d records of 4 logs in %d journal rounds", st.Records, st.Rounds)
	if got := journalFiles(t, fs); len(got) != 1 {
		t.Fatalf("journal files %v, want one", got)
	}
	for _, l := range logs {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if got := journalFiles(t, fs); len(got) != 0 {
		t.Fatalf("journal files %v left after Close", got)
	}
	if err := j.commit("ws0/log/x.seg", 0, []byte("x")); !errors.Is(err, ErrJournalClosed) {
		t.Fatalf("commit after Close: %v", err)
	}
	// Everything is in the segments: a crash now loses nothing.
	crashed := fs.CrashClone(vfs.CrashOptions{})
	for i := range logs {
		l := mustOpenAt(t, journalLogDir(i), Options{FS: crashed})
		if n := len(readAll(t, l, 1)); n != 200 {
			t.Errorf("log %d holds %d records after Close and a crash, want 200", i, n)
		}
		l.Close()
	}
}

func mustOpenAt(t testing.TB, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(dir, &opts)
	if err != nil {
		t.Fatalf("Open %s: %v", dir, err)
	}
	return l
}

// TestJournalCrash runs seeded rounds of: several logs sharing a journal
// (small segments and a small CheckpointSize, so that rotations and
// checkpoints happen), concurrent appenders on each, then a simulated
// power loss at a random moment, keeping durable state plus, in most
// rounds, a random torn share of the rest. It checks that replay and
// recovery keep every acknowledged record of every log, with its data, and
// that the logs keep working. As a control it also opens the logs of the
// crash without replaying the journal: across the rounds, that must lose
// acknowledged records, or the journal was not what kept them.
// Rerun one round with -run 'TestJournalCrash/seed=N'.
func TestJournalCrash(t *testing.T) {
	var lostWithout atomic.Int64
	for seed := range uint64(*journalRounds) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { lostWithout.Add(int64(journalCrashRound(t, seed))) })
	}
	if !t.Failed() && *journalRounds >= 10 && lostWithout.Load() == 0 {
		t.Fatal("no round lost a record when its journal was not replayed: the test does not exercise the journal")
	}
}

func journalCrashRound(t *testing.T, seed uint64) (lostWithout int) {
	rng := rand.New(rand.NewPCG(seed, 0x10a5))
	fs := vfs.NewCrashableMem()
	jopts := JournalOptions{CheckpointSize: int64(512 + rng.IntN(32<<10))}
	j, _ := mustOpenJournal(t, fs, jopts)
	nlogs := 1 + rng.IntN(5)
	opts := Options{
		SegmentSize: int64(1024 + rng.IntN(16<<10)),
		FrameSize:   128 + rng.IntN(4096),
		Compression: []Compression{CompressionNone, CompressionS2, CompressionZstd}[rng.IntN(3)],
	}
	logs := make([]*Log, nlogs)
	for i := range logs {
		o := opts
		o.FS, o.Journal = fs, j
		logs[i] = mustOpenAt(t, journalLogDir(i), o)
	}
	var stop atomic.Bool
	var mu sync.Mutex
	acked := make([]map[LSN][]byte, nlogs)
	var total atomic.Int64
	var wg sync.WaitGroup
	for i, l := range logs {
		acked[i] = map[LSN][]byte{}
		for w := range 1 + rng.IntN(4) {
			wg.Go(func() {
				g := oplogtest.NewUpdateGen(seed*1000 + uint64(i*10+w))
				for !stop.Load() {
					data := g.Next()
					lsn, err := l.Append(context.Background(), Record{Origin: g.Origin(), Data: data})
					if err != nil {
						return
					}
					mu.Lock()
					acked[i][lsn] = data
					mu.Unlock()
					total.Add(1)
				}
			})
		}
	}
	target := int64(20 + rng.IntN(800))
	for deadline := time.Now().Add(10 * time.Second); total.Load() < target && time.Now().Before(deadline); {
		time.Sleep(50 * time.Microsecond)
	}
	mu.Lock()
	ackedBefore := make([]map[LSN][]byte, nlogs)
	for i := range acked {
		ackedBefore[i] = make(map[LSN][]byte, len(acked[i]))
		for k, v := range acked[i] {
			ackedBefore[i][k] = v
		}
	}
	mu.Unlock()
	crashOpts := vfs.CrashOptions{}
	if rng.IntN(4) != 0 {
		crashOpts = vfs.CrashOptions{Rand: rand.New(rand.NewPCG(seed, 99)), Garbage: rng.IntN(2) == 0}
	}
	crashed := fs.CrashClone(crashOpts)
	stop.Store(true)
	for _, l := range logs {
		l.Close()
	}
	wg.Wait()
	j.Close()
	stats := j.Stats()

	// The control: the same crash, recovered without the journal.
	control := crashed.CrashClone(vfs.CrashOptions{})
	for i := range logs {
		l, err := Open(journalLogDir(i), &Options{FS: control})
		if err != nil {
			// Without the journal a sealed segment's unsynced frames may be
			// torn, which recovery reports as damage: a loss as well.
			lostWithout++
			continue
		}
		present := map[LSN]bool{}
		for _, r := range readAll(t, l, l.FirstLSN()) {
			present[r.LSN] = true
		}
		for lsn := range ackedBefore[i] {
			if !present[lsn] {
				lostWithout++
			}
		}
		l.Close()
	}

	// Recover: replay the journal, then open the logs.
	logger, _ := testLogger(t)
	j2, rep, err := OpenJournal(journalRoot, &JournalOptions{FS: crashed, Logger: logger, CheckpointSize: jopts.CheckpointSize})
	if err != nil {
		t.Fatalf("seed %d: OpenJournal after crash: %v", seed, err)
	}
	defer j2.Close()
	for i := range logs {
		o := opts
		o.FS, o.Journal = crashed, j2
		l, err := Open(journalLogDir(i), &o)
		if err != nil {
			t.Fatalf("seed %d: log %d: Open after crash and replay %+v: %v", seed, i, rep, err)
		}
		got := readAll(t, l, 1)
		present := map[LSN][]byte{}
		for k, r := range got {
			if r.LSN != LSN(k+1) {
				t.Fatalf("log %d: LSN %d at position %d: not contiguous", i, r.LSN, k)
			}
			present[r.LSN] = r.Data
		}
		for lsn, data := range ackedBefore[i] {
			p, ok := present[lsn]
			switch {
			case !ok:
				t.Fatalf("seed %d: log %d: acknowledged LSN %d lost (holds %d records, replay %+v)", seed, i, lsn, len(got), rep)
			case string(p) != string(data):
				t.Fatalf("seed %d: log %d: LSN %d holds other data than acknowledged", seed, i, lsn)
			}
		}
		if _, err := Verify(crashed, journalLogDir(i)); err != nil {
			t.Fatalf("log %d: Verify after recovery: %v", i, err)
		}
		more := genRecords(seed, 5)
		appendAll(t, l, more)
		if more[0].LSN != LSN(len(got)+1) {
			t.Fatalf("log %d: appends resumed at %d, want %d", i, more[0].LSN, len(got)+1)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seed %d: %d logs, %d records acked, journal %+v, replay %+v, lost without replay %d",
		seed, nlogs, total.Load(), stats, rep, lostWithout)
	return lostWithout
}

// TestJournalReplayRules covers replay's edge cases on hand-made journal
// files: bytes a segment already holds are not written again, a missing
// segment is skipped, zeros and a torn record end a file, and a segment
// that ends before a record's offset is an error naming it.
func TestJournalReplayRules(t *testing.T) {
	fs := vfs.NewMem()
	seg := filepath.Join(journalRoot, "a", "1.seg")
	if err := fs.MkdirAll(filepath.Dir(seg)); err != nil {
		t.Fatal(err)
	}
	write := func(name string, p []byte) {
		t.Helper()
		f, err := fs.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(p); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if err := fs.MkdirAll(filepath.Join(journalRoot, JournalDir)); err != nil {
		t.Fatal(err)
	}
	write(seg, []byte("header--abcXXXXXX"))
	jf := []byte(journalMagic)
	jf = appendJournalRecord(jf, "a/1.seg", 8, []byte("abc"))     // already there
	jf = appendJournalRecord(jf, "a/1.seg", 11, []byte("def"))    // overwrites XXX
	jf = appendJournalRecord(jf, "gone/1.seg", 32, []byte("zzz")) // compacted away
	jf = appendJournalRecord(jf, "a/1.seg", 14, []byte("ghi"))
	torn := appendJournalRecord(nil, "a/1.seg", 17, []byte("never acknowledged"))
	jf = append(jf, torn[:len(torn)-3]...)
	write(filepath.Join(journalRoot, JournalDir, "00000000000000000001.jnl"), jf)
	// A later file that ends in zeros, as a crash can leave.
	jf2 := appendJournalRecord([]byte(journalMagic), "a/1.seg", 17, []byte("jkl"))
	write(filepath.Join(journalRoot, JournalDir, "00000000000000000002.jnl"), append(jf2, make([]byte, 40)...))

	j, rep := mustOpenJournal(t, fs, JournalOptions{})
	want := JournalReplay{Files: 2, Records: 5, Rewrites: 3, Bytes: 9, Missing: 1, Torn: 1}
	if rep != want {
		t.Fatalf("replay %+v, want %+v", rep, want)
	}
	got, err := readWhole(fs, seg)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "header--abcdefghijkl" {
		t.Fatalf("segment after replay %q", got)
	}
	if files := journalFiles(t, fs); len(files) != 1 || files[0] != "00000000000000000003.jnl" {
		t.Fatalf("journal files after replay %v, want only the new generation 3", files)
	}
	j.Close()

	// A gap: the segment ends before the journaled bytes.
	write(filepath.Join(journalRoot, JournalDir, "00000000000000000004.jnl"),
		appendJournalRecord([]byte(journalMagic), "a/1.seg", 40, []byte("far")))
	if _, _, err := OpenJournal(journalRoot, &JournalOptions{FS: fs}); err == nil || !strings.Contains(err.Error(), "a/1.seg ends at 20") {
		t.Fatalf("OpenJournal with a gap: %v", err)
	}
}

// TestJournalFailure checks that a failed journal write fails the logs'
// appends with ErrFailed, and that the journal then keeps its files for
// replay.
func TestJournalFailure(t *testing.T) {
	mem := vfs.NewCrashableMem()
	var failing atomic.Bool
	fs := vfs.NewErrorFS(mem, vfs.InjectorFunc(func(op *vfs.Op) error {
		if failing.Load() && op.Kind == vfs.OpSync && strings.HasSuffix(op.Path, JournalExt) {
			return errors.New("injected journal fsync failure")
		}
		return nil
	}))
	j, _ := mustOpenJournal(t, fs, JournalOptions{})
	l := mustOpenAt(t, journalLogDir(0), Options{FS: fs, Journal: j})
	appendAll(t, l, genRecords(1, 10))
	failing.Store(true)
	if _, err := l.Append(context.Background(), Record{Data: []byte("x")}); !errors.Is(err, ErrFailed) {
		t.Fatalf("Append with a failing journal: %v", err)
	}
	failing.Store(false)
	l.Close()
	if err := j.Close(); !errors.Is(err, ErrFailed) {
		t.Fatalf("Close of a failed journal: %v", err)
	}
	if files := journalFiles(t, mem); len(files) != 1 {
		t.Fatalf("a failed journal left %v, want its file", files)
	}
}

func FuzzJournal(f *testing.F) {
	f.Add(appendJournalRecord([]byte(journalMagic), "a/b.seg", 32, []byte("data")))
	f.Add([]byte(journalMagic + "\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("OCTOJRNL\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var recs []journalRecord
		_, err := parseJournal(data, func(r journalRecord) error {
			if r.off < 0 || !filepath.IsLocal(filepath.FromSlash(r.path)) {
				t.Fatalf("decoded an unsafe record %+v", r)
			}
			recs = append(recs, r)
			return nil
		})
		if err != nil {
			return
		}
		// What decodes re-encodes to a file that decodes the same.
		again := []byte(journalMagic)
		for _, r := range recs {
			again = appendJournalRecord(again, r.path, r.off, r.data)
		}
		var n int
		if _, err := parseJournal(again, func(r journalRecord) error {
			if r.path != recs[n].path || r.off != recs[n].off || string(r.data) != string(recs[n].data) {
				t.Fatalf("record %d: %+v re-decoded as %+v", n, recs[n], r)
			}
			n++
			return nil
		}); err != nil || n != len(recs) {
			t.Fatalf("re-decoding: %d of %d records, %v", n, len(recs), err)
		}
	})
}

// TestJournalReplayManySegments replays records for more segments than
// replay keeps open at once.
func TestJournalReplayManySegments(t *testing.T) {
	fs := vfs.NewCrashableMem()
	jf := []byte(journalMagic)
	const n = replayOpenFiles*2 + 5
	for i := range n {
		name := filepath.Join(journalRoot, fmt.Sprint("w", i), "1.seg")
		if err := fs.MkdirAll(filepath.Dir(name)); err != nil {
			t.Fatal(err)
		}
		f, err := fs.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("head"))
		f.Sync()
		f.Close()
		fs.SyncDir(filepath.Dir(name))
		jf = appendJournalRecord(jf, fmt.Sprint("w", i, "/1.seg"), 4, []byte(fmt.Sprint("data of ", i)))
	}
	// The same segments again, after they were closed.
	for i := range n {
		jf = appendJournalRecord(jf, fmt.Sprint("w", i, "/1.seg"), int64(4+len(fmt.Sprint("data of ", i))), []byte("!"))
	}
	if err := fs.MkdirAll(filepath.Join(journalRoot, JournalDir)); err != nil {
		t.Fatal(err)
	}
	f, err := fs.Create(filepath.Join(journalRoot, JournalDir, "00000000000000000007.jnl"))
	if err != nil {
		t.Fatal(err)
	}
	f.Write(jf)
	f.Sync()
	f.Close()
	fs.SyncDir(filepath.Join(journalRoot, JournalDir))
	j, rep := mustOpenJournal(t, fs, JournalOptions{})
	j.Close()
	if rep.Rewrites != 2*n {
		t.Fatalf("replay %+v, want %d rewrites", rep, 2*n)
	}
	// Durable: a crash right after replay keeps every rewrite.
	crashed := fs.CrashClone(vfs.CrashOptions{})
	for i := range n {
		got, err := readWhole(crashed, filepath.Join(journalRoot, fmt.Sprint("w", i), "1.seg"))
		if want := fmt.Sprint("headdata of ", i, "!"); err != nil || string(got) != want {
			t.Fatalf("segment %d after replay and a crash: %q, %v; want %q", i, got, err, want)
		}
	}
}

// TestJournalHeaderless: a newest journal file whose magic never became
// durable (a crash right after a checkpoint created it) holds nothing
// acknowledged and is skipped; an older file with a bad magic is damage.
func TestJournalHeaderless(t *testing.T) {
	fs := vfs.NewMem()
	dir := filepath.Join(journalRoot, JournalDir)
	if err := fs.MkdirAll(filepath.Join(journalRoot, "a")); err != nil {
		t.Fatal(err)
	}
	if err := fs.MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	write := func(name string, p []byte) {
		t.Helper()
		f, err := fs.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		f.Write(p)
		f.Close()
	}
	seg, err := fs.Create(filepath.Join(journalRoot, "a", "1.seg"))
	if err != nil {
		t.Fatal(err)
	}
	seg.Write([]byte("head"))
	seg.Close()
	write("00000000000000000001.jnl", appendJournalRecord([]byte(journalMagic), "a/1.seg", 4, []byte("data")))
	write("00000000000000000002.jnl", make([]byte, 8+journalRecordHeader))
	j, rep := mustOpenJournal(t, fs, JournalOptions{})
	j.Close()
	if want := (JournalReplay{Files: 2, Records: 1, Rewrites: 1, Bytes: 4, Torn: 1}); rep != want {
		t.Fatalf("replay %+v, want %+v", rep, want)
	}
	if got, err := readWhole(fs, filepath.Join(journalRoot, "a", "1.seg")); err != nil || string(got) != "headdata" {
		t.Fatalf("segment %q, %v", got, err)
	}

	write("00000000000000000005.jnl", []byte("garbage!"))
	write("00000000000000000006.jnl", []byte(journalMagic))
	if _, _, err := OpenJournal(journalRoot, &JournalOptions{FS: fs}); err == nil || !strings.Contains(err.Error(), "bad magic") {
		t.Fatalf("an older journal file with a bad magic: %v", err)
	}
}
