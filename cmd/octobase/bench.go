package main

import (
	"context"
	"flag"
	"regexp"
	"strconv"
	"strings"
	"time"

	benchmerge "octobase/bench/merge"
	"octobase/bench/oplogbench"
	"octobase/bench/querybench"
	"octobase/bench/replbench"
	"octobase/bench/serverbench"
	"octobase/oplog"
)

func benchCommand() *Command {
	return &Command{
		Name:  "bench",
		Short: "run benchmarks side by side with the reference implementations",
		Long: `Bench runs OctoBase's benchmarks. Results are printed as a table with one
column per implementation and a ratio against yjs (docs/benchmarks.md explains each
benchmark and the targets).`,
		Subcommands: []*Command{{
			Name:  "oplog",
			Short: "op-log append throughput against raw write+fsync of the same disk",
			Long: `Oplog measures appends/s and MB/s for 64 B, 1 KiB and 16 KiB records, for each
durability mode (always, interval, none) and 1, 8 and 64 concurrent writers, after
measuring plain write+fsync of the same bytes on the same disk (batch = writers
records per fsync). The last column is the log's rate over that raw rate: with
group commit, 64 writers in "always" mode should reach at least 0.5.

It then builds a workspace of -reopen-blocks blocks (default 100,000) and times its
reopening after a clean close (snapshot only) and after a crash that left a tail of
-reopen-tail records to replay (0 blocks skips this).`,
			Example: "octobase bench oplog\noctobase bench oplog -dir /mnt/fast -cell 2s",
			New:     func() Runner { return &benchOplogRunner{} },
		}, {
			Name:  "merge",
			Short: "merge throughput against yjs and ywasm (crdt-benchmarks B1–B4)",
			Long: `Merge runs the crdt-benchmarks suite (B1–B4, merge-only, load) in this
process for OctoBase and under Node.js for yjs and ywasm, checks that all three end
with the same content, and prints the table with progress as each benchmark
finishes. yjs and ywasm need Node.js and the npm packages that make test installs;
without them their columns read n/a. It takes a few minutes (B4 replays a 260,000
edit trace; ywasm alone needs about a minute for it).`,
			Example: "octobase bench merge\noctobase bench merge -only '^B4' -impl octobase,yjs -out bench/results",
			New:     func() Runner { return &benchMergeRunner{} },
		}, {
			Name:  "query",
			Short: "OQL through the roaring-bitmap indexes against full scans, index upkeep and memory",
			Long: `Query generates a workspace of -blocks blocks (default 1,000,000: pages of 200 blocks
in trees of up to 8 levels, an AFFiNE-like mix of flavours, -creators creators, links to
pages and blocks) through the engine, then times selective queries (type+creator,
backlinks of a block, children of a block) through the engine's index and by a full scan
of the same blocks in the same run, the index upkeep per applied update against the
update's own time, and the index's memory. Progress goes to stderr. Building 1,000,000
blocks takes minutes and several GB of memory.`,
			Example: "octobase bench query\noctobase bench query -blocks 100000",
			New:     func() Runner { return &benchQueryRunner{} },
		}, {
			Name:  "server",
			Short: "WebSocket sync under 100 to 5,000 clients: updates/s, latency, CPU and memory per connection",
			Long: `Server starts the sync server in a child process (this binary again, with a fresh
store in a temporary directory) and connects -clients WebSocket clients to it over
loopback, in one workspace (-writers of them editing) and spread over -workspaces
workspaces (default clients/10, -room-writers editing in each). It reports edits/s,
p50/p99 latency from a writer's send to each other client's receipt, the server's CPU
per update per subscriber over the edit phase, and its memory per idle connection,
against y/hub's published anchor (14 µs, 200 KB; the target is half of each). Every
client must receive every edit of its workspace, once and in order. Progress goes to
stderr. 5,000 clients need about 5,300 file descriptors in the server and 10,300 here
(RLIMIT_NOFILE; docs/benchmarks.md, section Server).`,
			Example: "octobase bench server\noctobase bench server -clients 100,1000 -duration 5s -durability none",
			New:     func() Runner { return &benchServerRunner{} },
		}, {
			Name:  "replication",
			Short: "updates/s and latency through a 3-node JetStream cluster against raw JetStream publish",
			Long: `Replication starts three OctoBase nodes in this process, each with an embedded
nats-server, forming one JetStream cluster on loopback (R3 stream, sync_interval
always). For each update size (-sizes, default 64 B and 1 KiB) it measures raw
JetStream async publish throughput on node A's server (own R3 stream, no consumers;
before and after the OctoBase run, mean reported), then OctoBase's: -updates updates
applied on node A until all are delivered to a subscriber on node C, then the latency
of -latency single updates from Apply on A to delivery on C (p50, p99, max). The
ratio column is OctoBase updates/s over raw msgs/s (target ≥ 0.50, p99 < 20 ms).
The op-logs run without fsync by default (-durability none): with one goroutine applying
on A, "always" measures A's disk, not replication. Progress goes to stderr.`,
			Example: "octobase bench replication\noctobase bench replication -sizes 64 -updates 5000 -latency 200",
			New:     func() Runner { return &benchReplRunner{} },
		}},
	}
}

