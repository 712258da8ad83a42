package merge

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"octobase/engine/crdt"
	"octobase/engine/lib0"
)

// goImpl runs the benchmarks in process on octobase/engine/crdt.
type goImpl struct {
	fx *fixtures
}

func (*goImpl) Name() string { return ImplOctobase }

func (*goImpl) Version() string { return runtime.Version() }

func (*goImpl) Close() error { return nil }

// failure aborts a benchmark of the Go implementation; run recovers it.
type failure struct{ msg string }

func fail(format string, args ...any) { panic(failure{fmt.Sprintf(format, args...)}) }

func must(err error) {
	if err != nil {
		panic(failure{err.Error()})
	}
}

func (g *goImpl) Run(ctx context.Context, b Benchmark, n int) Measure {
	return g.run(b, n, false)
}

// Warmup runs a reduced b (see warmN and warmOps) and discards the result.
func (g *goImpl) Warmup(ctx context.Context, b Benchmark, n int) {
	g.run(b, n, true)
}

func (g *goImpl) run(b Benchmark, n int, warm bool) (m Measure) {
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(failure); ok {
				m = Measure{Error: f.msg}
				return
			}
			m = Measure{Error: fmt.Sprintf("panic: %v", r)}
		}
	}()
	if warm {
		n = warmN(n)
	}
	switch {
	case b.Group == "B1" && b.Array:
		return g.b1Array(b.ID, n)
	case b.Group == "B1":
		return g.b1Text(b.ID, n)
	case b.Group == "B2":
		return g.b2(b.ID, n)
	case b.Group == "B3":
		return g.b3(b.ID, n)
	}
	if err := g.fx.err; err != nil {
		return Measure{NA: naReason(err)}
	}
	limit := 0
	if warm {
		limit = warmOps(len(g.fx.trace.Ops))
	}
	switch b.ID {
	case "B4":
		return g.b4(1, limit)
	case "B4x100":
		if warm {
			return g.b4(1, limit)
		}
		return g.b4(100, 0)
	case "B4.merge":
		return g.merge(limit)
	case "B4.load.v1":
		return g.load(g.fx.stateV1, false)
	case "B4.load.v2":
		return g.load(g.fx.stateV2, true)
	}
	return Measure{Error: "unknown benchmark " + b.ID}
}

// gdoc mirrors crdt-benchmarks' yjs factory (benchmarks/yjs/factory.js):
// roots "array", "map" and "text", and an update V2 listener on every doc.
type gdoc struct {
	d    *crdt.Doc
	tx   *crdt.Txn // the open transaction of transact, or nil
	text *crdt.Text
	arr  *crdt.Array
	m    *crdt.Map
}

func newGDoc(k int, onUpdate func([]byte)) *gdoc {
	d := crdt.MustNewDoc(crdt.Options{ClientID: clientID(k)})
	if onUpdate == nil {
		onUpdate = func([]byte) {}
	}
	d.OnUpdateV2(func(u []byte, _ *crdt.Txn) { onUpdate(u) })
	g := &gdoc{d: d}
	var err error
	g.arr, err = d.GetArray("array")
	must(err)
	g.m, err = d.GetMap("map")
	must(err)
	g.text, err = d.GetText("text")
	must(err)
	return g
}

func loadGDoc(k int, state []byte) *gdoc {
	g := newGDoc(k, nil)
	g.applyUpdate(state)
	return g
}

func (g *gdoc) insertText(i int, s string)    { must(g.text.Insert(g.tx, i, s, nil)) }
func (g *gdoc) deleteText(i, n int)           { must(g.text.Delete(g.tx, i, n)) }
func (g *gdoc) insertArray(i int, vals []any) { must(g.arr.Insert(g.tx, i, vals...)) }
func (g *gdoc) setMap(key string, v any)      { must(g.m.Set(g.tx, key, v)) }
func (g *gdoc) applyUpdate(u []byte)          { must(g.d.ApplyUpdateV2(u, nil)) }
func (g *gdoc) encode() []byte                { return g.d.EncodeStateAsUpdateV2(nil) }

func (g *gdoc) edit(op textOp) {
	if op.del > 0 {
		g.deleteText(op.pos, op.del)
	}
	if op.ins != "" {
		g.insertText(op.pos, op.ins)
	}
}

func (g *gdoc) transact(f func()) {
	g.d.Transact(nil, func(tx *crdt.Txn) {
		g.tx = tx
		defer func() { g.tx = nil }()
		f()
	})
}

