package merge

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// implColors are the bar colors of the chart.
var implColors = map[string]string{
	ImplOctobase: "#1f77b4",
	ImplYjs:      "#e0a100",
	ImplYwasm:    "#8e44ad",
}

// SVG returns a horizontal bar chart of every benchmark's time per
// implementation, on a logarithmic axis (the times span five decades).
// It is plain SVG 1.1 with no scripts, fonts or external references.
func (r *Report) SVG() string {
	impls := r.implNames()
	type group struct {
		id   string
		vals []float64 // NaN when not measured
	}
	var groups []group
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, res := range r.Results {
		g := group{id: res.ID}
		some := false
		for _, im := range impls {
			v, ok := res.Measures[im].get(MetricTime)
			if !ok {
				g.vals = append(g.vals, math.NaN())
				continue
			}
			v = math.Max(v, 0.001)
			some = true
			lo, hi = math.Min(lo, v), math.Max(hi, v)
			g.vals = append(g.vals, v)
		}
		if some {
			groups = append(groups, g)
		}
	}
	if len(groups) == 0 {
		lo, hi = 1, 10
	}
	dlo, dhi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if dhi <= dlo {
		dhi = dlo + 1
	}

	const (
		width    = 960
		left     = 90.0
		right    = 110.0
		top      = 70.0
		barH     = 7.0
		barGap   = 1.0
		groupGap = 9.0
		bottom   = 40.0
	)
	plotW := width - left - right
	groupH := float64(len(impls))*(barH+barGap) + groupGap
	height := top + float64(len(groups))*groupH + bottom
	x := func(v float64) float64 { return left + (math.Log10(v)-dlo)/(dhi-dlo)*plotW }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%.0f" viewBox="0 0 %d %.0f" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	title := fmt.Sprintf("OctoBase merge-throughput suite: time per benchmark, N=%d (log scale, shorter is faster)", r.N)
	fmt.Fprintf(&b, `<text x="%.0f" y="20" font-size="14" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
	sub := fmt.Sprintf("%s/%s, %d CPU(s) %s, %s", r.Machine.GOOS, r.Machine.GOARCH, r.Machine.CPUs, r.Machine.CPUModel, r.Date)
	fmt.Fprintf(&b, `<text x="%.0f" y="36" fill="#555">%s</text>`+"\n", left, html.EscapeString(sub))
	for i, im := range impls {
		lx := left + float64(i)*150
		fmt.Fprintf(&b, `<rect x="%.0f" y="46" width="12" height="10" fill="%s"/>`, lx, implColors[im])
		label := im
		for _, info := range r.Impls {
			if info.Name == im && info.Version != "" {
				label += " " + strings.SplitN(info.Version, " ", 2)[0]
			}
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="55">%s</text>`+"\n", lx+16, html.EscapeString(label))
	}
	// Decade grid lines.
	for d := dlo; d <= dhi; d++ {
		gx := x(math.Pow(10, d))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#ddd"/>`, gx, top-4, gx, height-bottom+4)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle" fill="#555">%s</text>`+"\n", gx, height-bottom+18, axisLabel(math.Pow(10, d)))
	}
	for gi, g := range groups {
		y0 := top + float64(gi)*groupH
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-8, y0+float64(len(impls))*(barH+barGap)/2+4, html.EscapeString(g.id))
		for i, v := range g.vals {
			y := y0 + float64(i)*(barH+barGap)
			if math.IsNaN(v) {
				fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="8" fill="#999">n/a</text>`+"\n", left+2, y+barH-0.5)
				continue
			}
			w := math.Max(x(v)-left, 1)
			fmt.Fprintf(&b, `<rect x="%.0f" y="%.1f" width="%.1f" height="%.0f" fill="%s"><title>%s %s: %s</title></rect>`,
				left, y, w, barH, implColors[impls[i]], html.EscapeString(g.id), impls[i], formatMS(v))
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="8" fill="#333">%s</text>`+"\n", left+w+3, y+barH-0.5, formatMS(v))
		}
	}
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#333"/>`+"\n", left, top-4, left, height-bottom+4)
	b.WriteString("</svg>\n")
	return b.String()
}

func axisLabel(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%g s", v/1000)
	default:
		return fmt.Sprintf("%g ms", v)
	}
}
