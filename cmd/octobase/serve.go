package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"octobase/engine"
	"octobase/server"
)

// Environment variables serve reads when the matching flag is not given.
const (
	envData = "OCTOBASE_DATA"
	envAddr = "OCTOBASE_ADDR"
)

// shutdownTimeout bounds how long serve waits for HTTP requests in flight
// when it is asked to stop.
const shutdownTimeout = 10 * time.Second

func serveCommand() *Command {
	return &Command{
		Name:  "serve",
		Short: "run an OctoBase node: y-websocket sync and the HTTP API",
		Long: `Serve opens the store in --data and serves it over HTTP: y-websocket
compatible sync at /sync/<workspace>, the update and block APIs under
/api/workspaces/<workspace>/, OQL at /api/query, change streams (SSE) at
/api/workspaces/<workspace>/changes, /metrics and /healthz
(docs/http-api.md). Every update is applied and persisted before it is
broadcast.

The flags --data and --addr default to the environment variables
OCTOBASE_DATA and OCTOBASE_ADDR when those are set. Authentication is
required on any address other than loopback (tokens: octobase token
create) unless --insecure-no-auth is given; on loopback it is off unless
--auth is given. Tokens are signed with --auth-secret (env
OCTOBASE_AUTH_SECRET) or else the key file AUTH_KEY in --data, created
on first use.

Every node replicates its workspaces through NATS JetStream
(docs/replication.md): by default an embedded single-node server stores
the stream under --data/NATS; --cluster, --node-name and --peers join the
embedded servers of several nodes into a cluster; --nats-url uses an
external NATS instead; --no-replication turns it off.

SIGINT or SIGTERM stop it gracefully: requests in flight finish,
WebSocket clients are closed with status 1001, replication stops, and the
store is closed (flushing its logs).`,
		Example: `octobase serve --data ./octobase-data --addr 127.0.0.1:3000
octobase serve --node-name n1 --cluster 127.0.0.1:6222 --peers nats://127.0.0.1:6223,nats://127.0.0.1:6224`,
		New: func() Runner { return &serveRunner{getenv: os.Getenv} },
	}
}

type serveRunner struct {
	data, addr     string
	maxMessageSize int64
	insecureNoAuth bool
	logLevel       string
	auth           bool
	authSecret     string
	maxDocSize     int64
	maxConns       int
	maxWSConns     int
	groupFsync     fsyncMode
	journal        bool

	repl replicationFlags // serve_replication.go

	fs     *flag.FlagSet
	getenv func(string) string
	// ready, if set, is called with the listening address (tests).
	ready func(addr string)
}

