package engine

import (
	"sync"
	"testing"
	"time"

	"octobase/oplog"
)

// settableClock is a clock tests move by hand (also backwards).
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *settableClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func TestLSNAtAndReadAtTime(t *testing.T) {
	clk := &settableClock{}
	opts := testOptions(nil)
	opts.Clock = clk.Now
	opts.SnapshotRecords = 3
	s := openStore(t, opts)
	w := workspace(t, s, "ws")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return base.Add(time.Duration(sec) * time.Second) }

	if lsn, err := w.LSNAt(bg, at(100)); err != nil || lsn != 0 {
		t.Fatalf("empty log: LSNAt = %d, %v", lsn, err)
	}
	// Records at t = 10, 20, 20, 30, then the clock goes back to 15: that
	// record is logged at 30 (clamped), so times stay sorted.
	var lsns []oplog.LSN
	for i, sec := range []int{10, 20, 20, 30, 15, 40} {
		clk.set(at(sec))
		lsns = append(lsns, transact(t, w, func(b *Blocks) error { return b.SetMeta("step", i) }))
	}
	recs := logRecords(t, w)
	for i := 1; i < len(recs); i++ {
		if recs[i].Time < recs[i-1].Time {
			t.Fatalf("record %d logged at %d, before record %d at %d", recs[i].LSN, recs[i].Time, recs[i-1].LSN, recs[i-1].Time)
		}
	}
	if got := time.Unix(0, recs[4].Time); !got.Equal(at(30)) {
		t.Fatalf("record logged with a clock gone back: time %v, want the previous record's %v", got, at(30))
	}
	check := func() {
		t.Helper()
		for _, c := range []struct {
			sec  int
			want oplog.LSN
		}{{5, 0}, {10, lsns[0]}, {19, lsns[0]}, {20, lsns[2]}, {29, lsns[2]}, {30, lsns[4]}, {35, lsns[4]}, {40, lsns[5]}, {1000, lsns[5]}} {
			got, err := w.LSNAt(bg, at(c.sec))
			if err != nil || got != c.want {
				t.Fatalf("LSNAt(t=%d) = %d, %v; want %d", c.sec, got, err, c.want)
			}
		}
		v, err := w.ReadAtTime(bg, at(25))
		if err != nil {
			t.Fatal(err)
		}
		if v.LSN() != lsns[2] || v.Meta()["step"] != float64(2) {
			t.Fatalf("ReadAtTime(t=25): LSN %d, meta %v", v.LSN(), v.Meta())
		}
	}
	check()
	// After a restart (the last record's time is read back from the log,
	// so the clamp still holds for the next record).
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, opts)
	w = workspace(t, s, "ws")
	check()
	clk.set(at(1))
	lsn := transact(t, w, func(b *Blocks) error { return b.SetMeta("late", true) })
	recs = logRecords(t, w)
	if got := recs[len(recs)-1]; got.LSN != lsn || got.Time != at(40).UnixNano() {
		t.Fatalf("first record after reopen with the clock back: LSN %d time %v", got.LSN, time.Unix(0, got.Time))
	}
}
