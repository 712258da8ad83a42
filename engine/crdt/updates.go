package crdt

import (
	"slices"
)

// Document-free processing of encoded updates (yjs utils/updates.js): merge,
// diff against a state vector, state vector of an update, format
// conversion. These never build a Doc, so they suit log compaction and
// replication.

// readAllStructs decodes the struct section of an update into a flat list,
// in the order the update holds them.
func readAllStructs(d updateDecoder, n int) ([]*Item, error) {
	r := d.rest()
	numClients, err := r.varUint()
	if err != nil {
		return nil, wrapDecode("update", err)
	}
	budget := structBudget(n)
	var out []*Item
	seen := map[uint64]bool{}
	for i := uint64(0); i < numClients; i++ {
		numStructs, err := r.varUint()
		if err != nil {
			return nil, wrapDecode("update", err)
		}
		client, err := d.readClient()
		if err != nil {
			return nil, wrapDecode("update", err)
		}
		if seen[client] {
			return nil, malformed("client %d is listed twice", client)
		}
		seen[client] = true
		clock, err := r.clock()
		if err != nil {
			return nil, wrapDecode("update", err)
		}
		for j := uint64(0); j < numStructs; j++ {
			if budget--; budget < 0 {
				return nil, malformed("too many structs for the update's size")
			}
			st, err := readStruct(d, nil, client, clock)
			if err != nil {
				return nil, err
			}
			next := uint64(clock) + uint64(st.Length)
			if next > 1<<32-1 {
				return nil, malformed("clock of client %d overflows", client)
			}
			clock = uint32(next)
			out = append(out, st)
		}
	}
	return out, nil
}

// structReader walks decoded structs (yjs LazyStructReader).
type structReader struct {
	structs     []*Item
	i           int
	curr        *Item
	filterSkips bool
}

func newStructReader(structs []*Item, filterSkips bool) *structReader {
	r := &structReader{structs: structs, filterSkips: filterSkips}
	r.next()
	return r
}

func (r *structReader) next() *Item {
	for {
		if r.i >= len(r.structs) {
			r.curr = nil
			return nil
		}
		r.curr = r.structs[r.i]
		r.i++
		if !r.filterSkips || !r.curr.isSkip() {
			return r.curr
		}
	}
}

// structWriter writes structs grouped by client (yjs LazyStructWriter).
type structWriter struct {
	e          updateEncoder
	currClient uint64
	written    int
	parts      []writtenPart
}

type writtenPart struct {
	written int
	rest    []byte
}

func (w *structWriter) write(st *Item, offset uint32) {
	if w.written > 0 && w.currClient != st.ID.Client {
		w.flush()
	}
	if w.written == 0 {
		w.currClient = st.ID.Client
		w.e.writeClient(st.ID.Client)
		w.e.rest().WriteVarUint(uint64(st.ID.Clock + offset))
	}
	st.write(w.e, offset)
	w.written++
}

func (w *structWriter) flush() {
	if w.written > 0 {
		w.parts = append(w.parts, writtenPart{w.written, w.e.rest().Bytes()})
		w.e.setRest(newRestEncoder())
		w.written = 0
	}
}

func (w *structWriter) finish() {
	w.flush()
	r := w.e.rest()
	r.WriteVarUint(uint64(len(w.parts)))
	for _, p := range w.parts {
		r.WriteVarUint(uint64(p.written))
		r.WriteRaw(p.rest)
	}
}

// sliceStruct returns the part of st from diff on, as a new struct.
func sliceStruct(st *Item, diff uint32) *Item {
	id := ID{st.ID.Client, st.ID.Clock + diff}
	switch {
	case st.isGC():
		return newGC(id, st.Length-diff)
	case st.isSkip():
		return newSkip(id, st.Length-diff)
	}
	c := st.content.copy().splice(diff)
	it := &Item{
		ID:          id,
		Length:      st.Length - diff,
		flags:       st.flags &^ (flagOrigin | flagMarker),
		RightOrigin: st.RightOrigin,
		parent:      st.parent,
		parentSub:   st.parentSub,
		ref:         st.ref,
		content:     c,
	}
	it.setOrigin(ID{st.ID.Client, st.ID.Clock + diff - 1})
	return it
}

func decodeForFormat(u []byte, v2 bool) (updateDecoder, []*Item, error) {
	d, err := newDecoder(u, v2)
	if err != nil {
		return nil, nil, err
	}
	structs, err := readAllStructs(d, len(u))
	if err != nil {
		return nil, nil, err
	}
	return d, structs, nil
}

func newUpdateEncoder(v2 bool) updateEncoder {
	if v2 {
		return newEncoderV2()
	}
	return newEncoderV1()
}

// MergeUpdates merges v1 updates into one, without a document.
func MergeUpdates(updates [][]byte) ([]byte, error) { return mergeUpdates(updates, false) }

