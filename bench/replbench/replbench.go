// Package replbench measures replication through JetStream
// (`octobase bench replication`): a 3-node cluster of embedded nats-servers
// in this process (R3 stream, sync_interval always), updates applied on node
// A and visible on node C, side by side with raw JetStream async publish
// throughput on the same cluster, measured in the same run.
package replbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/internal/freeport"
	"octobase/oplog"
	"octobase/replication/jetstream"
)

// Options configure Run. The zero value runs the full benchmark in a
// temporary directory.
type Options struct {
	// Dir holds the three nodes' stores and JetStream files; "" means a
	// new temporary directory, removed afterwards.
	Dir string
	// Sizes are the update sizes in bytes; nil means 64 and 1024.
	Sizes []int
	// Updates is how many updates the throughput run applies on A, per
	// size; 0 means 20,000.
	Updates int
	// Raw is how many raw messages are published per size and run (one
	// run before and one after the OctoBase run); 0 means 20,000.
	Raw int
	// Latency is how many single updates are timed per size; 0 means 500.
	Latency int
	// Durability is the nodes' op-log durability; the zero value is
	// oplog.SyncAlways (the command defaults to SyncNone: with one
	// goroutine applying on A, SyncAlways measures A's fsyncs).
	Durability oplog.Durability
	// Progress receives one line per step; nil discards them.
	Progress io.Writer
}

// Result is one size's measurements.
type Result struct {
	Size int `json:"size"`
	// RawMsgsPerS is raw JetStream async publish throughput: the mean of
	// the runs before and after the OctoBase run (RawRuns).
	RawMsgsPerS float64    `json:"raw_msgs_per_s"`
	RawRuns     [2]float64 `json:"raw_runs"`
	// UpdatesPerS is updates applied on A (one goroutine, Apply) per
	// second until the last one is visible on C.
	UpdatesPerS float64 `json:"updates_per_s"`
	// Messages is how many stream messages carried them (batches).
	Messages uint64  `json:"messages"`
	Ratio    float64 `json:"ratio"` // UpdatesPerS / RawMsgsPerS
	// P50 and P99 are the latencies of single updates from Apply on A to
	// their change delivered by a subscription on C.
	P50 time.Duration `json:"p50"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`
}

// Run starts the cluster, measures every size and prints a table to w.
func Run(ctx context.Context, opts Options, w io.Writer) ([]Result, error) {
	if opts.Sizes == nil {
		opts.Sizes = []int{64, 1024}
	}
	if opts.Updates <= 0 {
		opts.Updates = 20_000
	}
	if opts.Raw <= 0 {
		opts.Raw = 20_000
	}
	if opts.Latency <= 0 {
		opts.Latency = 500
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	logf := func(format string, a ...any) { fmt.Fprintf(progress, "bench replication: "+format+"\n", a...) }
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "octobase-bench-repl-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}

	logf("starting a 3-node cluster of embedded nats-servers in %s", dir)
	start := time.Now()
	c, err := startCluster(ctx, dir, opts.Durability)
	if err != nil {
		return nil, err
	}
	defer c.close()
	a, cn := c.nodes[0], c.nodes[2]
	if err := c.warmUp(ctx); err != nil {
		return nil, err
	}
	logf("cluster ready, first update visible on C after %v", time.Since(start).Round(time.Millisecond))

	var out []Result
	for _, size := range opts.Sizes {
		r := Result{Size: size}
		raw := func(i int) error {
			logf("%d B: raw JetStream async publish of %d messages (run %d of 2)", size, opts.Raw, i+1)
			res, err := a.node.MeasureRawPublish(ctx, size, opts.Raw, 0)
			if err != nil {
				return err
			}
			r.RawRuns[i] = res.MsgsPerSec()
			logf("%d B: raw %.0f msgs/s", size, r.RawRuns[i])
			return nil
		}
		if err := raw(0); err != nil {
			return out, err
		}
		logf("%d B: %d updates applied on A until all visible on C", size, opts.Updates)
		ups := mapUpdates(uint64(1000+size), opts.Updates+1, size)
		n, msgs, d, err := c.throughput(ctx, fmt.Sprintf("tput-%d", size), a, cn, ups)
		if err != nil {
			return out, err
		}
		r.UpdatesPerS, r.Messages = float64(n)/d.Seconds(), msgs
		logf("%d B: %.0f updates/s in %d messages", size, r.UpdatesPerS, msgs)
		if err := raw(1); err != nil {
			return out, err
		}
		r.RawMsgsPerS = (r.RawRuns[0] + r.RawRuns[1]) / 2
		r.Ratio = r.UpdatesPerS / r.RawMsgsPerS

		logf("%d B: latency of %d single updates, apply on A → visible on C", size, opts.Latency)
		lat, err := c.latency(ctx, fmt.Sprintf("lat-%d", size), a, cn, mapUpdates(uint64(2000+size), opts.Latency+1, size))
		if err != nil {
			return out, err
		}
		slices.Sort(lat)
		r.P50, r.P99, r.Max = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)], lat[len(lat)-1]
		out = append(out, r)
	}
	printTable(w, opts, out)
	return out, nil
}

