package ysync

import (
	"slices"

	"octobase/engine/lib0"
)

// OutdatedTimeout is y-protocols' outdatedTimeout in milliseconds: remote
// states not renewed for this long are removed, and the local state is renewed
// after half of it.
const OutdatedTimeout int64 = 30_000

// AwarenessEntry is one client's entry in an encoded awareness update.
type AwarenessEntry struct {
	ClientID uint64
	Clock    uint64
	// State is the JSON text of the client's state (JSON.stringify of it);
	// "null" means the client is gone. EncodeAwarenessUpdate writes "" as
	// "null" and any other text as is, so it must be valid JSON.
	State string
}

// DecodeAwarenessUpdate parses an encoded awareness update (the payload of an
// awareness message): varUint(n) · n × (varUint clientID · varUint clock ·
// varString state). Each state must be valid JSON; State holds it as sent.
// Malformed input returns an error wrapping ErrMalformed.
func DecodeAwarenessUpdate(b []byte) ([]AwarenessEntry, error) {
	es, _, err := decodeAwareness(b, false)
	return es, err
}

// validateAwarenessUpdate checks b as DecodeAwarenessUpdate does.
func validateAwarenessUpdate(b []byte) error {
	_, _, err := decodeAwareness(b, false)
	return err
}

// decodeAwareness decodes b; with values it also returns each state's parsed
// JSON value (nil for null).
func decodeAwareness(b []byte, values bool) ([]AwarenessEntry, []any, error) {
	var d lib0.Decoder
	d.Reset(b)
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, nil, malformed("awareness update", err)
	}
	if n > uint64(d.Remaining()/3) { // every entry takes at least 3 bytes
		return nil, nil, malformed("awareness update", lib0.ErrUnexpectedEOF)
	}
	es := make([]AwarenessEntry, 0, n)
	var vs []any
	if values {
		vs = make([]any, 0, n)
	}
	for i := uint64(0); i < n; i++ {
		e, v, err := readAwarenessEntry(&d)
		if err != nil {
			return nil, nil, err
		}
		es = append(es, e)
		if values {
			vs = append(vs, v)
		}
	}
	return es, vs, nil
}

func readAwarenessEntry(d *lib0.Decoder) (e AwarenessEntry, v any, err error) {
	if e.ClientID, err = d.ReadVarUint(); err != nil {
		return e, nil, malformed("awareness client id", err)
	}
	if e.Clock, err = d.ReadVarUint(); err != nil {
		return e, nil, malformed("awareness clock", err)
	}
	if e.State, err = d.ReadVarStringStrict(); err != nil {
		return e, nil, malformed("awareness state", err)
	}
	if v, err = lib0.ParseJSON(e.State); err != nil {
		return e, nil, malformed("awareness state JSON", err)
	}
	return e, v, nil
}

// AppendAwarenessEntries appends the encoded awareness update of entries
// (y-protocols encodeAwarenessUpdate) to dst.
func AppendAwarenessEntries(dst []byte, entries []AwarenessEntry) []byte {
	dst = lib0.AppendVarUint(dst, uint64(len(entries)))
	for _, e := range entries {
		dst = lib0.AppendVarUint(dst, e.ClientID)
		dst = lib0.AppendVarUint(dst, e.Clock)
		s := e.State
		if s == "" {
			s = "null"
		}
		dst = lib0.AppendVarString(dst, s)
	}
	return dst
}

// EncodeAwarenessUpdate returns the encoded awareness update of entries.
func EncodeAwarenessUpdate(entries []AwarenessEntry) []byte {
	return AppendAwarenessEntries(nil, entries)
}

// Change lists the clients an awareness operation affected, in the order
// y-protocols reports them. Added, Updated and Removed are the arguments of
// y-protocols' 'update' event (Updated includes renewals that left the state
// as it was); Modified is the subset of Updated whose state changed, which
// with Added and Removed makes its 'change' event.
type Change struct {
	Added, Updated, Removed []uint64
	Modified                []uint64
}

// Clients returns Added, Updated and Removed concatenated: the clients whose
// entries the reference server broadcasts after a change
// (encodeAwarenessUpdate(awareness, added.concat(updated, removed))).
func (c Change) Clients() []uint64 {
	out := make([]uint64, 0, len(c.Added)+len(c.Updated)+len(c.Removed))
	out = append(out, c.Added...)
	out = append(out, c.Updated...)
	return append(out, c.Removed...)
}

// Empty reports whether nothing was affected (y-protocols emits no 'update'
// event).
func (c Change) Empty() bool { return len(c.Added)+len(c.Updated)+len(c.Removed) == 0 }

// Changed reports whether a state was added, modified or removed
// (y-protocols emits a 'change' event).
func (c Change) Changed() bool { return len(c.Added)+len(c.Modified)+len(c.Removed) > 0 }

// ClientState is what an Awareness knows about one client.
type ClientState struct {
	Clock uint64
	// LastUpdated is the now of the last accepted entry or local change.
	LastUpdated int64
	// State is the JSON text of the state, as JSON.stringify writes it, or
	// "null" when the client has been removed.
	State string
}