// MergeUpdatesV2 merges v2 updates into one, without a document.
func MergeUpdatesV2(updates [][]byte) ([]byte, error) { return mergeUpdates(updates, true) }

func mergeUpdates(updates [][]byte, v2 bool) ([]byte, error) {
	if len(updates) == 1 {
		// yjs returns the single update unchanged; validate it anyway.
		d, _, err := decodeForFormat(updates[0], v2)
		if err != nil {
			return nil, err
		}
		if _, err := readDeleteSet(d); err != nil {
			return nil, err
		}
		return updates[0], nil
	}
	decoders := make([]updateDecoder, len(updates))
	readers := make([]*structReader, 0, len(updates))
	for i, u := range updates {
		d, structs, err := decodeForFormat(u, v2)
		if err != nil {
			return nil, err
		}
		decoders[i] = d
		readers = append(readers, newStructReader(structs, true))
	}
	e := newUpdateEncoder(v2)
	w := &structWriter{e: e}
	var currWrite *Item
	var currOffset uint32
	// yjs re-sorts all readers (stably) on every step. Only the head
	// reader advances between steps, so the same order is kept by
	// re-inserting the head before the first reader that does not sort
	// below it: O(log n) instead of a sort per struct.
	cmp := func(a, b *structReader) int {
		if a.curr.ID.Client == b.curr.ID.Client {
			if a.curr.ID.Clock == b.curr.ID.Clock {
				if a.curr.isSkip() == b.curr.isSkip() {
					return 0
				}
				if a.curr.isSkip() {
					return 1
				}
				return -1
			}
			if a.curr.ID.Clock < b.curr.ID.Clock {
				return -1
			}
			return 1
		}
		if b.curr.ID.Client < a.curr.ID.Client {
			return -1
		}
		return 1
	}
	readers = slices.DeleteFunc(readers, func(r *structReader) bool { return r.curr == nil })
	slices.SortStableFunc(readers, cmp)
	first := true
	for {
		if !first && len(readers) > 0 {
			head := readers[0]
			rest := readers[1:]
			if head.curr == nil {
				readers = rest
			} else {
				i, _ := slices.BinarySearchFunc(rest, head, cmp)
				copy(readers, rest[:i])
				readers[i] = head
			}
		}
		first = false
		if len(readers) == 0 {
			break
		}
		cd := readers[0]
		firstClient := cd.curr.ID.Client
		if currWrite != nil {
			curr := cd.curr
			iterated := false
			for curr != nil && uint64(curr.ID.Clock)+uint64(curr.Length) <= uint64(currWrite.ID.Clock)+uint64(currWrite.Length) && curr.ID.Client >= currWrite.ID.Client {
				curr = cd.next()
				iterated = true
			}
			if curr == nil || curr.ID.Client != firstClient || (iterated && curr.ID.Clock > currWrite.ID.Clock+currWrite.Length) {
				continue
			}
			if firstClient != currWrite.ID.Client {
				w.write(currWrite, currOffset)
				currWrite, currOffset = curr, 0
				cd.next()
			} else if currWrite.ID.Clock+currWrite.Length < curr.ID.Clock {
				if currWrite.isSkip() {
					currWrite.Length = curr.ID.Clock + curr.Length - currWrite.ID.Clock
				} else {
					w.write(currWrite, currOffset)
					diff := curr.ID.Clock - currWrite.ID.Clock - currWrite.Length
					currWrite, currOffset = newSkip(ID{firstClient, currWrite.ID.Clock + currWrite.Length}, diff), 0
				}
			} else {
				diff := int64(currWrite.ID.Clock) + int64(currWrite.Length) - int64(curr.ID.Clock)
				if diff > 0 {
					if currWrite.isSkip() {
						currWrite.Length -= uint32(diff)
					} else {
						curr = sliceStruct(curr, uint32(diff))
					}
				}
				if !currWrite.mergeWith(curr) {
					w.write(currWrite, currOffset)
					currWrite, currOffset = curr, 0
					cd.next()
				}
			}
		} else {
			currWrite, currOffset = cd.curr, 0
			cd.next()
		}
		for next := cd.curr; next != nil && next.ID.Client == firstClient && next.ID.Clock == currWrite.ID.Clock+currWrite.Length && !next.isSkip(); next = cd.next() {
			w.write(currWrite, currOffset)
			currWrite, currOffset = next, 0
		}
	}
	if currWrite != nil {
		w.write(currWrite, currOffset)
	}
	w.finish()
	dss := make([]DeleteSet, len(decoders))
	for i, d := range decoders {
		ds, err := readDeleteSet(d)
		if err != nil {
			return nil, err
		}
		dss[i] = ds
	}
	writeDeleteSet(e, mergeDeleteSets(dss))
	return e.bytes(), nil
}

// DiffUpdate returns the part of a v1 update that a peer with the encoded
// state vector sv lacks.
func DiffUpdate(update, sv []byte) ([]byte, error) { return diffUpdate(update, sv, false) }

