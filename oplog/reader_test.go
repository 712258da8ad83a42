package oplog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"octobase/oplog/vfs"
)

// TestReadersFollowConcurrentWriters runs appenders and tailing readers
// together (run it with -race): each reader must see every record exactly
// once, in LSN order, with the data its appender wrote, across rotations.
func TestReadersFollowConcurrentWriters(t *testing.T) {
	for _, mode := range []Durability{SyncAlways, SyncNone} {
		t.Run(mode.String(), func(t *testing.T) {
			const writers, perWriter = 6, 150
			l := mustOpen(t, vfs.NewMem(), Options{Durability: mode, SegmentSize: 4096, FrameSize: 1024})
			defer l.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			var mu sync.Mutex
			written := map[LSN]string{}
			var rg sync.WaitGroup
			errs := make(chan error, 4)
			for rd := range 3 {
				from := LSN(1 + rd*50) // start some readers mid-stream
				rg.Go(func() {
					next := from
					err := l.Tail(ctx, from, func(rec Record) error {
						if rec.LSN != next {
							return fmt.Errorf("reader %d: got LSN %d, want %d", rd, rec.LSN, next)
						}
						mu.Lock()
						want, ok := written[rec.LSN]
						mu.Unlock()
						// The appender records the LSN after Append returns;
						// the reader may see it first, which is fine.
						if ok && want != string(rec.Data) {
							return fmt.Errorf("reader %d: LSN %d data %q, want %q", rd, rec.LSN, rec.Data, want)
						}
						next++
						if next > writers*perWriter {
							return io.EOF
						}
						return nil
					})
					if err != io.EOF {
						errs <- err
					}
				})
			}
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := range perWriter {
						data := fmt.Sprintf("w%d-%d", w, i)
						var lsn LSN
						var err error
						if i%10 == 0 {
							lsn, err = l.AppendBatch(ctx, []Record{{Data: []byte(data)}})
						} else {
							lsn, err = l.Append(ctx, Record{Origin: "local", Data: []byte(data)})
						}
						if err != nil {
							errs <- err
							return
						}
						if last := l.LastLSN(); last < lsn {
							errs <- fmt.Errorf("acknowledged LSN %d beyond LastLSN %d", lsn, last)
						}
						mu.Lock()
						written[lsn] = data
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			rg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			// Now that all LSNs are known, check contents once more.
			got := readAll(t, l, 0)
			if len(got) != writers*perWriter {
				t.Fatalf("%d records", len(got))
			}
			for _, r := range got {
				if written[r.LSN] != string(r.Data) {
					t.Fatalf("LSN %d: %q, want %q", r.LSN, r.Data, written[r.LSN])
				}
			}
		})
	}
}

func TestReaderBeyondEndWaits(t *testing.T) {
	l := mustOpen(t, vfs.NewMem(), Options{})
	defer l.Close()
	r, err := l.NewReader(3)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("empty log: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := r.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait: %v", err)
	}
	done := make(chan Record)
	go func() {
		rec, err := r.NextWait(context.Background())
		if err != nil {
			t.Error(err)
		}
		done <- rec
	}()
	appendAll(t, l, genRecords(5, 2))
	select {
	case <-done:
		t.Fatal("reader woke for LSN 1 or 2")
	case <-time.After(10 * time.Millisecond):
	}
	recs := genRecords(6, 1)
	appendAll(t, l, recs)
	if rec := <-done; rec.LSN != 3 || string(rec.Data) != string(recs[0].Data) {
		t.Fatalf("got %+v", rec)
	}
}

func TestReaderSeesOnlyAcknowledged(t *testing.T) {
	// A slow fsync holds a batch written but not acknowledged; readers must
	// not see it until the fsync returns.
	release := make(chan struct{})
	var slow sync.Once
	inj := vfs.InjectorFunc(func(op *vfs.Op) error {
		if op.Kind == vfs.OpSync {
			slow.Do(func() { <-release })
		}
		return nil
	})
	fs := vfs.NewErrorFS(vfs.NewMem(), nil)
	l := mustOpen(t, fs, Options{})
	defer l.Close()
	fs.SetInjector(inj)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := l.Append(context.Background(), Record{Data: []byte("slow")}); err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(20 * time.Millisecond)
	if last := l.LastLSN(); last != 0 {
		t.Fatalf("LastLSN %d before the fsync returned", last)
	}
	if got := readAll(t, l, 0); len(got) != 0 {
		t.Fatalf("reader saw %d unacknowledged records", len(got))
	}
	close(release)
	<-done
	if got := readAll(t, l, 0); len(got) != 1 {
		t.Fatalf("reader saw %d records after the ack", len(got))
	}
}
