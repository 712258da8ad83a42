package jetstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"octobase/oplog"
)

// Snapshots for bootstrap. Every node periodically puts, into the
// JetStream object store SnapshotBucket, the encoded state of each of its
// workspaces (one object per workspace, named by its subject token) with
// the stream sequence S it covers: every message of that workspace up to S
// is contained in the state. Then it puts a manifest (object
// manifestObject) listing its workspaces at one S. A node that has no
// data at all (a new node, or a wiped data directory) applies the
// snapshots of the workspaces the manifest lists and consumes the stream
// from the smallest S among them + 1, instead of from the start.
//
// Why this is safe: the node reads its consumed position S first and
// encodes each state afterwards, and the position only ever covers
// messages whose records are durable, so each state holds at least every
// message up to S (its own messages are in its log). Each object carries
// its own S, so objects overwritten by another node's round are still
// self-consistent; the bootstrapping node starts at the minimum. The
// manifest is complete for its S: a node holds every workspace that had a
// message up to its consumed position. Extra content (later messages) in a
// state is harmless: applying it again is a no-op (J4).
const (
	// SnapshotBucket is the object store holding workspace snapshots.
	SnapshotBucket = "OCTO_SNAPSHOTS"
	// manifestObject names the manifest; workspace objects are subject
	// tokens, which never contain '.'.
	manifestObject = "manifest.json"
	metaSeq        = "octo-seq"
	metaStream     = "octo-stream"
	// snapshotOrigin is the origin of the records a bootstrap applies.
	snapshotOrigin = OriginPrefix + "snapshot"
)

// manifest is the content of manifestObject.
type manifest struct {
	Stream     string    `json:"stream"` // the stream's creation time, as in state.json
	Seq        uint64    `json:"seq"`
	Node       string    `json:"node"`
	Time       time.Time `json:"time"`
	Workspaces []string  `json:"workspaces"`
}

// snapshotLoop writes the node's snapshots every SnapshotInterval.
func (n *Node) snapshotLoop() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.SnapshotInterval)
	defer t.Stop()
	written := map[string]oplog.LSN{} // workspace → last LSN in its last snapshot
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		if err := n.writeSnapshots(n.ctx, written); err != nil && n.ctx.Err() == nil {
			n.log.Debug("snapshots not written", "err", err)
		}
	}
}

func (n *Node) snapshotStore(ctx context.Context) (jetstream.ObjectStore, error) {
	obs, err := n.js.ObjectStore(ctx, SnapshotBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		obs, err = n.js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket: SnapshotBucket, Description: "OctoBase workspace snapshots for bootstrap",
			Storage: jetstream.FileStorage, Replicas: n.cfg.Replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			obs, err = n.js.ObjectStore(ctx, SnapshotBucket)
		}
	}
	return obs, err
}

// writeSnapshots puts the snapshot of every workspace changed since its
// last one (written), then the manifest. Nothing is written before the
// node has consumed part of the current stream.
func (n *Node) writeSnapshots(ctx context.Context, written map[string]oplog.LSN) error {
	if !n.nc.IsConnected() {
		return nats.ErrDisconnected
	}
	n.streamMu.Lock()
	current := n.streamMu.id
	n.streamMu.Unlock()
	sid, seq := n.st.consumed()
	if seq == 0 || sid == "" || sid != current {
		return nil
	}
	if n.snapSeq.Load() == seq {
		return nil // nothing consumed since the last round
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	obs, err := n.snapshotStore(ctx)
	if err != nil {
		return err
	}
	names, err := n.store.Workspaces()
	if err != nil {
		return err
	}
	for _, name := range names {
		w, err := n.store.Workspace(ctx, name)
		if err != nil {
			return err
		}
		last, err := w.LastLSN(ctx)
		if err != nil {
			return err
		}
		if l, ok := written[name]; ok && l == last {
			// Unchanged: its object (older S) still covers every message
			// of the workspace up to seq (a message that changed it would
			// have added a record).
			continue
		}
		state, err := w.EncodeStateAsUpdate(ctx, nil)
		if err != nil {
			return err
		}
		meta := n.objectMeta(escapeToken(name))
		meta.Description = name
		meta.Metadata = map[string]string{metaSeq: strconv.FormatUint(seq, 10), metaStream: sid,
			"octo-node": n.cfg.NodeName, "octo-lsn": strconv.FormatUint(uint64(last), 10)}
		if _, err := obs.Put(ctx, meta, bytes.NewReader(state)); err != nil {
			return fmt.Errorf("snapshot of %s: %w", name, err)
		}
		written[name] = last
	}
	b, err := json.Marshal(manifest{Stream: sid, Seq: seq, Node: n.cfg.NodeName, Time: time.Now().UTC(), Workspaces: names})
	if err != nil {
		return err
	}
	if _, err := obs.Put(ctx, n.objectMeta(manifestObject), bytes.NewReader(b)); err != nil {
		return fmt.Errorf("snapshot manifest: %w", err)
	}
	n.snapSeq.Store(seq)
	n.log.Debug("snapshots written", "seq", seq, "workspaces", len(names))
	return nil
}

// bootstrap applies the snapshots of the latest manifest of stream
// streamID and returns the stream sequence they cover together (0: none
// usable, consume from the start) and, per workspace, the sequence its own
// snapshot covers (messages up to it need not be applied).
func (n *Node) bootstrap(ctx context.Context, streamID string) (uint64, map[string]uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	obs, err := n.js.ObjectStore(ctx, SnapshotBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return 0, nil, nil
	} else if err != nil {
		return 0, nil, err
	}
	b, err := obs.GetBytes(ctx, manifestObject)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return 0, nil, nil
	} else if err != nil {
		return 0, nil, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		n.log.Warn("ignoring a damaged snapshot manifest", "err", err)
		return 0, nil, nil
	}
	if m.Stream != streamID || m.Seq == 0 {
		return 0, nil, nil // for another incarnation of the stream
	}
	start := m.Seq
	covered := map[string]uint64{}
	for _, name := range m.Workspaces {
		data, seq, err := getSnapshot(ctx, obs, name, streamID)
		if err != nil {
			return 0, nil, err
		}
		if seq == 0 {
			n.log.Warn("snapshot missing for a workspace of the manifest; replaying the whole stream", "workspace", name)
			return 0, nil, nil
		}
		w, err := n.workspace(ctx, name)
		if err != nil {
			return 0, nil, err
		}
		if _, err := w.Apply(ctx, data, snapshotOrigin); err != nil {
			return 0, nil, fmt.Errorf("apply snapshot of %s: %w", name, err)
		}
		start = min(start, seq)
		covered[name] = seq
		n.ensurePublisher(name)
	}
	return start, covered, nil
}

// getSnapshot reads workspace name's snapshot: its state and the stream
// sequence it covers (0 if there is none for stream streamID).
func getSnapshot(ctx context.Context, obs jetstream.ObjectStore, name, streamID string) ([]byte, uint64, error) {
	res, err := obs.Get(ctx, escapeToken(name))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, 0, nil
	} else if err != nil {
		return nil, 0, err
	}
	defer res.Close()
	info, err := res.Info()
	if err != nil {
		return nil, 0, err
	}
	seq, err := strconv.ParseUint(info.Metadata[metaSeq], 10, 64)
	if err != nil || info.Metadata[metaStream] != streamID {
		return nil, 0, nil
	}
	data, err := io.ReadAll(res)
	if err != nil {
		return nil, 0, err
	}
	return data, seq, nil
}
