package crdt

import (
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var b4 struct {
	once    sync.Once
	updates [][]byte
	v1, v2  []byte
	end     string
}

// loadB4 replays automerge-paper once and keeps its per-transaction
// updates and final encodings.
func loadB4(b *testing.B) {
	b4.once.Do(func() {
		path := filepath.Join(traceDir, "sequential", "automerge-paper.json.gz")
		start, end, txns := loadTrace(b, path)
		d := MustNewDoc(Options{ClientID: 1})
		d.OnUpdate(func(u []byte, _ *Txn) { b4.updates = append(b4.updates, u) })
		txt, _ := d.GetText("text")
		if start != "" {
			_ = txt.Insert(nil, 0, start, nil)
		}
		for _, ps := range txns {
			d.Transact(nil, func(tx *Txn) {
				for _, p := range ps {
					if p.del > 0 {
						_ = txt.Delete(tx, p.pos, p.del)
					}
					if p.ins != "" {
						_ = txt.Insert(tx, p.pos, p.ins, nil)
					}
				}
			})
		}
		b4.v1 = d.EncodeStateAsUpdate(nil)
		b4.v2 = d.EncodeStateAsUpdateV2(nil)
		b4.end = end
	})
	if b4.updates == nil {
		b.Skip("automerge-paper trace not available")
	}
}

// BenchmarkB4MergeOnly applies the 259,778 per-op updates of the trace one
// by one to a fresh document, as a remote peer receives them.
func BenchmarkB4MergeOnly(b *testing.B) {
	loadB4(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d := MustNewDoc(Options{ClientID: 2})
		for _, u := range b4.updates {
			if err := d.ApplyUpdate(u, nil); err != nil {
				b.Fatal(err)
			}
		}
		if i == 0 {
			txt, _ := d.GetText("text")
			if txt.String() != b4.end {
				b.Fatal("wrong text")
			}
		}
	}
	b.ReportMetric(float64(len(b4.updates)), "updates/op")
}

func BenchmarkB4ParseV1(b *testing.B) {
	loadB4(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(b4.v1)))
	for i := 0; i < b.N; i++ {
		d := MustNewDoc(Options{ClientID: 2})
		if err := d.ApplyUpdate(b4.v1, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkB4ParseV2(b *testing.B) {
	loadB4(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(b4.v2)))
	for i := 0; i < b.N; i++ {
		d := MustNewDoc(Options{ClientID: 2})
		if err := d.ApplyUpdateV2(b4.v2, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkB4EncodeV1(b *testing.B) {
	loadB4(b)
	d := MustNewDoc(Options{ClientID: 2})
	_ = d.ApplyUpdate(b4.v1, nil)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = d.EncodeStateAsUpdate(nil)
	}
}

// BenchmarkB4Memory reports the heap held by the loaded B4 document.
func BenchmarkB4Memory(b *testing.B) {
	loadB4(b)
	var docs []*Doc
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		d := MustNewDoc(Options{ClientID: 2})
		if err := d.ApplyUpdate(b4.v1, nil); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		docs = append(docs, d)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc), "heap-bytes")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(b4.v1)), "x-encoded")
	}
	runtime.KeepAlive(docs)
}

// BenchmarkB3Conflicts mirrors crdt-benchmarks B3.4: 1540 clients each
// insert at index 0 of an empty array; one document applies all updates in
// one transaction (every item conflicts with every other).
func BenchmarkB3Conflicts(b *testing.B) {
	const clients = 1540
	var updates [][]byte
	for i := 0; i < clients; i++ {
		d := MustNewDoc(Options{ClientID: uint64(i + 1)})
		d.OnUpdate(func(u []byte, _ *Txn) { updates = append(updates, u) })
		a, _ := d.GetArray("a")
		if err := a.Insert(nil, 0, float64(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d := MustNewDoc(Options{ClientID: 1 << 40})
		d.Transact(nil, func(tx *Txn) {
			for _, u := range updates {
				if err := d.ApplyUpdate(u, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTypingRunMemory reports the heap of a loaded document made of
// long runs of typing (100,000 characters typed one per transaction, in
// runs of 1,000 at random places), relative to its encoded size.
func BenchmarkTypingRunMemory(b *testing.B) {
	src := MustNewDoc(Options{ClientID: 1})
	txt, _ := src.GetText("t")
	pos := 0
	for i := 0; i < 100000; i++ {
		if i%1000 == 0 {
			pos = (pos*7919 + 13) % (txt.Len() + 1)
		}
		if err := txt.Insert(nil, pos, string(rune('a'+i%26)), nil); err != nil {
			b.Fatal(err)
		}
		pos++
	}
	v1 := src.EncodeStateAsUpdate(nil)
	var docs []*Doc
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		d := MustNewDoc(Options{ClientID: 2})
		if err := d.ApplyUpdate(v1, nil); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		docs = append(docs, d)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc), "heap-bytes")
		b.ReportMetric(float64(len(v1)), "encoded-bytes")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(v1)), "x-encoded")
	}
	runtime.KeepAlive(docs)
}
