package merge

import (
	"fmt"
	"strings"
)

// notes returns the correctness discrepancies of one result: checksums
// that differ between implementations, and doc sizes that differ from
// yjs's.
func notes(res Result, impls []string) []string {
	var out []string
	sums := map[string][]string{}
	var order []string
	for _, im := range impls {
		m := res.Measures[im]
		if !m.ok() || m.Checksum == "" {
			continue
		}
		if _, seen := sums[m.Checksum]; !seen {
			order = append(order, m.Checksum)
		}
		sums[m.Checksum] = append(sums[m.Checksum], im)
	}
	if len(order) > 1 {
		var parts []string
		for _, c := range order {
			parts = append(parts, strings.Join(sums[c], "+")+"="+c)
		}
		out = append(out, "content checksums differ: "+strings.Join(parts, ", "))
	}
	if y, ok := res.Measures[ImplYjs].get(MetricDocSize); ok {
		for _, im := range impls {
			if im == ImplYjs {
				continue
			}
			if v, ok := res.Measures[im].get(MetricDocSize); ok && v != y {
				out = append(out, fmt.Sprintf("docSize of %s is %s, yjs's is %s", im, formatMetric(MetricDocSize, v), formatMetric(MetricDocSize, y)))
			}
		}
	}
	return out
}

// targets checks the goals of the merge-throughput issue. The time goals
// are judged on wall-clock time (Status) and, separately, on process CPU
// time (CPUStatus), which a loaded machine disturbs less.
func targets(results []Result) []Target {
	wall := timeTargets(results, MetricTime)
	cpu := timeTargets(results, MetricCPUTime)
	var ts []Target
	for i, t := range wall {
		c := cpu[i]
		t.CPUStatus = c.Status
		t.Detail += "; by CPU time: " + c.Detail
		ts = append(ts, t)
		if i == 2 { // after the parse target, as the issue lists them
			ts = append(ts, memoryTarget(results))
		}
	}
	return append(ts, sizeTarget(results))
}

type lookup func(id, impl, metric string) (float64, bool)

func byID(results []Result) lookup {
	m := map[string]Result{}
	for _, r := range results {
		m[r.ID] = r
	}
	return func(id, impl, metric string) (float64, bool) {
		r, ok := m[id]
		if !ok {
			return 0, false
		}
		return r.Measures[impl].get(metric)
	}
}

// timeTargets returns the four time goals judged on metric (time or
// cpuTime): B4, merge-only, parse, and no benchmark > 1.2× slower.
func timeTargets(results []Result, metric string) []Target {
	get := byID(results)
	var ts []Target

	// B4 time ≤ 1/5 of yjs and below ywasm.
	{
		t := Target{Name: "B4 time ≤ 1/5 of yjs and below ywasm"}
		o, ok1 := get("B4", ImplOctobase, metric)
		y, ok2 := get("B4", ImplYjs, metric)
		w, ok3 := get("B4", ImplYwasm, metric)
		if ok1 && ok2 && ok3 {
			t.Status = status(o*5 <= y && o < w)
			t.Detail = fmt.Sprintf("octobase %s, yjs %s (%.2f×, need ≥ 5×), ywasm %s", formatMS(o), formatMS(y), y/o, formatMS(w))
		} else {
			t.Status, t.Detail = "unknown", "B4 not measured for all three"
		}
		ts = append(ts, t)
	}
	fasterThanBoth := func(name string, cases [][2]string) Target {
		t := Target{Name: name}
		met := true
		var details []string
		for _, c := range cases {
			m := c[1]
			if m == MetricTime {
				m = metric
			}
			if metric == MetricCPUTime && m == MetricParseTime {
				continue // parseTime has no CPU-time counterpart
			}
			o, ok1 := get(c[0], ImplOctobase, m)
			y, ok2 := get(c[0], ImplYjs, m)
			w, ok3 := get(c[0], ImplYwasm, m)
			if !ok1 || !ok2 || !ok3 {
				t.Status, t.Detail = "unknown", c[0]+" "+m+" not measured for all three"
				return t
			}
			met = met && o < y && o < w
			details = append(details, fmt.Sprintf("%s %s: octobase %s, yjs %s, ywasm %s", c[0], m, formatMS(o), formatMS(y), formatMS(w)))
		}
		t.Status, t.Detail = status(met), strings.Join(details, "; ")
		return t
	}
	ts = append(ts, fasterThanBoth("merge-only faster than yjs and ywasm", [][2]string{{"B4.merge", MetricTime}}))
	ts = append(ts, fasterThanBoth("parse faster than yjs and ywasm", [][2]string{
		{"B4.load.v1", MetricTime}, {"B4.load.v2", MetricTime}, {"B4", MetricParseTime},
	}))

	// No benchmark more than 1.2× slower than yjs.
	{
		t := Target{Name: "no benchmark > 1.2× slower than yjs"}
		var slow []string
		n := 0
		for _, r := range results {
			o, ok1 := r.Measures[ImplOctobase].get(metric)
			y, ok2 := r.Measures[ImplYjs].get(metric)
			if !ok1 || !ok2 {
				continue
			}
			n++
			if o > 1.2*y {
				slow = append(slow, fmt.Sprintf("%s %s vs %s (%.2f×)", r.ID, formatMS(o), formatMS(y), o/y))
			}
		}
		switch {
		case n == 0:
			t.Status, t.Detail = "unknown", "no benchmark measured for octobase and yjs"
		case len(slow) == 0:
			t.Status, t.Detail = "met", fmt.Sprintf("all %d benchmarks within 1.2× of yjs", n)
		default:
			t.Status, t.Detail = "missed", "slower: "+strings.Join(slow, "; ")
		}
		ts = append(ts, t)
	}
	return ts
}

// memoryTarget: the loaded B4 doc takes no more heap than yjs's.
func memoryTarget(results []Result) Target {
	get := byID(results)
	t := Target{Name: "memory of the loaded B4 doc ≤ yjs heap"}
	o, ok1 := get("B4", ImplOctobase, MetricMemUsed)
	y, ok2 := get("B4", ImplYjs, MetricMemUsed)
	if ok1 && ok2 {
		t.Status = status(o <= y)
		t.Detail = fmt.Sprintf("octobase %s, yjs %s", formatMem(o), formatMem(y))
	} else {
		t.Status, t.Detail = "unknown", "B4 memUsed not measured for octobase and yjs"
	}
	return t
}

// sizeTarget: doc sizes equal to yjs's (the load benchmarks share one
// input, so they do not count).
func sizeTarget(results []Result) Target {
	t := Target{Name: "doc sizes equal to yjs's"}
	var diff []string
	n := 0
	for _, r := range results {
		if strings.HasPrefix(r.ID, "B4.load") {
			continue
		}
		o, ok1 := r.Measures[ImplOctobase].get(MetricDocSize)
		y, ok2 := r.Measures[ImplYjs].get(MetricDocSize)
		if !ok1 || !ok2 {
			continue
		}
		n++
		if o != y {
			diff = append(diff, fmt.Sprintf("%s %.0f vs %.0f", r.ID, o, y))
		}
	}
	switch {
	case n == 0:
		t.Status, t.Detail = "unknown", "no docSize measured for octobase and yjs"
	case len(diff) == 0:
		t.Status, t.Detail = "met", fmt.Sprintf("all %d equal", n)
	default:
		t.Status, t.Detail = "missed", "differ: "+strings.Join(diff, "; ")
	}
	return t
}

func status(met bool) string {
	if met {
		return "met"
	}
	return "missed"
}
