package crdt

import (
	"cmp"
	"slices"
)

// Txn is a transaction: a batch of changes that observers see together and
// that produces one update. Transactions nest: a Transact inside another
// joins it. A Txn, and the Events that refer to it, are valid only inside
// the function or callback that receives them: the document reuses it.
type Txn struct {
	doc        *Doc
	deleteSet  DeleteSet
	dsOrder    []uint64
	changedBuf []clientClock
	// touched holds, for each client whose structs the transaction added
	// to, its state when the transaction started; every other client's
	// state is unchanged. This avoids copying the whole state vector per
	// transaction.
	touched clockMap
	// changed maps each changed type to the map keys that changed (nil key
	// for list changes).
	changed      map[*Type]*changedKeys
	changedOrder []*Type
	// changedParentTypes maps a type to the events of it and its
	// descendants, for deep observers.
	changedParentTypes map[*Type][]*Event
	parentOrder        []*Type
	mergeStructs       []*Item
	// Origin is what the caller passed to Transact or ApplyUpdate.
	Origin any
	// Local is false for transactions that apply remote updates.
	Local                 bool
	needFormattingCleanup bool
}

type changedKeys struct {
	list bool
	keys map[string]struct{}
}

// Doc returns the transaction's document.
func (tx *Txn) Doc() *Doc { return tx.doc }

// BeforeState is the state vector when the transaction started.
func (tx *Txn) BeforeState() StateVector {
	sv := tx.doc.store.stateVector()
	for _, e := range tx.touched.entries() {
		if e.clock == 0 {
			delete(sv, e.client)
		} else {
			sv[e.client] = e.clock
		}
	}
	return sv
}

// AfterState is the state vector after the transaction's changes.
func (tx *Txn) AfterState() StateVector { return tx.doc.store.stateVector() }

// Changed reports whether the transaction added structs or deleted
// anything, i.e. whether it produces an update.
func (tx *Txn) Changed() bool {
	return len(tx.deleteSet) > 0 || len(tx.changedClients()) > 0
}

// before returns client's state when the transaction started.
func (tx *Txn) before(client uint64) uint32 {
	if c, ok := tx.touched.get(client); ok {
		return c
	}
	return tx.doc.store.getState(client)
}

// changedClients returns the clients whose state the transaction advanced,
// with their states before it. The result is reused: callers must not keep
// it across calls.
func (tx *Txn) changedClients() []clientClock {
	out := tx.changedBuf[:0]
	for _, e := range tx.touched.entries() {
		if tx.doc.store.getState(e.client) != e.clock {
			out = append(out, e)
		}
	}
	tx.changedBuf = out
	return out
}

// DeleteSet returns the ids deleted by the transaction.
func (tx *Txn) DeleteSet() DeleteSet { return tx.deleteSet }

// addDeleted records a deletion, remembering the order in which clients
// first appear (yjs keeps a Map, and cleanup depends on its order).
func (tx *Txn) addDeleted(client uint64, clock, length uint32) {
	if tx.deleteSet == nil {
		tx.deleteSet = DeleteSet{}
	}
	if _, ok := tx.deleteSet[client]; !ok {
		tx.dsOrder = append(tx.dsOrder, client)
	}
	tx.deleteSet.add(client, clock, length)
}

// addChanged records that type t changed at key sub (nil: list content).
func (tx *Txn) addChanged(t *Type, sub *string) {
	item := t.item
	if item == nil || (item.ID.Clock < tx.before(item.ID.Client) && !item.Deleted()) {
		ck := tx.changed[t]
		if ck == nil {
			ck = &changedKeys{}
			tx.changed[t] = ck
			tx.changedOrder = append(tx.changedOrder, t)
		}
		if sub == nil {
			ck.list = true
		} else {
			if ck.keys == nil {
				ck.keys = make(map[string]struct{})
			}
			ck.keys[*sub] = struct{}{}
		}
	}
}

// Transact runs fn in a transaction (or in the current one, when called
// from inside another transaction or an observer's transaction).
func (d *Doc) Transact(origin any, fn func(tx *Txn)) {
	d.transact(origin, true, func(tx *Txn) error { fn(tx); return nil })
}

func (d *Doc) transact(origin any, local bool, fn func(tx *Txn) error) (err error) {
	initial := false
	if d.txn == nil {
		initial = true
		if tx := d.spare; tx != nil {
			d.spare = nil
			tx.Origin, tx.Local = origin, local
			d.txn = tx
		} else {
			d.txn = &Txn{
				doc:     d,
				changed: make(map[*Type]*changedKeys),
				Origin:  origin,
				Local:   local,
			}
		}
		d.cleanups = append(d.cleanups, d.txn)
		d.store.txn = d.txn
	}
	defer func() {
		if initial {
			finish := d.txn == d.cleanups[0]
			d.txn = nil
			d.store.txn = nil
			if finish {
				d.cleanupTransactions()
			}
		}
	}()
	return fn(d.txn)
}

// withTxn runs fn in tx, or in a new local transaction when tx is nil.
func (d *Doc) withTxn(tx *Txn, fn func(tx *Txn) error) error {
	if tx != nil {
		return fn(tx)
	}
	return d.transact(nil, true, fn)
}

