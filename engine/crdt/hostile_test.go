package crdt_test

// Hostile-input tests: hand-built updates that claim huge counts, overflow
// clocks, use ids yjs cannot represent, reference content yjs 13 does not
// define, are cut short, point at themselves, or arrive out of order.
// Every rejection must be a typed error, cost bounded memory and time, and
// leave the document as it was.

import (
	"bytes"
	"errors"
	"runtime"
	"slices"
	"testing"
	"time"

	"octobase/engine/crdt"
	"octobase/engine/lib0"
)

// ---- building updates by hand ----

// vu concatenates varUints.
func vu(vals ...uint64) []byte {
	var b []byte
	for _, v := range vals {
		b = lib0.AppendVarUint(b, v)
	}
	return b
}

// vs is a varString.
func vs(s string) []byte { return append(vu(uint64(len(s))), s...) }

func cat(parts ...[]byte) []byte { return slices.Concat(parts...) }

// v2 column helpers (lib0 encoding.js; see YJS.md §1).
func rleRepeat(v byte) []byte { return []byte{v} } // Rle: the last value repeats forever
func uintOne(v uint64) []byte { return lib0.AppendVarIntSign(nil, v, false) }
func uintRun(v, count uint64) []byte {
	return lib0.AppendVarUint(lib0.AppendVarIntSign(nil, v, true), count-2)
}
func strCol(strs ...string) []byte {
	var e lib0.StringEncoder
	for _, s := range strs {
		e.Write(s)
	}
	return slices.Clone(e.Bytes())
}

// Column indexes of update v2.
const (
	colKeyClock = iota
	colClient
	colLeftClock
	colRightClock
	colInfo
	colString
	colParentInfo
	colTypeRef
	colLen
)

// v2 builds an update v2 from its columns (missing ones empty) and rest.
func v2(cols map[int][]byte, rest []byte) []byte {
	b := vu(0)
	for i := 0; i < 9; i++ {
		c := cols[i]
		if i == colString && c == nil {
			c = strCol() // an empty string column still holds ""
		}
		b = append(b, vu(uint64(len(c)))...)
		b = append(b, c...)
	}
	return append(b, rest...)
}

// ---- measuring ----

// bounded runs f and fails if it allocates more than maxAlloc bytes or
// takes longer than maxTime (generous: the race detector is slow).
func bounded(t *testing.T, what string, maxAlloc uint64, maxTime time.Duration, f func()) {
	t.Helper()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	f()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&m1)
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > maxAlloc {
		t.Errorf("%s: allocated %d bytes, limit %d", what, alloc, maxAlloc)
	}
	if elapsed > maxTime {
		t.Errorf("%s: took %v, limit %v", what, elapsed, maxTime)
	}
}

const (
	smallAlloc = 8 << 20
	shortTime  = 3 * time.Second
)

// baseDoc returns a document with content (not accessed through the API,
// so its roots take any kind).
func baseDoc(t *testing.T) *crdt.Doc {
	t.Helper()
	d := newDoc()
	if err := d.ApplyUpdate(baseUpdate(t), nil); err != nil {
		t.Fatal(err)
	}
	return d
}

type snapshot struct {
	state []byte
	sv    string
}

func snap(d *crdt.Doc) snapshot {
	return snapshot{d.EncodeStateAsUpdate(nil), svString(d.StateVector())}
}

// rejectUpdate applies u to a fresh document and to one with content and
// requires a typed error (ErrUnsupported if unsupported), bounded cost and
// an unchanged document. The document-free functions must not panic and may
// only fail with typed errors.
func rejectUpdate(t *testing.T, u []byte, isV2, unsupported bool) {
	t.Helper()
	for _, d := range []*crdt.Doc{newDoc(), baseDoc(t)} {
		before := snap(d)
		var err error
		bounded(t, "apply", smallAlloc, shortTime, func() { err = apply(d, u, isV2) })
		if err == nil {
			t.Fatalf("update %x accepted", u)
		}
		typedErr(t, "apply", err)
		if unsupported && !errors.Is(err, crdt.ErrUnsupported) {
			t.Fatalf("want ErrUnsupported, got %v", err)
		}
		if after := snap(d); !bytes.Equal(after.state, before.state) || after.sv != before.sv {
			t.Fatalf("rejected update changed the document: %v\n before %x\n after  %x", err, before.state, after.state)
		}
	}
	bounded(t, "document-free", smallAlloc, shortTime, func() {
		merge, conv, svFrom, diff := crdt.MergeUpdates, crdt.ConvertUpdateV1ToV2, crdt.EncodeStateVectorFromUpdate, crdt.DiffUpdate
		if isV2 {
			merge, conv, svFrom, diff = crdt.MergeUpdatesV2, crdt.ConvertUpdateV2ToV1, crdt.EncodeStateVectorFromUpdateV2, crdt.DiffUpdateV2
		}
		for name, f := range map[string]func() error{
			"merge one": func() error { _, err := merge([][]byte{u}); return err },
			"merge two": func() error { _, err := merge([][]byte{u, u}); return err },
			"convert":   func() error { _, err := conv(u); return err },
			"sv":        func() error { _, err := svFrom(u); return err },
			"diff":      func() error { _, err := diff(u, []byte{0}); return err },
			"inspect":   func() error { return crdt.InspectUpdate(new(bytes.Buffer), u, isV2) },
		} {
			if err := f(); err != nil {
				typedErr(t, name, err)
			}
		}
	})
}

// ---- huge counts with no data ----

