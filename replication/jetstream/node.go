package jetstream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"octobase/engine"
)

// readyTimeout bounds how long Start waits for the embedded server to
// accept connections.
const readyTimeout = 30 * time.Second

// Node replicates every workspace of an engine.Store through JetStream:
// it publishes the store's local changes and applies the other nodes'.
// Start one per Store; Close it before closing the Store.
type Node struct {
	cfg    *config
	store  *engine.Store
	st     *state
	nodeID string // incarnation id (state file)
	log    *slog.Logger

	srv *server.Server // nil with an external URL
	nc  *nats.Conn
	js  jetstream.JetStream

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	pubMu struct {
		sync.Mutex
		pubs map[string]*publisher
	}
	wsMu struct {
		sync.Mutex
		ws map[string]*engine.Workspace // consumer's handles
	}

	streamMu struct {
		sync.Mutex
		id       string // creation time of the stream the consumer reads
		replicas int
	}

	runID          string // random per Start: consumer names never collide
	consumerSerial atomic.Uint64

	published     atomic.Uint64 // records acknowledged by JetStream
	publishedMsgs atomic.Uint64 // messages acknowledged (a batch holds several records)
	applied       atomic.Uint64 // remote records applied
	appliedMsgs   atomic.Uint64 // remote messages applied
	skipped       atomic.Uint64 // own records skipped, undecodable ones dropped

	snapSeq atomic.Uint64 // stream sequence of this node's last snapshot round
	// bootstrapSeq is the stream sequence the snapshots a bootstrap applied
	// cover (0: no bootstrap in this run).
	bootstrapSeq atomic.Uint64
	// mayBootstrap is set at Start when the node has no data at all (no
	// workspace, no position): the consumer then starts from snapshots.
	// Consumer goroutine only, like covered: the stream sequence each
	// bootstrapped workspace's snapshot covers.
	mayBootstrap bool
	covered      map[string]uint64

	closeOnce sync.Once
	closeErr  error
}

// Start starts replication for store: the embedded server (unless
// opts.URL names an external one), the connection, and in the background
// the stream's creation, the consumer and one publisher per workspace.
// It returns once the embedded server accepts connections; JetStream
// itself may not be available yet (a cluster waiting for its peers, an
// external server that is down), and the node keeps retrying meanwhile
// while the store keeps working locally.
func Start(store *engine.Store, opts *Options) (*Node, error) {
	cfg, err := opts.config(store.Dir())
	if err != nil {
		return nil, err
	}
	st, err := loadState(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, store: store, st: st, nodeID: st.node(), log: cfg.Logger, runID: randomHex(4)}
	n.pubMu.pubs = map[string]*publisher{}
	n.wsMu.ws = map[string]*engine.Workspace{}
	if sid, seq := st.consumed(); sid == "" && seq == 0 && !cfg.NoBootstrap {
		names, err := store.Workspaces()
		if err != nil {
			return nil, fmt.Errorf("jetstream: %w", err)
		}
		n.mayBootstrap = len(names) == 0
	}

	if cfg.URL == "" {
		if n.srv, err = startServer(cfg); err != nil {
			return nil, err
		}
	}
	if err := n.connect(); err != nil {
		n.shutdownServer()
		return nil, err
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.wg.Add(4)
	go n.consumeLoop()
	go n.scanLoop()
	go n.flushLoop()
	go n.reportLoop()
	if cfg.SnapshotInterval > 0 {
		n.wg.Add(1)
		go n.snapshotLoop()
	}
	n.log.Info("replication started", "node", cfg.NodeName, "id", n.nodeID,
		"mode", n.mode(), "replicas", cfg.Replicas, "client_url", n.ClientURL())
	return n, nil
}

func (n *Node) mode() string {
	switch {
	case n.cfg.URL != "":
		return "external"
	case n.cfg.ClusterAddr != "":
		return "cluster"
	}
	return "single"
}

func startServer(cfg *config) (*server.Server, error) {
	so := &server.Options{
		ServerName:             cfg.NodeName,
		JetStream:              true,
		StoreDir:               cfg.StoreDir,
		JetStreamMaxMemory:     cfg.MaxMemory,
		JetStreamMaxStore:      cfg.MaxStore,
		MaxPayload:             cfg.MaxPayload,
		NoSigs:                 true,
		NoLog:                  true,
		DisableJetStreamBanner: true,
		Host:                   cfg.ClientHost,
	}
	switch {
	case cfg.ClientPort > 0:
		so.Port = cfg.ClientPort
	case cfg.ClientPort < 0 || cfg.ClusterAddr != "":
		so.Port = -1 // random; a cluster does not form without a client listener
	default:
		so.DontListen = true
	}
	if cfg.ClusterAddr != "" {
		so.Cluster = server.ClusterOpts{Name: cfg.ClusterName, Host: cfg.clusterHost, Port: cfg.clusterPort}
		so.Routes = cfg.routes
		so.SyncAlways = !cfg.NoSyncAlways
	}
	s, err := server.NewServer(so)
	if err != nil {
		return nil, fmt.Errorf("jetstream: embedded server: %w", err)
	}
	s.SetLoggerV2(&serverLogger{log: cfg.Logger.With("component", "nats-server")}, false, false, false)
	s.Start()
	if !s.ReadyForConnections(readyTimeout) {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, fmt.Errorf("jetstream: embedded server not ready after %v", readyTimeout)
	}
	return s, nil
}

func (n *Node) connect() error {
	log := n.log
	opts := []nats.Option{
		nats.Name("octobase " + n.cfg.NodeName),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		// No buffering while disconnected: a publish fails at once and the
		// publisher retries from its position (the op-log is the buffer).
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("nats disconnected", "err", err)
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info("nats reconnected", "url", c.ConnectedUrlRedacted())
		}),
	}
	url := n.cfg.URL
	if n.srv != nil {
		url = ""
		opts = append(opts, nats.InProcessServer(n.srv))
	} else {
		opts = append(opts, nats.RetryOnFailedConnect(true))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("jetstream: connect: %w", err)
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncTimeout(5*time.Second),
		jetstream.WithPublishAsyncMaxPending(4*n.cfg.Window))
	if err != nil {
		nc.Close()
		return fmt.Errorf("jetstream: %w", err)
	}
	n.nc, n.js = nc, js
	return nil
}

