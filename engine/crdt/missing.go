package crdt

import "fmt"

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
	d, structs, err := decodeForFormat(update, false)
	if err != nil {
		return ID{}, false, err
	}
	ds, err := readDeleteSet(d)
	if err != nil {
		return ID{}, false, err
	}
	// The clock each client's run reaches: sv, extended by the update's
	// structs while they follow on without a gap (skips are gaps).
	ext := make(map[uint64]uint32, len(sv))
	for c, clock := range sv {
		ext[c] = clock
	}
	for _, st := range structs {
		end := st.ID.Clock + st.Length
		if st.isSkip() || st.ID.Clock > ext[st.ID.Client] || end <= ext[st.ID.Client] {
			continue
		}
		ext[st.ID.Client] = end
	}
	has := func(id ID) bool { return id.Clock < ext[id.Client] }
	for _, st := range structs {
		if st.isSkip() || st.ID.Clock+st.Length <= sv[st.ID.Client] {
			continue // a gap marker, or already in the document
		}
		if st.ID.Clock > ext[st.ID.Client] {
			return ID{st.ID.Client, ext[st.ID.Client]}, true, nil
		}
		if st.isGC() {
			continue
		}
		if st.hasOrigin() && !has(st.Origin) {
			return st.Origin, true, nil
		}
		if st.hasROrigin() && !has(st.RightOrigin) {
			return st.RightOrigin, true, nil
		}
		if st.ref != nil && !st.ref.isRoot && !has(st.ref.id) {
			return st.ref.id, true, nil
		}
	}
	for c, ranges := range ds {
		for _, r := range ranges {
			if uint64(r.Clock)+uint64(r.Len) > uint64(ext[c]) {
				return ID{c, max(r.Clock, ext[c])}, true, nil
			}
		}
	}
	return ID{}, false, nil
}

// String formats an id as client:clock.
func (id ID) String() string { return fmt.Sprintf("%d:%d", id.Client, id.Clock) }