// Awareness is the awareness state table of one document (y-protocols'
// Awareness class without its timer and events): per client id, the last clock
// seen, when it was seen, and the state (any JSON value; removed clients keep
// their clock). One client id is local: its state is set with SetLocalState and
// a remote update can never remove it.
//
// Times are supplied by the caller (now, in milliseconds); nothing reads a
// clock. An Awareness is not safe for concurrent use.
type Awareness struct {
	clientID uint64
	meta     map[uint64]awMeta
	states   map[uint64]awState
}

type awMeta struct {
	clock       uint64
	lastUpdated int64
}

// awState is a present state: its JSON text (normalized as JSON.stringify of
// the parsed value writes it) and the parsed value, never nil.
type awState struct {
	json  string
	value any
}

// NewAwareness returns the table of a replica whose own client id is
// clientID. Like y-protocols' constructor it starts with the local state {}
// at clock 0, last updated at now; a server that has no state of its own calls
// SetLocalState("null", now) as the reference server does.
func NewAwareness(clientID uint64, now int64) *Awareness {
	a := &Awareness{
		clientID: clientID,
		meta:     make(map[uint64]awMeta),
		states:   make(map[uint64]awState),
	}
	a.setLocal(lib0.Object{}, now)
	return a
}

// ClientID returns the local client id.
func (a *Awareness) ClientID() uint64 { return a.clientID }

// Len returns the number of clients with a state (local included).
func (a *Awareness) Len() int { return len(a.states) }