func TestHostileHugeCountsV1(t *testing.T) {
	head := vu(1, 1, 1, 0) // one client, one struct, client 1, clock 0
	root := cat(vu(1), vs("t"))
	for _, c := range []struct {
		name string
		u    []byte
	}{
		{"numClients 2^50", vu(1 << 50)},
		{"numStructs 2^50", vu(1, 1<<50, 1, 0)},
		{"numStructs 2^50 after one GC", cat(vu(1, 1<<50, 1, 0), []byte{0}, vu(1))},
		{"string length 2^40", cat(head, []byte{0x04}, root, vu(1<<40), []byte("abc"))},
		{"root name length 2^40", cat(head, []byte{0x04}, vu(1, 1<<40), []byte("t"))},
		{"parentSub length 2^40", cat(head, []byte{0x28}, root, vu(1<<40), []byte("k"))},
		{"binary length 2^40", cat(head, []byte{0x03}, root, vu(1<<40), []byte{1, 2})},
		{"any count 2^31", cat(head, []byte{0x08}, root, vu(1<<31), []byte{0x7e})},
		{"any count 2^40", cat(head, []byte{0x08}, root, vu(1<<40), []byte{0x7e})},
		{"json count 2^31", cat(head, []byte{0x02}, root, vu(1<<31), vs("1"))},
		{"any array 2^40", cat(head, []byte{0x08}, root, vu(1), []byte{117}, vu(1<<40), []byte{0x7e})},
		{"any object 2^40", cat(head, []byte{0x08}, root, vu(1), []byte{118}, vu(1<<40), vs("k"))},
		{"any string 2^40", cat(head, []byte{0x08}, root, vu(1), []byte{119}, vu(1<<40))},
		{"deleted length 2^40", cat(head, []byte{0x01}, root, vu(1<<40), vu(0))},
		{"GC length 2^40", cat(head, []byte{0x00}, vu(1<<40), vu(0))},
		{"skip length 2^40", cat(head, []byte{0x0a}, vu(1<<40), vu(0))},
		{"xml element name 2^40", cat(head, []byte{0x07}, root, vu(3, 1<<40), []byte("p"))},
		{"subdoc guid 2^40", cat(head, []byte{0x09}, root, vu(1<<40), []byte("g"))},
		{"delete set clients 2^50", vu(0, 1<<50)},
		{"delete set ranges 2^50", vu(0, 1, 5, 1<<50)},
		{"delete set ranges 2^50 after one", vu(0, 1, 5, 1<<50, 0, 1)},
		{"delete range length 2^40", vu(0, 1, 5, 1, 0, 1<<40)},
		{"varUint above 2^53", cat([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})},
		{"varUint of 11 bytes", cat([]byte{0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00})},
	} {
		t.Run(c.name, func(t *testing.T) { rejectUpdate(t, c.u, false, false) })
	}
}

func TestHostileHugeCountsV2(t *testing.T) {
	// v2 columns repeat their last value forever: only the struct budget
	// bounds what a few bytes can claim. With the budget a server would set
	// for untrusted peers, memory stays small.
	defer func(old int) { crdt.MaxStructsPerUpdate = old }(crdt.MaxStructsPerUpdate)
	crdt.MaxStructsPerUpdate = 1 << 12
	for _, c := range []struct {
		name string
		u    []byte
	}{
		{"numClients 2^50", v2(nil, vu(1<<50))},
		{"column length 2^50", cat(vu(0), vu(1<<50), []byte{1, 2, 3})},
		// The info column repeats GC forever and the length column holds a
		// run of 2^50 ones: the struct budget must stop the decoder.
		{"numStructs 2^50 of GC", v2(map[int][]byte{colClient: uintOne(1), colInfo: rleRepeat(0), colLen: uintRun(1, 1<<50)}, vu(1, 1<<50, 0, 0))},
		{"numStructs 2^50 of Deleted", v2(map[int][]byte{colClient: uintOne(1), colInfo: rleRepeat(0x01), colParentInfo: rleRepeat(1), colString: strCol("t"), colLen: uintRun(1, 1<<50)}, vu(1, 1<<50, 0, 0))},
		{"numStructs 2^50 of Deleted with origins", v2(map[int][]byte{
			colClient: uintRun(1, 1<<50), colLeftClock: lib0.AppendVarUint(lib0.AppendVarIntSign(nil, 3, false), 1<<50), // diff 1, run
			colInfo: rleRepeat(0x81), colLen: uintRun(1, 1<<50),
		}, vu(1, 1<<50, 1, 0))},
		{"numStructs 2^50 of strings", v2(map[int][]byte{colClient: uintOne(1), colInfo: rleRepeat(0x04), colParentInfo: rleRepeat(1),
			colString: cat(vs("tab"), uintRun(1, 1<<50))}, vu(1, 1<<50, 0, 0))},
		{"numStructs 2^50 of skips", v2(map[int][]byte{colClient: uintOne(1), colInfo: rleRepeat(0x0a)}, vu(1, 1<<50, 0, 1, 1, 1))},
		{"string column length 2^40", v2(map[int][]byte{colClient: uintOne(1), colInfo: rleRepeat(0x04), colParentInfo: rleRepeat(1),
			colString: cat(vu(1<<40), []byte("t"))}, vu(1, 1, 0, 0))},
		{"string lengths past the data", v2(map[int][]byte{colClient: uintOne(1), colInfo: rleRepeat(0x04), colParentInfo: rleRepeat(1),
			colString: cat(vs("t"), uintOne(1<<40))}, vu(1, 1, 0, 0))},
		{"length 2^40", v2(map[int][]byte{colClient: uintOne(1), colInfo: rleRepeat(0x08), colParentInfo: rleRepeat(1), colString: strCol("t"), colLen: uintOne(1 << 40)}, vu(1, 1, 0, 0))},
		{"any count 2^31", v2(map[int][]byte{colClient: uintOne(1), colInfo: rleRepeat(0x08), colParentInfo: rleRepeat(1), colString: strCol("t"), colLen: uintOne(1 << 31)}, vu(1, 1, 0, 0x7e))},
		{"delete set clients 2^50", v2(nil, vu(0, 1<<50))},
		{"delete set ranges 2^50", v2(nil, vu(0, 1, 5, 1<<50))},
		{"delete range length 2^40", v2(nil, vu(0, 1, 5, 1, 0, 1<<40))},
		{"delete set clock overflow", v2(nil, vu(0, 1, 5, 2, 0xfffffff0, 0, 0x10, 0))},
	} {
		t.Run(c.name, func(t *testing.T) { rejectUpdate(t, c.u, true, false) })
	}
}

