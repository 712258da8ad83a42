// Package serverbench measures the sync server (package server) under many
// WebSocket clients on loopback (`octobase bench server`): updates/s, p50 and
// p99 propagation latency, server CPU per update per subscriber, and memory
// per connection, next to the published y/hub anchor and, measured in the
// same run, the y-websocket reference server.
//
// # How it runs
//
// Every cell (a scenario and a number of clients) gets a fresh server in a
// child process (ServeChild: the same executable re-run with an environment
// variable) with a fresh store in a temporary directory, so that the
// server's CPU time and memory are its own, read by the child itself
// (getrusage(RUSAGE_SELF), VmRSS). The clients run in this process, as
// goroutines speaking y-protocols over github.com/coder/websocket:
//
//  0. WriteFloor measures what one loopback write(2) costs here, over as
//     many connections as the cell has: the server makes one per delivery unless
//     several updates are queued for a connection (then it merges them into one).
//     In a closed loop the writes follow each other; at a rate they come in
//     rounds an update interval apart, each waking idle readers. WakeCost
//     measures, once, what waking a sleeping thread costs, and each row
//     counts the server's context switches per update (cs/upd).
//  1. The child starts; its memory is sampled (after a GC).
//  2. All clients connect and sync (SyncStep1 both ways, as y-websocket
//     does); the memory is sampled again: (idle − empty) ÷ clients is the
//     memory per connection.
//  3. Writers append markers (writer, sequence number, send time) to a
//     Y.Text of their own crdt.Doc and send each transaction's update, for
//     Options.Warmup and then Options.Duration, each with at most
//     Options.Window edits in flight — an edit is complete when every client
//     of its workspace, the writer included, received it — or at
//     Options.Rate. Observers decode nothing but the markers. The server's
//     CPU time from the end of the warm-up to the last completion, divided by
//     the deliveries (edits completed in that time × clients of their
//     workspace), is the
//     CPU per update per subscriber; it includes applying and logging each
//     update, so with small rooms it is more than the fan-out alone.
//  4. Every client checks that it received every edit of its workspace once
//     and in order; a missing edit fails the cell.
//
// With Options.Reference, every cell then runs again, with fresh clients,
// against the y-websocket server (@y/websocket-server's connection handler
// under Node.js, documents in memory: reference.go and refserver.cjs),
// which answers the same child protocol; its row follows ours, and ours
// gets the ratios ×ref. Its CPU is process.cpuUsage() (all threads, as
// getrusage) and its memory the process's RSS.
//
// Scenarios: "one" puts all clients in one workspace, Options.Writers of
// them writing; "many" spreads them over Options.Workspaces workspaces
// (default clients ÷ 10) with Options.RoomWriters writers each.
//
// Clients and server share the machine: on a small one the clients' CPU
// limits updates/s and inflates latency, while the server's CPU per update
// per subscriber stays the server's own.
package serverbench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"octobase/oplog"
)

// The anchor: y/hub's published figures (on a laptop), and the target,
// at most half of each.
const (
	AnchorCPUPerDelivery = 14 * time.Microsecond
	AnchorBytesPerConn   = 300e6 / 1500 // 300 MB for 1,500 idle connections
	Target               = 0.5
)

// floorMsgSize is about the size of an edit as the server sends it: a
// WebSocket header, [0,2,len] and a v1 update carrying one marker.
const floorMsgSize = 64

// Scenarios.
const (
	OneWorkspace   = "one"
	ManyWorkspaces = "many"
)

