package merge

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// Implementation names, in table order.
const (
	ImplOctobase = "octobase"
	ImplYjs      = "yjs"
	ImplYwasm    = "ywasm"
)

// Impls lists every implementation, in table order.
var Impls = []string{ImplOctobase, ImplYjs, ImplYwasm}

// Metric names, as crdt-benchmarks calls them. Times are in milliseconds,
// sizes and memory in bytes.
const (
	MetricTime          = "time"          // the benchmark itself (wall clock)
	MetricCPUTime       = "cpuTime"       // process CPU time (user+system, all threads) during "time"
	MetricAvgUpdateSize = "avgUpdateSize" // B1: bytes per change; B2: (all updates)/2
	MetricUpdateSize    = "updateSize"    // B3: all updates together
	MetricEncodeTime    = "encodeTime"    // encodeStateAsUpdateV2 of the final doc
	MetricDocSize       = "docSize"       // its length
	MetricParseTime     = "parseTime"     // load it into a new doc and check it
	MetricMemUsed       = "memUsed"       // live heap the loaded doc adds
)

// Extra figures (Measure.Extra), recorded in merge.json but not compared.
const (
	// ExtraMemExternal is Node.js' process.memoryUsage().external delta
	// next to memUsed: where ywasm's WebAssembly memory shows up (it never
	// shrinks, so the delta is 0 once the memory has grown).
	ExtraMemExternal = "memExternal"
)

// Metrics lists the metrics in table order.
var Metrics = []string{MetricTime, MetricCPUTime, MetricAvgUpdateSize, MetricUpdateSize, MetricEncodeTime, MetricDocSize, MetricParseTime, MetricMemUsed}

// Benchmark describes one benchmark of the suite.
type Benchmark struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Group is B1, B2, B3 or B4 (B4 also holds merge-only and load).
	Group string `json:"-"`
	// Array marks the B1 benchmarks on Y.Array.
	Array bool `json:"-"`
	// Optional benchmarks run only when asked for (Options.B4x100).
	Optional bool `json:"-"`
}

// Benchmarks is the suite, in run order.
var Benchmarks = []Benchmark{
	{ID: "B1.1", Name: "Append N characters", Group: "B1"},
	{ID: "B1.2", Name: "Insert string of length N", Group: "B1"},
	{ID: "B1.3", Name: "Prepend N characters", Group: "B1"},
	{ID: "B1.4", Name: "Insert N characters at random positions", Group: "B1"},
	{ID: "B1.5", Name: "Insert N words at random positions", Group: "B1"},
	{ID: "B1.6", Name: "Insert string, then delete it", Group: "B1"},
	{ID: "B1.7", Name: "Insert/Delete strings at random positions", Group: "B1"},
	{ID: "B1.8", Name: "Append N numbers", Group: "B1", Array: true},
	{ID: "B1.9", Name: "Insert Array of N numbers", Group: "B1", Array: true},
	{ID: "B1.10", Name: "Prepend N numbers", Group: "B1", Array: true},
	{ID: "B1.11", Name: "Insert N numbers at random positions", Group: "B1", Array: true},
	{ID: "B2.1", Name: "Concurrently insert string of length N at index 0", Group: "B2"},
	{ID: "B2.2", Name: "Concurrently insert N characters at random positions", Group: "B2"},
	{ID: "B2.3", Name: "Concurrently insert N words at random positions", Group: "B2"},
	{ID: "B2.4", Name: "Concurrently insert & delete", Group: "B2"},
	{ID: "B3.1", Name: "20√N clients concurrently set number in Map", Group: "B3"},
	{ID: "B3.2", Name: "20√N clients concurrently set Object in Map", Group: "B3"},
	{ID: "B3.3", Name: "20√N clients concurrently set String in Map", Group: "B3"},
	{ID: "B3.4", Name: "20√N clients concurrently insert text in Array", Group: "B3"},
	{ID: "B4", Name: "Apply real-world editing dataset", Group: "B4"},
	{ID: "B4x100", Name: "Apply real-world editing dataset 100 times", Group: "B4", Optional: true},
	{ID: "B4.merge", Name: "Merge-only: apply the B4 per-edit updates (v1) to a fresh doc", Group: "B4"},
	{ID: "B4.load.v1", Name: "Load the encoded B4 doc (v1)", Group: "B4"},
	{ID: "B4.load.v2", Name: "Load the encoded B4 doc (v2)", Group: "B4"},
}

