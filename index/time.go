package index

// Time buckets. Times are milliseconds since the Unix epoch (sys:created,
// space:updated). Buckets are UTC hours and UTC days numbered from
// 0000-01-01T00:00:00Z, the first instant OQL can express; the last bucket
// ends at 9999-12-31T23:59:59.999Z, the last one. A time outside that span
// is clamped into the first or last bucket, which is therefore never exact
// (it may hold times it does not span). These constants are part of the
// file format: changing them needs a new format version.
const (
	hourMs = 3_600_000
	dayMs  = 24 * hourMs

	// MinTime and MaxTime bound the span of the time buckets, in ms since
	// the Unix epoch: 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z.
	MinTime int64 = -62_167_219_200_000
	MaxTime int64 = 253_402_300_799_999

	lastHour = uint32((MaxTime - MinTime) / hourMs) // 87_658_199
	lastDay  = lastHour / 24                        // 3_652_424
)

// SameHour reports whether times a and b (ms since the Unix epoch) fall in
// the same hour bucket: a change of a block's updated time from a to b
// changes nothing in the index, so its owner need not send it.
func SameHour(a, b int64) bool { return hourOf(a) == hourOf(b) }

// hourOf returns the hour bucket of t.
func hourOf(t int64) uint32 {
	switch {
	case t < MinTime:
		return 0
	case t > MaxTime:
		return lastHour
	}
	return uint32((t - MinTime) / hourMs)
}

// hourStart and hourEnd return the first and last millisecond of hour h.
func hourStart(h uint32) int64 { return MinTime + int64(h)*hourMs }
func hourEnd(h uint32) int64   { return hourStart(h) + hourMs - 1 }

// dayOfHour returns the day bucket holding hour h.
func dayOfHour(h uint32) uint32 { return h / 24 }

// exactHour reports whether every time in hour h lies in [from, to], so the
// bucket's rows match without looking at their times. The clamped first and
// last buckets are never exact.
func exactHour(h uint32, from, to int64) bool {
	return h != 0 && h != lastHour && from <= hourStart(h) && hourEnd(h) <= to
}

// rangePlan splits the inclusive time range [from, to] into buckets:
// candidate hours (at most two: the hours holding from and to, unless they
// are exact), exact hours, and exact days [dayLo, dayHi] (empty when
// dayLo > dayHi). exact and candidate buckets are disjoint.
type rangePlan struct {
	cand          []uint32
	exactHours    [][2]uint32 // inclusive hour ranges
	dayLo, dayHi  uint32
	hasDays, none bool
}

func planRange(from, to int64) rangePlan {
	var p rangePlan
	if from > to {
		p.none = true
		return p
	}
	hf, ht := hourOf(from), hourOf(to)
	edge := func(h uint32) {
		if exactHour(h, from, to) {
			p.exactHours = append(p.exactHours, [2]uint32{h, h})
		} else {
			p.cand = append(p.cand, h)
		}
	}
	edge(hf)
	if ht == hf {
		return p
	}
	edge(ht)
	if ht-hf < 2 {
		return p
	}
	// Interior hours a..b are wholly inside the range; they are neither the
	// first nor the last bucket since hf ≥ 0 and ht ≤ lastHour. Cover whole
	// days with day buckets and the remainder with hours.
	a, b := hf+1, ht-1
	dLo := (a + 23) / 24     // first day starting at or after hour a
	dHi := int64(b+1)/24 - 1 // last day ending at or before hour b
	if int64(dLo) > dHi {
		p.exactHours = append(p.exactHours, [2]uint32{a, b})
		return p
	}
	p.hasDays, p.dayLo, p.dayHi = true, dLo, uint32(dHi)
	if a < dLo*24 {
		p.exactHours = append(p.exactHours, [2]uint32{a, dLo*24 - 1})
	}
	if e := (uint32(dHi) + 1) * 24; e <= b {
		p.exactHours = append(p.exactHours, [2]uint32{e, b})
	}
	return p
}
