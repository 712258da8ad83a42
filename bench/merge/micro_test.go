package merge

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"octobase/engine/crdt"
)

// Go micro-benchmarks of octobase/engine/crdt on the B4 data (the
// automerge-paper trace). They skip when the trace is absent.
//
//	go test -run '^$' -bench . -benchmem ./bench/merge

var (
	b4Once sync.Once
	b4Fx   *fixtures
)

// b4 returns the recorded B4 data, or skips.
func b4(b *testing.B) *fixtures {
	b.Helper()
	b4Once.Do(func() {
		root, err := FindRoot()
		if err != nil {
			b4Fx = &fixtures{err: err}
			return
		}
		b4Fx = loadFixtures(filepath.Join(DefaultTraceDir(root), B4TraceFile), true)
	})
	if err := b4Fx.err; err != nil {
		if errors.Is(err, ErrNoTrace) {
			b.Skipf("B4 editing trace not available (%v); set %s or put shared/data/editing-traces beside the repository", err, EnvTraceDir)
		}
		b.Fatal(err)
	}
	return b4Fx
}

func newDoc(b *testing.B) *crdt.Doc {
	d, err := crdt.NewDoc(crdt.Options{ClientID: clientID(2)})
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// b4Doc returns a document loaded with the B4 state.
func b4Doc(b *testing.B, fx *fixtures) *crdt.Doc {
	d := newDoc(b)
	if err := d.ApplyUpdate(fx.stateV1, nil); err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkDecode loads the encoded B4 document into a fresh doc.
func BenchmarkDecode(b *testing.B) {
	fx := b4(b)
	for _, v := range []struct {
		name  string
		state []byte
		apply func(*crdt.Doc, []byte) error
	}{
		{"v1", fx.stateV1, func(d *crdt.Doc, u []byte) error { return d.ApplyUpdate(u, nil) }},
		{"v2", fx.stateV2, func(d *crdt.Doc, u []byte) error { return d.ApplyUpdateV2(u, nil) }},
	} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(v.state)))
			for b.Loop() {
				if err := v.apply(newDoc(b), v.state); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIntegrate is merge-only: the 259,778 per-edit v1 updates of
// B4 applied one by one to a fresh doc.
func BenchmarkIntegrate(b *testing.B) {
	fx := b4(b)
	b.ReportAllocs()
	b.SetBytes(int64(fx.updatesSize))
	for b.Loop() {
		d := newDoc(b)
		for _, u := range fx.updates {
			if err := d.ApplyUpdate(u, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(fx.updates))*float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}

// BenchmarkEncode encodes the whole B4 document.
func BenchmarkEncode(b *testing.B) {
	fx := b4(b)
	d := b4Doc(b, fx)
	b.Run("v1", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(fx.stateV1)))
		for b.Loop() {
			_ = d.EncodeStateAsUpdate(nil)
		}
	})
	b.Run("v2", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(fx.stateV2)))
		for b.Loop() {
			_ = d.EncodeStateAsUpdateV2(nil)
		}
	})
}

// BenchmarkStateVector computes and encodes the B4 document's state vector.
func BenchmarkStateVector(b *testing.B) {
	d := b4Doc(b, b4(b))
	b.ReportAllocs()
	for b.Loop() {
		_ = crdt.EncodeStateVector(d.StateVector())
	}
}

// BenchmarkDiff computes, without a document, what a peer that has the
// first half of every client's clocks lacks of the B4 state.
func BenchmarkDiff(b *testing.B) {
	fx := b4(b)
	sv, err := crdt.EncodeStateVectorFromUpdate(fx.stateV1)
	if err != nil {
		b.Fatal(err)
	}
	full, err := crdt.DecodeStateVector(sv)
	if err != nil {
		b.Fatal(err)
	}
	half := crdt.StateVector{}
	for c, clock := range full {
		half[c] = clock / 2
	}
	halfSV := crdt.EncodeStateVector(half)
	for _, v := range []struct {
		name  string
		state []byte
		diff  func(update, sv []byte) ([]byte, error)
	}{
		{"v1", fx.stateV1, crdt.DiffUpdate},
		{"v2", fx.stateV2, crdt.DiffUpdateV2},
	} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(v.state)))
			var out []byte
			for b.Loop() {
				if out, err = v.diff(v.state, halfSV); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(out)), "diff-bytes")
		})
	}
}