// Measure is one implementation's result for one benchmark. Exactly one
// of Metrics (with Checksum), Error and NA is set.
type Measure struct {
	Metrics  map[string]float64 `json:"metrics,omitempty"`
	Checksum string             `json:"checksum,omitempty"` // of the final content, see checksum.go
	Error    string             `json:"error,omitempty"`    // the benchmark failed
	NA       string             `json:"na,omitempty"`       // not run, and why ("n/a (node missing)")
	// Extra holds implementation-specific figures that are not compared,
	// such as Node's external memory (where ywasm's heap lives).
	Extra map[string]float64 `json:"extra,omitempty"`
}

func (m Measure) ok() bool { return m.Error == "" && m.NA == "" && m.Metrics != nil }

func (m Measure) get(metric string) (float64, bool) {
	if !m.ok() {
		return 0, false
	}
	v, found := m.Metrics[metric]
	return v, found
}

// Result holds every implementation's measure of one benchmark.
type Result struct {
	Benchmark
	Measures map[string]Measure `json:"measures"`
	// Notes lists correctness discrepancies: checksums that differ between
	// implementations, doc sizes that differ from yjs.
	Notes []string `json:"notes,omitempty"`
}

// ImplInfo says which version of an implementation ran, or why not.
type ImplInfo struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Status  string `json:"status"` // "ok" or "n/a (...)"
}

// Machine describes where the suite ran.
type Machine struct {
	GOOS     string `json:"goos"`
	GOARCH   string `json:"goarch"`
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model,omitempty"`
	Node     string `json:"node,omitempty"`
}

// Target is one goal of the merge-throughput issue, checked against the
// results.
type Target struct {
	Name   string `json:"name"`
	Status string `json:"status"` // "met", "missed" or "unknown" (not measured)
	// CPUStatus judges a time goal on cpuTime instead of wall time.
	CPUStatus string `json:"cpu_status,omitempty"`
	Detail    string `json:"detail"`
}

// Report is the outcome of Run; it is also what merge.json holds.
type Report struct {
	Date    string     `json:"date"`
	N       int        `json:"n"`
	Warmup  bool       `json:"warmup"` // each measured run followed an untimed warm-up run
	Machine Machine    `json:"machine"`
	Impls   []ImplInfo `json:"impls"`
	Results []Result   `json:"results"`
	Targets []Target   `json:"targets"`
}

// JSON returns the report as indented JSON.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func (r *Report) implNames() []string {
	var names []string
	for _, im := range r.Impls {
		names = append(names, im.Name)
	}
	return names
}

// rows returns the table: one row per benchmark and metric, with a cell
// per implementation and the yjs ÷ octobase ratio.
func (r *Report) rows() (header []string, rows [][]string) {
	impls := r.implNames()
	header = append([]string{"benchmark", "metric"}, impls...)
	header = append(header, "yjs ÷ octobase")
	for _, res := range r.Results {
		first := true
		label := func() string {
			if first {
				first = false
				return res.ID
			}
			return ""
		}
		var metrics []string
		for _, m := range Metrics {
			for _, im := range impls {
				if _, ok := res.Measures[im].get(m); ok {
					metrics = append(metrics, m)
					break
				}
			}
		}
		if len(metrics) == 0 {
			metrics = []string{MetricTime}
		}
		for i, metric := range metrics {
			row := []string{label(), metric}
			for _, im := range impls {
				ms := res.Measures[im]
				switch {
				case ms.NA != "":
					row = append(row, ms.NA)
				case ms.Error != "":
					row = append(row, "error")
				default:
					if v, ok := ms.get(metric); ok {
						row = append(row, formatMetric(metric, v))
					} else {
						row = append(row, "–")
					}
				}
				_ = i
			}
			row = append(row, ratio(res.Measures[ImplYjs], res.Measures[ImplOctobase], metric))
			rows = append(rows, row)
		}
	}
	return header, rows
}

