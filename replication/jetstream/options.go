package jetstream

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Defaults for zero Options fields.
const (
	DefaultClusterName   = "octobase"
	DefaultClientHost    = "127.0.0.1"
	DefaultScanInterval  = time.Second
	DefaultFlushInterval = 200 * time.Millisecond
	DefaultDuplicates    = 2 * time.Minute
	// DefaultSnapshotInterval is how often a node writes the snapshots new
	// nodes bootstrap from (snapshot.go).
	DefaultSnapshotInterval = time.Minute
	// DefaultMaxPayload is the largest message the embedded server
	// accepts (nats-server's own default is 1 MiB); an update larger than
	// the connection's limit cannot be published (see docs/replication.md).
	DefaultMaxPayload = 8 << 20
	// DefaultWindow is how many publishes a workspace's publisher keeps in
	// flight before it waits for acknowledgements.
	DefaultWindow = 256
	// maxNodeName bounds NodeName so that the origin "jetstream:<name>"
	// fits an op-log record (oplog.MaxOriginLen).
	maxNodeName = 128
)

// Options configures a Node. The zero value runs a single embedded node
// with its files under the store's directory; each field says what its
// zero value means.
type Options struct {
	// NodeName names the node: the embedded server's name (unique within
	// a cluster) and, in the origin "jetstream:<NodeName>", the source of
	// the records other nodes apply. Empty means the host name, except in
	// a cluster, which requires it. At most 128 bytes of [A-Za-z0-9_.-].
	NodeName string

	// URL, when set, connects to an external NATS server or cluster
	// (comma-separated URLs, as nats.Connect takes them) instead of
	// embedding one; the embedded server fields below are then ignored.
	URL string

	// ClusterAddr is the host:port the embedded server listens on for
	// routes from its peers. Empty means a single node: no cluster.
	ClusterAddr string
	// ClusterName is the JetStream cluster's name; every node must use
	// the same one. Empty means DefaultClusterName.
	ClusterName string
	// Peers are the route URLs of the other nodes (nats://host:port);
	// listing every node, this one included, is fine (a route to itself
	// is ignored). Only with ClusterAddr.
	Peers []string

	// ClientPort is the embedded server's NATS client port, for tools
	// such as the nats CLI. Zero means none for a single node (this
	// process connects in-process); a cluster needs a client listener to
	// route (a nats-server requirement), so zero there means a random
	// port on ClientHost. Negative means a random port.
	ClientPort int
	// ClientHost is the interface of the client port. Empty means
	// DefaultClientHost (loopback).
	ClientHost string

	// Replicas is the stream's replica count, used when this node creates
	// the stream. Zero means min(3, cluster size) for an embedded server
	// (1 for a single node, the number of distinct nodes in ClusterAddr and
	// Peers otherwise) and 1 with URL.
	Replicas int
	// NoSyncAlways turns off fsync-per-append on the embedded server of a
	// cluster (by default a clustered embedded server runs with
	// sync_interval always, DESIGN.md). A single node never syncs each
	// append: its op-log is the durable copy.
	NoSyncAlways bool
	// MaxMemory and MaxStore limit the embedded server's JetStream memory
	// and file storage, in bytes. Zero means the nats-server defaults (75%
	// of RAM, all free disk); tests set both.
	MaxMemory, MaxStore int64
	// MaxPayload is the embedded server's largest message. Zero means
	// DefaultMaxPayload.
	MaxPayload int32
	// Duplicates is the stream's de-duplication window, used when this
	// node creates the stream. Zero means DefaultDuplicates.
	Duplicates time.Duration

	// StoreDir is the embedded server's JetStream directory. Empty means
	// <store dir>/NATS (upper case: the engine lists lower-case names as
	// workspaces).
	StoreDir string
	// StateDir holds the node's positions (state.json). Empty means
	// <store dir>/REPLICATION.
	StateDir string

	// ScanInterval is how often the node lists the store's workspaces to
	// start publishing new ones. Zero means DefaultScanInterval.
	ScanInterval time.Duration
	// FlushInterval is how often changed positions are written to the
	// state file. Zero means DefaultFlushInterval.
	FlushInterval time.Duration
	// Window is how many publishes per workspace may await their
	// acknowledgement at once. Zero means DefaultWindow.
	Window int

	// SnapshotInterval is how often the node puts snapshots of its changed
	// workspaces into the SnapshotBucket object store, for new nodes to
	// bootstrap from. Zero means DefaultSnapshotInterval; negative, never.
	SnapshotInterval time.Duration
	// NoBootstrap makes a node without data replay the whole stream
	// rather than start from the snapshots in SnapshotBucket.
	NoBootstrap bool

	// Logger receives connection changes, retries and errors (and the
	// embedded server's notices at debug level). Nil discards them.
	Logger *slog.Logger
}

