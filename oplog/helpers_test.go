package oplog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"octobase/oplog/oplogtest"
	"octobase/oplog/vfs"
)

const testDir = "/db"

// fakeClock is a settable clock for Options.Clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testLogger returns a logger writing to t.Log, and a buffer copy for
// assertions.
func testLogger(t testing.TB) (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func mustOpen(t testing.TB, fs vfs.FS, opts Options) *Log {
	t.Helper()
	opts.FS = fs
	l, err := Open(testDir, &opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

// genRecords returns n records from a yjs-like stream.
func genRecords(seed uint64, n int) []Record {
	g := oplogtest.NewUpdateGen(seed)
	recs := make([]Record, n)
	t := int64(1_735_787_045_000_000_000)
	for i := range recs {
		t += g.Tick() + 1
		recs[i] = Record{Time: t, Origin: g.Origin(), Data: g.Next()}
	}
	return recs
}

func appendAll(t testing.TB, l *Log, recs []Record) {
	t.Helper()
	for i := range recs {
		lsn, err := l.Append(context.Background(), recs[i])
		if err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		recs[i].LSN = lsn
	}
}

// readAll reads every visible record from LSN from.
func readAll(t testing.TB, l *Log, from LSN) []Record {
	t.Helper()
	r, err := l.NewReader(from)
	if err != nil {
		t.Fatalf("NewReader(%d): %v", from, err)
	}
	defer r.Close()
	var out []Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Next after %d records: %v", len(out), err)
		}
		out = append(out, rec)
	}
}

func sameRecord(a, b Record) error {
	switch {
	case a.LSN != b.LSN:
		return fmt.Errorf("LSN %d != %d", a.LSN, b.LSN)
	case a.Time != b.Time:
		return fmt.Errorf("LSN %d: time %d != %d", a.LSN, a.Time, b.Time)
	case a.Origin != b.Origin:
		return fmt.Errorf("LSN %d: origin %q != %q", a.LSN, a.Origin, b.Origin)
	case !bytes.Equal(a.Data, b.Data):
		return fmt.Errorf("LSN %d: data %x != %x", a.LSN, a.Data, b.Data)
	}
	return nil
}

func checkRecords(t testing.TB, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if err := sameRecord(got[i], want[i]); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
}

func mustCorrupt(t testing.TB, err error, segment string) *CorruptError {
	t.Helper()
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("want *CorruptError, got %v", err)
	}
	if segment != "" && ce.Segment != segment {
		t.Fatalf("corruption names %s, want %s: %v", ce.Segment, segment, err)
	}
	if !strings.HasPrefix(err.Error(), "oplog: ") {
		t.Fatalf("message lacks the package prefix: %v", err)
	}
	return ce
}

func sortStrings(s []string) { slices.Sort(s) }

var t0ctx = context.Background()