// DiffUpdateV2 is DiffUpdate for v2 updates.
func DiffUpdateV2(update, sv []byte) ([]byte, error) { return diffUpdate(update, sv, true) }

func diffUpdate(update, svBytes []byte, v2 bool) ([]byte, error) {
	state, err := DecodeStateVector(svBytes)
	if err != nil {
		return nil, err
	}
	d, structs, err := decodeForFormat(update, v2)
	if err != nil {
		return nil, err
	}
	e := newUpdateEncoder(v2)
	w := &structWriter{e: e}
	r := newStructReader(structs, false)
	for r.curr != nil {
		curr := r.curr
		client := curr.ID.Client
		svClock := state[client]
		if curr.isSkip() {
			r.next()
			continue
		}
		if curr.ID.Clock+curr.Length > svClock {
			off := uint32(0)
			if svClock > curr.ID.Clock {
				off = svClock - curr.ID.Clock
			}
			w.write(curr, off)
			r.next()
			for r.curr != nil && r.curr.ID.Client == client {
				w.write(r.curr, 0)
				r.next()
			}
		} else {
			for r.curr != nil && r.curr.ID.Client == client && r.curr.ID.Clock+r.curr.Length <= svClock {
				r.next()
			}
		}
	}
	w.finish()
	ds, err := readDeleteSet(d)
	if err != nil {
		return nil, err
	}
	writeDeleteSet(e, ds)
	return e.bytes(), nil
}

// EncodeStateVectorFromUpdate returns the encoded state vector a document
// would have after applying the v1 update alone (clients whose structs do
// not start at clock 0 count only up to their first gap).
func EncodeStateVectorFromUpdate(update []byte) ([]byte, error) {
	return stateVectorFromUpdate(update, false)
}

// EncodeStateVectorFromUpdateV2 is EncodeStateVectorFromUpdate for v2.
func EncodeStateVectorFromUpdateV2(update []byte) ([]byte, error) {
	return stateVectorFromUpdate(update, true)
}

func stateVectorFromUpdate(update []byte, v2 bool) ([]byte, error) {
	d, structs, err := decodeForFormat(update, v2)
	if err != nil {
		return nil, err
	}
	if _, err := readDeleteSet(d); err != nil {
		return nil, err
	}
	type entry struct {
		client uint64
		clock  uint32
	}
	var entries []entry
	r := newStructReader(structs, false)
	if curr := r.curr; curr != nil {
		client := curr.ID.Client
		stop := curr.ID.Clock != 0
		var clock uint32
		if !stop {
			clock = curr.ID.Clock + curr.Length
		}
		for ; curr != nil; curr = r.next() {
			if client != curr.ID.Client {
				if clock != 0 {
					entries = append(entries, entry{client, clock})
				}
				client = curr.ID.Client
				clock = 0
				stop = curr.ID.Clock != 0
			}
			if curr.isSkip() {
				stop = true
			}
			if !stop {
				clock = curr.ID.Clock + curr.Length
			}
		}
		if clock != 0 {
			entries = append(entries, entry{client, clock})
		}
	}
	out := appendVarUint(nil, uint64(len(entries)))
	for _, en := range entries {
		out = appendVarUint(out, en.client)
		out = appendVarUint(out, uint64(en.clock))
	}
	return out, nil
}

// UpdateClients returns the ids of the clients that inserted content in a
// v1 update (its structs other than skips), sorted, without a document.
// Clients that only appear in the delete set are not included: a delete
// set names the deleted items' clients, not the deleting one.
func UpdateClients(update []byte) ([]uint64, error) {
	d, structs, err := decodeForFormat(update, false)
	if err != nil {
		return nil, err
	}
	if _, err := readDeleteSet(d); err != nil {
		return nil, err
	}
	var ids []uint64
	for _, st := range structs {
		if st.isSkip() || len(ids) > 0 && ids[len(ids)-1] == st.ID.Client {
			continue
		}
		ids = append(ids, st.ID.Client)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// ConvertUpdateV1ToV2 re-encodes a v1 update as v2.
func ConvertUpdateV1ToV2(update []byte) ([]byte, error) { return convertUpdate(update, false) }

// ConvertUpdateV2ToV1 re-encodes a v2 update as v1.
func ConvertUpdateV2ToV1(update []byte) ([]byte, error) { return convertUpdate(update, true) }

func convertUpdate(update []byte, fromV2 bool) ([]byte, error) {
	d, structs, err := decodeForFormat(update, fromV2)
	if err != nil {
		return nil, err
	}
	e := newUpdateEncoder(!fromV2)
	w := &structWriter{e: e}
	for _, st := range structs {
		w.write(st, 0)
	}
	w.finish()
	ds, err := readDeleteSet(d)
	if err != nil {
		return nil, err
	}
	writeDeleteSet(e, ds)
	return e.bytes(), nil
}
