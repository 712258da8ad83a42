// Command merge runs OctoBase's merge-throughput suite: crdt-benchmarks'
// B1–B4 plus merge-only and load, for octobase (in process), yjs and ywasm
// (Node.js), side by side. See docs/benchmarks.md.
//
//	go run ./bench/cmd/merge [-n 6000] [-only REGEXP] [-impl octobase,yjs,ywasm] [-warmup=false] [-b4x100] [-out bench/results]
//
// It exits 1 when a benchmark failed or the implementations' final
// contents differ.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"

	"octobase/bench/merge"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	n := fs.Int("n", merge.DefaultN, "operations per B1–B3 benchmark (crdt-benchmarks' N)")
	only := fs.String("only", "", "run only benchmarks whose id matches this regexp (e.g. '^B1\\.' or 'B4')")
	impl := fs.String("impl", strings.Join(merge.Impls, ","), "comma-separated implementations to run")
	warmup := fs.Bool("warmup", true, "precede each measured run with an untimed run of a tenth of it (-warmup=false: cold single shots, as crdt-benchmarks)")
	b4x100 := fs.Bool("b4x100", false, "also run B4x100 (the trace replayed 100 times: slow)")
	out := fs.String("out", "", "directory for merge.json, merge.svg and merge.md (default <repo>/bench/results; \"-\" writes nothing)")
	traces := fs.String("traces", "", "editing-traces directory (default $"+merge.EnvTraceDir+" or <repo>/../shared/data/editing-traces)")
	render := fs.String("render", "", "do not run: re-render the table, chart and Markdown of a merge.json (to -out)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *render != "" {
		return rerender(*render, *out)
	}
	opts := merge.Options{N: *n, NoWarmup: !*warmup, B4x100: *b4x100, TraceDir: *traces}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fmt.Fprintf(os.Stderr, "merge: -only: %v\n", err)
			return 2
		}
		opts.Only = re
	}
	for _, s := range strings.Split(*impl, ",") {
		if s = strings.TrimSpace(s); s != "" {
			opts.Impls = append(opts.Impls, s)
		}
	}
	switch *out {
	case "-":
	case "":
		root, err := merge.FindRoot()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		opts.OutDir = filepath.Join(root, "bench", "results")
	default:
		opts.OutDir = *out
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := merge.Run(ctx, opts, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if f := rep.Failures(); f > 0 {
		fmt.Fprintf(os.Stderr, "merge: %d failure(s): benchmark errors or differing contents (see above)\n", f)
		return 1
	}
	return 0
}

// rerender prints and rewrites the outputs of an earlier run's merge.json.
func rerender(path, out string) int {
	rep, err := merge.ReadReport(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := rep.WriteTable(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println()
	rep.WriteTargets(os.Stdout)
	if out == "" {
		out = filepath.Dir(path)
	}
	if out != "-" {
		if err := rep.WriteFiles(out); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}