func printTable(w io.Writer, opts Options, rs []Result) {
	fmt.Fprintf(w, "replication: 3 embedded nats-servers in one process, R3 stream, sync_interval always; op-log durability %s\n", opts.Durability)
	fmt.Fprintf(w, "%-6s %22s %16s %7s %14s %9s %9s %9s\n", "size", "raw JetStream msgs/s", "OctoBase upd/s", "ratio", "upd/message", "p50", "p99", "max")
	for _, r := range rs {
		per := 0.0
		if r.Messages > 0 {
			per = float64(opts.Updates) / float64(r.Messages)
		}
		fmt.Fprintf(w, "%-6s %22s %16.0f %7.2f %14.1f %9s %9s %9s\n", fmt.Sprintf("%d B", r.Size),
			fmt.Sprintf("%.0f (%.0f, %.0f)", r.RawMsgsPerS, r.RawRuns[0], r.RawRuns[1]), r.UpdatesPerS, r.Ratio, per,
			r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond))
	}
	fmt.Fprintln(w, "raw: async publish on node A's server, own R3 stream, no consumers (mean of the runs before and after)")
	fmt.Fprintln(w, "OctoBase: Apply on A (one goroutine) until the last update is delivered to a subscriber on C;")
	fmt.Fprintln(w, "latency: one update at a time, Apply on A → change delivered on C. target: ratio ≥ 0.50, p99 < 20 ms")
}

// node is one member of the cluster.
type node struct {
	name  string
	store *engine.Store
	node  *jetstream.Node
}

type cluster struct{ nodes []*node }

func startCluster(ctx context.Context, dir string, d oplog.Durability) (*cluster, error) {
	ports, err := freeport.Loopback(3)
	if err != nil {
		return nil, err
	}
	var peers []string
	for _, p := range ports {
		peers = append(peers, "nats://127.0.0.1:"+strconv.Itoa(p))
	}
	c := &cluster{nodes: make([]*node, 3)}
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			name := string(rune('a' + i))
			s, err := engine.Open(filepath.Join(dir, name), &engine.Options{Durability: d})
			if err != nil {
				errs[i] = err
				return
			}
			n, err := jetstream.Start(s, &jetstream.Options{
				NodeName:    name,
				ClusterAddr: "127.0.0.1:" + strconv.Itoa(ports[i]),
				Peers:       peers,
				MaxMemory:   256 << 20,
				MaxStore:    4 << 30,
			})
			if err != nil {
				s.Close()
				errs[i] = err
				return
			}
			c.nodes[i] = &node{name: name, store: s, node: n}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.close()
		return nil, fmt.Errorf("replbench: start cluster: %w", err)
	}
	return c, nil
}

func (c *cluster) close() {
	for _, n := range c.nodes {
		if n != nil {
			n.node.Close()
			n.store.Close()
		}
	}
}

// warmUp waits until the cluster replicates: an update on A visible on C.
func (c *cluster) warmUp(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	_, _, _, err := c.throughput(ctx, "warmup", c.nodes[0], c.nodes[2], mapUpdates(999, 11, 32))
	if err != nil {
		return fmt.Errorf("replbench: the cluster did not replicate: %w", err)
	}
	return nil
}