func (d *Doc) cleanupTransactions() {
	for i := 0; i < len(d.cleanups); i++ {
		d.cleanupTransaction(d.cleanups[i])
	}
	// The last transaction is recycled: a Txn (and the Events that point
	// to it) is valid only during the callbacks that receive it.
	last := d.cleanups[len(d.cleanups)-1]
	clear(d.cleanups)
	d.cleanups = d.cleanups[:0]
	last.reset()
	d.spare = last
}

// reset empties tx for reuse, keeping its allocations.
func (tx *Txn) reset() {
	if tx.deleteSet != nil {
		clear(tx.deleteSet)
	}
	tx.dsOrder = tx.dsOrder[:0]
	tx.touched.reset()
	clear(tx.changed)
	clear(tx.changedOrder)
	tx.changedOrder = tx.changedOrder[:0]
	tx.changedParentTypes = nil
	tx.parentOrder = nil
	clear(tx.mergeStructs)
	tx.mergeStructs = tx.mergeStructs[:0]
	tx.Origin = nil
	tx.Local = false
	tx.needFormattingCleanup = false
}

func (d *Doc) cleanupTransaction(tx *Txn) {
	s := d.store
	ds := tx.deleteSet
	ds.sortAndMerge()
	changed := tx.changedClients()

	d.callObservers(tx)
	for _, h := range d.onAfterTxn {
		h.fn(tx)
	}
	if tx.needFormattingCleanup {
		cleanupTextAfterTransaction(tx)
	}

	if d.gc {
		tryGCDeleteSet(ds, s)
	}
	tryMergeDeleteSet(ds, s)

	for _, cc := range changed {
		client, before := cc.client, cc.clock
		structs := s.clients[client]
		first := max(findIndex(structs, before), 1)
		for i := len(s.clients[client]) - 1; i >= first; {
			i -= 1 + s.tryMergeWithLefts(client, i)
		}
	}
	for i := len(tx.mergeStructs) - 1; i >= 0; i-- {
		id := tx.mergeStructs[i].ID
		structs := s.clients[id.Client]
		pos := findIndex(structs, id.Clock)
		if pos < 0 {
			continue
		}
		if pos+1 < len(structs) {
			if s.tryMergeWithLefts(id.Client, pos+1) > 1 {
				continue
			}
		}
		if pos > 0 {
			s.tryMergeWithLefts(id.Client, pos)
		}
	}
	if !tx.Local && tx.before(d.clientID) != s.getState(d.clientID) {
		if d.newClientID != nil {
			d.clientID = d.newClientID(d.clientID)
		} else {
			d.clientID = nextClientID(d.clientID)
		}
	}
	if len(d.onUpdate) > 0 {
		e := newEncoderV1()
		if writeUpdateFromTransaction(e, tx) {
			u := e.bytes()
			for _, h := range d.onUpdate {
				h.fn(u, tx)
			}
		}
	}
	if len(d.onUpdateV2) > 0 {
		e := newEncoderV2()
		if writeUpdateFromTransaction(e, tx) {
			u := e.bytes()
			for _, h := range d.onUpdateV2 {
				h.fn(u, tx)
			}
		}
	}
}

// nextClientID derives a fresh 32-bit id deterministically (splitmix64).
func nextClientID(old uint64) uint64 {
	z := old + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	id := z & 0xffffffff
	if id == 0 {
		id = 1
	}
	return id
}

// tryGCDeleteSet replaces deleted content by Deleted/GC structs.
func tryGCDeleteSet(ds DeleteSet, s *store) {
	for client, dels := range ds {
		for di := len(dels) - 1; di >= 0; di-- {
			d := dels[di]
			end := d.Clock + d.Len
			structs := s.clients[client]
			for si := findIndex(structs, d.Clock); si >= 0 && si < len(structs); si++ {
				st := structs[si]
				if st.ID.Clock >= end {
					break
				}
				if !st.isGC() && st.Deleted() && !st.keep() {
					st.gc(s, false)
				}
			}
		}
	}
}

// tryMergeDeleteSet merges the structs around deleted ranges.
func tryMergeDeleteSet(ds DeleteSet, s *store) {
	for client, dels := range ds {
		for di := len(dels) - 1; di >= 0; di-- {
			d := dels[di]
			structs := s.clients[client]
			if len(structs) == 0 {
				continue
			}
			idx := findIndex(structs, d.Clock+d.Len-1)
			most := min(len(structs)-1, 1+idx)
			if idx < 0 {
				most = len(structs) - 1
			}
			for si := most; si > 0 && s.clients[client][si].ID.Clock >= d.Clock; {
				si -= 1 + s.tryMergeWithLefts(client, si)
			}
		}
	}
}

// writeUpdateFromTransaction writes the structs and deletions of tx; false
// when the transaction changed nothing.
func writeUpdateFromTransaction(e updateEncoder, tx *Txn) bool {
	changed := tx.changedClients()
	if len(tx.deleteSet) == 0 && len(changed) == 0 {
		return false
	}
	tx.deleteSet.sortAndMerge()
	s := tx.doc.store
	slices.SortFunc(changed, func(a, b clientClock) int { return cmp.Compare(b.client, a.client) })
	e.rest().WriteVarUint(uint64(len(changed)))
	for _, cc := range changed {
		writeStructs(e, s.clients[cc.client], cc.client, cc.clock)
	}
	writeDeleteSet(e, tx.deleteSet)
	return true
}
