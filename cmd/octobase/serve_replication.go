package main

import (
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"octobase/engine"
	"octobase/replication/jetstream"
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
func startReplication(store *engine.Store, f *replicationFlags, log *slog.Logger) (stop func(), err error) {
	if f.noReplication {
		if f.cluster != "" || f.peers != "" || f.natsURL != "" || f.natsPort != 0 {
			return nil, usagef("--no-replication excludes --cluster, --peers, --nats-url and --nats-port")
		}
		log.Info("replication disabled")
		return func() {}, nil
	}
	if f.natsURL != "" && (f.cluster != "" || f.peers != "" || f.natsPort != 0) {
		return nil, usagef("--nats-url excludes --cluster, --peers and --nats-port")
	}
	if f.peers != "" && f.cluster == "" {
		return nil, usagef("--peers needs --cluster")
	}
	if f.cluster != "" && f.nodeName == "" {
		return nil, usagef("--cluster needs --node-name (unique in the cluster)")
	}
	if f.natsPort < 0 || f.natsPort > 65535 {
		return nil, usagef("invalid --nats-port %d", f.natsPort)
	}
	if f.snapshotEvery < 0 {
		return nil, usagef("invalid --snapshot-interval %v", f.snapshotEvery)
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
		return nil, fmt.Errorf("replication: %w", err)
	}
	if u := node.ClientURL(); u != "" {
		log.Info("embedded NATS client port", "url", u)
	}
	return func() {
		if err := node.Close(); err != nil {
			log.Warn("stopping replication", "err", err)
		}
	}, nil
}
