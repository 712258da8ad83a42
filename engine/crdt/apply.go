package crdt

import (
	"cmp"
	"slices"
)

// ApplyUpdate integrates a v1 update into the document. Structs whose
// dependencies are missing are kept as pending and integrated once an
// update brings the dependencies. A malformed update returns an error
// wrapping ErrMalformed; decoding happens before anything changes, so the
// document is untouched in that case.
func (d *Doc) ApplyUpdate(update []byte, origin any) error {
	return d.applyUpdate(update, origin, false)
}

// ApplyUpdateV2 is ApplyUpdate for a v2 update.
func (d *Doc) ApplyUpdateV2(update []byte, origin any) error {
	return d.applyUpdate(update, origin, true)
}

// ApplyUpdateComplete applies a v1 update only if it would integrate
// completely, as MissingDependency tells, decoding it once: it returns the
// first missing dependency, changing nothing, when there is one. Unlike
// ApplyUpdate, a refused update leaves no placeholder for the root types it
// names.
func (d *Doc) ApplyUpdateComplete(update []byte, origin any) (missing ID, isMissing bool, err error) {
	dec := newDecoderV1(update)
	refs, err := readClientsStructRefs(dec, nil, structBudget(len(update)))
	if err != nil {
		return ID{}, false, err
	}
	ds, order, err := readDeleteSetOrdered(dec)
	if err != nil {
		return ID{}, false, err
	}
	if err := validateRefs(refs); err != nil {
		return ID{}, false, err
	}
	// Clients in descending order, the order in which yjs writes them.
	clients := make([]uint64, 0, len(refs))
	for c := range refs {
		clients = append(clients, c)
	}
	slices.SortFunc(clients, func(a, b uint64) int { return cmp.Compare(b, a) })
	structs := func(yield func(*Item) bool) {
		for _, c := range clients {
			for _, it := range refs[c].refs {
				if !yield(it) {
					return
				}
			}
		}
	}
	if id, ok := firstMissing(structs, ds, d.store.getState); ok {
		return id, true, nil
	}
	return ID{}, false, d.transact(origin, false, func(tx *Txn) error {
		return d.integrateUpdate(tx, refs, ds, order)
	})
}

func newDecoder(update []byte, v2 bool) (updateDecoder, error) {
	if v2 {
		return newDecoderV2(update)
	}
	return newDecoderV1(update), nil
}

func (d *Doc) applyUpdate(update []byte, origin any, v2 bool) error {
	dec, err := newDecoder(update, v2)
	if err != nil {
		return err
	}
	// Decode everything first so that a malformed update changes nothing.
	refs, err := readClientsStructRefs(dec, d, structBudget(len(update)))
	if err != nil {
		return err
	}
	ds, order, err := readDeleteSetOrdered(dec)
	if err != nil {
		return err
	}
	if err := validateRefs(refs); err != nil {
		return err
	}
	return d.transact(origin, false, func(tx *Txn) error {
		return d.integrateUpdate(tx, refs, ds, order)
	})
}

// validateRefs rejects struct lists whose clocks are inconsistent.
func validateRefs(refs map[uint64]*clientRefs) error {
	for client, cr := range refs {
		for _, it := range cr.refs {
			if it.hasOrigin() && it.Origin.Client == client && it.Origin.Clock >= it.ID.Clock {
				return malformed("item %d:%d has origin %d:%d at or after itself", client, it.ID.Clock, it.Origin.Client, it.Origin.Clock)
			}
			if it.hasROrigin() && it.RightOrigin.Client == client && it.RightOrigin.Clock >= it.ID.Clock {
				return malformed("item %d:%d has right origin %d:%d at or after itself", client, it.ID.Clock, it.RightOrigin.Client, it.RightOrigin.Clock)
			}
			if it.ref != nil && !it.ref.isRoot && it.ref.id.Client == client && it.ref.id.Clock >= it.ID.Clock {
				return malformed("item %d:%d has parent %d:%d at or after itself", client, it.ID.Clock, it.ref.id.Client, it.ref.id.Clock)
			}
		}
	}
	return nil
}

