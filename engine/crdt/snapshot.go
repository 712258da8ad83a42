package crdt

import (
	"errors"
	"slices"
)

// Snapshot identifies a state of a document: what was known (SV) and what
// of it was deleted (DS). With garbage collection off, any past state can be
// read back from a later document and a snapshot of the past.
type Snapshot struct {
	SV StateVector
	DS DeleteSet
}

// ErrGCEnabled is returned when reading a past state of a document that
// garbage-collects deleted content (the content is gone).
var ErrGCEnabled = errors.New("crdt: document garbage-collects deleted content; snapshots need Options.DisableGC")

// Snapshot returns the document's current snapshot.
func (d *Doc) Snapshot() Snapshot {
	ds := deleteSetFromStore(d.store)
	return Snapshot{SV: d.store.stateVector(), DS: ds}
}

// EncodeSnapshot encodes s as yjs does (encodeSnapshot): the delete set,
// then the state vector.
func EncodeSnapshot(s Snapshot) []byte {
	e := newEncoderV1()
	ds := DeleteSet{}
	for c, r := range s.DS {
		ds[c] = append([]DeleteRange(nil), r...)
	}
	ds.sortAndMerge()
	writeDeleteSet(e, ds)
	out := e.bytes()
	return append(out, EncodeStateVector(s.SV)...)
}

// DecodeSnapshot parses an encoded snapshot.
func DecodeSnapshot(b []byte) (Snapshot, error) {
	d := newDecoderV1(b)
	ds, err := readDeleteSet(d)
	if err != nil {
		return Snapshot{}, err
	}
	ds.sortAndMerge()
	sv, err := DecodeStateVector(d.rest().ReadRest())
	if err != nil {
		return Snapshot{}, err
	}
	return Snapshot{SV: sv, DS: ds}, nil
}

// Equal reports whether two snapshots describe the same state.
func (s Snapshot) Equal(o Snapshot) bool {
	if len(s.SV) != len(o.SV) || len(s.DS) != len(o.DS) {
		return false
	}
	for c, k := range s.SV {
		if o.SV[c] != k {
			return false
		}
	}
	for c, r := range s.DS {
		if !slices.Equal(r, o.DS[c]) {
			return false
		}
	}
	return true
}

// visibleIn reports whether it was visible in snapshot s.
func (s Snapshot) visibleIn(it *Item) bool {
	clock, ok := s.SV[it.ID.Client]
	return ok && clock > it.ID.Clock && !s.DS.Contains(it.ID)
}

// DocFromSnapshot builds a new document (with client id clientID) holding
// the state of d as of s. d must not garbage-collect.
func (d *Doc) DocFromSnapshot(s Snapshot, clientID uint64) (*Doc, error) {
	if d.gc {
		return nil, ErrGCEnabled
	}
	out, err := NewDoc(Options{ClientID: clientID, DisableGC: true, GUID: d.guid})
	if err != nil {
		return nil, err
	}
	e := newEncoderV1()
	d.Transact("snapshot", func(tx *Txn) {
		clients := make([]uint64, 0, len(s.SV))
		for c, k := range s.SV {
			if k > 0 {
				clients = append(clients, c)
			}
		}
		slices.Sort(clients)
		slices.Reverse(clients)
		e.rest().WriteVarUint(uint64(len(clients)))
		for _, c := range clients {
			clock := s.SV[c]
			if clock < d.store.getState(c) {
				_, _ = d.store.getItemCleanStart(tx, ID{c, clock})
			}
			structs := d.store.clients[c]
			last := findIndex(structs, clock-1)
			e.rest().WriteVarUint(uint64(last + 1))
			e.writeClient(c)
			e.rest().WriteVarUint(0)
			for _, st := range structs[:last+1] {
				st.write(e, 0)
			}
		}
		ds := DeleteSet{}
		for c, r := range s.DS {
			ds[c] = append([]DeleteRange(nil), r...)
		}
		ds.sortAndMerge()
		writeDeleteSet(e, ds)
	})
	if err := out.ApplyUpdate(e.bytes(), "snapshot"); err != nil {
		return nil, err
	}
	return out, nil
}

// ToDeltaAt returns the text as it was in snapshot s (GC must be off).
func (x *Text) ToDeltaAt(s Snapshot) []Delta {
	return x.t.toDelta(s.visibleIn)
}