// TestHostileV2StructBudgetAmplification pads a v2 update whose info and
// length columns repeat forever: the struct budget grows with the update's
// size, so the decoder's memory must stay proportional to it.
func TestHostileV2StructBudgetAmplification(t *testing.T) {
	// Was a known bug: the budget allowed ~10 KB of allocation per input byte.
	pad := make([]byte, 16<<10)
	u := v2(map[int][]byte{colClient: uintOne(1), colInfo: rleRepeat(0), colTypeRef: pad, colLen: uintRun(1, 1<<50)}, vu(1, 1<<50, 0, 0))
	var err error
	bounded(t, "apply", 1<<20+uint64(len(u))*1024, shortTime, func() { err = newDoc().ApplyUpdateV2(u, nil) })
	typedErr(t, "apply", err)
}

// TestHostileV2DenseLegitUpdate loads a 42-byte v2 update yjs 13.6.33
// writes for a text of 20000 characters typed backwards and then deleted:
// 20000 Deleted structs whose columns are all runs. Our encoder writes the
// same bytes. The struct budget must not reject it.
func TestHostileV2DenseLegitUpdate(t *testing.T) {
	// const Y = require('yjs'); const d = new Y.Doc(); d.clientID = 1
	// const t = d.getText('t'); for (let i = 0; i < 20000; i++) t.insert(0, 'a')
	// t.delete(0, t.length); Y.encodeStateAsUpdateV2(d)
	yjs := unhex(t, "000004419e9c01000500039c9c01030100410301740101010004419e9c0101a09c0100010101009f9c01")
	d := crdt.MustNewDoc(crdt.Options{ClientID: 1})
	x, _ := d.GetText("t")
	for i := 0; i < 20000; i++ {
		if err := x.Insert(nil, 0, "a", nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Delete(nil, 0, x.Len()); err != nil {
		t.Fatal(err)
	}
	if got := d.EncodeStateAsUpdateV2(nil); !bytes.Equal(got, yjs) {
		t.Fatalf("v2 state differs from yjs:\n got %x\n yjs %x", got, yjs)
	}
	if err := newDoc().ApplyUpdate(d.EncodeStateAsUpdate(nil), nil); err != nil {
		t.Fatalf("v1 state does not load: %v", err)
	}
	if _, err := crdt.ConvertUpdateV2ToV1(yjs); err != nil {
		t.Fatalf("regression of a fixed bug: a valid yjs v2 update is rejected: %v (structBudget, update.go:165, "+
			"allows 64*len+1024 = %d structs; the update holds 20000)", err, 64*len(yjs)+1024)
	}
	r := newDoc()
	if err := r.ApplyUpdateV2(yjs, nil); err != nil {
		t.Fatalf("yjs v2 update does not load: %v", err)
	}
	if got, want := svString(r.StateVector()), svString(d.StateVector()); got != want {
		t.Fatalf("state vector %s, want %s", got, want)
	}
}

// ---- clocks, client ids and lengths at the limits ----

func TestHostileLimits(t *testing.T) {
	str := func(client, clock uint64, s string) []byte { // one String struct in root "t"
		return cat(vu(1, 1, client, clock), []byte{0x04}, vu(1), vs("t"), vs(s))
	}
	withOrigin := func(client, clock, oc, ok uint64) []byte {
		return cat(vu(1, 1, client, clock), []byte{0x84}, vu(oc, ok), vs("x"), vu(0))
	}
	const max32 = 1<<32 - 1
	const max53 = 1<<53 - 1
	for _, c := range []struct {
		name string
		u    []byte
	}{
		{"first clock 2^32", cat(str(1, 1<<32, "a"), vu(0))},
		{"clock overflows in the struct", cat(str(1, max32-1, "abc"), vu(0))},
		{"clock overflows after a GC", cat(vu(1, 2, 1, max32-1), []byte{0}, vu(1), []byte{0}, vu(1), vu(0))},
		{"origin clock 2^32", cat(withOrigin(1, 0, 2, 1<<32), vu(0))},
		{"delete range past 2^32", cat(vu(0), vu(1, 1, 1, max32, 1))},
		{"delete range overflows", cat(vu(0), vu(1, 1, 1, 5, max32))},
		{"client 2^53", cat(str(1<<53, 0, "a"), vu(0))},
		{"origin client 2^53", cat(withOrigin(1, 0, 1<<53, 0), vu(0))},
		{"parent client 2^53", cat(vu(1, 1, 1, 0), []byte{0x04}, vu(0, 1<<53, 0), vs("a"), vu(0))},
		{"delete set client 2^53", cat(vu(0), vu(1, 1<<53, 1, 0, 1))},
		{"empty string", cat(str(1, 0, ""), vu(0))},
		{"empty GC", cat(vu(1, 1, 1, 0), []byte{0}, vu(0), vu(0))},
		{"empty skip", cat(vu(1, 1, 1, 0), []byte{10}, vu(0), vu(0))},
		{"empty Deleted", cat(vu(1, 1, 1, 0), []byte{1}, vu(1), vs("t"), vu(0), vu(0))},
		{"empty Any", cat(vu(1, 1, 1, 0), []byte{8}, vu(1), vs("t"), vu(0), vu(0))},
		{"empty JSON", cat(vu(1, 1, 1, 0), []byte{2}, vu(1), vs("t"), vu(0), vu(0))},
		{"invalid UTF-8 string", cat(str(1, 0, "\xff\xfe"), vu(0))},
		{"invalid JSON", cat(vu(1, 1, 1, 0), []byte{2}, vu(1), vs("t"), vu(1), vs("{"), vu(0))},
		{"any tag 115", cat(vu(1, 1, 1, 0), []byte{8}, vu(1), vs("t"), vu(1), []byte{115}, vu(0))},
	} {
		t.Run(c.name, func(t *testing.T) { rejectUpdate(t, c.u, false, false) })
	}
	for _, c := range []struct {
		name string
		u    []byte
	}{
		{"v2 client 2^53", v2(map[int][]byte{colClient: uintOne(1 << 53), colInfo: rleRepeat(0), colLen: uintOne(1)}, vu(1, 1, 0, 0))},
		{"v2 left clock 2^32", v2(map[int][]byte{colClient: cat(uintOne(1), uintOne(2)), colLeftClock: lib0.AppendVarIntSign(nil, 1<<33, false),
			colInfo: rleRepeat(0x88), colLen: uintOne(1)}, vu(1, 1, 0, 0x7e, 0))},
		{"v2 negative left clock", v2(map[int][]byte{colClient: cat(uintOne(1), uintOne(2)), colLeftClock: lib0.AppendVarIntSign(nil, 2, true),
			colInfo: rleRepeat(0x88), colLen: uintOne(1)}, vu(1, 1, 0, 0x7e, 0))},
		{"v2 length 2^32", v2(map[int][]byte{colClient: uintOne(1), colInfo: rleRepeat(0), colLen: uintOne(1 << 32)}, vu(1, 1, 0, 0))},
		{"v2 empty info column", v2(map[int][]byte{colClient: uintOne(1)}, vu(1, 1, 0, 0))},
		{"v2 empty client column", v2(map[int][]byte{colInfo: rleRepeat(0), colLen: uintOne(1)}, vu(1, 1, 0, 0))},
	} {
		t.Run(c.name, func(t *testing.T) { rejectUpdate(t, c.u, true, false) })
	}

	// At the limits but valid: client 2^53-1, a clock ending at 2^32-1.
	t.Run("client 2^53-1", func(t *testing.T) {
		u := cat(str(max53, 0, "edge"), vu(0))
		d := newDoc()
		if err := d.ApplyUpdate(u, nil); err != nil {
			t.Fatal(err)
		}
		if got := d.StateVector().Get(max53); got != 4 {
			t.Fatalf("state of client 2^53-1 = %d", got)
		}
		checkReload(t, func() *crdt.Doc { d := newDoc(); _ = d.ApplyUpdate(u, nil); return d })
	})
	t.Run("struct ending at 2^32-1 waits for its gap", func(t *testing.T) {
		u := cat(str(9, max32-3, "abc"), vu(0))
		d := newDoc()
		if err := d.ApplyUpdate(u, nil); err != nil {
			t.Fatal(err)
		}
		if !d.HasPending() || d.StateVector().Get(9) != 0 {
			t.Fatalf("pending %v, state %d", d.HasPending(), d.StateVector().Get(9))
		}
		checkReload(t, func() *crdt.Doc { d := newDoc(); _ = d.ApplyUpdate(u, nil); return d })
	})
	t.Run("zero structs and empty delete range", func(t *testing.T) {
		for _, c := range []struct {
			u    []byte
			isV2 bool
		}{
			{vu(1, 0, 5, 0, 0), false},         // a client with no structs
			{vu(0, 1, 5, 1, 0, 0), false},      // a delete range of length 0
			{vu(0, 1, 5, 0), false},            // a client with no delete ranges
			{v2(nil, vu(1, 0, 5, 0, 0)), true}, // a client with no structs
		} {
			u := c.u
			d := baseDoc(t)
			before := snap(d)
			if err := apply(d, u, c.isV2); err != nil {
				typedErr(t, "apply", err)
			}
			if after := snap(d); !bytes.Equal(after.state, before.state) {
				t.Fatalf("update %x changed the document", u)
			}
		}
	})
}

// ---- content yjs 13 does not define ----

func TestHostileUnsupportedRefs(t *testing.T) {
	head := cat(vu(1, 1, 1, 0))
	root := cat(vu(1), vs("t"))
	// yrs' move content (ref 11) and weak link (type ref 7): ErrUnsupported.
	rejectUpdate(t, cat(head, []byte{11}, root, vu(0, 1, 0, 1, 1, 0), vu(0)), false, true)
	rejectUpdate(t, cat(head, []byte{7}, root, vu(7), vu(1, 0, 1, 0), vu(0)), false, true)
	rejectUpdate(t, v2(map[int][]byte{colClient: uintOne(1), colInfo: rleRepeat(11), colParentInfo: rleRepeat(1), colString: strCol("t")},
		vu(1, 1, 0, 0, 1, 0, 1, 1, 0)), true, true)
	rejectUpdate(t, v2(map[int][]byte{colClient: uintOne(1), colInfo: rleRepeat(7), colParentInfo: rleRepeat(1), colString: strCol("t"),
		colTypeRef: uintOne(7)}, vu(1, 1, 0, 0)), true, true)
	// Other unknown refs: a typed error of either kind.
	for ref := byte(12); ref < 32; ref++ {
		for _, hi := range []byte{0, 0x20} {
			rejectUpdate(t, cat(head, []byte{ref | hi}, root, vu(1, 1, 1, 1), vu(0)), false, false)
		}
	}
	for _, typeRef := range []uint64{8, 100, 254, 255, 256, 1 << 40} {
		rejectUpdate(t, cat(head, []byte{7}, root, vu(typeRef), vs("name"), vu(0)), false, false)
	}
}

// ---- truncation ----

// TestHostileTruncated cuts valid updates at every byte offset: every
// strict prefix must fail with a typed error and change nothing.
func TestHostileTruncated(t *testing.T) {
	s := allSeeds(t)
	type upd struct {
		b    []byte
		isV2 bool
	}
	var updates []upd
	for _, b := range [][]byte{unhex(t, yjsAXB), goodUpdate(t, false), s.docs[2]} {
		updates = append(updates, upd{b, false})
		d := newDoc()
		if err := d.ApplyUpdate(b, nil); err != nil {
			t.Fatal(err)
		}
		updates = append(updates, upd{d.EncodeStateAsUpdateV2(nil), true})
	}
	base := baseDoc(t)
	baseState := snap(base)
	for _, u := range updates {
		for i := 0; i < len(u.b); i++ {
			p := u.b[:i:i]
			for _, d := range []*crdt.Doc{newDoc(), base} {
				before := snap(d)
				err := apply(d, p, u.isV2)
				if err == nil {
					t.Fatalf("prefix %d of %x accepted", i, u.b)
				}
				typedErr(t, "apply prefix", err)
				if after := snap(d); !bytes.Equal(after.state, before.state) || after.sv != before.sv {
					t.Fatalf("prefix %d of %x changed the document", i, u.b)
				}
			}
			conv, svFrom := crdt.ConvertUpdateV1ToV2, crdt.EncodeStateVectorFromUpdate
			merge := crdt.MergeUpdates
			if u.isV2 {
				conv, svFrom, merge = crdt.ConvertUpdateV2ToV1, crdt.EncodeStateVectorFromUpdateV2, crdt.MergeUpdatesV2
			}
			if _, err := conv(p); err == nil {
				t.Fatalf("convert accepted prefix %d of %x", i, u.b)
			} else {
				typedErr(t, "convert prefix", err)
			}
			if _, err := svFrom(p); err != nil {
				typedErr(t, "state vector of prefix", err)
			}
			if _, err := merge([][]byte{u.b, p}); err == nil {
				t.Fatalf("merge accepted prefix %d of %x", i, u.b)
			} else {
				typedErr(t, "merge prefix", err)
			}
		}
	}
	if after := snap(base); !bytes.Equal(after.state, baseState.state) {
		t.Fatal("truncated updates changed the base document")
	}
	// State vectors and delete sets, too.
	sv := crdt.EncodeStateVector(crdt.StateVector{1: 5, 300: 1 << 20, crdt.MaxClientID: 1<<32 - 1})
	for i := 0; i < len(sv); i++ {
		if _, err := crdt.DecodeStateVector(sv[:i]); err == nil {
			t.Fatalf("state vector prefix %d accepted", i)
		} else {
			typedErr(t, "state vector prefix", err)
		}
	}
	ds := crdt.EncodeDeleteSetV1(crdt.DeleteSet{1: {{0, 2}, {10, 1 << 20}}, 1 << 40: {{7, 1}}})
	for i := 0; i < len(ds); i++ {
		if _, err := crdt.DecodeDeleteSetV1(ds[:i]); err == nil {
			t.Fatalf("delete set prefix %d accepted", i)
		} else {
			typedErr(t, "delete set prefix", err)
		}
	}
}

// ---- structure: parents, origins ----

// TestHostileParentNotAType names a parent item whose content is not a
// type (a string, a deleted item, a map value). yjs integrates such an item
// as garbage; it must never panic or corrupt the parent's content.
func TestHostileParentNotAType(t *testing.T) {
	base := unhex(t, yjsAXB) // client 1: "a"(0) "b"(1) Deleted(2) "X"(3)
	for _, parent := range []uint64{0, 1, 2, 3} {
		for _, sub := range []bool{false, true} {
			info := byte(0x04)
			key := []byte(nil)
			if sub {
				info |= 0x20
				key = vs("k")
			}
			u := cat(vu(1, 1, 2, 0), []byte{info}, vu(0, 1, parent), key, vs("zz"), vu(0))
			mk := func() *crdt.Doc {
				d := newDoc()
				if err := d.ApplyUpdate(base, nil); err != nil {
					t.Fatal(err)
				}
				if err := d.ApplyUpdate(u, nil); err != nil {
					typedErr(t, "apply", err)
				}
				return d
			}
			d := mk()
			x, err := d.GetText("t")
			if err != nil {
				t.Fatal(err)
			}
			if s := x.String(); s != "aXb" {
				t.Fatalf("parent %d: text = %q", parent, s)
			}
			checkReload(t, mk)
		}
	}
}

// TestHostileSelfReferences: an item whose origin, right origin or parent
// is itself or comes after it (same client) cannot exist.
func TestHostileSelfReferences(t *testing.T) {
	const c = 5
	for _, tc := range []struct {
		name string
		u    []byte
	}{
		{"origin is itself", cat(vu(1, 1, c, 0), []byte{0x84}, vu(c, 0), vs("a"), vu(0))},
		{"origin after itself", cat(vu(1, 1, c, 0), []byte{0x84}, vu(c, 7), vs("a"), vu(0))},
		{"origin inside itself", cat(vu(1, 1, c, 0), []byte{0x84}, vu(c, 1), vs("abc"), vu(0))},
		{"right origin is itself", cat(vu(1, 1, c, 0), []byte{0x44}, vu(c, 0), vs("a"), vu(0))},
		{"right origin after itself", cat(vu(1, 1, c, 0), []byte{0x44}, vu(c, 9), vs("a"), vu(0))},
		{"parent is itself", cat(vu(1, 1, c, 0), []byte{0x07}, vu(0, c, 0), vu(1), vu(0))},
		{"parent after itself", cat(vu(1, 1, c, 0), []byte{0x04}, vu(0, c, 1), vs("a"), vu(0))},
		{"origin is a later struct of the update", cat(vu(1, 2, c, 0), []byte{0x84}, vu(c, 1), vs("a"), []byte{0x04}, vu(1), vs("t"), vs("b"), vu(0))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rejectUpdate(t, tc.u, false, false)
			if v, err := crdt.ConvertUpdateV1ToV2(tc.u); err == nil {
				rejectUpdate(t, v, true, false)
			}
		})
	}
}

// TestHostileRejectedAfterOtherClients puts a malformed struct after a
// valid struct of a higher client (integrated first, yjs' order): the
// whole update must still be rejected without changing the document.
func TestHostileRejectedAfterOtherClients(t *testing.T) {
	valid := cat(vu(1, 9, 0), []byte{0x04}, vu(1), vs("t"), vs("zz")) // client 9: "zz" in root t
	for _, tc := range []struct {
		name string
		bad  []byte
	}{
		{"origin is itself", cat(vu(1, 5, 0), []byte{0x84}, vu(5, 0), vs("q"))},
		{"right origin is itself", cat(vu(1, 5, 0), []byte{0x44}, vu(5, 0), vs("q"))},
		{"right origin after itself", cat(vu(1, 5, 0), []byte{0x44}, vu(5, 3), vs("q"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := cat(vu(2), valid, tc.bad, vu(0))
			d := newDoc()
			err := d.ApplyUpdate(u, nil)
			if err == nil {
				t.Fatalf("accepted %x", u)
			}
			typedErr(t, "apply", err)
			if sv := d.StateVector(); len(sv) != 0 {
				if tc.name != "origin is itself" {
					t.Fatalf("regression of a fixed bug: ErrMalformed returned after integrating client 9 (state %v): a same-client right "+
						"origin at or after the item is only detected in Item.getMissing (item.go), not in validateRefs (apply.go); %v", sv, err)
				}
				t.Fatalf("rejected update changed the document: state %v (%v)", sv, err)
			}
		})
	}
}

// TestHostileDependencyCycle: items of two clients that each wait for the
// other stay pending; nothing hangs.
func TestHostileDependencyCycle(t *testing.T) {
	for _, u := range [][]byte{
		// 6:0 has origin 5:0, 5:0 has origin 6:0
		cat(vu(2, 1, 6, 0), []byte{0x84}, vu(5, 0), vs("a"), vu(1, 5, 0), []byte{0x84}, vu(6, 0), vs("b"), vu(0)),
		// parents: 6:0 is a map inside 5:0, 5:0 a map inside 6:0
		cat(vu(2, 1, 6, 0), []byte{0x07}, vu(0, 5, 0), vu(1), vu(1, 5, 0), []byte{0x07}, vu(0, 6, 0), vu(1), vu(0)),
		// right origins
		cat(vu(2, 1, 6, 0), []byte{0x44}, vu(5, 0), vs("a"), vu(1, 5, 0), []byte{0x44}, vu(6, 0), vs("b"), vu(0)),
	} {
		d := newDoc()
		var err error
		bounded(t, "apply cycle", smallAlloc, shortTime, func() { err = d.ApplyUpdate(u, nil) })
		if err != nil {
			typedErr(t, "apply", err)
			continue
		}
		if !d.HasPending() || len(d.StateVector()) != 0 {
			t.Fatalf("cycle: pending %v, state %v", d.HasPending(), d.StateVector())
		}
		checkReload(t, func() *crdt.Doc { d := newDoc(); _ = d.ApplyUpdate(u, nil); return d })
	}
}

// ---- delivery order ----

// textUpdates returns the per-transaction updates (v1 and v2) of a client
// typing "abc", "def", "ghi" and deleting "cd", and the final document.
func textUpdates(t *testing.T) (v1s, v2s [][]byte, final *crdt.Doc) {
	d := crdt.MustNewDoc(crdt.Options{ClientID: 7})
	d.OnUpdate(func(u []byte, _ *crdt.Txn) { v1s = append(v1s, u) })
	d.OnUpdateV2(func(u []byte, _ *crdt.Txn) { v2s = append(v2s, u) })
	x, _ := d.GetText("t")
	for _, err := range []error{
		x.Insert(nil, 0, "abc", nil),
		x.Insert(nil, 3, "def", map[string]any{"bold": true}),
		x.Insert(nil, 6, "ghi", nil),
		x.Delete(nil, 2, 2),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return v1s, v2s, d
}

func textOf(t *testing.T, d *crdt.Doc) string {
	t.Helper()
	x, err := d.GetText("t")
	if err != nil {
		t.Fatal(err)
	}
	return x.String()
}

// TestHostileSameClientGap delivers a client's updates in reverse: the
// later ones wait as pending (not an error) and integrate once the gap is
// filled.
func TestHostileSameClientGap(t *testing.T) {
	v1s, v2s, final := textUpdates(t)
	want := final.EncodeStateAsUpdate(nil)
	for _, isV2 := range []bool{false, true} {
		us := v1s
		if isV2 {
			us = v2s
		}
		d := newDoc()
		// Deliver "ghi" first: clocks 6..8 wait for 0..5.
		if err := apply(d, us[2], isV2); err != nil {
			t.Fatalf("gap: %v", err)
		}
		if !d.HasPending() || len(d.StateVector()) != 0 {
			t.Fatalf("after a gap: pending %v, state %v", d.HasPending(), d.StateVector())
		}
		first := newDoc() // the state "ghi" waits for
		_, _ = apply(first, us[0], isV2), apply(first, us[1], isV2)
		if m, ok := d.PendingMissing(), first.StateVector().Get(7); len(m) != 1 || m.Get(7) >= ok {
			t.Fatalf("PendingMissing = %v, want client 7 below clock %d", m, ok)
		}
		// The delete of "cd" (clocks 2, 3) is beyond the known state too.
		if err := apply(d, us[3], isV2); err != nil {
			t.Fatalf("early delete: %v", err)
		}
		checkReload(t, func() *crdt.Doc {
			r := newDoc()
			_, _ = apply(r, us[2], isV2), apply(r, us[3], isV2)
			return r
		})
		if err := apply(d, us[1], isV2); err != nil {
			t.Fatal(err)
		}
		if !d.HasPending() {
			t.Fatal("pending resolved while clocks 0..2 are missing")
		}
		if err := apply(d, us[0], isV2); err != nil {
			t.Fatal(err)
		}
		if d.HasPending() || d.PendingMissing() != nil {
			t.Fatalf("still pending after the gap was filled: %v", d.PendingMissing())
		}
		if got := textOf(t, d); got != "abefghi" {
			t.Fatalf("text = %q, want %q", got, "abefghi")
		}
		if got, want := viewOf(t, d, []string{"t"}, viewText), viewOf(t, final, []string{"t"}, viewText); got != want {
			t.Fatalf("delta after reordered delivery:\n %s\nwant\n %s", got, want)
		}
		if got := d.EncodeStateAsUpdate(nil); !bytes.Equal(got, want) {
			t.Fatalf("state after reordered delivery:\n %x\nwant\n %x", got, want)
		}
	}
}

// TestHostileDuplicateDelivery applies the same updates three times: the
// repeats change nothing and emit no update.
func TestHostileDuplicateDelivery(t *testing.T) {
	v1s, v2s, final := textUpdates(t)
	for _, isV2 := range []bool{false, true} {
		us := v1s
		if isV2 {
			us = v2s
		}
		all := append(slices.Clone(us), encode(final, isV2))
		d := newDoc()
		events := 0
		d.OnUpdate(func([]byte, *crdt.Txn) { events++ })
		for _, u := range all {
			if err := apply(d, u, isV2); err != nil {
				t.Fatal(err)
			}
		}
		first := snap(d)
		if !bytes.Equal(first.state, final.EncodeStateAsUpdate(nil)) {
			t.Fatal("state differs from the source document")
		}
		events = 0
		for round := 0; round < 2; round++ {
			for i, u := range all {
				if err := apply(d, u, isV2); err != nil {
					t.Fatalf("round %d update %d: %v", round, i, err)
				}
				if now := snap(d); !bytes.Equal(now.state, first.state) || now.sv != first.sv {
					t.Fatalf("round %d update %d changed the document", round, i)
				}
			}
		}
		if events != 0 {
			t.Fatalf("duplicate delivery emitted %d updates", events)
		}
		if got := textOf(t, d); got != "abefghi" || d.HasPending() {
			t.Fatalf("text %q pending %v", got, d.HasPending())
		}
	}
}

// TestHostileDeleteSetForUnknownClient: deletions of ids the document does
// not know yet are kept pending (and re-encoded) and apply once the ids
// arrive.
func TestHostileDeleteSetForUnknownClient(t *testing.T) {
	src := crdt.MustNewDoc(crdt.Options{ClientID: 42})
	x, _ := src.GetText("t")
	if err := x.Insert(nil, 0, "xyz", nil); err != nil {
		t.Fatal(err)
	}
	ins := src.EncodeStateAsUpdate(nil)
	for _, tc := range []struct {
		name string
		del  []byte
		want string
	}{
		{"all unknown", vu(0, 1, 42, 1, 0, 2), "z"},
		{"past the end", vu(0, 1, 42, 1, 1, 5), "x"},
		{"another unknown client too", vu(0, 2, 42, 1, 2, 1, 77, 1, 0, 3), "xy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, isV2 := range []bool{false, true} {
				del, insU := tc.del, ins
				if isV2 {
					var err error
					if del, err = crdt.ConvertUpdateV1ToV2(del); err != nil {
						t.Fatal(err)
					}
					if insU, err = crdt.ConvertUpdateV1ToV2(ins); err != nil {
						t.Fatal(err)
					}
				}
				d := newDoc()
				if err := apply(d, del, isV2); err != nil {
					t.Fatalf("pending delete: %v", err)
				}
				if !d.HasPending() || len(d.StateVector()) != 0 {
					t.Fatalf("pending %v, state %v", d.HasPending(), d.StateVector())
				}
				// The pending deletions travel with the document's state.
				re := newDoc()
				if err := apply(re, encode(d, isV2), isV2); err != nil || !re.HasPending() {
					t.Fatalf("re-encoded pending delete set: %v, pending %v", err, re.HasPending())
				}
				for _, doc := range []*crdt.Doc{d, re} {
					if err := apply(doc, insU, isV2); err != nil {
						t.Fatal(err)
					}
					if got := textOf(t, doc); got != tc.want {
						t.Fatalf("text = %q, want %q", got, tc.want)
					}
				}
				if want := tc.name == "another unknown client too" || tc.name == "past the end"; d.HasPending() != want {
					t.Fatalf("HasPending = %v, want %v", d.HasPending(), want)
				}
			}
		})
	}
}

// TestHostileUnsortedDeleteSet delivers delete ranges out of order (and
// overlapping), which v1 allows: everything derived from them must still
// encode in v2, whose delete sets are delta-coded.
func TestHostileUnsortedDeleteSet(t *testing.T) {
	// Client 42 is unknown: the deletions wait as pending.
	u := vu(0, 1, 42, 3, 5, 1, 2, 1, 2, 2)
	d := newDoc()
	if err := d.ApplyUpdate(u, nil); err != nil || !d.HasPending() {
		t.Fatalf("apply: %v, pending %v", err, d.HasPending())
	}
	var bugs []string
	if r := newDoc(); r.ApplyUpdateV2(d.EncodeStateAsUpdateV2(nil), nil) != nil || !r.HasPending() {
		bugs = append(bugs, "EncodeStateAsUpdateV2 drops the pending delete set (apply.go encodeStateAsUpdate ignores the "+
			"ConvertUpdateV1ToV2/MergeUpdatesV2 error)")
	}
	if v, err := crdt.ConvertUpdateV1ToV2(u); err != nil {
		t.Fatal(err)
	} else if _, err := crdt.ConvertUpdateV2ToV1(v); err != nil {
		bugs = append(bugs, "ConvertUpdateV1ToV2 output does not decode: "+err.Error())
	}
	if v, err := crdt.DiffUpdate(u, []byte{0}); err != nil {
		t.Fatal(err)
	} else if v2u, err := crdt.ConvertUpdateV1ToV2(v); err != nil {
		t.Fatal(err)
	} else if _, err := crdt.ConvertUpdateV2ToV1(v2u); err != nil {
		bugs = append(bugs, "DiffUpdate keeps the unsorted delete set")
	}
	// A range of length 0 (v1 allows it; v2 writes len-1).
	if v, err := crdt.ConvertUpdateV1ToV2(vu(0, 1, 42, 1, 3, 0)); err != nil {
		t.Fatal(err)
	} else if _, err := crdt.ConvertUpdateV2ToV1(v); err != nil {
		bugs = append(bugs, "a delete range of length 0 converts to a v2 length of 2^64-1: "+err.Error())
	}
	if len(bugs) > 0 {
		t.Fatalf("regression of a fixed bug: the delete set is written as read, unsorted and with empty ranges; v2 delta-codes "+
			"clocks (writeDsClock wraps around) and writes len-1. Sort, merge and drop empty ranges before "+
			"writeDeleteSet. %v", bugs)
	}
}

// TestHostileMapSlotWithoutValue: an item with an origin in a map slot
// inherits the slot; if its content has no value (a Format), yjs' Map.get
// returns undefined (and has() is true). It must not panic.
func TestHostileMapSlotWithoutValue(t *testing.T) {
	// 1:0 sets m.k = "v"; 1:1 is Format(b=true) with origin 1:0.
	u := unhex(t, "0102010028 01016d 016b 01 7701 76 86 0100 0162 0474727565 00")
	d := newDoc()
	if err := d.ApplyUpdate(u, nil); err != nil {
		typedErr(t, "apply", err)
		return
	}
	m, err := d.GetMap("m")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("regression of a fixed bug: Map.Get/Has/ToJSON panic (%v): type.go mapGet indexes values()[Length-1] of a "+
				"ContentFormat, which has no values; yjs returns undefined", r)
		}
	}()
	_, _ = m.Get("k")
	_ = m.Has("k")
	_ = m.ToJSON()
	checkReload(t, func() *crdt.Doc { d := newDoc(); _ = d.ApplyUpdate(u, nil); return d })
}

