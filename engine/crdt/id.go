package crdt

import (
	"slices"
)

// MaxClientID is the largest client id yjs can represent (2^53-1): ids travel
// as JavaScript numbers.
const MaxClientID = 1<<53 - 1

// ID is the Lamport identifier of one unit of content: the client that created
// it and that client's clock when it did. A struct (Item or GC) covers the ids
// ID.Clock .. ID.Clock+Length-1 of one client.
type ID struct {
	Client uint64
	Clock  uint32
}

// StateVector maps each client to the next clock expected from it: every id
// (c, k) with k < sv[c] is known.
type StateVector map[uint64]uint32

// Get returns the next expected clock for client (0 when unknown).
func (sv StateVector) Get(client uint64) uint32 { return sv[client] }

// Clone returns an independent copy.
func (sv StateVector) Clone() StateVector {
	out := make(StateVector, len(sv))
	for k, v := range sv {
		out[k] = v
	}
	return out
}

// sortedClientsDesc returns the clients of sv in descending order, the order
// in which yjs writes them.
func (sv StateVector) sortedClientsDesc() []uint64 {
	out := make([]uint64, 0, len(sv))
	for c := range sv {
		out = append(out, c)
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

// EncodeStateVector returns the lib0 encoding of sv (the same in v1 and v2):
// varUint(n) followed by n pairs (client, clock) in descending client order.
func EncodeStateVector(sv StateVector) []byte {
	buf := make([]byte, 0, 1+len(sv)*8)
	buf = appendVarUint(buf, uint64(len(sv)))
	for _, c := range sv.sortedClientsDesc() {
		buf = appendVarUint(buf, c)
		buf = appendVarUint(buf, uint64(sv[c]))
	}
	return buf
}

// DecodeStateVector parses an encoded state vector.
func DecodeStateVector(b []byte) (StateVector, error) {
	d := newReader(b)
	n, err := d.varUint()
	if err != nil {
		return nil, wrapDecode("state vector", err)
	}
	if n > uint64(d.remaining()/2) {
		return nil, wrapDecode("state vector", errTruncated)
	}
	sv := make(StateVector, n)
	for i := uint64(0); i < n; i++ {
		c, err := d.client()
		if err != nil {
			return nil, wrapDecode("state vector", err)
		}
		k, err := d.clock()
		if err != nil {
			return nil, wrapDecode("state vector", err)
		}
		sv[c] = k
	}
	return sv, nil
}