type benchMergeRunner struct {
	n        int
	only     string
	impl     string
	out      string
	b4x100   bool
	noWarmup bool
}

func (r *benchMergeRunner) Flags(fs *flag.FlagSet) {
	fs.IntVar(&r.n, "n", benchmerge.DefaultN, "operations per B1–B3 benchmark")
	fs.StringVar(&r.only, "only", "", "run only benchmarks whose id matches this regexp")
	fs.StringVar(&r.impl, "impl", "", "comma-separated implementations (octobase,yjs,ywasm; default all)")
	fs.StringVar(&r.out, "out", "", "directory for merge.json, merge.svg and merge.md")
	fs.BoolVar(&r.b4x100, "b4x100", false, "also run B4x100 (tens of minutes for yjs and ywasm)")
	fs.BoolVar(&r.noWarmup, "no-warmup", false, "skip the untimed warm-up run before each benchmark")
}

func (r *benchMergeRunner) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	opts := benchmerge.Options{N: r.n, OutDir: r.out, B4x100: r.b4x100, NoWarmup: r.noWarmup}
	if r.only != "" {
		re, err := regexp.Compile(r.only)
		if err != nil {
			return usagef("-only: %v", err)
		}
		opts.Only = re
	}
	if r.impl != "" {
		opts.Impls = strings.Split(r.impl, ",")
	}
	_, err := benchmerge.Run(ctx, opts, env.Stdout)
	return err
}

type benchOplogRunner struct {
	dir          string
	cell         time.Duration
	reopenBlocks int
	reopenTail   int
}

func (r *benchOplogRunner) Flags(fs *flag.FlagSet) {
	fs.StringVar(&r.dir, "dir", "", "directory on the disk to measure (default: a temporary directory)")
	fs.DurationVar(&r.cell, "cell", 500*time.Millisecond, "how long each combination runs")
	fs.IntVar(&r.reopenBlocks, "reopen-blocks", 100_000, "blocks in the workspace whose reopening is timed (0: skip)")
	fs.IntVar(&r.reopenTail, "reopen-tail", 1_000, "records after the last snapshot in the crash case")
}

func (r *benchOplogRunner) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	if r.reopenBlocks < 0 || r.reopenTail < 1 {
		return usagef("-reopen-blocks must be ≥ 0 and -reopen-tail ≥ 1")
	}
	if _, err := oplogbench.Run(ctx, oplogbench.Options{Dir: r.dir, Cell: r.cell}, env.Stdout); err != nil {
		return err
	}
	if r.reopenBlocks == 0 {
		return nil
	}
	_, err := oplogbench.Reopen(ctx, oplogbench.ReopenOptions{Dir: r.dir, Blocks: r.reopenBlocks, Tail: r.reopenTail, Progress: env.Stderr}, env.Stdout)
	return err
}

type benchQueryRunner struct{ opts querybench.Options }

func (r *benchQueryRunner) Flags(fs *flag.FlagSet) {
	fs.IntVar(&r.opts.Blocks, "blocks", 1_000_000, "blocks in the generated workspace")
	fs.IntVar(&r.opts.Creators, "creators", 100, "distinct creators")
	fs.IntVar(&r.opts.Runs, "runs", 300, "timed indexed runs of each query")
	fs.IntVar(&r.opts.Scans, "scans", 5, "timed full-scan runs of each query")
	fs.IntVar(&r.opts.Updates, "updates", 20_000, "updates timed for the index upkeep (more than 16,384 include a settlement of deferred moves)")
	fs.StringVar(&r.opts.Profile, "profile", "", "write a CPU profile of the index upkeep measurement to this file")
	fs.StringVar(&r.opts.Dir, "dir", "", "store directory (default: a temporary directory)")
}

func (r *benchQueryRunner) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	if r.opts.Blocks < 1000 || r.opts.Creators < 1 || r.opts.Runs < 1 || r.opts.Scans < 1 || r.opts.Updates < 1 {
		return usagef("-blocks must be ≥ 1000, and -creators, -runs, -scans, -updates ≥ 1")
	}
	r.opts.Progress = env.Stderr
	_, err := querybench.Run(ctx, r.opts, env.Stdout)
	return err
}

type benchServerRunner struct {
	opts       serverbench.Options
	clients    string
	scenarios  string
	durability string
}