// TestHostileUndefinedEmbedV2: v2 carries embed and format values as Any,
// which can be undefined; v1 carries them as JSON text. A v2 update the
// document accepts must leave it with a state that loads in v1 too.
func TestHostileUndefinedEmbedV2(t *testing.T) {
	for _, tc := range []struct {
		name string
		u    []byte
	}{
		{"embed", v2(map[int][]byte{colClient: uintOne(1), colInfo: rleRepeat(0x05), colParentInfo: rleRepeat(1), colString: strCol("t")},
			cat(vu(1, 1, 0), []byte{0x7f}, vu(0)))},
		{"format", v2(map[int][]byte{colClient: uintOne(1), colInfo: rleRepeat(0x06), colParentInfo: rleRepeat(1), colString: strCol("t", "b"),
			colKeyClock: lib0.AppendVarIntSign(nil, 0, false)}, cat(vu(1, 1, 0), []byte{0x7f}, vu(0)))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDoc()
			if err := d.ApplyUpdateV2(tc.u, nil); err != nil {
				typedErr(t, "apply", err) // rejecting it is fine too
				return
			}
			u1 := d.EncodeStateAsUpdate(nil)
			if err := newDoc().ApplyUpdate(u1, nil); err != nil {
				t.Fatalf("regression of a fixed bug: the document's v1 state does not load: %v. v1 writes an undefined embed/format "+
					"value as the text \"undefined\" (codec.go stringifyJSON) but decoderV1.readJSON parses with "+
					"lib0.ParseJSON, which rejects it (parseJSON accepts it). State: %x", err, u1)
			}
			checkReload(t, func() *crdt.Doc { d := newDoc(); _ = d.ApplyUpdateV2(tc.u, nil); return d })
		})
	}
}