func (r *serveRunner) Flags(fs *flag.FlagSet) {
	r.fs = fs
	fs.StringVar(&r.data, "data", "./octobase-data", "store directory (env "+envData+")")
	fs.StringVar(&r.addr, "addr", "127.0.0.1:3000", "listen address host:port (env "+envAddr+")")
	fs.Int64Var(&r.maxMessageSize, "max-message-size", server.DefaultMaxMessageSize, "largest WebSocket message or HTTP update body, in bytes")
	fs.BoolVar(&r.insecureNoAuth, "insecure-no-auth", false, "allow listening on a non-loopback address without authentication")
	fs.StringVar(&r.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.BoolVar(&r.auth, "auth", false, "require tokens on a loopback address too (always required elsewhere)")
	fs.StringVar(&r.authSecret, "auth-secret", "", "token signing secret, at least 16 bytes (env "+envAuthSecret+"; default: the key file AUTH_KEY in --data)")
	fs.Int64Var(&r.maxDocSize, "max-document-size", server.DefaultMaxDocumentSize, "refuse updates that would grow a workspace beyond this many bytes (estimate; -1: no limit)")
	fs.IntVar(&r.maxConns, "max-connections", server.DefaultMaxConnections, "WebSocket connections and SSE streams per node (-1: no limit)")
	fs.IntVar(&r.maxWSConns, "max-workspace-connections", server.DefaultMaxConnectionsPerWorkspace, "WebSocket connections and SSE streams per workspace (-1: no limit)")
	fs.BoolVar(&r.journal, "journal", true, "commit through the store's journal: the updates of every workspace waiting to be made durable at the same moment share one write and one fsync of one file (--data/JOURNAL); the workspaces' op-logs are fsynced together later. --journal=false fsyncs each workspace's op-log per commit")
	fs.Var(&r.groupFsync, "group-fsync", "with --journal=false, share fsyncs across workspaces: one syncfs(2) for the op-logs that sync at the same time (Linux 5.8+): on, off, or auto, which is on when --data is a mount point, a filesystem of its own (syncfs also flushes what other programs wrote to the filesystem)")
	r.repl.register(fs)
}

func (r *serveRunner) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	set := map[string]bool{}
	r.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if v := r.getenv(envData); v != "" && !set["data"] {
		r.data = v
	}
	if v := r.getenv(envAddr); v != "" && !set["addr"] {
		r.addr = v
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(r.logLevel)); err != nil {
		return usagef("invalid --log-level %q", r.logLevel)
	}
	if r.maxMessageSize <= 0 {
		return usagef("--max-message-size must be positive")
	}
	loopback, err := isLoopback(r.addr)
	if err != nil {
		return usagef("invalid --addr %q: %v", r.addr, err)
	}
	if r.insecureNoAuth && r.auth {
		return usagef("--auth and --insecure-no-auth exclude each other")
	}
	useAuth := r.auth || !loopback && !r.insecureNoAuth
	if r.maxDocSize == 0 || r.maxConns == 0 || r.maxWSConns == 0 {
		return usagef("limits must be positive, or -1 for none")
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))

	var groupSync bool
	if r.journal {
		log.Info("commits", "durable_by", "the store's journal (--journal)")
	} else {
		var why string
		groupSync, why = r.groupFsync.decide(r.data)
		durableBy := "an fsync of each op-log (--journal=false)"
		if groupSync {
			durableBy = "shared syncfs rounds (--journal=false, --group-fsync)"
		}
		log.Info("commits", "durable_by", durableBy, "group_fsync", groupSync, "why", why)
	}
	store, err := engine.Open(r.data, &engine.Options{Logger: log.With("component", "engine"), Journal: r.journal, GroupSync: groupSync})
	if err != nil {
		return err
	}
	var auth *server.Auth
	if useAuth {
		secret, err := authSecret(r.authSecret, r.getenv, r.data)
		if err == nil {
			auth, err = server.NewAuth(secret, nil)
		}
		if err != nil {
			store.Close()
			return err
		}
	}
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		store.Close()
		return err
	}
	stopReplication, replGauges, err := startReplication(store, &r.repl, log.With("component", "replication"))
	if err != nil {
		ln.Close()
		store.Close()
		return err
	}
	srv := server.New(store, server.Options{
		Logger:         log.With("component", "server"),
		MaxMessageSize: r.maxMessageSize,
		Auth:           auth,
		RevokedFile:    filepath.Join(r.data, server.RevokedFile),

		MaxDocumentSize:            r.maxDocSize,
		MaxConnections:             r.maxConns,
		MaxConnectionsPerWorkspace: r.maxWSConns,
		Gauges:                     replGauges,
	})
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	hs.RegisterOnShutdown(srv.StopStreams) // SSE streams never end by themselves
	if !loopback && auth == nil {
		log.Warn("serving without authentication on a non-loopback address", "addr", ln.Addr().String())
	}
	log.Info("listening", "addr", ln.Addr().String(), "data", r.data, "auth", auth != nil)
	if r.ready != nil {
		r.ready(ln.Addr().String())
	}

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-errc:
	}

	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	srv.Close()
	stopReplication()
	if err := store.Close(); err != nil {
		return fmt.Errorf("closing store: %w", err)
	}
	log.Info("stopped")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// isLoopback reports whether addr (host:port) listens on loopback only.
// An empty host means every interface.
func isLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	if host == "localhost" {
		return true, nil
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback(), nil
}