func (d *Doc) integrateUpdate(tx *Txn, refs map[uint64]*clientRefs, ds DeleteSet, order []uint64) error {
	s := d.store
	rest, err := integrateStructs(tx, s, refs)
	if err != nil {
		return err
	}
	retry := false
	if p := s.pending; p != nil {
		for client, clock := range p.missing {
			if clock < s.getState(client) {
				retry = true
				break
			}
		}
		if rest != nil {
			for client, clock := range rest.missing {
				if m, ok := p.missing[client]; !ok || m > clock {
					p.missing[client] = clock
				}
			}
			merged, err := MergeUpdates([][]byte{p.update, rest.update})
			if err != nil {
				return err
			}
			p.update = merged
		}
	} else {
		s.pending = rest
	}
	dsRest, err := applyDeleteSet(tx, s, ds, order)
	if err != nil {
		return err
	}
	if s.pendingDs != nil {
		pd := newDecoderV1(s.pendingDs)
		if _, err := pd.rest().varUint(); err != nil { // zero structs
			return err
		}
		pds, porder, err := readDeleteSetOrdered(pd)
		if err != nil {
			return err
		}
		dsRest2, err := applyDeleteSet(tx, s, pds, porder)
		if err != nil {
			return err
		}
		switch {
		case dsRest != nil && dsRest2 != nil:
			merged, err := MergeUpdates([][]byte{dsRest, dsRest2})
			if err != nil {
				return err
			}
			s.pendingDs = merged
		case dsRest != nil:
			s.pendingDs = dsRest
		default:
			s.pendingDs = dsRest2
		}
	} else {
		s.pendingDs = dsRest
	}
	if retry {
		u := s.pending.update
		s.pending = nil
		dec := newDecoderV1(u)
		refs, err := readClientsStructRefs(dec, d, structBudget(len(u)))
		if err != nil {
			return err
		}
		ds, order, err := readDeleteSetOrdered(dec)
		if err != nil {
			return err
		}
		return d.integrateUpdate(tx, refs, ds, order)
	}
	return nil
}

// integrateStructs integrates decoded structs in dependency order (yjs'
// stack algorithm). Structs that cannot be integrated yet come back as a v1
// update together with the clocks they wait for.
func integrateStructs(tx *Txn, s *store, refs map[uint64]*clientRefs) (*pendingUpdate, error) {
	ids := make([]uint64, 0, len(refs))
	for c := range refs {
		ids = append(ids, c)
	}
	slices.Sort(ids)
	if len(ids) == 0 {
		return nil, nil
	}
	nextTarget := func() *clientRefs {
		if len(ids) == 0 {
			return nil
		}
		t := refs[ids[len(ids)-1]]
		for len(t.refs) == t.i {
			ids = ids[:len(ids)-1]
			if len(ids) == 0 {
				return nil
			}
			t = refs[ids[len(ids)-1]]
		}
		return t
	}
	cur := nextTarget()
	if cur == nil {
		return nil, nil
	}
	restStructs := newStore()
	missingSV := StateVector{}
	updateMissing := func(client uint64, clock uint32) {
		if m, ok := missingSV[client]; !ok || m > clock {
			missingSV[client] = clock
		}
	}
	var stack []*Item
	head := cur.refs[cur.i]
	cur.i++
	state := make(map[uint64]uint32)
	addStackToRest := func() {
		for _, it := range stack {
			client := it.ID.Client
			if un := refs[client]; un != nil {
				un.i--
				restStructs.clients[client] = slices.Clone(un.refs[un.i:])
				delete(refs, client)
				un.i = 0
				un.refs = nil
			} else {
				restStructs.clients[client] = []*Item{it}
			}
			ids = slices.DeleteFunc(ids, func(c uint64) bool { return c == client })
		}
		stack = stack[:0]
	}
	for {
		if !head.isSkip() {
			local, ok := state[head.ID.Client]
			if !ok {
				local = s.getState(head.ID.Client)
				state[head.ID.Client] = local
			}
			if local < head.ID.Clock {
				stack = append(stack, head)
				updateMissing(head.ID.Client, head.ID.Clock-1)
				addStackToRest()
			} else {
				missing, ok, err := head.getMissing(tx, s)
				if err != nil {
					return nil, err
				}
				if !ok {
					stack = append(stack, head)
					sr := refs[missing]
					if sr == nil || len(sr.refs) == sr.i {
						updateMissing(missing, s.getState(missing))
						addStackToRest()
					} else {
						head = sr.refs[sr.i]
						sr.i++
						continue
					}
				} else if offset := local - head.ID.Clock; offset == 0 || offset < head.Length {
					if err := head.integrate(tx, offset); err != nil {
						return nil, err
					}
					state[head.ID.Client] = head.ID.Clock + head.Length
				}
			}
		}
		if len(stack) > 0 {
			head = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
		} else if cur != nil && cur.i < len(cur.refs) {
			head = cur.refs[cur.i]
			cur.i++
		} else {
			cur = nextTarget()
			if cur == nil {
				break
			}
			head = cur.refs[cur.i]
			cur.i++
		}
	}
	if len(restStructs.clients) > 0 {
		e := newEncoderV1()
		writeClientsStructs(e, restStructs, StateVector{})
		e.rest().WriteVarUint(0) // empty delete set
		return &pendingUpdate{missing: missingSV, update: e.bytes()}, nil
	}
	return nil, nil
}

