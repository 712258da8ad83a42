package merge

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"
)

// DefaultN is crdt-benchmarks' N.
const DefaultN = 6000

// Options configure Run. The zero value runs every benchmark except
// B4x100 with N = 6000 for all three implementations and writes no files.
type Options struct {
	// N is the number of operations of B1–B3 (0 means DefaultN).
	N int
	// Only selects benchmarks whose id matches (nil means all).
	Only *regexp.Regexp
	// Impls selects implementations among Impls (nil means all).
	// octobase always runs in process; yjs and ywasm need Node.js and
	// <root>/node_modules, and show "n/a (...)" without them.
	Impls []string
	// NoWarmup skips the untimed warm-up run that precedes every measured
	// run (a tenth of the benchmark: N/10, or a tenth of the B4 edits),
	// which lets the JavaScript JITs compile the hot paths first. With it
	// set, every run is cold and single-shot, as in crdt-benchmarks.
	NoWarmup bool
	// B4x100 adds B4x100, which takes minutes for octobase and tens of
	// minutes for yjs and ywasm.
	B4x100 bool
	// OutDir, when set, receives merge.json, merge.svg and merge.md.
	OutDir string
	// Root is the repository root ("" means the nearest directory with a
	// go.mod at or above the working directory).
	Root string
	// TraceDir holds the editing traces ("" means DefaultTraceDir(Root)).
	TraceDir string
}

func (o *Options) validate() error {
	if o.N == 0 {
		o.N = DefaultN
	}
	if o.N < 1 {
		return fmt.Errorf("merge: N must be positive, not %d", o.N)
	}
	if len(o.Impls) == 0 {
		o.Impls = Impls
	}
	for _, im := range o.Impls {
		if !slices.Contains(Impls, im) {
			return fmt.Errorf("merge: unknown implementation %q (have %s)", im, strings.Join(Impls, ", "))
		}
	}
	if o.Root == "" {
		root, err := FindRoot()
		if err != nil {
			return err
		}
		o.Root = root
	}
	if o.TraceDir == "" {
		o.TraceDir = DefaultTraceDir(o.Root)
	}
	return nil
}

// FindRoot returns the nearest directory at or above the working
// directory that holds a go.mod file.
func FindRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("merge: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("merge: no go.mod at or above the working directory")
		}
		dir = parent
	}
}

// Selected returns the benchmarks Run would run with opts.
func Selected(opts Options) []Benchmark {
	var out []Benchmark
	for _, b := range Benchmarks {
		if b.Optional && !opts.B4x100 {
			continue
		}
		if opts.Only != nil && !opts.Only.MatchString(b.ID) {
			continue
		}
		out = append(out, b)
	}
	return out
}

// implRunner is one implementation under test.
type implRunner interface {
	Name() string
	Version() string
	// Run runs one benchmark; failures are reported in the Measure.
	Run(ctx context.Context, b Benchmark, n int) Measure
	// Warmup runs a reduced, untimed b (warmN, warmOps).
	Warmup(ctx context.Context, b Benchmark, n int)
	Close() error
}

