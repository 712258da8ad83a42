package crdt

import (
	"fmt"
	"iter"
	"slices"
)

// MissingDependency returns the first thing a v1 update depends on that
// neither a document with state vector sv nor the update itself holds:
// an id its structs start after (a clock gap), reference as origin, right
// origin or parent, or delete. missing is false when the update would
// integrate completely: nothing of it would wait as pending structs or
// pending deletions. Servers use it to refuse updates that reference
// items they never received (a hostile or confused client) instead of
// keeping them pending forever.
//
// The update's own structs count as present when they continue their
// client's clock without a gap from sv, in any order across clients; that
// over-approximates what yjs integrates only for dependency cycles across
// clients, which no yjs client produces.
func MissingDependency(update []byte, sv StateVector) (id ID, missing bool, err error) {
	return missingDependency(update, func(c uint64) uint32 { return sv[c] })
}

// MissingDependency is crdt.MissingDependency against the document's own
// state, without building its state vector. To check and apply an update
// in one decoding, use ApplyUpdateComplete.
func (d *Doc) MissingDependency(update []byte) (id ID, missing bool, err error) {
	return missingDependency(update, d.store.getState)
}

// missingDependency is MissingDependency with the state as a function:
// state(c) is the clock client c's structs reach.
func missingDependency(update []byte, state func(client uint64) uint32) (id ID, missing bool, err error) {
	d, structs, err := decodeForFormat(update, false)
	if err != nil {
		return ID{}, false, err
	}
	ds, err := readDeleteSet(d)
	if err != nil {
		return ID{}, false, err
	}
	id, missing = firstMissing(slices.Values(structs), ds, state)
	return id, missing, nil
}

// firstMissing is the check of missingDependency over an update's decoded
// structs, listed client by client in clock order, and delete set.
func firstMissing(structs iter.Seq[*Item], ds DeleteSet, state func(client uint64) uint32) (ID, bool) {
	// The clock each client's run reaches: the state, extended by the
	// update's structs while they follow on without a gap (skips are gaps).
	ext := map[uint64]uint32{}
	reach := func(c uint64) uint32 {
		v, ok := ext[c]
		if !ok {
			v = state(c)
			ext[c] = v
		}
		return v
	}
	for st := range structs {
		end, at := st.ID.Clock+st.Length, reach(st.ID.Client)
		if st.isSkip() || st.ID.Clock > at || end <= at {
			continue
		}
		ext[st.ID.Client] = end
	}
	has := func(id ID) bool { return id.Clock < reach(id.Client) }
	for st := range structs {
		if st.isSkip() || st.ID.Clock+st.Length <= state(st.ID.Client) {
			continue // a gap marker, or already in the document
		}
		if at := reach(st.ID.Client); st.ID.Clock > at {
			return ID{st.ID.Client, at}, true
		}
		if st.isGC() {
			continue
		}
		if st.hasOrigin() && !has(st.Origin) {
			return st.Origin, true
		}
		if st.hasROrigin() && !has(st.RightOrigin) {
			return st.RightOrigin, true
		}
		if st.ref != nil && !st.ref.isRoot && !has(st.ref.id) {
			return st.ref.id, true
		}
	}
	for c, ranges := range ds {
		for _, r := range ranges {
			if at := reach(c); uint64(r.Clock)+uint64(r.Len) > uint64(at) {
				return ID{c, max(r.Clock, at)}, true
			}
		}
	}
	return ID{}, false
}

// String formats an id as client:clock.
func (id ID) String() string { return fmt.Sprintf("%d:%d", id.Client, id.Clock) }