// Options configure Run. The zero value runs both scenarios for 100, 1,000
// and 5,000 clients, 10 s each.
type Options struct {
	// Clients are the client counts to measure; nil means 100, 1,000, 5,000.
	Clients []int
	// Scenarios to run, OneWorkspace and/or ManyWorkspaces; nil means both.
	Scenarios []string
	// Writers is how many clients write in the one-workspace scenario;
	// zero means 10 (capped at the client count).
	Writers int
	// Workspaces is the number of workspaces of the many-workspace
	// scenario; zero means clients ÷ 10 (at least 1). RoomWriters is how
	// many clients of each write; zero means 1.
	Workspaces  int
	RoomWriters int
	// Duration is how long writers send in each cell after the warm-up;
	// zero means 10 s.
	Duration time.Duration
	// Warmup is how long writers send before the measurement starts: the
	// first edits of a fresh workspace and the settling of the setup's
	// garbage are not what a delivery costs. The figures (CPU, updates,
	// latencies) cover the edits sent after it. Zero means 1 s; negative
	// means none.
	Warmup time.Duration
	// Rate, if positive, is the total edits/s of a cell, spread evenly over
	// its writers; zero means as fast as the window allows.
	Rate float64
	// Window is how many of a writer's edits may be in flight (sent, not
	// yet received by everyone); zero means 8. Keep Window × writers per
	// workspace below the server's send queue (server.DefaultSendQueue).
	Window int
	// Durability of the server's store; zero means oplog.SyncAlways.
	Durability oplog.Durability
	// GroupSync shares the fsyncs of the server's op-logs across
	// workspaces (engine.Options.GroupSync).
	GroupSync bool
	// Journal makes the server's op-logs commit through the store's
	// journal (engine.Options.Journal).
	Journal bool
	// Dir holds the servers' stores; "" means a new temporary directory.
	Dir string
	// ProfileDir, if set, receives a heap profile of the server with every
	// client connected, server-<scenario>-<clients>.heap.pprof, a CPU
	// profile over the edit phase, server-<scenario>-<clients>.pprof, and a
	// heap profile after it, server-<scenario>-<clients>.after.heap.pprof
	// (its alloc_space minus the first's is what the warm-up and the edit
	// phase allocated).
	ProfileDir string
	// ChildArgs are the arguments with which os.Executable() is started as
	// the server; that program must call ServeChild before anything else.
	ChildArgs []string
	// Reference, RefYWebsocket, runs every cell a second time against the
	// y-websocket server under Node.js (reference.go) and prints its row
	// under ours, with the ratio of ours to it (×ref); RefAuto does so if
	// Node.js and @y/websocket-server are found and says why not
	// otherwise; "" or RefNone runs no reference.
	Reference string
	// NodeModules is the node_modules directory that holds
	// @y/websocket-server; "" means the nearest one at or above the working
	// directory or the executable.
	NodeModules string
	// Repeat runs every cell this many times (ours and the reference in
	// turn, so that a change in the machine's load weighs on both) and
	// reports, for each server, the run of median CPU per delivery; 0
	// means 1. On a shared machine single runs vary by ±30 %.
	Repeat int
	// Progress receives progress lines; nil discards them.
	Progress io.Writer
}

