package ysync

import (
	"fmt"
	"testing"
)

func BenchmarkDecodeUpdate(b *testing.B) {
	d := newDoc(b, 1)
	insertText(b, d, 0, "some text of moderate length for a typical keystroke batch")
	msg := AppendUpdate(nil, d.EncodeStateAsUpdate(nil))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHandleStep1(b *testing.B) {
	d := newDoc(b, 1)
	for i := range 100 {
		insertText(b, d, i, "x")
	}
	msg := Step1(newDoc(b, 2))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Handle(d, msg, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAwarenessApply(b *testing.B) {
	es := make([]AwarenessEntry, 20)
	for i := range es {
		es[i] = AwarenessEntry{ClientID: uint64(i + 1), Clock: 1, State: fmt.Sprintf(`{"user":{"name":"u%d","color":"#30bced"},"cursor":{"anchor":%d,"head":%d}}`, i, i, i+3)}
	}
	b.SetBytes(int64(len(EncodeAwarenessUpdate(es))))
	b.ReportAllocs()
	a := NewAwareness(1000, 0)
	var now int64
	for b.Loop() {
		now++
		for i := range es {
			es[i].Clock++
		}
		// Newer clocks keep every entry accepted; encoding is measured too.
		if _, err := a.Apply(EncodeAwarenessUpdate(es), now); err != nil {
			b.Fatal(err)
		}
	}
}
