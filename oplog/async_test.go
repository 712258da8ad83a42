package oplog

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"octobase/oplog/vfs"
)

// TestAppendAsync orders appends under a caller's lock with AppendAsync,
// waits outside it, and checks what group commit promises: LSNs in lock
// order, Wait returning only once durable, in LSN order, and records
// (large ones included, whose buffers the caller reuses after Wait) read
// back intact.
func TestAppendAsync(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, Options{Durability: SyncAlways, FrameSize: 4 << 10})
	recs := genRecords(7, 400)
	for i := range recs {
		if i%50 == 0 {
			recs[i].Data = bytes.Repeat([]byte{byte(i)}, 3<<10) // own frame
		}
	}
	var mu sync.Mutex
	next := 0
	var maxDurable LSN
	var dmu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for {
				mu.Lock()
				if next == len(recs) {
					mu.Unlock()
					return
				}
				i := next
				next++
				buf := bytes.Clone(recs[i].Data)
				p, err := l.AppendAsync(Record{Data: buf, Time: recs[i].Time, Origin: recs[i].Origin})
				mu.Unlock()
				if err != nil {
					errs <- err
					return
				}
				if p.LSN() != LSN(i+1) {
					errs <- errors.New("LSN not in lock order")
					return
				}
				lsn, err := p.Wait(context.Background())
				if err != nil || lsn != p.LSN() {
					errs <- errors.Join(err, errors.New("wait"))
					return
				}
				if d := l.Stats().DurableLSN; d < lsn {
					errs <- errors.New("Wait returned before the record was durable")
					return
				}
				dmu.Lock()
				maxDurable = max(maxDurable, lsn)
				dmu.Unlock()
				clear(buf) // the caller may reuse its buffer after Wait
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if maxDurable != LSN(len(recs)) {
		t.Fatalf("last durable %d, want %d", maxDurable, len(recs))
	}
	got := readAll(t, l, 1)
	if len(got) != len(recs) {
		t.Fatalf("read %d records, want %d", len(got), len(recs))
	}
	for i, r := range got {
		if r.LSN != LSN(i+1) || !bytes.Equal(r.Data, recs[i].Data) || r.Origin != recs[i].Origin {
			t.Fatalf("record %d differs", i+1)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendAsync(Record{Data: []byte("x")}); !errors.Is(err, ErrClosed) {
		t.Fatalf("AppendAsync after Close: %v, want ErrClosed", err)
	}
}