// ClientURL returns the embedded server's client URL, for tools and other
// nodes, or "" when it has no client listener or the node uses an
// external server.
func (n *Node) ClientURL() string {
	if n.srv == nil || n.cfg.ClientPort == 0 && n.cfg.ClusterAddr == "" {
		return ""
	}
	return n.srv.ClientURL()
}

// NodeID returns the node's incarnation id (see docs/replication.md).
func (n *Node) NodeID() string { return n.nodeID }

// Close stops replication: publishers and the consumer stop, positions
// are written, the connection and the embedded server shut down. Nothing
// is lost: what was not published or applied yet is on the next Start.
// Safe to call more than once.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.cancel()
		n.wg.Wait()
		n.closeErr = n.st.flush(false)
		n.nc.Close()
		n.shutdownServer()
		n.log.Info("replication stopped", "node", n.cfg.NodeName)
	})
	return n.closeErr
}

func (n *Node) shutdownServer() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
	}
}

// streamConfig is the stream this node creates when it finds none.
func (n *Node) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        DefaultStream,
		Description: "OctoBase workspace updates (yjs v1), one subject per workspace",
		Subjects:    []string{DefaultSubjectPrefix + ">"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Replicas:    n.cfg.Replicas,
		Duplicates:  n.cfg.Duplicates,
		AllowRollup: true,
	}
}

// ensureStream looks the stream up, creating it if it does not exist, and
// returns its identity (its creation time).
func (n *Node) ensureStream(ctx context.Context) (string, error) {
	// JetStream answers API requests in milliseconds once it has a meta
	// leader, and not at all before: keep the wait short and retry.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, err := n.js.Stream(ctx, DefaultStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		s, err = n.js.CreateStream(ctx, n.streamConfig())
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			s, err = n.js.Stream(ctx, DefaultStream)
		} else if err == nil {
			n.log.Info("created stream", "stream", DefaultStream, "replicas", n.cfg.Replicas)
		}
	}
	if err != nil {
		return "", err
	}
	info := s.CachedInfo()
	if info.Cluster != nil && info.Config.Replicas > 1 && info.Cluster.Leader == "" {
		return "", errors.New("jetstream: the stream has no leader yet")
	}
	if info.Config.Replicas != n.cfg.Replicas {
		n.log.Warn("stream has a different replica count than this node would create",
			"stream", DefaultStream, "replicas", info.Config.Replicas, "want", n.cfg.Replicas)
	}
	id := strconv.FormatInt(info.Created.UnixNano(), 10)
	n.streamMu.Lock()
	n.streamMu.id, n.streamMu.replicas = id, info.Config.Replicas
	n.streamMu.Unlock()
	return id, nil
}

// flushLoop writes changed positions every FlushInterval.
func (n *Node) flushLoop() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
			if err := n.st.flush(false); err != nil {
				n.log.Error("writing replication state", "err", err)
			}
		}
	}
}

// backoff is a capped exponential retry delay.
type backoff struct{ d time.Duration }

const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// wait sleeps for the next delay; false if ctx ended first.
func (b *backoff) wait(ctx context.Context) bool {
	b.d = min(max(2*b.d, minBackoff), maxBackoff)
	t := time.NewTimer(b.d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (b *backoff) reset() { b.d = 0 }

// serverLogger forwards the embedded nats-server's log to slog: notices
// at debug level (they are chatty), warnings and errors as such.
type serverLogger struct{ log *slog.Logger }

func (l *serverLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *serverLogger) Debugf(format string, v ...any)  {}
func (l *serverLogger) Tracef(format string, v ...any)  {}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
