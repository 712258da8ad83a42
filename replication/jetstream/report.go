package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NodesBucket is the JetStream key-value bucket where every node puts its
// NodeReport (key: the node name), for `octobase cluster status`.
const NodesBucket = "OCTO_NODES"

// DefaultReportInterval is how often a node writes its report.
const DefaultReportInterval = 2 * time.Second

// NodeReport is what a node publishes about itself.
type NodeReport struct {
	Name       string    `json:"name"`
	ID         string    `json:"id"`
	Mode       string    `json:"mode"`
	Time       time.Time `json:"time"`
	Consumed   uint64    `json:"consumed"`   // last stream sequence applied
	Published  uint64    `json:"published"`  // acknowledged publishes since start
	Applied    uint64    `json:"applied"`    // remote updates applied since start
	Workspaces int       `json:"workspaces"` // workspaces in the store
	// Backlog is the number of local records not yet acknowledged by
	// JetStream, over all workspaces.
	Backlog uint64 `json:"backlog"`
}

// reportLoop puts the node's report into NodesBucket every
// DefaultReportInterval while JetStream is reachable.
func (n *Node) reportLoop() {
	defer n.wg.Done()
	t := time.NewTicker(DefaultReportInterval)
	defer t.Stop()
	var kv jetstream.KeyValue
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(n.ctx, 2*time.Second)
		err := n.report(ctx, &kv)
		cancel()
		if err != nil && n.ctx.Err() == nil {
			n.log.Debug("node report not written", "err", err)
		}
	}
}

func (n *Node) report(ctx context.Context, kv *jetstream.KeyValue) error {
	if !n.nc.IsConnected() {
		return nats.ErrDisconnected
	}
	if *kv == nil {
		b, err := n.js.KeyValue(ctx, NodesBucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			b, err = n.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
				Bucket: NodesBucket, Description: "OctoBase node reports", History: 1,
				Storage: jetstream.FileStorage, Replicas: n.cfg.Replicas,
			})
			if errors.Is(err, jetstream.ErrBucketExists) {
				b, err = n.js.KeyValue(ctx, NodesBucket)
			}
		}
		if err != nil {
			return err
		}
		*kv = b
	}
	r := NodeReport{Name: n.cfg.NodeName, ID: n.nodeID, Mode: n.mode(), Time: time.Now().UTC(),
		Published: n.published.Load(), Applied: n.applied.Load()}
	_, r.Consumed = n.st.consumed()
	names, err := n.store.Workspaces()
	if err != nil {
		return err
	}
	r.Workspaces = len(names)
	for _, name := range names {
		w, err := n.store.Workspace(ctx, name)
		if err != nil {
			return err
		}
		last, err := w.LastLSN(ctx)
		if err != nil {
			return err
		}
		if pub := n.st.published(name); last > pub {
			r.Backlog += uint64(last - pub)
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = (*kv).Put(ctx, n.cfg.NodeName, b)
	return err
}

// ClusterReport is the cluster as seen through JetStream: the stream and
// every node that ever reported.
type ClusterReport struct {
	Stream *StreamStatus
	// Replicas are the stream's replicas as the leader sees them.
	Replicas []ReplicaStatus
	// Nodes are the node reports, sorted by name, with the lag computed
	// against the stream.
	Nodes []NodeStatus
}

// ReplicaStatus is one stream replica (a server), from the stream's
// cluster info.
type ReplicaStatus struct {
	Name    string
	Leader  bool
	Current bool          // caught up with the leader
	Active  time.Duration // since the leader last heard from it
	Lag     uint64        // raft entries behind the leader
}

// NodeStatus is a NodeReport with its age and lag.
type NodeStatus struct {
	NodeReport
	Age time.Duration // since the report was written
	// Lag is the number of stream messages the node has not consumed yet.
	Lag uint64
}

// Cluster reads the cluster's state through the NATS server at url
// (any node's client port, or the external server).
func Cluster(ctx context.Context, url string) (*ClusterReport, error) {
	nc, err := nats.Connect(url, nats.Name("octobase cluster status"), nats.Timeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("jetstream: connect %s: %w", url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	s, err := js.Stream(ctx, DefaultStream)
	if err != nil {
		return nil, fmt.Errorf("jetstream: stream %s: %w", DefaultStream, err)
	}
	info := s.CachedInfo()
	rep := &ClusterReport{Stream: &StreamStatus{Name: info.Config.Name, Replicas: info.Config.Replicas,
		Msgs: info.State.Msgs, LastSeq: info.State.LastSeq}}
	if c := info.Cluster; c != nil {
		rep.Stream.Leader = c.Leader
		if c.Leader != "" {
			rep.Replicas = append(rep.Replicas, ReplicaStatus{Name: c.Leader, Leader: true, Current: true})
		}
		for _, p := range c.Replicas {
			rep.Stream.Peers = append(rep.Stream.Peers, p.Name)
			rep.Replicas = append(rep.Replicas, ReplicaStatus{Name: p.Name, Current: p.Current, Active: p.Active, Lag: p.Lag})
		}
		slices.Sort(rep.Stream.Peers)
	}
	kv, err := js.KeyValue(ctx, NodesBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return rep, nil
	} else if err != nil {
		return nil, err
	}
	keys, err := kv.Keys(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, err
	}
	now := time.Now()
	for _, k := range keys {
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue
		}
		var ns NodeStatus
		if err := json.Unmarshal(e.Value(), &ns.NodeReport); err != nil {
			continue
		}
		ns.Age = now.Sub(ns.Time)
		if rep.Stream.LastSeq > ns.Consumed {
			ns.Lag = rep.Stream.LastSeq - ns.Consumed
		}
		rep.Nodes = append(rep.Nodes, ns)
	}
	slices.SortFunc(rep.Nodes, func(a, b NodeStatus) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return rep, nil
}
