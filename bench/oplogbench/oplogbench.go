// Package oplogbench measures the op-log's append throughput for each
// durability mode, record size and number of concurrent writers, side by
// side with the raw write+fsync speed of the same disk measured in the same
// run (`octobase bench oplog`). The Go benchmarks in package oplog measure
// the same things under `go test -bench`.
package oplogbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"octobase/oplog"
	"octobase/oplog/oplogtest"
)

// Options configure Run. The zero value measures every combination for
// about half a second each in a temporary directory.
type Options struct {
	// Dir is where the logs are written (the disk being measured); "" means
	// a new temporary directory, removed afterwards.
	Dir string
	// Cell is how long each combination runs; 0 means 500 ms.
	Cell time.Duration
	// Sizes, Writers and Modes select the matrix; nil means 64 B, 1 KiB and
	// 16 KiB; 1, 8 and 64 writers; always, interval and none.
	Sizes   []int
	Writers []int
	Modes   []oplog.Durability
}

// Result is one measured combination.
type Result struct {
	Mode       string  `json:"mode"` // "raw" for the baseline
	Size       int     `json:"size"`
	Writers    int     `json:"writers"` // raw: records per fsync
	Appends    int     `json:"appends"`
	PerSecond  float64 `json:"appends_per_s"`
	MBPerS     float64 `json:"mb_per_s"`
	RecsPerSyn float64 `json:"records_per_fsync"`
	VsRaw      float64 `json:"vs_raw"` // this rate ÷ raw write+fsync (batch = writers) of the same size
}

// Run measures and prints a table to w as each row finishes.
func Run(ctx context.Context, opts Options, w io.Writer) ([]Result, error) {
	if opts.Cell <= 0 {
		opts.Cell = 500 * time.Millisecond
	}
	if opts.Sizes == nil {
		opts.Sizes = []int{64, 1 << 10, 16 << 10}
	}
	if opts.Writers == nil {
		opts.Writers = []int{1, 8, 64}
	}
	if opts.Modes == nil {
		opts.Modes = []oplog.Durability{oplog.SyncAlways, oplog.SyncInterval, oplog.SyncNone}
	}
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "octobase-bench-oplog-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	tw := w
	fmt.Fprintf(tw, "%-8s %8s %8s %12s %10s %11s %13s\n", "mode", "size", "writers", "appends/s", "MB/s", "recs/fsync", "vs raw fsync")
	var out []Result
	raw := map[[2]int]float64{} // (size, batch) → appends/s
	for _, size := range opts.Sizes {
		payloads := payloadsOf(size)
		for _, batch := range opts.Writers {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			n, el, err := rawWriteFsync(filepath.Join(dir, "raw"), payloads, batch, opts.Cell)
			if err != nil {
				return out, err
			}
			r := Result{Mode: "raw", Size: size, Writers: batch, Appends: n, PerSecond: float64(n) / el.Seconds(), RecsPerSyn: float64(batch), VsRaw: 1}
			r.MBPerS = r.PerSecond * float64(size) / 1e6
			raw[[2]int{size, batch}] = r.PerSecond
			out = append(out, r)
			row(tw, r)
		}
	}
	for _, mode := range opts.Modes {
		for _, size := range opts.Sizes {
			payloads := payloadsOf(size)
			for _, writers := range opts.Writers {
				if err := ctx.Err(); err != nil {
					return out, err
				}
				r, err := appendCell(ctx, filepath.Join(dir, fmt.Sprintf("log-%s-%d-%d", mode, size, writers)), mode, payloads, writers, opts.Cell)
				if err != nil {
					return out, err
				}
				r.Size = size
				if base := raw[[2]int{size, writers}]; base > 0 {
					r.VsRaw = r.PerSecond / base
				}
				out = append(out, r)
				row(tw, r)
			}
		}
	}
	return out, nil
}

// row prints one result; raw rows' "writers" is records per fsync.
func row(w io.Writer, r Result) {
	fmt.Fprintf(w, "%-8s %6d B %8d %12.0f %10.2f %11.1f %12.2f×\n", r.Mode, r.Size, r.Writers, r.PerSecond, r.MBPerS, r.RecsPerSyn, r.VsRaw)
}

func payloadsOf(size int) [][]byte {
	g := oplogtest.NewUpdateGen(uint64(size))
	p := make([][]byte, 64)
	for i := range p {
		p[i] = g.Fill(size)
	}
	return p
}

// rawWriteFsync writes the payloads with write(2)+fsync(2), batch records
// per fsync, for about d.
func rawWriteFsync(path string, payloads [][]byte, batch int, d time.Duration) (int, time.Duration, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	defer os.Remove(path)
	buf := make([]byte, 0, batch*len(payloads[0]))
	start := time.Now()
	n := 0
	for time.Since(start) < d {
		buf = buf[:0]
		for j := 0; j < batch; j++ {
			buf = append(buf, payloads[(n+j)%len(payloads)]...)
		}
		if _, err := f.Write(buf); err != nil {
			return 0, 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, 0, err
		}
		n += batch
	}
	return n, time.Since(start), nil
}

// appendCell appends from writers goroutines for about d.
func appendCell(ctx context.Context, dir string, mode oplog.Durability, payloads [][]byte, writers int, d time.Duration) (Result, error) {
	l, err := oplog.Open(dir, &oplog.Options{Durability: mode})
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	var count atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	st0 := l.Stats()
	start := time.Now()
	for range writers {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				if _, err := l.Append(ctx, oplog.Record{Origin: "bench", Data: payloads[i%len(payloads)]}); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				count.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	st := l.Stats()
	if err := l.Close(); err != nil && firstErr == nil {
		firstErr = err
	}
	if firstErr != nil {
		return Result{}, firstErr
	}
	n := int(count.Load())
	r := Result{Mode: mode.String(), Writers: writers, Appends: n, PerSecond: float64(n) / elapsed.Seconds()}
	r.MBPerS = r.PerSecond * float64(len(payloads[0])) / 1e6
	if syncs := st.Syncs - st0.Syncs; syncs > 0 {
		r.RecsPerSyn = float64(n) / float64(syncs)
	}
	return r, nil
}