// Result is one measured cell.
type Result struct {
	Server     string `json:"server"` // ServerOctoBase or ServerYWebsocket
	Scenario   string `json:"scenario"`
	Clients    int    `json:"clients"`
	Workspaces int    `json:"workspaces"`
	Writers    int    `json:"writers"`

	Updates       int64         `json:"updates"`    // edits applied and received by every client of their workspace
	Deliveries    int64         `json:"deliveries"` // edit receipts, senders' echoes included
	Elapsed       time.Duration `json:"elapsed_ns"` // end of the warm-up to last completion
	UpdatesPerSec float64       `json:"updates_per_s"`
	P50           time.Duration `json:"p50_ns"` // send → receipt by another client, of edits sent after the warm-up
	P99           time.Duration `json:"p99_ns"`

	ServerCPU         time.Duration `json:"server_cpu_ns"`       // over the edit phase after the warm-up
	CPUPerDelivery    time.Duration `json:"cpu_per_delivery_ns"` // ServerCPU ÷ Deliveries
	ClientCPU         time.Duration `json:"client_cpu_ns"`       // this process, same phase
	RSSPerConn        float64       `json:"rss_per_conn"`        // bytes, idle
	GoMemPerConn      float64       `json:"go_mem_per_conn"`     // heap + stacks after GC, bytes
	GoroutinesPerConn float64       `json:"goroutines_per_conn"`
	IdleRSS           int64         `json:"idle_rss"`       // the server's RSS with every client connected
	WriteFloor        time.Duration `json:"write_floor_ns"` // WriteFloor(clients, …) measured before the cell
	// Switches is how many times the server's threads were switched out
	// (voluntarily or not) over the edit phase: under a light load, every
	// update wakes idle threads, and Run's WakeCost says what each costs.
	Switches int64 `json:"switches"`
	// Fsyncs is how many fsyncs (or shared rounds) the store made over the
	// edit phase, and FsyncFloor what one costs here (FsyncFloor, measured
	// once per run on the stores' filesystem; 0 with durability none).
	Fsyncs     int64         `json:"fsyncs"`
	FsyncFloor time.Duration `json:"fsync_floor_ns"`
	// Messages is how many WebSocket messages the server sent over the
	// edit phase (ours only): below Deliveries when updates were merged.
	Messages int64 `json:"messages"`
	// Floor is the least CPU per delivery of a server making the same
	// system calls on this machine: a write(2) per delivery and its share
	// of the fsyncs, WriteFloor + FsyncFloor × Fsyncs ÷ Deliveries.
	Floor time.Duration `json:"floor_ns"`

	// CPUVsRef and RSSVsRef are ours ÷ the reference's CPU per delivery
	// and RSS per connection in the same cell (0: no reference ran).
	CPUVsRef float64 `json:"cpu_vs_reference,omitempty"`
	RSSVsRef float64 `json:"rss_vs_reference,omitempty"`

	// Runs is how many times the cell ran (Options.Repeat); this Result is
	// the run of median CPU per delivery, and CPUMin and CPUMax are the
	// lowest and highest CPU per delivery of all the runs.
	Runs   int           `json:"runs"`
	CPUMin time.Duration `json:"cpu_per_delivery_min_ns"`
	CPUMax time.Duration `json:"cpu_per_delivery_max_ns"`

	Missing    int64  `json:"missing,omitempty"`
	Duplicates int64  `json:"duplicates,omitempty"`
	Skipped    string `json:"skipped,omitempty"` // why the cell did not run
}