// TestHostileClientListedTwice: yjs writes each client once; an update
// that lists one twice must be rejected or read the same way everywhere.
func TestHostileClientListedTwice(t *testing.T) {
	group := func(clock uint64, s string) []byte { return cat(vu(1, 5, clock), []byte{0x04}, vu(1), vs("t"), vs(s)) }
	u := cat(vu(2), group(0, "abc"), group(10, "xyz"), vu(0))
	d := newDoc()
	if err := d.ApplyUpdate(u, nil); err != nil {
		typedErr(t, "apply", err)
		for _, f := range []func() error{
			func() error { _, err := crdt.ConvertUpdateV1ToV2(u); return err },
			func() error { _, err := crdt.MergeUpdates([][]byte{u, u}); return err },
		} {
			if err := f(); err == nil {
				t.Fatal("ApplyUpdate rejects the update but the document-free functions accept it")
			}
		}
		return
	}
	conv, err := crdt.ConvertUpdateV1ToV2(u)
	if err != nil {
		t.Fatal(err)
	}
	c := newDoc()
	if err := c.ApplyUpdateV2(conv, nil); err != nil {
		t.Fatal(err)
	}
	if a, b := d.EncodeStateAsUpdate(nil), c.EncodeStateAsUpdate(nil); !bytes.Equal(a, b) {
		t.Fatalf("regression of a fixed bug: %s. Applied: %x; converted and applied: %x (text %q)", dupClientBug, a, b, textOf(t, c))
	}
}