func ratio(yjs, ours Measure, metric string) string {
	y, ok1 := yjs.get(metric)
	o, ok2 := ours.get(metric)
	if !ok1 || !ok2 {
		return ""
	}
	if o == 0 {
		if y == 0 {
			return "="
		}
		return "∞"
	}
	if y == o {
		return "="
	}
	return fmt.Sprintf("%.2f×", y/o)
}

// WriteTable writes the results as an aligned text table.
func (r *Report) WriteTable(w io.Writer) error {
	header, rows := r.rows()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	return tw.Flush()
}

// Markdown returns the results table, the notes and the targets in
// Markdown, for docs/benchmarks.md.
func (r *Report) Markdown() string {
	var b strings.Builder
	header, rows := r.rows()
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for i := range header {
		if i < 2 {
			b.WriteString("---|")
		} else {
			b.WriteString("---:|")
		}
	}
	b.WriteString("\n")
	for _, row := range rows {
		if row[0] != "" {
			row[0] = "**" + row[0] + "**"
		}
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	var notes []string
	for _, res := range r.Results {
		for _, n := range res.Notes {
			notes = append(notes, res.ID+": "+n)
		}
		for _, im := range r.implNames() {
			if e := res.Measures[im].Error; e != "" {
				notes = append(notes, fmt.Sprintf("%s: %s failed: %s", res.ID, im, e))
			}
		}
	}
	if len(notes) > 0 {
		b.WriteString("\nDiscrepancies:\n\n")
		for _, n := range notes {
			b.WriteString("- " + n + "\n")
		}
	}
	b.WriteString("\n| target | wall time | CPU time | detail |\n|---|---|---|---|\n")
	for _, t := range r.Targets {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Name, t.Status, orDash(t.CPUStatus), t.Detail)
	}
	return b.String()
}

// WriteTargets writes the targets and any discrepancies as text.
func (r *Report) WriteTargets(w io.Writer) {
	for _, res := range r.Results {
		for _, n := range res.Notes {
			fmt.Fprintf(w, "DISCREPANCY %s: %s\n", res.ID, n)
		}
		for _, im := range r.implNames() {
			if e := res.Measures[im].Error; e != "" {
				fmt.Fprintf(w, "FAILED %s %s: %s\n", res.ID, im, e)
			}
		}
	}
	for _, t := range r.Targets {
		st := t.Status
		if t.CPUStatus != "" {
			st += " (CPU time: " + t.CPUStatus + ")"
		}
		fmt.Fprintf(w, "target %s: %s\n       %s\n", t.Name, st, t.Detail)
	}
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func formatMetric(metric string, v float64) string {
	switch metric {
	case MetricTime, MetricCPUTime, MetricEncodeTime, MetricParseTime:
		return formatMS(v)
	case MetricMemUsed:
		return formatMem(v)
	default:
		return thousands(int64(math.Round(v))) + " B"
	}
}

func formatMS(v float64) string {
	switch {
	case v >= 100:
		return thousands(int64(math.Round(v))) + " ms"
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.2f ms", v)
	}
}

// formatMem prints bytes with SI prefixes, like crdt-benchmarks (lib0/metric).
func formatMem(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.1f GB", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.1f MB", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1f kB", v/1e3)
	default:
		return fmt.Sprintf("%.0f B", v)
	}
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// progressLine summarizes one finished benchmark in one line.
func progressLine(res Result, impls []string) string {
	var parts []string
	for _, im := range impls {
		ms := res.Measures[im]
		switch {
		case ms.NA != "":
			parts = append(parts, im+" "+ms.NA)
		case ms.Error != "":
			parts = append(parts, im+" error: "+ms.Error)
		default:
			v, _ := ms.get(MetricTime)
			part := im + " " + formatMS(v)
			if c, ok := ms.get(MetricCPUTime); ok {
				part += " (cpu " + formatMS(c) + ")"
			}
			parts = append(parts, part)
		}
	}
	line := fmt.Sprintf("%-10s %s", res.ID, strings.Join(parts, ", "))
	if rt := ratio(res.Measures[ImplYjs], res.Measures[ImplOctobase], MetricTime); rt != "" {
		line += " (yjs ÷ octobase " + rt + ")"
	}
	for _, n := range res.Notes {
		line += "\n           DISCREPANCY: " + n
	}
	return line
}