// config is Options validated, with defaults filled in.
type config struct {
	Options
	clusterHost string
	clusterPort int
	routes      []*url.URL
	clusterSize int
}

func (o *Options) config(storeDir string) (*config, error) {
	c := &config{}
	if o != nil {
		c.Options = *o
	}
	if c.NodeName == "" && c.ClusterAddr != "" {
		return nil, errors.New("jetstream: a cluster node needs a name (unique in the cluster)")
	}
	if c.NodeName == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "octobase"
		}
		c.NodeName = sanitizeName(h)
	}
	if len(c.NodeName) > maxNodeName || strings.IndexFunc(c.NodeName, func(r rune) bool {
		return !(r < 128 && (tokenByte(byte(r)) || r == '.'))
	}) >= 0 {
		return nil, fmt.Errorf("jetstream: invalid node name %q: want at most %d of [A-Za-z0-9_.-]", c.NodeName, maxNodeName)
	}
	if c.ClusterName == "" {
		c.ClusterName = DefaultClusterName
	}
	if c.ClientHost == "" {
		c.ClientHost = DefaultClientHost
	}
	if c.ScanInterval <= 0 {
		c.ScanInterval = DefaultScanInterval
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.Duplicates <= 0 {
		c.Duplicates = DefaultDuplicates
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = DefaultMaxPayload
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.SnapshotInterval == 0 {
		c.SnapshotInterval = DefaultSnapshotInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.StoreDir == "" {
		c.StoreDir = filepath.Join(storeDir, "NATS")
	}
	if c.StateDir == "" {
		c.StateDir = filepath.Join(storeDir, "REPLICATION")
	}
	if c.Replicas < 0 || c.Replicas > 5 {
		return nil, fmt.Errorf("jetstream: replicas %d out of range [1, 5]", c.Replicas)
	}
	if c.URL != "" {
		if c.ClusterAddr != "" || len(c.Peers) > 0 {
			return nil, errors.New("jetstream: an external NATS URL excludes an embedded cluster (ClusterAddr, Peers)")
		}
		if c.Replicas == 0 {
			c.Replicas = 1
		}
		return c, nil
	}
	c.clusterSize = 1
	if c.ClusterAddr == "" {
		if len(c.Peers) > 0 {
			return nil, errors.New("jetstream: peers need a cluster listen address")
		}
	} else {
		host, port, err := net.SplitHostPort(c.ClusterAddr)
		if err != nil {
			return nil, fmt.Errorf("jetstream: cluster address %q: %w", c.ClusterAddr, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("jetstream: cluster address %q: port must be 1-65535", c.ClusterAddr)
		}
		c.clusterHost, c.clusterPort = host, p
		seen := map[string]bool{}
		for _, peer := range c.Peers {
			peer = strings.TrimSpace(peer)
			if peer == "" {
				continue
			}
			u, err := url.Parse(peer)
			if err != nil || u.Host == "" || (u.Scheme != "nats" && u.Scheme != "nats-route" && u.Scheme != "tls") {
				return nil, fmt.Errorf("jetstream: peer %q: want nats://host:port", peer)
			}
			if _, _, err := net.SplitHostPort(u.Host); err != nil {
				return nil, fmt.Errorf("jetstream: peer %q: %v", peer, err)
			}
			c.routes = append(c.routes, u)
			if !sameAddr(u.Host, c.ClusterAddr) && !seen[u.Host] {
				seen[u.Host] = true
				c.clusterSize++
			}
		}
		if c.clusterSize == 1 {
			return nil, errors.New("jetstream: a cluster needs at least one peer")
		}
	}
	if c.Replicas == 0 {
		c.Replicas = min(3, c.clusterSize)
	}
	return c, nil
}

// sameAddr reports whether two host:port strings name the same listener
// (an unspecified host counts as loopback).
func sameAddr(a, b string) bool {
	norm := func(s string) string {
		h, p, err := net.SplitHostPort(s)
		if err != nil {
			return s
		}
		if h == "" || h == "0.0.0.0" || h == "::" || h == "localhost" {
			h = "127.0.0.1"
		}
		return net.JoinHostPort(h, p)
	}
	return norm(a) == norm(b)
}

func sanitizeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !tokenByte(c) && c != '.' {
			b[i] = '-'
		}
	}
	if len(b) > maxNodeName {
		b = b[:maxNodeName]
	}
	return string(b)
}
