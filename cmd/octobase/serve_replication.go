package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"octobase/engine"
	"octobase/replication/jetstream"
	"octobase/server"
)

// replicationFlags are serve's flags for replication through NATS
// JetStream (replication/jetstream, docs/replication.md).
type replicationFlags struct {
	nodeName      string
	cluster       string
	peers         string
	natsURL       string
	natsPort      int
	snapshotEvery time.Duration
	noReplication bool
}

func (f *replicationFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.nodeName, "node-name", "", "this node's name in the cluster and in replicated origins (default: the host name; required with --cluster)")
	fs.StringVar(&f.cluster, "cluster", "", "host:port the embedded NATS server listens on for cluster routes (default: single node, no cluster)")
	fs.StringVar(&f.peers, "peers", "", "comma-separated route URLs of the other nodes, e.g. nats://10.0.0.2:6222 (with --cluster)")
	fs.StringVar(&f.natsURL, "nats-url", "", "connect to this external NATS server or cluster instead of embedding one")
	fs.IntVar(&f.natsPort, "nats-port", 0, "client port of the embedded NATS server, on loopback (0: none for a single node, random for a cluster)")
	fs.DurationVar(&f.snapshotEvery, "snapshot-interval", jetstream.DefaultSnapshotInterval, "how often to put snapshots of changed workspaces into JetStream, for new nodes to bootstrap from (0: never)")
	fs.BoolVar(&f.noReplication, "no-replication", false, "do not start NATS JetStream replication")
}

// startReplication starts replication of store per f and returns the
// function that stops it (to call before closing the store). With
// --no-replication it starts nothing and stop does nothing.
func startReplication(store *engine.Store, f *replicationFlags, log *slog.Logger) (stop func(), gauges func(context.Context) []server.Gauge, err error) {
	if f.noReplication {
		if f.cluster != "" || f.peers != "" || f.natsURL != "" || f.natsPort != 0 {
			return nil, nil, usagef("--no-replication excludes --cluster, --peers, --nats-url and --nats-port")
		}
		log.Info("replication disabled")
		return func() {}, nil, nil
	}
	if f.natsURL != "" && (f.cluster != "" || f.peers != "" || f.natsPort != 0) {
		return nil, nil, usagef("--nats-url excludes --cluster, --peers and --nats-port")
	}
	if f.peers != "" && f.cluster == "" {
		return nil, nil, usagef("--peers needs --cluster")
	}
	if f.cluster != "" && f.nodeName == "" {
		return nil, nil, usagef("--cluster needs --node-name (unique in the cluster)")
	}
	if f.natsPort < 0 || f.natsPort > 65535 {
		return nil, nil, usagef("invalid --nats-port %d", f.natsPort)
	}
	if f.snapshotEvery < 0 {
		return nil, nil, usagef("invalid --snapshot-interval %v", f.snapshotEvery)
	}
	opts := &jetstream.Options{
		NodeName:    f.nodeName,
		URL:         f.natsURL,
		ClusterAddr: f.cluster,
		ClientPort:  f.natsPort,
		Logger:      log,

		SnapshotInterval: f.snapshotEvery,
	}
	if f.snapshotEvery == 0 {
		opts.SnapshotInterval = -1 // never
	}
	for p := range strings.SplitSeq(f.peers, ",") {
		if p = strings.TrimSpace(p); p != "" {
			opts.Peers = append(opts.Peers, p)
		}
	}
	node, err := jetstream.Start(store, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("replication: %w", err)
	}
	if u := node.ClientURL(); u != "" {
		log.Info("embedded NATS client port", "url", u)
	}
	stop = func() {
		if err := node.Close(); err != nil {
			log.Warn("stopping replication", "err", err)
		}
	}
	return stop, func(ctx context.Context) []server.Gauge { return replicationGauges(ctx, node) }, nil
}

// replicationGauges reports the node's replication state on /metrics.
func replicationGauges(ctx context.Context, node *jetstream.Node) []server.Gauge {
	st, err := node.Status(ctx)
	if err != nil {
		return []server.Gauge{{Name: "octobase_replication_connected", Help: "1 if the node's NATS connection is up.", Value: 0}}
	}
	connected := 0.0
	if st.Connected {
		connected = 1
	}
	var backlog float64
	for _, w := range st.Workspaces {
		if w.LastLSN > w.Published {
			backlog += float64(w.LastLSN - w.Published)
		}
	}
	g := []server.Gauge{
		{Name: "octobase_replication_connected", Help: "1 if the node's NATS connection is up.", Value: connected},
		{Name: "octobase_replication_publish_backlog_records", Help: "Local op-log records not yet acknowledged by JetStream, over all workspaces.", Value: backlog},
	}
	if st.Stream != nil {
		lag := 0.0
		if st.Stream.LastSeq > st.Consumed {
			lag = float64(st.Stream.LastSeq - st.Consumed)
		}
		g = append(g, server.Gauge{Name: "octobase_replication_consumer_lag_messages", Help: "Stream messages this node has not applied yet (the stream's last sequence minus the node's position).", Value: lag})
	}
	return g
}
