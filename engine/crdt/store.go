package crdt

import "slices"

// store holds every struct of a document, one clock-sorted slice per client.
// Invariant: for each client the structs are contiguous from clock 0 (or
// from the first clock a GC'd history kept) with no gaps and no overlaps, so
// an id is found by (interpolation-guided) binary search.
type store struct {
	clients map[uint64][]*Item
	// txn is the open transaction, told about each client's first change.
	txn *Txn
	// pending holds structs that could not be integrated yet (a v1 update)
	// and the lowest missing clock per client that would unblock them.
	pending *pendingUpdate
	// pendingDs is a v1 update holding delete ranges beyond the known state.
	pendingDs []byte
}

type pendingUpdate struct {
	missing StateVector
	update  []byte // v1
}

func newStore() *store { return &store{clients: make(map[uint64][]*Item)} }

// getState returns the next expected clock of client.
func (s *store) getState(client uint64) uint32 {
	structs := s.clients[client]
	if len(structs) == 0 {
		return 0
	}
	last := structs[len(structs)-1]
	return last.ID.Clock + last.Length
}

// stateVector returns the state of every client.
func (s *store) stateVector() StateVector {
	sv := make(StateVector, len(s.clients))
	for c, structs := range s.clients {
		if len(structs) > 0 {
			last := structs[len(structs)-1]
			sv[c] = last.ID.Clock + last.Length
		}
	}
	return sv
}

// add appends a struct at the end of its client's slice.
func (s *store) add(it *Item) {
	structs := s.clients[it.ID.Client]
	if tx := s.txn; tx != nil {
		if _, ok := tx.touched.get(it.ID.Client); !ok {
			state := uint32(0)
			if n := len(structs); n > 0 {
				state = structs[n-1].ID.Clock + structs[n-1].Length
			}
			tx.touched.set(it.ID.Client, state)
		}
	}
	s.clients[it.ID.Client] = append(structs, it)
}

// findIndex returns the index of the struct containing clock, or -1.
func findIndex(structs []*Item, clock uint32) int {
	left, right := 0, len(structs)-1
	if right < 0 {
		return -1
	}
	mid := structs[right]
	midClock := mid.ID.Clock
	if midClock == clock {
		return right
	}
	if clock > midClock+mid.Length-1 || clock < structs[0].ID.Clock {
		return -1
	}
	// Interpolation guess, then binary search.
	span := uint64(midClock + mid.Length - 1)
	if span == 0 {
		span = 1
	}
	midIndex := int(uint64(clock) * uint64(right) / span)
	for left <= right {
		mid = structs[midIndex]
		midClock = mid.ID.Clock
		if midClock <= clock {
			if clock < midClock+mid.Length {
				return midIndex
			}
			left = midIndex + 1
		} else {
			right = midIndex - 1
		}
		midIndex = (left + right) / 2
	}
	return -1
}

func (s *store) findOrNil(id ID) *Item {
	structs := s.clients[id.Client]
	i := findIndex(structs, id.Clock)
	if i < 0 {
		return nil
	}
	return structs[i]
}

// find returns the struct containing id.
func (s *store) find(id ID) (*Item, error) {
	if it := s.findOrNil(id); it != nil {
		return it, nil
	}
	return nil, malformed("no struct with id %d:%d", id.Client, id.Clock)
}

// getItemCleanStart returns the struct that starts exactly at id, splitting
// the struct that contains it if needed.
func (s *store) getItemCleanStart(tx *Txn, id ID) (*Item, error) {
	structs := s.clients[id.Client]
	i := findIndex(structs, id.Clock)
	if i < 0 {
		return nil, malformed("no struct with id %d:%d", id.Client, id.Clock)
	}
	it := structs[i]
	if it.ID.Clock < id.Clock && !it.isGC() {
		r := splitItem(tx, it, id.Clock-it.ID.Clock)
		s.clients[id.Client] = slices.Insert(structs, i+1, r)
		return r, nil
	}
	return it, nil
}

// getItemCleanEnd returns the struct that ends exactly at id, splitting the
// struct that contains it if needed.
func (s *store) getItemCleanEnd(tx *Txn, id ID) (*Item, error) {
	structs := s.clients[id.Client]
	i := findIndex(structs, id.Clock)
	if i < 0 {
		return nil, malformed("no struct with id %d:%d", id.Client, id.Clock)
	}
	it := structs[i]
	if id.Clock != it.ID.Clock+it.Length-1 && !it.isGC() {
		r := splitItem(tx, it, id.Clock-it.ID.Clock+1)
		s.clients[id.Client] = slices.Insert(structs, i+1, r)
	}
	return it, nil
}

// findIndexCleanStart returns the index of the struct starting at clock,
// splitting the struct containing it if needed; -1 if clock is unknown.
func (s *store) findIndexCleanStart(tx *Txn, client uint64, clock uint32) int {
	structs := s.clients[client]
	i := findIndex(structs, clock)
	if i < 0 {
		return -1
	}
	it := structs[i]
	if it.ID.Clock < clock && !it.isGC() {
		s.clients[client] = slices.Insert(structs, i+1, splitItem(tx, it, clock-it.ID.Clock))
		return i + 1
	}
	return i
}

// iterateRange calls f for every struct of client inside
// [clock, clock+length), splitting structs so that exactly that range is
// covered.
func (s *store) iterateRange(tx *Txn, client uint64, clock, length uint32, f func(*Item)) {
	if length == 0 {
		return
	}
	end := clock + length
	i := s.findIndexCleanStart(tx, client, clock)
	if i < 0 {
		return
	}
	for {
		structs := s.clients[client]
		it := structs[i]
		i++
		if end < it.ID.Clock+it.Length {
			s.findIndexCleanStart(tx, client, end)
		}
		f(it)
		structs = s.clients[client]
		if i >= len(structs) || structs[i].ID.Clock >= end {
			return
		}
	}
}

// tryMergeWithLefts merges structs[pos] into its left neighbours as far as
// possible and returns how many structs were merged away.
func (s *store) tryMergeWithLefts(client uint64, pos int) int {
	structs := s.clients[client]
	i := pos
	for ; i > 0; i-- {
		right, left := structs[i], structs[i-1]
		if left.Deleted() != right.Deleted() || left.isGC() != right.isGC() || !left.mergeWith(right) {
			break
		}
		if right.parentSub != nil && right.parent != nil && right.parent.m[*right.parentSub] == right {
			right.parent.m[*right.parentSub] = left
		}
	}
	merged := pos - i
	if merged > 0 {
		s.clients[client] = slices.Delete(structs, pos+1-merged, pos+1)
	}
	return merged
}
