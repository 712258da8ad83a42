package jetstream

import (
	"context"
	"slices"
	"time"

	"octobase/oplog"
)

// Status is a node's replication state, for `octobase cluster status`,
// health checks and tests.
type Status struct {
	Node      string // node name
	NodeID    string // incarnation id
	Mode      string // "single", "cluster" or "external"
	Connected bool   // the NATS connection is up
	// Stream is the stream's state as the server reported it; nil if it
	// could not be read (JetStream unavailable).
	Stream *StreamStatus
	// Consumed is the last stream sequence this node applied or skipped.
	Consumed uint64
	// Published, Applied and Skipped count records (updates) since Start:
	// local records JetStream acknowledged, remote records applied, own
	// records skipped and undecodable messages or records dropped.
	Published, Applied, Skipped uint64
	// PublishedMsgs and AppliedMsgs count the messages that carried the
	// published and applied records (a batch carries several, batch.go).
	PublishedMsgs, AppliedMsgs uint64
	// SnapshotSeq is the stream sequence of this node's last snapshot
	// round (0: none since Start); BootstrapSeq the sequence covered by
	// the snapshots this node bootstrapped from (0: it did not).
	SnapshotSeq, BootstrapSeq uint64
	// Workspaces lists every workspace of the store with its positions,
	// sorted by name.
	Workspaces []WorkspaceStatus
}

// StreamStatus is the part of the stream's info Status reports.
type StreamStatus struct {
	Name     string
	Replicas int
	Msgs     uint64
	LastSeq  uint64
	Leader   string   // cluster leader of the stream ("" for a single node)
	Peers    []string // other replicas (current or not)
}

// WorkspaceStatus is one workspace's publishing position.
type WorkspaceStatus struct {
	Name      string
	LastLSN   oplog.LSN // last record in the local op-log
	Published oplog.LSN // last record acknowledged by JetStream (or skipped)
}

// Status reports the node's state. The stream part needs JetStream; when
// it is unavailable Status still returns the local part with Stream nil.
func (n *Node) Status(ctx context.Context) (Status, error) {
	s := Status{
		Node:      n.cfg.NodeName,
		NodeID:    n.nodeID,
		Mode:      n.mode(),
		Connected: n.nc.IsConnected(),
		Published: n.published.Load(),
		Applied:   n.applied.Load(),
		Skipped:   n.skipped.Load(),

		PublishedMsgs: n.publishedMsgs.Load(),
		AppliedMsgs:   n.appliedMsgs.Load(),
		SnapshotSeq:   n.snapSeq.Load(),
		BootstrapSeq:  n.bootstrapSeq.Load(),
	}
	_, s.Consumed = n.st.consumed()
	names, err := n.store.Workspaces()
	if err != nil {
		return s, err
	}
	for _, name := range names {
		w, err := n.store.Workspace(ctx, name)
		if err != nil {
			return s, err
		}
		last, err := w.LastLSN(ctx)
		if err != nil {
			return s, err
		}
		s.Workspaces = append(s.Workspaces, WorkspaceStatus{Name: name, LastLSN: last, Published: n.st.published(name)})
	}
	if s.Connected {
		// JetStream does not answer at all without a meta leader.
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if st, err := n.js.Stream(sctx, DefaultStream); err == nil {
			info := st.CachedInfo()
			ss := &StreamStatus{Name: info.Config.Name, Replicas: info.Config.Replicas,
				Msgs: info.State.Msgs, LastSeq: info.State.LastSeq}
			if info.Cluster != nil {
				ss.Leader = info.Cluster.Leader
				for _, p := range info.Cluster.Replicas {
					ss.Peers = append(ss.Peers, p.Name)
				}
				slices.Sort(ss.Peers)
			}
			s.Stream = ss
		}
	}
	return s, nil
}

// CaughtUp reports whether s shows nothing left to do: every workspace
// published up to its last record, and the stream consumed to its end.
func (s Status) CaughtUp() bool {
	if s.Stream == nil || s.Consumed < s.Stream.LastSeq {
		return false
	}
	for _, w := range s.Workspaces {
		if w.Published < w.LastLSN {
			return false
		}
	}
	return true
}