// Clients returns the ids of the clients with a state, in ascending order.
func (a *Awareness) Clients() []uint64 {
	ids := make([]uint64, 0, len(a.states))
	for id := range a.states {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Get returns what the table knows about client id; ok is false for a client
// never seen.
func (a *Awareness) Get(id uint64) (cs ClientState, ok bool) {
	m, ok := a.meta[id]
	if !ok {
		return ClientState{}, false
	}
	cs = ClientState{Clock: m.clock, LastUpdated: m.lastUpdated, State: "null"}
	if s, has := a.states[id]; has {
		cs.State = s.json
	}
	return cs, true
}

// State returns the JSON text of client id's state; ok is false when it has
// none.
func (a *Awareness) State(id uint64) (json string, ok bool) {
	s, ok := a.states[id]
	return s.json, ok
}

// LocalState returns the JSON text of the local state, "null" when there is
// none (y-protocols getLocalState; a falsy state such as 0 or "" counts as
// none there, and so it does here).
func (a *Awareness) LocalState() string {
	if s, ok := a.localState(); ok {
		return s.json
	}
	return "null"
}

func (a *Awareness) localState() (awState, bool) {
	s, ok := a.states[a.clientID]
	if !ok || falsy(s.value) {
		return awState{}, false
	}
	return s, true
}

// SetLocalState sets the local state to the JSON text state ("null" removes
// it), bumps the local clock and returns the change (y-protocols
// setLocalState). Invalid JSON returns an error wrapping ErrMalformed and
// changes nothing. Broadcast Encode(change.Clients()) to peers.
func (a *Awareness) SetLocalState(state string, now int64) (Change, error) {
	v, err := lib0.ParseJSON(state)
	if err != nil {
		return Change{}, malformed("awareness state JSON", err)
	}
	return a.setLocal(v, now), nil
}

func (a *Awareness) setLocal(v any, now int64) Change {
	id := a.clientID
	var clock uint64
	if m, ok := a.meta[id]; ok {
		clock = nextClock(m.clock)
	}
	prev, hadPrev := a.states[id]
	if v == nil {
		delete(a.states, id)
	} else {
		a.states[id] = newAwState(v)
	}
	a.meta[id] = awMeta{clock: clock, lastUpdated: now}
	var c Change
	switch {
	case v == nil:
		c.Removed = []uint64{id}
	case !hadPrev:
		c.Added = []uint64{id}
	default:
		c.Updated = []uint64{id}
		if !jsonEqual(prev.value, v) {
			c.Modified = []uint64{id}
		}
	}
	return c
}

// RenewLocal renews the local state when it is due: if there is a local state
// and at least timeout/2 passed since it was last set, it is set again with
// the next clock (y-protocols does this every 15 s so that peers do not time it
// out). ok reports whether it did; broadcast Encode(change.Clients()) then.
// Pass OutdatedTimeout as timeout for y-protocols' behaviour.
func (a *Awareness) RenewLocal(now, timeout int64) (change Change, ok bool) {
	s, has := a.localState()
	if !has || 2*(now-a.meta[a.clientID].lastUpdated) < timeout {
		return Change{}, false
	}
	return a.setLocal(s.value, now), true
}

// Outdated returns, in ascending order, the remote clients that have a state
// that was last updated at least timeout ago. The caller removes them with
// RemoveStates and broadcasts the change (y-protocols does this with origin
// 'timeout'). Pass OutdatedTimeout for y-protocols' behaviour.
func (a *Awareness) Outdated(now, timeout int64) []uint64 {
	var ids []uint64
	for id := range a.states {
		if id != a.clientID && now-a.meta[id].lastUpdated >= timeout {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// RemoveStates removes the states of clients (y-protocols
// removeAwarenessStates): clients without a state are skipped; removing the
// local state also bumps the local clock. Remote clients keep their clock, so
// Encode(change.Clients()) sends their removal at the clock peers already
// have, which they accept (equal clock, null state).
func (a *Awareness) RemoveStates(clients []uint64, now int64) Change {
	var c Change
	for _, id := range clients {
		if _, ok := a.states[id]; !ok {
			continue
		}
		delete(a.states, id)
		if id == a.clientID {
			m := a.meta[id]
			a.meta[id] = awMeta{clock: nextClock(m.clock), lastUpdated: now}
		}
		c.Removed = append(c.Removed, id)
	}
	return c
}

// Apply applies an encoded awareness update received from a peer
// (y-protocols applyAwarenessUpdate), with now as the entries' last-updated
// time. An entry is accepted when its clock is greater than the known clock
// (0 for a client never seen), or equal to it with a null state for a client
// that has a state. Accepting a null state removes the client, except the
// local client while it has a state: then the local state stays and its clock
// becomes the entry's clock + 1, so the next broadcast overrides the removal.
// Entries are processed in order, so a later entry for the same client sees
// the earlier one.
//
// The whole update is decoded first: a malformed update returns an error
// wrapping ErrMalformed and changes nothing.
func (a *Awareness) Apply(update []byte, now int64) (Change, error) {
	es, vs, err := decodeAwareness(update, true)
	if err != nil {
		return Change{}, err
	}
	var c Change
	for i, e := range es {
		v := vs[i]
		id, clock := e.ClientID, e.Clock
		m, known := a.meta[id]
		prev, hadState := a.states[id]
		if !(m.clock < clock || (m.clock == clock && v == nil && hadState)) {
			continue
		}
		if v == nil {
			if _, local := a.localState(); id == a.clientID && local {
				clock = nextClock(clock)
			} else {
				delete(a.states, id)
			}
		} else {
			a.states[id] = newAwState(v)
		}
		a.meta[id] = awMeta{clock: clock, lastUpdated: now}
		switch {
		case !known && v != nil:
			c.Added = append(c.Added, id)
		case known && v == nil:
			c.Removed = append(c.Removed, id)
		case v != nil:
			if !hadState || !jsonEqual(v, prev.value) {
				c.Modified = append(c.Modified, id)
			}
			c.Updated = append(c.Updated, id)
		}
	}
	return c, nil
}

// Encode returns the encoded awareness update of clients (y-protocols
// encodeAwarenessUpdate): each client's clock and state, "null" for a client
// without one. Clients the table has never seen are skipped (y-protocols
// throws on them). Wrap the result with AppendAwareness to send it.
func (a *Awareness) Encode(clients []uint64) []byte {
	es := make([]AwarenessEntry, 0, len(clients))
	for _, id := range clients {
		m, ok := a.meta[id]
		if !ok {
			continue
		}
		e := AwarenessEntry{ClientID: id, Clock: m.clock, State: "null"}
		// encodeAwarenessUpdate writes states.get(id) || null: a falsy
		// state (false, 0, "") goes out as null.
		if s, has := a.states[id]; has && !falsy(s.value) {
			e.State = s.json
		}
		es = append(es, e)
	}
	return EncodeAwarenessUpdate(es)
}

// EncodeAll returns the encoded awareness update of every client with a state,
// in ascending id order: what the reference server sends a client on connect
// and what a y-websocket client answers QueryAwareness with.
func (a *Awareness) EncodeAll() []byte { return a.Encode(a.Clients()) }

// nextClock is clock+1, saturating at 2^53-1 so that every clock this table
// encodes can be decoded again (JavaScript numbers lose precision there).
func nextClock(clock uint64) uint64 {
	if clock >= lib0.MaxSafeInteger {
		return lib0.MaxSafeInteger
	}
	return clock + 1
}

func newAwState(v any) awState {
	s, err := lib0.StringifyJSON(v)
	if err != nil {
		// Unreachable for values ParseJSON returns; keep the value
		// representable rather than panic.
		s = "null"
	}
	return awState{json: s, value: v}
}

// falsy reports whether a parsed JSON value is falsy in JavaScript.
func falsy(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case float64:
		return v == 0 || v != v
	case string:
		return v == ""
	}
	return false
}

// jsonEqual is lib0's equalityDeep on parsed JSON values: objects compare by
// key set regardless of order.
func jsonEqual(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case bool:
		bb, ok := b.(bool)
		return ok && a == bb
	case float64:
		bf, ok := b.(float64)
		return ok && a == bf
	case string:
		bs, ok := b.(string)
		return ok && a == bs
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return false
		}
		for i := range a {
			if !jsonEqual(a[i], bs[i]) {
				return false
			}
		}
		return true
	case lib0.Object:
		bo, ok := b.(lib0.Object)
		if !ok || len(a) != len(bo) {
			return false
		}
		for _, f := range a {
			bv, ok := bo.Get(f.Key)
			if !ok || !jsonEqual(f.Value, bv) {
				return false
			}
		}
		return true
	}
	return false
}