// Run measures every cell and prints the table to w, a row per cell as it
// finishes. A cell that cannot run (too few file descriptors) is reported
// as skipped; a cell whose clients lose edits is an error.
func Run(ctx context.Context, opts Options, w io.Writer) ([]Result, error) {
	if opts.Clients == nil {
		opts.Clients = []int{100, 1000, 5000}
	}
	if opts.Scenarios == nil {
		opts.Scenarios = []string{OneWorkspace, ManyWorkspaces}
	}
	for _, s := range opts.Scenarios {
		if s != OneWorkspace && s != ManyWorkspaces {
			return nil, fmt.Errorf("serverbench: unknown scenario %q (one, many)", s)
		}
	}
	for _, n := range opts.Clients {
		if n < 1 {
			return nil, fmt.Errorf("serverbench: client count %d", n)
		}
	}
	opts.Writers = cmp.Or(opts.Writers, 10)
	opts.RoomWriters = cmp.Or(opts.RoomWriters, 1)
	opts.Duration = cmp.Or(opts.Duration, 10*time.Second)
	opts.Warmup = max(cmp.Or(opts.Warmup, time.Second), 0)
	opts.Window = cmp.Or(opts.Window, 8)
	opts.Repeat = max(opts.Repeat, 1)
	if opts.ProfileDir != "" {
		// Made here, before any cell runs, so a bad path fails at once.
		if err := os.MkdirAll(opts.ProfileDir, 0o755); err != nil {
			return nil, fmt.Errorf("serverbench: profile directory: %w", err)
		}
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if opts.Dir == "" {
		d, err := os.MkdirTemp("", "octobase-bench-server-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		opts.Dir = d
	}
	var fsyncFloor time.Duration
	if opts.Durability != oplog.SyncNone {
		if f, err := FsyncFloor(opts.Dir, 200, 128); err == nil {
			fsyncFloor = f
			fmt.Fprintf(opts.Progress, "bench server: fsync floor: %.1f µs of CPU per fsync of a small append into reserved space, as the op-log makes, in %s\n", float64(f)/1e3, opts.Dir)
		} else {
			fmt.Fprintf(opts.Progress, "bench server: fsync floor not measured: %v\n", err)
		}
	}

	wake, werr := WakeCost(2000)
	if werr == nil {
		fmt.Fprintf(opts.Progress, "bench server: a thread wake-up costs %.1f µs of CPU here\n", float64(wake)/1e3)
	}

	var ref *reference
	switch opts.Reference {
	case "", RefNone:
	case RefYWebsocket, RefAuto:
		var err error
		if ref, err = findReference(opts.NodeModules); err != nil {
			if opts.Reference == RefYWebsocket {
				return nil, fmt.Errorf("serverbench: the y-websocket reference: %w", err)
			}
			fmt.Fprintf(w, "reference: not run: %v\n", err)
		}
	default:
		return nil, fmt.Errorf("serverbench: unknown reference %q (%s, %s, %s)", opts.Reference, RefYWebsocket, RefAuto, RefNone)
	}
	if ref != nil {
		fmt.Fprintf(w, "reference: %s (in memory, no persistence), the same clients, after each of our cells\n", ref)
	}

	fmt.Fprintf(w, "%-11s %-5s %7s %6s %7s %10s %8s %8s %14s %8s %8s %8s %7s %6s %11s %8s %7s %10s\n",
		"server", "ws", "clients", "spaces", "writers", "updates/s", "p50 ms", "p99 ms", "µs CPU/upd/sub", "×anchor", "floor µs", "×floor", "×ref", "cs/upd",
		"KB RSS/conn", "×anchor", "×ref", "Go KB/conn")
	var out []Result
	for _, sc := range opts.Scenarios {
		for _, n := range opts.Clients {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			var ours, refs []Result
			for i := range opts.Repeat {
				if opts.Repeat > 1 {
					fmt.Fprintf(opts.Progress, "bench server: %s, %d clients: run %d of %d\n", sc, n, i+1, opts.Repeat)
				}
				r, err := runCell(ctx, opts, sc, n, nil)
				if err != nil {
					return out, fmt.Errorf("serverbench: %s, %d clients: %w", sc, n, err)
				}
				r.FsyncFloor = fsyncFloor
				if r.WriteFloor > 0 && r.Deliveries > 0 {
					r.Floor = r.WriteFloor + time.Duration(float64(fsyncFloor)*float64(r.Fsyncs)/float64(r.Deliveries))
				}
				if r.Skipped != "" { // the cell cannot run here (descriptor limits)
					ours, refs = []Result{r}, nil
					break
				}
				ours = append(ours, r)
				if ref == nil {
					continue
				}
				rr, err := runCell(ctx, opts, sc, n, ref)
				if err != nil {
					return out, fmt.Errorf("serverbench: the reference, %s, %d clients: %w", sc, n, err)
				}
				rr.WriteFloor, rr.Floor = r.WriteFloor, r.WriteFloor // it never fsyncs
				refs = append(refs, rr)
			}
			r := median(ours)
			if refs == nil {
				out = append(out, r)
				printRow(w, r)
				continue
			}
			rr := median(refs)
			if rr.CPUPerDelivery > 0 {
				r.CPUVsRef = float64(r.CPUPerDelivery) / float64(rr.CPUPerDelivery)
			}
			if rr.RSSPerConn > 0 {
				r.RSSVsRef = r.RSSPerConn / rr.RSSPerConn
			}
			out = append(out, r, rr)
			printRow(w, r)
			printRow(w, rr)
		}
	}
	fmt.Fprintf(w, "anchor (y/hub, published, a laptop): %.0f µs CPU per update per observer; 300 MB for 1,500 idle connections = %.0f KB each. Target: ×anchor ≤ %.1f.\n",
		float64(AnchorCPUPerDelivery)/1e3, AnchorBytesPerConn/1e3, Target)
	if opts.Repeat > 1 {
		fmt.Fprintf(w, "each row: the median of %d runs by CPU per delivery (ours and the reference's in turn); their range:\n", opts.Repeat)
		for _, r := range out {
			if r.Skipped == "" {
				fmt.Fprintf(w, "  %-11s %-5s %7d  %.2f–%.2f µs CPU/upd/sub (%.2f–%.2f× the anchor)\n", r.Server, r.Scenario, r.Clients,
					float64(r.CPUMin)/1e3, float64(r.CPUMax)/1e3, float64(r.CPUMin)/float64(AnchorCPUPerDelivery), float64(r.CPUMax)/float64(AnchorCPUPerDelivery))
			}
		}
	}
	if ref != nil {
		fmt.Fprintf(w, "×ref: ours ÷ the reference's figure in the same cell (the reference keeps documents in memory only; ours logs every update with the -durability given).\n")
	}
	fmt.Fprintf(w, "floor: the least CPU per delivery on this machine of the system calls the server made: one write(2) of a %d-byte message to a loopback TCP socket, spread over as many connections (the server makes one per delivery, or one per batch of queued updates it merges) — back to back in a closed loop, one broadcast per update interval at a -rate —, plus its fsyncs' share (the CPU of one fsync of a small append into reserved space, as the op-log makes, times fsyncs per delivery).\n", floorMsgSize)
	if werr == nil {
		fmt.Fprintf(w, "cs/upd: the server's context switches per update; each wake-up of a sleeping thread costs %.1f µs of CPU on this machine (WakeCost), which weighs cs/upd × that ÷ subscribers per delivery.\n", float64(wake)/1e3)
	}
	return out, nil
}

// median returns the run of rs (one cell's runs, at least one) with the
// median CPU per delivery (the lower middle one for an even count), with
// Runs, CPUMin and CPUMax set from all of them.
func median(rs []Result) Result {
	s := slices.Clone(rs)
	slices.SortStableFunc(s, func(a, b Result) int { return cmp.Compare(a.CPUPerDelivery, b.CPUPerDelivery) })
	m := s[(len(s)-1)/2]
	m.Runs, m.CPUMin, m.CPUMax = len(s), s[0].CPUPerDelivery, s[len(s)-1].CPUPerDelivery
	return m
}

func printRow(w io.Writer, r Result) {
	if r.Skipped != "" {
		fmt.Fprintf(w, "%-11s %-5s %7d skipped: %s\n", r.Server, r.Scenario, r.Clients, r.Skipped)
		return
	}
	ratio := func(x float64) string {
		if x <= 0 {
			return "—"
		}
		return fmt.Sprintf("%.2f×", x)
	}
	floor, vsFloor := "n/a", "n/a"
	if r.Floor > 0 {
		floor = fmt.Sprintf("%.2f", float64(r.Floor)/1e3)
		vsFloor = ratio(float64(r.CPUPerDelivery) / float64(r.Floor))
	}
	goMem := fmt.Sprintf("%.1f", r.GoMemPerConn/1e3)
	if r.Server != ServerOctoBase {
		goMem = "—" // the reference's V8 heap is not Go memory
	}
	switches := "n/a"
	if r.Updates > 0 && r.Switches > 0 {
		switches = fmt.Sprintf("%.1f", float64(r.Switches)/float64(r.Updates))
	}
	fmt.Fprintf(w, "%-11s %-5s %7d %6d %7d %10.0f %8.2f %8.2f %14.2f %7.2f× %8s %8s %7s %6s %11.1f %7.2f× %7s %10s\n",
		r.Server, r.Scenario, r.Clients, r.Workspaces, r.Writers, r.UpdatesPerSec,
		float64(r.P50)/1e6, float64(r.P99)/1e6,
		float64(r.CPUPerDelivery)/1e3, float64(r.CPUPerDelivery)/float64(AnchorCPUPerDelivery), floor, vsFloor, ratio(r.CPUVsRef), switches,
		r.RSSPerConn/1e3, r.RSSPerConn/AnchorBytesPerConn, ratio(r.RSSVsRef), goMem)
}

// run is the state of one cell shared by its clients.
type run struct {
	epoch   time.Time
	closing atomic.Bool // set before the clients are closed on purpose
	// measured is the run time (now) from which sent edits are measured:
	// the end of the warm-up. Set before any edit is sent.
	measured atomic.Int64
}

// now is the run's clock: ns since its epoch (monotonic).
func (r *run) now() int64 { return int64(time.Since(r.epoch)) }

// layout builds the rooms of a cell (clients not yet connected).
func layout(r *run, opts Options, scenario string, n int) ([]*room, error) {
	spaces, writersPer := 1, min(opts.Writers, n)
	if scenario == ManyWorkspaces {
		spaces = opts.Workspaces
		if spaces == 0 {
			spaces = max(1, n/10)
		}
		spaces = min(spaces, n)
		writersPer = opts.RoomWriters
	}
	rooms := make([]*room, spaces)
	for i := range rooms {
		rooms[i] = &room{name: fmt.Sprintf("bench-%s-%d-%d", scenario, n, i)}
	}
	for i := range n {
		rm := rooms[i%spaces]
		rm.clients = append(rm.clients, &client{r: r, room: rm, synced: make(chan struct{}), done: make(chan struct{})})
	}
	var clientID uint64 = 1 << 40 // far from the engine's random 32-bit ids
	for _, rm := range rooms {
		for i := 0; i < min(writersPer, len(rm.clients)); i++ {
			c := rm.clients[i]
			clientID++
			w, err := newWriter(c, i, clientID, opts.Window)
			if err != nil {
				return nil, err
			}
			c.writer = w
			rm.writers = append(rm.writers, w)
		}
	}
	return rooms, nil
}

// runCell measures one scenario with n clients against a fresh server: ours
// in a child process, or the reference if ref is not nil.
func runCell(ctx context.Context, opts Options, scenario string, n int, ref *reference) (Result, error) {
	res := Result{Server: ServerOctoBase, Scenario: scenario, Clients: n}
	if ref != nil {
		res.Server = ServerYWebsocket
	}
	r := &run{epoch: time.Now()}
	rooms, err := layout(r, opts, scenario, n)
	if err != nil {
		return res, err
	}
	res.Workspaces = len(rooms)
	for _, rm := range rooms {
		res.Writers += len(rm.writers)
	}
	// Descriptors: a socket per client on each side, plus the server's
	// op-log files (a few per workspace) and slack.
	needSelf := uint64(2*n + 256) // WriteFloor holds both ends of n sockets
	needChild := uint64(n + 8*len(rooms) + 256)
	if _, err := raiseFileLimit(max(needSelf, needChild)); err != nil {
		res.Skipped = err.Error()
		return res, nil
	}
	prog := func(format string, args ...any) {
		fmt.Fprintf(opts.Progress, "bench server: %s, %s, %d clients: %s\n", res.Server, scenario, n, fmt.Sprintf(format, args...))
	}

	if ref == nil {
		// Closed loop: broadcasts back to back. At a rate: one broadcast
		// per update interval (at most 100 ms apart), readers idle between.
		rounds, pause := max(50_000/n, 10), time.Duration(0)
		if opts.Rate > 0 {
			pause = min(max(time.Duration(float64(time.Second)/opts.Rate), time.Millisecond), 100*time.Millisecond)
			rounds = min(max(20_000/n, 10), 30)
		}
		if floor, err := WriteFloor(n, rounds, floorMsgSize, pause); err == nil {
			res.WriteFloor = floor
			prog("floor: %.2f µs per write(2)", float64(floor)/1e3)
		} else {
			prog("floor not measured: %v", err)
		}
	}

	dir, err := os.MkdirTemp(opts.Dir, "store-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	var ch *child
	if ref == nil {
		ch, err = startChild(ctx, opts.ChildArgs, childConfig{Dir: dir, Durability: uint8(opts.Durability), GroupSync: opts.GroupSync, Journal: opts.Journal, MinFiles: needChild}, os.Stderr)
	} else {
		ch, err = ref.start(ctx, dir, os.Stderr)
	}
	if err != nil {
		return res, err
	}
	defer ch.stop()
	empty, err := ch.stats(ctx)
	if err != nil {
		return res, err
	}

	// Connect, at most 32 handshakes at a time.
	var all []*client
	for _, rm := range rooms {
		all = append(all, rm.clients...)
	}
	defer func() {
		r.closing.Store(true)
		for _, c := range all {
			if c.ws != nil {
				c.ws.CloseNow()
			}
		}
		for _, c := range all {
			if c.ws != nil {
				<-c.done
			}
		}
	}()
	if err := connectAll(ctx, all, "ws://"+ch.addr+"/sync/", prog); err != nil {
		return res, err
	}
	time.Sleep(500 * time.Millisecond) // let handshake garbage and buffers settle
	idle, err := ch.stats(ctx)
	if err != nil {
		return res, err
	}
	res.IdleRSS = idle.RSS
	res.RSSPerConn = float64(idle.RSS-empty.RSS) / float64(n)
	res.GoMemPerConn = float64(idle.GoMem-empty.GoMem) / float64(n)
	res.GoroutinesPerConn = float64(idle.Goroutines-empty.Goroutines) / float64(n)
	prog("connected; server RSS %.1f MB (%.1f KB/conn), %.1f goroutines/conn",
		float64(idle.RSS)/1e6, res.RSSPerConn/1e3, res.GoroutinesPerConn)

	// Edit.
	profile := opts.ProfileDir != "" && ref == nil
	if profile {
		if err := ch.okCommand(ctx, "heap "+filepath.Join(opts.ProfileDir, fmt.Sprintf("server-%s-%d.heap.pprof", scenario, n))); err != nil {
			return res, err
		}
	}
	var interval time.Duration
	if opts.Rate > 0 {
		interval = time.Duration(float64(res.Writers) / opts.Rate * float64(time.Second))
	}
	r.measured.Store(r.now() + int64(opts.Warmup))
	// stop ends the sending Duration after the measurement started, drain
	// the wait for the edits in flight a minute later.
	stop, cancelStop := context.WithCancel(ctx)
	defer cancelStop()
	drain, cancelDrain := context.WithCancel(ctx)
	defer cancelDrain()
	// At a rate, the writers' ticks are spread evenly over the interval:
	// the cell's edits come one by one, as from people typing
	// independently, not in bursts of one per writer.
	var wg sync.WaitGroup
	k := 0
	for _, rm := range rooms {
		for _, w := range rm.writers {
			phase := interval * time.Duration(k) / time.Duration(res.Writers)
			k++
			wg.Go(func() { w.run(stop, drain, phase, interval) })
		}
	}
	if opts.Warmup > 0 {
		prog("warming up for %v", opts.Warmup)
		select {
		case <-time.After(time.Duration(r.measured.Load() - r.now())):
		case <-ctx.Done():
		}
	}
	// The measurement starts when the server has sampled its CPU time (a
	// busy single-threaded server answers late): what completes from then
	// on counts (an edit in flight at the mark counts whole, like the ones
	// draining at the end), and the writers send for Duration more.
	cpu0, err := ch.stats(ctx)
	if err != nil {
		return res, err
	}
	clientCPU0 := selfCPU()
	t0 := r.now()
	r.measured.Store(max(r.measured.Load(), t0))
	done0 := make(map[*writer]int64)
	for _, rm := range rooms {
		for _, w := range rm.writers {
			done0[w] = w.completed.Load()
		}
	}
	if profile {
		if err := ch.profile(ctx, filepath.Join(opts.ProfileDir, fmt.Sprintf("server-%s-%d.pprof", scenario, n))); err != nil {
			return res, err
		}
	}
	prog("editing for %v (%d writers)", opts.Duration, res.Writers)
	select {
	case <-time.After(opts.Duration):
	case <-ctx.Done():
	}
	cancelStop()
	drainTimer := time.AfterFunc(time.Minute, cancelDrain)
	defer drainTimer.Stop()
	wg.Wait()
	cpu1, err := ch.stats(ctx)
	if err != nil {
		return res, err
	}
	res.ClientCPU = selfCPU() - clientCPU0
	if profile {
		if err := ch.profile(ctx, ""); err != nil {
			return res, err
		}
		// Allocations of the edit phase: this profile's alloc_space minus
		// the first one's (go tool pprof -sample_index=alloc_space
		// -diff_base FIRST SECOND).
		if err := ch.okCommand(ctx, "heap "+filepath.Join(opts.ProfileDir, fmt.Sprintf("server-%s-%d.after.heap.pprof", scenario, n))); err != nil {
			return res, err
		}
	}
	res.ServerCPU = cpu1.CPU - cpu0.CPU
	res.Switches = cpu1.Switches - cpu0.Switches
	res.Fsyncs = cpu1.Fsyncs - cpu0.Fsyncs
	res.Messages = cpu1.Messages - cpu0.Messages
	t1 := t0
	var werrs []error
	for _, rm := range rooms {
		for _, w := range rm.writers {
			done := w.completed.Load() - done0[w]
			res.Updates += done
			res.Deliveries += done * int64(len(rm.clients))
			t1 = max(t1, w.lastDone.Load())
			if w.err != nil {
				werrs = append(werrs, fmt.Errorf("writer %d of %s: %w", w.idx, rm.name, w.err))
			}
		}
	}
	res.Elapsed = time.Duration(t1 - t0)

	// Close the clients and check what each received.
	r.closing.Store(true)
	for _, c := range all {
		c.ws.CloseNow()
	}
	var lat []int64
	var cerrs []error
	for _, c := range all {
		<-c.done
		if c.err != nil {
			cerrs = append(cerrs, c.err)
		}
		lat = append(lat, c.lat...)
		res.Duplicates += c.dups
		res.Missing += c.gaps
		for wi, w := range c.room.writers {
			if got := c.next[wi] - 1; got < w.sent {
				res.Missing += int64(w.sent - got)
			}
		}
	}
	if res.Elapsed > 0 {
		res.UpdatesPerSec = float64(res.Updates) / res.Elapsed.Seconds()
	}
	if res.Deliveries > 0 {
		res.CPUPerDelivery = res.ServerCPU / time.Duration(res.Deliveries)
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		res.P50 = time.Duration(lat[len(lat)*50/100])
		res.P99 = time.Duration(lat[min(len(lat)-1, len(lat)*99/100)])
	}
	msgs := ""
	if res.Messages > 0 && res.Deliveries > 0 {
		msgs = fmt.Sprintf(", %d messages sent (%.2f per delivery)", res.Messages, float64(res.Messages)/float64(res.Deliveries))
	}
	prog("%d updates in %v, server CPU %v, client CPU %v, %d fsyncs, %d context switches%s", res.Updates, res.Elapsed.Round(time.Millisecond),
		res.ServerCPU.Round(time.Millisecond), res.ClientCPU.Round(time.Millisecond), res.Fsyncs, res.Switches, msgs)
	switch {
	case len(werrs) > 0:
		return res, fmt.Errorf("%d writers failed, first: %w", len(werrs), werrs[0])
	case len(cerrs) > 0:
		return res, fmt.Errorf("%d connections failed, first: %w", len(cerrs), cerrs[0])
	case res.Missing > 0 || res.Duplicates > 0:
		return res, fmt.Errorf("clients missed %d and got %d duplicate edits", res.Missing, res.Duplicates)
	case res.Updates == 0:
		return res, fmt.Errorf("no edit completed in %v", opts.Duration)
	}
	return res, nil
}

// connectAll connects and syncs every client, 32 at a time, reporting
// progress every second.
func connectAll(ctx context.Context, all []*client, base string, prog func(string, ...any)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
				prog("connecting %d/%d", done.Load(), len(all))
			}
		}
	}()
	for _, c := range all {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			cctx, ccancel := context.WithTimeout(ctx, time.Minute)
			defer ccancel()
			err := c.connect(cctx, base+c.room.name)
			if err == nil {
				select {
				case <-c.synced:
				case <-c.done:
					err = fmt.Errorf("connection closed before sync: %v", c.err)
				case <-cctx.Done():
					err = fmt.Errorf("no SyncStep2: %w", cctx.Err())
				}
			}
			if err != nil {
				once.Do(func() { firstErr = err; cancel() })
				return
			}
			done.Add(1)
		})
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return fmt.Errorf("connecting (%d of %d connected): %w", done.Load(), len(all), firstErr)
	}
	return nil
}
