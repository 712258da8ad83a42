package main

import (
	"context"
	"flag"
	"regexp"
	"strings"
	"time"

	benchmerge "octobase/bench/merge"
	"octobase/bench/oplogbench"
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
