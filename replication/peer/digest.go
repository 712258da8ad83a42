package peer

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/fnv"
	"math"
	"slices"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/engine/lib0"
)

// Delete set digests.
//
// A SyncStep2 (yjs encodeStateAsUpdate) carries the sender's whole delete
// set, since a state vector says nothing about deletions. After a small
// edit of a large document that delete set is most of what crosses. So
// before each SyncStep1 a side sends a digest of its own delete set: per
// client with enough deleted ranges, the clock space cut into buckets of
// width W, and a 64-bit hash of the (clipped, canonical) ranges in each
// non-empty bucket. The side answering the SyncStep1 drops from its
// SyncStep2's delete set the buckets whose hash equals the peer's: the
// peer has exactly those deletions already. Everything else is sent as
// before, so a digest can only make a SyncStep2 smaller, never wrong (up to
// a 64-bit hash collision within one bucket of one client).
//
// Wire (the digest frame's payload):
//
//	varUint(n) · n × (varUint(client) · varUint(W) · varUint(m) ·
//	                  m × (varUint(bucket - previous bucket) · 8-byte big-endian hash))

// digest maps a client to its bucket width and bucket hashes.
type digest map[uint64]clientDigest

type clientDigest struct {
	width   uint64
	buckets map[uint64]uint64 // bucket index → hash
}

// minDigestRanges is the fewest deleted ranges a client needs to be worth a
// digest: a bucket costs ~9 bytes, a range ~3-5 bytes.
const minDigestRanges = 16

// maxDigestBuckets caps the buckets per client.
const maxDigestBuckets = 128

// makeDigest summarizes ds.
func makeDigest(ds crdt.DeleteSet) digest {
	d := digest{}
	for client, ranges := range ds {
		if len(ranges) < minDigestRanges {
			continue
		}
		// √ranges buckets balance the digest's size against what a
		// mismatched bucket resends.
		nb := min(maxDigestBuckets, max(1, int(math.Sqrt(float64(len(ranges))))))
		last := ranges[len(ranges)-1]
		end := uint64(last.Clock) + uint64(last.Len)
		width := max(1, (end+uint64(nb)-1)/uint64(nb))
		d[client] = clientDigest{width: width, buckets: bucketHashes(ranges, width)}
	}
	return d
}

// bucketHashes hashes sorted, merged ranges per bucket of width.
func bucketHashes(ranges []crdt.DeleteRange, width uint64) map[uint64]uint64 {
	out := map[uint64]uint64{}
	forEachBucket(ranges, width, func(b uint64, clipped []crdt.DeleteRange) {
		h := fnv.New64a()
		var buf [8]byte
		for _, r := range clipped {
			binary.BigEndian.PutUint32(buf[:4], r.Clock)
			binary.BigEndian.PutUint32(buf[4:], r.Len)
			h.Write(buf[:])
		}
		out[b] = h.Sum64()
	})
	return out
}

// forEachBucket calls fn for each non-empty bucket, in order, with the
// ranges clipped to it.
func forEachBucket(ranges []crdt.DeleteRange, width uint64, fn func(bucket uint64, clipped []crdt.DeleteRange)) {
	var cur []crdt.DeleteRange
	curB := uint64(0)
	flush := func() {
		if len(cur) > 0 {
			fn(curB, cur)
			cur = nil
		}
	}
	for _, r := range ranges {
		start, end := uint64(r.Clock), uint64(r.Clock)+uint64(r.Len)
		for start < end {
			b := start / width
			stop := min(end, (b+1)*width)
			if b != curB {
				flush()
				curB = b
			}
			cur = append(cur, crdt.DeleteRange{Clock: uint32(start), Len: uint32(stop - start)})
			start = stop
		}
	}
	flush()
}

// trim returns ds without the buckets the peer's digest says it has.
func trim(ds crdt.DeleteSet, peer digest) crdt.DeleteSet {
	out := crdt.DeleteSet{}
	for client, ranges := range ds {
		pd, ok := peer[client]
		if !ok || pieces(ranges, pd.width) > len(ranges)+maxTrimPieces {
			// No digest, or a bucket width that would cut our ranges
			// into absurdly many pieces (a hostile digest): send all.
			out[client] = ranges
			continue
		}
		var kept []crdt.DeleteRange
		mine := bucketHashes(ranges, pd.width)
		forEachBucket(ranges, pd.width, func(b uint64, clipped []crdt.DeleteRange) {
			if h, ok := pd.buckets[b]; ok && h == mine[b] {
				return
			}
			kept = append(kept, clipped...)
		})
		if len(kept) > 0 {
			out[client] = kept
		}
	}
	return out
}

// maxTrimPieces bounds the extra work a peer's bucket width may cause.
const maxTrimPieces = 1 << 16

// pieces returns how many bucket-clipped pieces ranges make.
func pieces(ranges []crdt.DeleteRange, width uint64) int {
	n := uint64(0)
	for _, r := range ranges {
		if r.Len == 0 {
			continue
		}
		start, end := uint64(r.Clock), uint64(r.Clock)+uint64(r.Len)
		n += (end-1)/width - start/width + 1
		if n > 1<<40 {
			break
		}
	}
	return int(min(n, 1<<40))
}