// throughput applies ups on a in workspace ws and waits until c has
// received them all: it returns how many, how many stream messages a
// published meanwhile, and the time from the first Apply to the last
// change on c.
func (cl *cluster) throughput(ctx context.Context, ws string, a, c *node, ups [][]byte) (int, uint64, time.Duration, error) {
	sub, err := subscribe(ctx, c, ws)
	if err != nil {
		return 0, 0, 0, err
	}
	defer sub.Close()
	wa, err := a.store.Workspace(ctx, ws)
	if err != nil {
		return 0, 0, 0, err
	}
	// The first update is not timed: a new workspace's publisher starts
	// with the node's next workspace scan (up to a second later).
	if err := applyVisible(ctx, wa, ups[0], sub, c.name); err != nil {
		return 0, 0, 0, err
	}
	ups = ups[1:]
	st0, err := a.node.Status(ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	applyErr := make(chan error, 1)
	start := time.Now()
	go func() {
		for _, u := range ups {
			if _, err := wa.Apply(ctx, u, "bench"); err != nil {
				applyErr <- err
				return
			}
		}
		applyErr <- nil
	}()
	got := 0
	timeout := time.NewTimer(2 * time.Minute)
	defer timeout.Stop()
	for got < len(ups) {
		select {
		case ch, ok := <-sub.C:
			if !ok {
				return got, 0, 0, fmt.Errorf("replbench: subscription on %s ended: %v", c.name, sub.Err())
			}
			if strings.HasPrefix(ch.Origin, jetstream.OriginPrefix) {
				got++
			}
		case err := <-applyErr:
			if err != nil {
				return got, 0, 0, err
			}
			applyErr = nil
		case <-timeout.C:
			return got, 0, 0, fmt.Errorf("replbench: %d of %d updates reached %s after 2 minutes", got, len(ups), c.name)
		case <-ctx.Done():
			return got, 0, 0, ctx.Err()
		}
	}
	d := time.Since(start)
	if applyErr != nil {
		if err := <-applyErr; err != nil {
			return got, 0, 0, err
		}
	}
	// Acknowledgements may trail the delivery on C by a moment.
	var msgs uint64
	for range 100 {
		st, err := a.node.Status(ctx)
		if err != nil {
			return got, 0, 0, err
		}
		if st.Published-st0.Published >= uint64(len(ups)) {
			msgs = st.PublishedMsgs - st0.PublishedMsgs
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return got, msgs, d, nil
}

// latency applies ups one at a time on a, each after the previous one
// reached c, and returns each one's time from Apply to delivery on c.
func (cl *cluster) latency(ctx context.Context, ws string, a, c *node, ups [][]byte) ([]time.Duration, error) {
	sub, err := subscribe(ctx, c, ws)
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	wa, err := a.store.Workspace(ctx, ws)
	if err != nil {
		return nil, err
	}
	var out []time.Duration
	for i, u := range ups {
		t0 := time.Now()
		if err := applyVisible(ctx, wa, u, sub, c.name); err != nil {
			return nil, fmt.Errorf("update %d: %w", i, err)
		}
		if i > 0 { // the first one waits for the workspace scan (see throughput)
			out = append(out, time.Since(t0))
		}
	}
	return out, nil
}

// applyVisible applies u on wa and waits until sub (on node c) delivers a
// replicated change.
func applyVisible(ctx context.Context, wa *engine.Workspace, u []byte, sub *engine.Subscription, c string) error {
	if _, err := wa.Apply(ctx, u, "bench"); err != nil {
		return err
	}
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	for {
		select {
		case ch, ok := <-sub.C:
			if !ok {
				return fmt.Errorf("replbench: subscription on %s ended: %v", c, sub.Err())
			}
			if strings.HasPrefix(ch.Origin, jetstream.OriginPrefix) {
				return nil
			}
		case <-timeout.C:
			return fmt.Errorf("replbench: an update did not reach %s within a minute", c)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// subscribe follows workspace ws on n from now on (creating it: the
// consumer then applies into it).
func subscribe(ctx context.Context, n *node, ws string) (*engine.Subscription, error) {
	w, err := n.store.Workspace(ctx, ws)
	if err != nil {
		return nil, err
	}
	return w.Subscribe(ctx, 0)
}

// mapUpdates returns n v1 updates of one document, each setting one of
// 256 keys of a root map to a string of about size bytes (the update is a
// little larger), like edits spread over many blocks. (Appending every
// update to one ever-growing text would measure the CRDT's merging of
// adjacent strings instead, which copies the text on each update.)
func mapUpdates(client uint64, n, size int) [][]byte {
	doc := crdt.MustNewDoc(crdt.Options{ClientID: client})
	out := make([][]byte, 0, n)
	doc.OnUpdate(func(u []byte, _ *crdt.Txn) { out = append(out, append([]byte(nil), u...)) })
	m, err := doc.GetMap("bench")
	if err != nil {
		panic(err)
	}
	value := strings.Repeat("y", max(1, size-24))
	for i := range n {
		doc.Transact(nil, func(tx *crdt.Txn) {
			if err := m.Set(tx, "k"+strconv.Itoa(i%256), value); err != nil {
				panic(err)
			}
		})
	}
	return out
}