func (r *benchServerRunner) Flags(fs *flag.FlagSet) {
	fs.StringVar(&r.clients, "clients", "100,1000,5000", "comma-separated client counts")
	fs.StringVar(&r.scenarios, "scenarios", "one,many", "one (a single workspace) and/or many (workspaces of about 10 clients)")
	fs.IntVar(&r.opts.Writers, "writers", 10, "editing clients in the one-workspace scenario")
	fs.IntVar(&r.opts.Workspaces, "workspaces", 0, "workspaces in the many-workspace scenario (0: clients/10)")
	fs.IntVar(&r.opts.RoomWriters, "room-writers", 1, "editing clients per workspace in the many-workspace scenario")
	fs.DurationVar(&r.opts.Duration, "duration", 10*time.Second, "how long writers edit in each cell, measured")
	fs.DurationVar(&r.opts.Warmup, "warmup", time.Second, "how long writers edit in each cell before the measurement starts (0: none)")
	fs.Float64Var(&r.opts.Rate, "rate", 0, "total edits/s per cell (0: as fast as -window allows)")
	fs.IntVar(&r.opts.Window, "window", 8, "edits of one writer in flight at most (sent, not yet received by all)")
	fs.StringVar(&r.durability, "durability", "always", "the server store's durability: always, interval or none")
	fs.BoolVar(&r.opts.GroupSync, "group-fsync", false, "with -journal=false, the server shares fsyncs across workspaces (octobase serve --group-fsync)")
	fs.BoolVar(&r.opts.Journal, "journal", true, "the server commits through the store's journal, as octobase serve does by default (-journal=false: each op-log fsyncs per commit, or shares syncfs rounds with -group-fsync)")
	fs.StringVar(&r.opts.Dir, "dir", "", "directory for the servers' stores (default: a temporary directory)")
	fs.StringVar(&r.opts.ProfileDir, "profile", "", "directory for the server's CPU and heap profiles, per cell")
	fs.StringVar(&r.opts.Reference, "reference", serverbench.RefAuto, "run each cell again against the y-websocket server under Node.js: y-websocket, auto (if found) or none")
	fs.IntVar(&r.opts.Repeat, "repeat", 1, "run each cell this many times and report the run of median CPU per delivery, with the range")
	fs.StringVar(&r.opts.NodeModules, "node-modules", "", "node_modules holding @y/websocket-server (default: the nearest above the working directory or the executable)")
}

func (r *benchServerRunner) Run(ctx context.Context, env *Env, args []string) error {
	// The benchmark re-runs this command as its server (serverbench.ServeChild).
	if ok, err := serverbench.ServeChild(ctx, env.Stdin, env.Stdout); ok {
		return err
	}
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	for _, f := range strings.Split(r.clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return usagef("-clients: %q is not a positive count", f)
		}
		r.opts.Clients = append(r.opts.Clients, n)
	}
	for _, s := range strings.Split(r.scenarios, ",") {
		if s != serverbench.OneWorkspace && s != serverbench.ManyWorkspaces {
			return usagef("-scenarios: unknown scenario %q (one, many)", s)
		}
		r.opts.Scenarios = append(r.opts.Scenarios, s)
	}
	d, err := oplog.ParseDurability(r.durability)
	if err != nil {
		return usagef("-durability: %v", err)
	}
	r.opts.Durability = d
	if r.opts.Writers < 1 || r.opts.RoomWriters < 1 || r.opts.Workspaces < 0 || r.opts.Window < 1 || r.opts.Rate < 0 || r.opts.Duration <= 0 || r.opts.Warmup < 0 || r.opts.Repeat < 1 {
		return usagef("-writers, -room-writers, -window, -repeat and -duration must be positive, -workspaces, -rate and -warmup ≥ 0")
	}
	if r.opts.Warmup == 0 {
		r.opts.Warmup = -1 // serverbench: none (0 is its default)
	}
	r.opts.ChildArgs = []string{"bench", "server"}
	r.opts.Progress = env.Stderr
	_, err = serverbench.Run(ctx, r.opts, env.Stdout)
	return err
}

type benchReplRunner struct {
	opts       replbench.Options
	sizes      string
	durability string
}

func (r *benchReplRunner) Flags(fs *flag.FlagSet) {
	fs.StringVar(&r.sizes, "sizes", "64,1024", "comma-separated update sizes in bytes")
	fs.IntVar(&r.opts.Updates, "updates", 20_000, "updates per size in the throughput run")
	fs.IntVar(&r.opts.Raw, "raw", 20_000, "raw JetStream messages per size and run")
	fs.IntVar(&r.opts.Latency, "latency", 500, "single updates timed per size")
	fs.StringVar(&r.durability, "durability", "none", "the nodes' op-log durability: always, interval or none (always: one fsync per update on A, which applies from one goroutine)")
	fs.StringVar(&r.opts.Dir, "dir", "", "directory for the nodes' files (default: a temporary directory)")
}

func (r *benchReplRunner) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	for _, f := range strings.Split(r.sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1<<20 {
			return usagef("-sizes: %q is not a size in bytes (1 to 1048576)", f)
		}
		r.opts.Sizes = append(r.opts.Sizes, n)
	}
	d, err := oplog.ParseDurability(r.durability)
	if err != nil {
		return usagef("-durability: %v", err)
	}
	r.opts.Durability = d
	if r.opts.Updates < 1 || r.opts.Raw < 1 || r.opts.Latency < 1 {
		return usagef("-updates, -raw and -latency must be positive")
	}
	r.opts.Progress = env.Stderr
	_, err = replbench.Run(ctx, r.opts, env.Stdout)
	return err
}
