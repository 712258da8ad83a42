package crdt

// clientClock pairs a client with a clock.
type clientClock struct {
	client uint64
	clock  uint32
}

// clockMap maps clients to clocks. Transactions usually touch one or two
// clients, so it is a slice until it grows past a few entries.
type clockMap struct {
	small []clientClock
	big   map[uint64]uint32
	buf   [2]clientClock // backing for small, to spare an allocation
}

func (m *clockMap) get(client uint64) (uint32, bool) {
	if m.big != nil {
		c, ok := m.big[client]
		return c, ok
	}
	for _, e := range m.small {
		if e.client == client {
			return e.clock, true
		}
	}
	return 0, false
}

func (m *clockMap) set(client uint64, clock uint32) {
	if m.big != nil {
		m.big[client] = clock
		return
	}
	for i := range m.small {
		if m.small[i].client == client {
			m.small[i].clock = clock
			return
		}
	}
	if m.small == nil {
		m.small = m.buf[:0]
	}
	if len(m.small) < 8 {
		m.small = append(m.small, clientClock{client, clock})
		return
	}
	m.big = make(map[uint64]uint32, 16)
	for _, e := range m.small {
		m.big[e.client] = e.clock
	}
	m.big[client] = clock
	m.small = nil
}

func (m *clockMap) reset() {
	m.small = m.buf[:0]
	m.big = nil
}

// entries returns every pair (in no particular order for large maps).
func (m *clockMap) entries() []clientClock {
	if m.big == nil {
		return m.small
	}
	out := make([]clientClock, 0, len(m.big))
	for c, k := range m.big {
		out = append(out, clientClock{c, k})
	}
	return out
}