// applyDeleteSet deletes the ranges of ds the store knows and returns the
// rest as a v1 update (nil when everything applied).
func applyDeleteSet(tx *Txn, s *store, ds DeleteSet, order []uint64) ([]byte, error) {
	unapplied := DeleteSet{}
	for _, client := range order {
		state := s.getState(client)
		for _, d := range ds[client] {
			clock, end := d.Clock, d.Clock+d.Len
			if d.Len == 0 {
				continue
			}
			if clock >= state {
				unapplied.add(client, clock, end-clock)
				continue
			}
			if state < end {
				unapplied.add(client, state, end-state)
			}
			structs := s.clients[client]
			index := findIndex(structs, clock)
			if index < 0 {
				return nil, malformed("delete of unknown id %d:%d", client, clock)
			}
			st := structs[index]
			if !st.Deleted() && st.ID.Clock < clock {
				s.clients[client] = slices.Insert(structs, index+1, splitItem(tx, st, clock-st.ID.Clock))
				index++
			}
			for index < len(s.clients[client]) {
				structs = s.clients[client]
				st = structs[index]
				index++
				if st.ID.Clock >= end {
					break
				}
				if !st.Deleted() {
					if end < st.ID.Clock+st.Length {
						s.clients[client] = slices.Insert(structs, index, splitItem(tx, st, end-st.ID.Clock))
					}
					st.delete(tx)
				}
			}
		}
	}
	if len(unapplied) == 0 {
		return nil, nil
	}
	e := newEncoderV1()
	e.rest().WriteVarUint(0)
	writeDeleteSet(e, unapplied)
	return e.bytes(), nil
}

// EncodeStateAsUpdate encodes the part of the document the target state
// vector lacks (all of it for a nil or empty vector) as a v1 update,
// including pending structs and deletions.
func (d *Doc) EncodeStateAsUpdate(target StateVector) []byte {
	return d.encodeStateAsUpdate(target, newEncoderV1())
}

// EncodeStateAsUpdateV2 is EncodeStateAsUpdate in format v2.
func (d *Doc) EncodeStateAsUpdateV2(target StateVector) []byte {
	return d.encodeStateAsUpdate(target, newEncoderV2())
}

func (d *Doc) encodeStateAsUpdate(target StateVector, e updateEncoder) []byte {
	if target == nil {
		target = StateVector{}
	}
	writeClientsStructs(e, d.store, target)
	writeDeleteSet(e, deleteSetFromStore(d.store))
	updates := [][]byte{e.bytes()}
	_, v2 := e.(*encoderV2)
	conv := func(u []byte) []byte {
		if !v2 {
			return u
		}
		out, err := ConvertUpdateV1ToV2(u)
		if err != nil {
			return nil
		}
		return out
	}
	if d.store.pendingDs != nil {
		updates = append(updates, conv(d.store.pendingDs))
	}
	if d.store.pending != nil {
		diff, err := DiffUpdate(d.store.pending.update, EncodeStateVector(target))
		if err == nil {
			updates = append(updates, conv(diff))
		}
	}
	if len(updates) > 1 {
		var merged []byte
		var err error
		if v2 {
			merged, err = MergeUpdatesV2(updates)
		} else {
			merged, err = MergeUpdates(updates)
		}
		if err == nil {
			return merged
		}
	}
	return updates[0]
}

// HasPending reports whether structs or deletions wait for missing
// dependencies.
func (d *Doc) HasPending() bool { return d.store.pending != nil || d.store.pendingDs != nil }

// PendingMissing returns the lowest missing clock per client that pending
// structs wait for (nil if none).
func (d *Doc) PendingMissing() StateVector {
	if d.store.pending == nil {
		return nil
	}
	return d.store.pending.missing.Clone()
}