// arrayInts returns the array as int64s (B1 numbers are uint31).
func (g *gdoc) arrayInts() []int64 {
	vals := g.arr.Values()
	out := make([]int64, len(vals))
	for i, v := range vals {
		switch x := v.(type) {
		case int64:
			out[i] = x
		case int:
			out[i] = int64(x)
		case float64:
			out[i] = int64(x)
		default:
			fail("array element %d is %T", i, v)
		}
	}
	return out
}

func (g *gdoc) mapJSON() string {
	var b strings.Builder
	canonical(&b, g.m.ToJSON())
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// heapAlloc collects garbage and returns the live heap.
func heapAlloc() int64 {
	runtime.GC()
	var st runtime.MemStats
	runtime.ReadMemStats(&st)
	return int64(st.HeapAlloc)
}

// b1 is crdt-benchmarks' B1 template: doc1 makes count changes, each
// producing updates that doc2 applies; time covers the changes, applying
// them and the check.
func (g *goImpl) b1(count int, change func(*gdoc, int), check func(a, b *gdoc), sum func(*gdoc) string) Measure {
	doc2 := newGDoc(2, nil)
	var updates [][]byte
	doc1 := newGDoc(1, func(u []byte) { updates = append(updates, slices.Clone(u)) })
	tm := startTimer()
	for i := 0; i < count; i++ {
		change(doc1, i)
	}
	for _, u := range updates {
		doc2.applyUpdate(u)
	}
	check(doc1, doc2)
	m := tm.measure()
	size := 0
	for _, u := range updates {
		size += len(u)
	}
	m.Metrics[MetricAvgUpdateSize] = roundHalfUp(float64(size) / float64(count))
	m.encodeAndParse(doc1.encode, func(state []byte) *gdoc {
		doc := loadGDoc(3, state)
		check(doc2, doc)
		return doc
	}, sum, doc1, doc2, updates, change, check)
	return m
}

// encodeAndParse measures encodeTime and docSize of encode, then parseTime
// and memUsed of parse (which loads the state and checks it). keep lists
// the benchmark's other live objects: they must stay alive until the heap
// is measured, or their collection would hide the loaded doc's memory.
func (m *Measure) encodeAndParse(encode func() []byte, parse func([]byte) *gdoc, sum func(*gdoc) string, keep ...any) {
	start := time.Now()
	state := encode()
	m.Metrics[MetricEncodeTime] = ms(time.Since(start))
	m.Metrics[MetricDocSize] = float64(len(state))
	before := heapAlloc()
	start = time.Now()
	doc := parse(state)
	m.Metrics[MetricParseTime] = ms(time.Since(start))
	m.Metrics[MetricMemUsed] = float64(max(heapAlloc()-before, 0))
	m.Checksum = sum(doc)
	runtime.KeepAlive(doc)
	runtime.KeepAlive(keep)
}

func textSum(d *gdoc) string  { return checksumText(d.text.String()) }
func arraySum(d *gdoc) string { return checksumValue(d.arr.Values()) }
func mapSum(d *gdoc) string   { return checksumValue(d.m.ToJSON()) }

func (g *goImpl) b1Text(id string, n int) Measure {
	in := genB1Text(id, n)
	return g.b1(len(in.ops), func(d *gdoc, i int) {
		for _, op := range in.ops[i] {
			d.edit(op)
		}
	}, func(a, b *gdoc) {
		sa := a.text.String()
		if sa != b.text.String() {
			fail("the two documents' texts differ")
		}
		if sa != in.want {
			fail("text differs from the expected text (%d vs %d units)", len(sa), len(in.want))
		}
	}, textSum)
}

func (g *goImpl) b1Array(id string, n int) Measure {
	in := genB1Array(id, n)
	return g.b1(len(in.ops), func(d *gdoc, i int) {
		d.insertArray(in.ops[i].pos, in.ops[i].vals)
	}, func(a, b *gdoc) {
		va := a.arrayInts()
		if !slices.Equal(va, b.arrayInts()) {
			fail("the two documents' arrays differ")
		}
		if !slices.Equal(va, in.want) {
			fail("array differs from the expected numbers")
		}
	}, arraySum)
}

// b2 is crdt-benchmarks' B2 template. Each doc's update handler applies
// the update to the other doc under a mutex that drops re-entrant calls
// (lib0/mutex), so doc2 has integrated doc1's changes before it makes its
// own: as in the original, the exchange is sequential.
func (g *goImpl) b2(id string, n int) Measure {
	in := genB2(id, n)
	var doc1, doc2 *gdoc
	locked := false
	size := 0
	relay := func(to **gdoc) func([]byte) {
		return func(u []byte) {
			if locked {
				return
			}
			locked = true
			defer func() { locked = false }()
			size += len(u)
			(*to).applyUpdate(u)
		}
	}
	doc1 = newGDoc(1, relay(&doc2))
	doc2 = newGDoc(2, relay(&doc1))
	check := func(a, b *gdoc) {
		sa := a.text.String()
		if sa != b.text.String() {
			fail("the two documents' texts differ")
		}
		if in.wantLen >= 0 && len(sa) != in.wantLen {
			fail("text has %d units, want %d", len(sa), in.wantLen)
		}
	}
	doc1.insertText(0, in.init)
	tm := startTimer()
	doc1.transact(func() {
		for _, op := range in.ops1 {
			doc1.edit(op)
		}
	})
	doc2.transact(func() {
		for _, op := range in.ops2 {
			doc2.edit(op)
		}
	})
	check(doc1, doc2)
	m := tm.measure()
	m.Metrics[MetricAvgUpdateSize] = roundHalfUp(float64(size) / 2)
	m.encodeAndParse(doc1.encode, func(state []byte) *gdoc {
		doc := loadGDoc(3, state)
		check(doc, doc2)
		return doc
	}, textSum, doc1, doc2, &in, check)
	return m
}

// b3 is crdt-benchmarks' B3 template: 20·⌊√N⌋ docs make one change each;
// time is one doc applying all their updates in one transaction.
func (g *goImpl) b3(id string, n int) Measure {
	clients := b3Clients(n)
	var updates [][]byte
	locked := false
	docs := make([]*gdoc, clients)
	for i := range docs {
		docs[i] = newGDoc(i+1, func(u []byte) {
			if !locked {
				updates = append(updates, slices.Clone(u))
			}
		})
	}
	var change func(*gdoc, int)
	check := func(a, b *gdoc) {
		if a.mapJSON() != b.mapJSON() {
			fail("the two documents' maps differ")
		}
	}
	sum := mapSum
	switch id {
	case "B3.1":
		change = func(d *gdoc, i int) { d.setMap("v", int64(i)) }
	case "B3.2":
		change = func(d *gdoc, i int) {
			d.setMap("v", lib0.Object{{Key: "name", Value: strconv.Itoa(i)}, {Key: "address", Value: "here"}})
		}
	case "B3.3":
		change = func(d *gdoc, i int) { d.setMap("v", strings.Repeat(strconv.Itoa(i), clients)) }
	case "B3.4":
		change = func(d *gdoc, i int) { d.insertArray(0, []any{strconv.Itoa(i)}) }
		check = func(a, b *gdoc) {
			if checksumValue(a.arr.Values()) != checksumValue(b.arr.Values()) {
				fail("the two documents' arrays differ")
			}
		}
		sum = arraySum
	default:
		return Measure{Error: "unknown benchmark " + id}
	}
	for i, d := range docs {
		change(d, i)
	}
	if len(updates) < clients {
		fail("%d updates from %d clients", len(updates), clients)
	}
	applyAll := func(d *gdoc) {
		locked = true
		defer func() { locked = false }()
		d.transact(func() {
			for _, u := range updates {
				d.applyUpdate(u)
			}
		})
	}
	applyAll(docs[0]) // the reference, as in the original
	tm := startTimer()
	applyAll(docs[1])
	check(docs[0], docs[1])
	m := tm.measure()
	size := 0
	for _, u := range updates {
		size += len(u)
	}
	m.Metrics[MetricUpdateSize] = float64(size)
	m.encodeAndParse(docs[0].encode, func(state []byte) *gdoc {
		doc := loadGDoc(clients+1, state)
		check(doc, docs[0])
		return doc
	}, sum, docs, updates, change, check)
	return m
}

// b4 replays the trace reps times into Y.Text "text", one transaction per
// edit (crdt-benchmarks' B4 and B4x100). Only a single full replay is
// checked against the trace's final text, as in the original. A limit > 0
// replays only the first limit edits (for warming up).
func (g *goImpl) b4(reps, limit int) Measure {
	ops, check := g.fx.trace.Ops, reps == 1 && limit == 0
	if limit > 0 {
		ops = ops[:limit]
	}
	end := g.fx.trace.End
	doc1 := newGDoc(1, nil)
	tm := startTimer()
	for r := 0; r < reps; r++ {
		for _, op := range ops {
			doc1.edit(op)
		}
	}
	if check && doc1.text.String() != end {
		fail("text differs from the trace's endContent")
	}
	m := tm.measure()
	start := time.Now()
	state := doc1.encode()
	m.Metrics[MetricEncodeTime] = ms(time.Since(start))
	m.Metrics[MetricDocSize] = float64(len(state))
	// doc1 is dead from here on, so heapAlloc collects it before the
	// measurement, as the original scopes it for the same reason.
	before := heapAlloc()
	start = time.Now()
	doc := loadGDoc(2, state)
	if check && doc.text.String() != end {
		fail("loaded text differs from the trace's endContent")
	}
	m.Metrics[MetricParseTime] = ms(time.Since(start))
	m.Metrics[MetricMemUsed] = float64(max(heapAlloc()-before, 0))
	m.Checksum = textSum(doc)
	runtime.KeepAlive(doc)
	return m
}

// merge applies the recorded per-edit v1 updates one by one to a fresh
// document without update listeners, as a remote peer receives them. A
// limit > 0 applies only the first limit updates (for warming up).
func (g *goImpl) merge(limit int) Measure {
	fx := g.fx
	updates := fx.updates
	if limit > 0 {
		updates = updates[:limit]
	}
	before := heapAlloc()
	tm := startTimer()
	d := crdt.MustNewDoc(crdt.Options{ClientID: clientID(2)})
	for _, u := range updates {
		must(d.ApplyUpdate(u, nil))
	}
	m := tm.measure()
	m.Metrics[MetricMemUsed] = float64(max(heapAlloc()-before, 0))
	m.Metrics[MetricAvgUpdateSize] = roundHalfUp(float64(fx.updatesSize) / float64(len(fx.updates)))
	txt, err := d.GetText("text")
	must(err)
	s := txt.String()
	if limit == 0 && s != fx.trace.End {
		fail("merged text differs from the trace's endContent")
	}
	m.Checksum = checksumText(s)
	return m
}

// loadReps is how often "load" parses the state; the median counts.
const loadReps = 5

// load parses the encoded B4 state into fresh documents without update
// listeners; time and cpuTime are the medians of loadReps runs, memUsed
// that of the first (the only one preceded by a forced GC, as in
// bench.cjs).
func (g *goImpl) load(state []byte, v2 bool) Measure {
	times := make([]float64, loadReps)
	cpus := make([]float64, loadReps)
	var mem int64
	var d *crdt.Doc
	for r := range times {
		var before int64
		if r == 0 {
			before = heapAlloc()
		}
		tm := startTimer()
		d = crdt.MustNewDoc(crdt.Options{ClientID: clientID(2)})
		if v2 {
			must(d.ApplyUpdateV2(state, nil))
		} else {
			must(d.ApplyUpdate(state, nil))
		}
		m := tm.measure()
		times[r], cpus[r] = m.Metrics[MetricTime], m.Metrics[MetricCPUTime]
		if r == 0 {
			mem = max(heapAlloc()-before, 0)
		}
	}
	txt, err := d.GetText("text")
	must(err)
	s := txt.String()
	if s != g.fx.trace.End {
		fail("loaded text differs from the trace's endContent")
	}
	sort.Float64s(times)
	sort.Float64s(cpus)
	return Measure{
		Metrics: map[string]float64{
			MetricTime:    times[len(times)/2],
			MetricCPUTime: cpus[len(cpus)/2],
			MetricDocSize: float64(len(state)),
			MetricMemUsed: float64(mem),
		},
		Checksum: checksumText(s),
	}
}

// timer measures wall-clock and process CPU time (all threads: the
// garbage collector's too) of the timed part of a benchmark.
type timer struct {
	wall time.Time
	cpu  float64
}

func startTimer() timer { return timer{wall: time.Now(), cpu: cpuMS()} }

// measure returns a Measure with the time and cpuTime metrics.
func (t timer) measure() Measure {
	wall := ms(time.Since(t.wall))
	return Measure{Metrics: map[string]float64{MetricTime: wall, MetricCPUTime: cpuMS() - t.cpu}}
}

// roundHalfUp is JavaScript's Math.round for non-negative values.
func roundHalfUp(x float64) float64 { return float64(int64(x + 0.5)) }
