package jetstream

import (
	"encoding/binary"
	"errors"
	"strconv"
	"strings"

	"octobase/engine"
	"octobase/oplog"
)

// Batches. A publisher that has many publishes in flight coalesces the
// changes waiting behind them into one message: fewer, larger messages
// cost JetStream (one Raft append, one fsync with sync_interval always, one
// delivery per consumer) far less than many small ones. A batch keeps every
// record as it is: the receiving node applies and logs them one by one, so
// its op-log holds the same records as the sender's.
//
// Wire format (part of the replication protocol; do not change): a message
// with the header Octo-Batch: <k>, k ≥ 2, has as payload k entries, each a
// uvarint length followed by that many bytes of one record's yjs v1
// update, in LSN order. A message without the header is one update. The
// message id names the range of LSNs the batch covers (msgID).
const (
	hdrBatch = "Octo-Batch"
	// maxBatchRecords and maxBatchBytes bound a batch (the payload is also
	// kept under half the connection's max payload).
	maxBatchRecords = 256
	maxBatchBytes   = 256 << 10
)

// errBadBatch reports a batch payload that does not decode.
var errBadBatch = errors.New("jetstream: malformed batch message")

// batchThreshold is the number of publishes in flight from which a
// publisher starts coalescing: below it, every record is sent at once on
// its own (no added latency, and a republish produces the same message ids
// as the first publish, so JetStream de-duplicates it).
func batchThreshold(window int) int { return max(1, window/16) }

// batcher accumulates a contiguous range of changes first..last; updates
// holds those to publish (replicated changes are in the range but not
// published, J5).
type batcher struct {
	first, last oplog.LSN
	updates     [][]byte
	size        int // encoded size of updates
	maxBytes    int
}

func (b *batcher) add(ch engine.Change) {
	if b.first == 0 {
		b.first = ch.LSN
	}
	b.last = ch.LSN
	if strings.HasPrefix(ch.Origin, OriginPrefix) {
		return
	}
	b.updates = append(b.updates, ch.Update)
	b.size += binary.MaxVarintLen32 + len(ch.Update)
}

// fits reports whether ch can join the batch without passing its limits
// (an empty batch takes anything: a large update goes alone).
func (b *batcher) fits(ch engine.Change) bool {
	return b.first == 0 || b.size+binary.MaxVarintLen32+len(ch.Update) <= b.maxBytes
}

func (b *batcher) full() bool {
	return len(b.updates) >= maxBatchRecords || b.size >= b.maxBytes
}

func (b *batcher) reset() {
	clear(b.updates)
	*b = batcher{updates: b.updates[:0], maxBytes: b.maxBytes}
}

// appendBatch appends the batch encoding of updates to dst.
func appendBatch(dst []byte, updates [][]byte) []byte {
	for _, u := range updates {
		dst = binary.AppendUvarint(dst, uint64(len(u)))
		dst = append(dst, u...)
	}
	return dst
}

// splitBatch decodes a message payload into its updates: the payload
// itself without a batch header, else the header's count of entries. The
// returned slices alias data.
func splitBatch(header string, data []byte) ([][]byte, error) {
	if header == "" {
		return [][]byte{data}, nil
	}
	k, err := strconv.Atoi(header)
	if err != nil || k < 2 || k > len(data) {
		return nil, errBadBatch
	}
	out := make([][]byte, 0, k)
	for len(data) > 0 {
		l, n := binary.Uvarint(data)
		if n <= 0 || l > uint64(len(data)-n) {
			return nil, errBadBatch
		}
		out = append(out, data[n:n+int(l)])
		data = data[n+int(l):]
	}
	if len(out) != k {
		return nil, errBadBatch
	}
	return out, nil
}
