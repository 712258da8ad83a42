package oplog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"octobase/oplog/oplogtest"
)

// Benchmarks run on the real filesystem: in $OPLOG_BENCH_DIR if set (point
// it at the disk you care about), else in the test's temporary directory.
//
//	go test -run '^$' -bench 'Append|RawWriteFsync|GroupCommitVsRaw' -benchtime 2s ./oplog
func benchDir(b *testing.B) string {
	if d := os.Getenv("OPLOG_BENCH_DIR"); d != "" {
		dir, err := os.MkdirTemp(d, "oplog-bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	return b.TempDir()
}

var benchSizes = []int{64, 1 << 10, 16 << 10}

// benchPayloads returns distinct yjs-like payloads of size bytes.
func benchPayloads(size int) [][]byte {
	g := oplogtest.NewUpdateGen(uint64(size))
	p := make([][]byte, 64)
	for i := range p {
		p[i] = g.Fill(size)
	}
	return p
}

func sizeName(n int) string {
	if n >= 1<<10 {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// BenchmarkAppend measures appends/s and MB/s (of record data) for each
// durability mode, record size and number of concurrent writers. It also
// reports records per fsync (the group commit at work) and bytes written to
// disk per record (after compression and framing).
func BenchmarkAppend(b *testing.B) {
	for _, mode := range []Durability{SyncAlways, SyncInterval, SyncNone} {
		for _, size := range benchSizes {
			for _, writers := range []int{1, 8, 64} {
				b.Run(fmt.Sprintf("%s/%s/w=%d", mode, sizeName(size), writers), func(b *testing.B) {
					benchAppend(b, Options{Durability: mode}, size, writers)
				})
			}
		}
	}
}

func benchAppend(b *testing.B, opts Options, size, writers int) {
	l, err := Open(benchDir(b), &opts)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	payloads := benchPayloads(size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	st0 := l.Stats()
	elapsed := runAppenders(b, l, payloads, b.N, writers)
	st := l.Stats()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
	if syncs := st.Syncs - st0.Syncs; syncs > 0 {
		b.ReportMetric(float64(b.N)/float64(syncs), "recs/fsync")
	}
	b.ReportMetric(float64(st.Bytes-st0.Bytes)/float64(b.N), "disk-B/op")
}

// runAppenders appends n records from writers goroutines and returns the
// time taken (the benchmark timer covers the same span).
func runAppenders(b *testing.B, l *Log, payloads [][]byte, n, writers int) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for range writers {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				if _, err := l.Append(ctx, Record{Origin: "local", Data: payloads[i%int64(len(payloads))]}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	return elapsed
}

// BenchmarkRawWriteFsync is the baseline: the same record bytes written
// with plain write(2)+fsync(2) to a file in the same directory, batch
// records per fsync (batch=1 is a naive log; batch=64 is perfect group
// commit for 64 writers, with no framing, checksums or coordination).
func BenchmarkRawWriteFsync(b *testing.B) {
	for _, size := range benchSizes {
		for _, batch := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/batch=%d", sizeName(size), batch), func(b *testing.B) {
				b.SetBytes(int64(size))
				elapsed := rawWriteFsync(b, benchDir(b), benchPayloads(size), b.N, batch)
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
			})
		}
	}
}

func rawWriteFsync(b *testing.B, dir string, payloads [][]byte, n, batch int) time.Duration {
	f, err := os.OpenFile(filepath.Join(dir, "raw"), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 0, batch*len(payloads[0]))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < n; {
		buf = buf[:0]
		for j := 0; j < batch && i < n; j, i = j+1, i+1 {
			buf = append(buf, payloads[i%len(payloads)]...)
		}
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	return elapsed
}

// BenchmarkGroupCommitVsRaw puts the target side by side: the log in
// SyncAlways mode with 64 concurrent writers against raw write+fsync of the
// same bytes, 64 records per fsync, on the same disk. The two alternate in
// rounds so both see the same disk conditions (a shared disk's fsync latency
// drifts by 2-5x over seconds). It reports both throughputs, their ratio
// ("log/raw"; the target is ≥ 0.5) and the log's records per fsync.
//
// The "none" variants store frames uncompressed, to separate the cost of
// compression (CPU on the appenders and committer) from the rest.
func BenchmarkGroupCommitVsRaw(b *testing.B) {
	for _, comp := range []Compression{CompressionDefault, CompressionNone} {
		for _, size := range benchSizes {
			name := sizeName(size)
			if comp == CompressionNone {
				name += "/none"
			}
			b.Run(name, func(b *testing.B) { benchVsRaw(b, size, comp) })
		}
	}
}

func benchVsRaw(b *testing.B, size int, comp Compression) {
	dir := benchDir(b)
	payloads := benchPayloads(size)
	l, err := Open(filepath.Join(dir, "log"), &Options{Compression: comp})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	const rounds = 8
	n := max(b.N/rounds, 256)
	st0 := l.Stats()
	var raw, logged time.Duration
	for range rounds {
		raw += rawWriteFsync(b, dir, payloads, n, 64)
		logged += runAppenders(b, l, payloads, n, 64)
	}
	st := l.Stats()
	total := float64(n * rounds)
	b.ReportMetric(total/float64(st.Syncs-st0.Syncs), "recs/fsync")
	rawRate, logRate := total/raw.Seconds(), total/logged.Seconds()
	b.ReportMetric(rawRate, "raw-appends/s")
	b.ReportMetric(logRate, "log-appends/s")
	b.ReportMetric(logRate/rawRate, "log/raw")
}