// Run runs the selected benchmarks for each implementation, one
// implementation after the other for each benchmark (never two at once),
// printing a line to w as each benchmark finishes and the table at the
// end. Benchmark failures and discrepancies are part of the report, not
// errors; Run fails only when it cannot run at all or ctx ends.
func Run(ctx context.Context, opts Options, w io.Writer) (Report, error) {
	if err := opts.validate(); err != nil {
		return Report{}, err
	}
	benches := Selected(opts)
	rep := Report{
		Date:   time.Now().UTC().Format(time.RFC3339),
		N:      opts.N,
		Warmup: !opts.NoWarmup,
		Machine: Machine{
			GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(), CPUModel: cpuModel(),
		},
	}
	if len(benches) == 0 {
		return rep, errors.New("merge: no benchmark selected")
	}

	// The B4 data: the trace, plus (for merge and load) the recorded
	// updates and states, written to files for Node.js.
	var fx *fixtures
	needB4, needRecord := false, false
	for _, b := range benches {
		if b.Group == "B4" {
			needB4 = true
			needRecord = needRecord || b.ID != "B4" && b.ID != "B4x100"
		}
	}
	if needB4 {
		tracePath := filepath.Join(opts.TraceDir, B4TraceFile)
		fx = loadFixtures(tracePath, needRecord)
		defer fx.cleanup()
		switch {
		case fx.err != nil:
			fmt.Fprintf(w, "B4 benchmarks: %s: %v\n", naReason(fx.err), fx.err)
		case needRecord:
			if err := fx.writeFiles(); err != nil {
				return rep, err
			}
			fmt.Fprintf(w, "B4 trace %s: %d edits; recorded %d v1 updates (%s), state %s (v1) / %s (v2)\n",
				B4TraceFile, len(fx.trace.Ops), len(fx.updates), formatMem(float64(fx.updatesSize)),
				formatMetric(MetricDocSize, float64(len(fx.stateV1))), formatMetric(MetricDocSize, float64(len(fx.stateV2))))
		default:
			fmt.Fprintf(w, "B4 trace %s: %d edits\n", B4TraceFile, len(fx.trace.Ops))
		}
	} else {
		fx = &fixtures{err: errors.New("not selected")}
	}

	runners := map[string]implRunner{}
	defer func() {
		for _, r := range runners {
			r.Close()
		}
	}()
	for _, name := range opts.Impls {
		info := ImplInfo{Name: name, Status: "ok"}
		if name == ImplOctobase {
			r := &goImpl{fx: fx}
			runners[name] = r
			info.Version = r.Version()
		} else {
			node, na := findNode(opts.Root, name)
			if na == "" {
				r, err := newNodeImpl(ctx, opts.Root, node, name, fx.files())
				if err != nil {
					na = "n/a (node failed)"
					fmt.Fprintf(w, "%s: %v\n", name, err)
				} else {
					runners[name] = r
					info.Version = r.Version()
					rep.Machine.Node = r.nodeVersion
				}
			}
			if na != "" {
				info.Status = na
			}
		}
		rep.Impls = append(rep.Impls, info)
	}
	for _, im := range rep.Impls {
		fmt.Fprintf(w, "%-9s %s\n", im.Name, strings.TrimSpace(im.Version+" "+naOnly(im.Status)))
	}
	warm := "each after an untimed warm-up run"
	if opts.NoWarmup {
		warm = "cold, no warm-up"
	}
	fmt.Fprintf(w, "N=%d, %d benchmark(s) %s, %s/%s, %d CPU(s) %s\n", opts.N, len(benches), warm, rep.Machine.GOOS, rep.Machine.GOARCH, rep.Machine.CPUs, rep.Machine.CPUModel)

	names := rep.implNames()
	for _, b := range benches {
		res := Result{Benchmark: b, Measures: map[string]Measure{}}
		for _, im := range rep.Impls {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			if im.Status != "ok" {
				res.Measures[im.Name] = Measure{NA: im.Status}
				continue
			}
			if !opts.NoWarmup {
				runners[im.Name].Warmup(ctx, b, opts.N)
			}
			res.Measures[im.Name] = runners[im.Name].Run(ctx, b, opts.N)
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		res.Notes = notes(res, names)
		rep.Results = append(rep.Results, res)
		fmt.Fprintln(w, progressLine(res, names))
	}
	rep.Targets = targets(rep.Results)

	fmt.Fprintln(w)
	if err := rep.WriteTable(w); err != nil {
		return rep, err
	}
	fmt.Fprintln(w)
	rep.WriteTargets(w)

	if opts.OutDir != "" {
		if err := rep.WriteFiles(opts.OutDir); err != nil {
			return rep, err
		}
		fmt.Fprintf(w, "wrote %s\n", filepath.Join(opts.OutDir, "merge.{json,svg,md}"))
	}
	return rep, nil
}

func naOnly(status string) string {
	if status == "ok" {
		return ""
	}
	return status
}

// Failures counts benchmark errors and content checksum mismatches: the
// results a correct run must not have.
func (r *Report) Failures() int {
	n := 0
	for _, res := range r.Results {
		for _, m := range res.Measures {
			if m.Error != "" {
				n++
			}
		}
		for _, note := range res.Notes {
			if strings.HasPrefix(note, "content checksums differ") {
				n++
			}
		}
	}
	return n
}

// ReadReport reads a report that WriteFiles wrote (merge.json) and
// recomputes its discrepancy notes and targets, so that the table, chart
// and Markdown can be rendered again without running the suite.
func ReadReport(path string) (Report, error) {
	var rep Report
	b, err := os.ReadFile(path)
	if err != nil {
		return rep, fmt.Errorf("merge: %w", err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return rep, fmt.Errorf("merge: %s: %w", path, err)
	}
	byID := map[string]Benchmark{}
	for _, bm := range Benchmarks {
		byID[bm.ID] = bm
	}
	for i := range rep.Results {
		if bm, ok := byID[rep.Results[i].ID]; ok {
			rep.Results[i].Benchmark = bm
		}
		rep.Results[i].Notes = notes(rep.Results[i], rep.implNames())
	}
	rep.Targets = targets(rep.Results)
	return rep, nil
}

// WriteFiles writes merge.json, merge.svg and merge.md to dir.
func (r *Report) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	js, err := r.JSON()
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	files := map[string][]byte{
		"merge.json": js,
		"merge.svg":  []byte(r.SVG()),
		"merge.md":   []byte(r.Markdown()),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("merge: %w", err)
		}
	}
	return nil
}

// cpuModel returns the CPU model name on Linux ("" elsewhere).
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