func appendDigest(dst []byte, d digest) []byte {
	clients := make([]uint64, 0, len(d))
	for c := range d {
		clients = append(clients, c)
	}
	slices.Sort(clients)
	dst = lib0.AppendVarUint(dst, uint64(len(clients)))
	for _, c := range clients {
		cd := d[c]
		dst = lib0.AppendVarUint(dst, c)
		dst = lib0.AppendVarUint(dst, cd.width)
		bs := make([]uint64, 0, len(cd.buckets))
		for b := range cd.buckets {
			bs = append(bs, b)
		}
		slices.Sort(bs)
		dst = lib0.AppendVarUint(dst, uint64(len(bs)))
		prev := uint64(0)
		for _, b := range bs {
			dst = lib0.AppendVarUint(dst, b-prev)
			dst = binary.BigEndian.AppendUint64(dst, cd.buckets[b])
			prev = b
		}
	}
	return dst
}

// decodeDigest parses a digest; lengths are checked against the bytes left
// before anything is allocated.
func decodeDigest(b []byte) (digest, error) {
	d := lib0.NewDecoder(b)
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, protoErr("digest: %v", err)
	}
	if n > uint64(d.Remaining())/3 {
		return nil, protoErr("digest: %d clients in %d bytes", n, d.Remaining())
	}
	out := make(digest, n)
	for range n {
		client, err := d.ReadVarUint()
		if err != nil {
			return nil, protoErr("digest: client: %v", err)
		}
		width, err := d.ReadVarUint()
		if err != nil || width == 0 {
			return nil, protoErr("digest: bucket width %d: %v", width, err)
		}
		m, err := d.ReadVarUint()
		if err != nil || m > uint64(d.Remaining())/9 {
			return nil, protoErr("digest: %d buckets in %d bytes (%v)", m, d.Remaining(), err)
		}
		if _, dup := out[client]; dup {
			return nil, protoErr("digest: client %d twice", client)
		}
		cd := clientDigest{width: width, buckets: make(map[uint64]uint64, m)}
		b := uint64(0)
		for i := range m {
			delta, err := d.ReadVarUint()
			if err != nil || (i > 0 && delta == 0) {
				return nil, protoErr("digest: bucket: %v", err)
			}
			b += delta
			h, err := d.ReadBytes(8)
			if err != nil {
				return nil, protoErr("digest: hash: %v", err)
			}
			cd.buckets[b] = binary.BigEndian.Uint64(h)
		}
		out[client] = cd
	}
	if d.Remaining() != 0 {
		return nil, protoErr("digest: %d trailing bytes", d.Remaining())
	}
	return out, nil
}

// splitDeleteSet splits a v1 update into its structs section and its
// delete set, using only the crdt package's public functions: DiffUpdate
// against a state vector that covers every struct of update (sv, taken
// after update was encoded) leaves an update with no structs (the single
// byte 00) and update's delete set, re-encoded canonically, which is how
// the engine encoded it in the first place. ok is false if that does not
// hold (pending structs, another encoder); the caller then sends update
// untouched.
func splitDeleteSet(update, sv []byte) (structs []byte, ds crdt.DeleteSet, ok bool) {
	rest, err := crdt.DiffUpdate(update, sv)
	if err != nil || len(rest) < 2 || rest[0] != 0 {
		return nil, nil, false
	}
	dsBytes := rest[1:]
	if !bytes.HasSuffix(update, dsBytes) {
		return nil, nil, false
	}
	ds, err = crdt.DecodeDeleteSetV1(dsBytes)
	if err != nil || !bytes.Equal(crdt.EncodeDeleteSetV1(ds), dsBytes) {
		return nil, nil, false
	}
	return update[:len(update)-len(dsBytes)], ds, true
}

// ownDigest returns the digest of the workspace's delete set, or nil if it
// cannot be had cheaply and safely.
func ownDigest(ctx context.Context, ws *engine.Workspace) (digest, error) {
	sv, err := ws.StateVector(ctx)
	if err != nil {
		return nil, err
	}
	// Against its own state vector the state is just the delete set
	// (and any struct logged meanwhile, which splitDeleteSet removes).
	u, err := ws.EncodeStateAsUpdate(ctx, sv)
	if err != nil {
		return nil, err
	}
	sv2, err := ws.StateVector(ctx)
	if err != nil {
		return nil, err
	}
	_, ds, ok := splitDeleteSet(u, sv2)
	if !ok {
		return nil, nil
	}
	return makeDigest(ds), nil
}

// trimStep2 removes from a SyncStep2 update the deletions the peer's digest
// says it has. It returns update itself when there is nothing to trim or
// the update cannot be split safely.
func trimStep2(update, sv []byte, peer digest) []byte {
	if len(peer) == 0 {
		return update
	}
	structs, ds, ok := splitDeleteSet(update, sv)
	if !ok {
		return update
	}
	return append(slices.Clip(structs), crdt.EncodeDeleteSetV1(trim(ds, peer))...)
}
