package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"octobase/engine"
	"octobase/replication/peer"
)

func syncCommand() *Command {
	return &Command{
		Name:  "sync",
		Short: "sync workspaces directly with another store (TCP, stdio), no server needed",
		Long: `Sync brings the workspaces of the store in --data and of a peer's store up to
date with each other, over a direct stream (docs/p2p.md). Exactly one of:

  --listen ADDR   accept peers on a TCP address until interrupted; each
                  connection syncs, then follows if the peer asked to
  --connect ADDR  connect to a listening peer, sync, and exit once both
                  sides are in sync (with --follow: keep streaming live
                  updates, reconnecting when the connection breaks)
  --stdio         speak on stdin/stdout, for ssh or any pipe; both ends
                  may use --stdio (see the last example)

Only what a side lacks crosses (the peers exchange state vectors first),
and every update is persisted before it is acknowledged, so a broken
connection loses nothing: run sync again. Without --workspace every
workspace of both stores is synced (created where missing); with it, only
those named. Progress and a summary (workspaces, bytes each way) go to
stderr. --data defaults to OCTOBASE_DATA when set. There is no
authentication yet, so --listen refuses a non-loopback address unless
--insecure-no-auth is given; over ssh, use --stdio.`,
		Example: `octobase sync --data ./a --listen 127.0.0.1:7000
octobase sync --data ./b --connect 127.0.0.1:7000 -w notes -w todo
octobase sync --data ./b --connect 127.0.0.1:7000 --follow
mkfifo f; octobase sync --data ./b --stdio <f | ssh host octobase sync --data ./a --stdio >f`,
		New: func() Runner { return &syncRunner{getenv: os.Getenv} },
	}
}

// workspaceList is a repeatable flag.
type workspaceList []string

func (w *workspaceList) String() string { return strings.Join(*w, ",") }
func (w *workspaceList) Set(v string) error {
	if v == "" {
		return errors.New("empty workspace name")
	}
	*w = append(*w, v)
	return nil
}

type syncRunner struct {
	data, listen, connect string
	stdio, follow         bool
	workspaces            workspaceList
	name                  string
	insecureNoAuth        bool
	logLevel              string
	maxFrameSize          int

	fs     *flag.FlagSet
	getenv func(string) string
	// ready, if set, is called with the listening address (tests).
	ready func(addr string)
	// retryDelay is the first delay before reconnecting with --follow;
	// zero means one second.
	retryDelay time.Duration
}

func (r *syncRunner) Flags(fs *flag.FlagSet) {
	r.fs = fs
	fs.StringVar(&r.data, "data", "./octobase-data", "store directory (env "+envData+")")
	fs.StringVar(&r.listen, "listen", "", "accept peers on this TCP `ADDR` (host:port)")
	fs.StringVar(&r.connect, "connect", "", "connect to the peer listening on `ADDR` (host:port)")
	fs.BoolVar(&r.stdio, "stdio", false, "speak the protocol on stdin and stdout")
	fs.BoolVar(&r.follow, "follow", false, "after the initial sync keep streaming live updates (--connect, --stdio)")
	fs.Var(&r.workspaces, "workspace", "sync only this `WORKSPACE` (repeatable; default: every workspace of both stores)")
	fs.Var(&r.workspaces, "w", "shorthand for --workspace `WORKSPACE`")
	fs.StringVar(&r.name, "name", "", "this node's name, told to peers (default: the host name and a random suffix)")
	fs.BoolVar(&r.insecureNoAuth, "insecure-no-auth", false, "allow --listen on a non-loopback address without authentication")
	fs.IntVar(&r.maxFrameSize, "max-frame-size", peer.DefaultMaxFrameSize, "largest frame accepted from a peer, in bytes")
	fs.StringVar(&r.logLevel, "log-level", "warn", "log level: debug, info, warn or error")
}

func (r *syncRunner) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	set := map[string]bool{}
	r.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if v := r.getenv(envData); v != "" && !set["data"] {
		r.data = v
	}
	modes := 0
	for _, on := range []bool{r.listen != "", r.connect != "", r.stdio} {
		if on {
			modes++
		}
	}
	if modes != 1 {
		return usagef("give exactly one of --listen, --connect and --stdio")
	}
	if r.follow && r.listen != "" {
		return usagef("--follow applies to --connect and --stdio (a listener always follows peers that ask)")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(r.logLevel)); err != nil {
		return usagef("invalid --log-level %q", r.logLevel)
	}
	if r.maxFrameSize <= 0 {
		return usagef("--max-frame-size must be positive")
	}
	if r.listen != "" {
		loopback, err := isLoopback(r.listen)
		if err != nil {
			return usagef("invalid --listen %q: %v", r.listen, err)
		}
		if !loopback && !r.insecureNoAuth {
			return fmt.Errorf("refusing to listen on %s: it is not a loopback address, and authentication is not implemented yet; use --stdio over ssh, or pass --insecure-no-auth", r.listen)
		}
	}
	if r.name == "" {
		host, _ := os.Hostname()
		if host == "" {
			host = "octobase"
		}
		r.name = fmt.Sprintf("%s-%04x", host, time.Now().UnixNano()&0xffff)
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
	store, err := engine.Open(r.data, &engine.Options{Logger: log.With("component", "engine")})
	if err != nil {
		return err
	}
	opts := &peer.Options{
		Name:         r.name,
		Workspaces:   r.workspaces,
		Follow:       r.follow || r.listen != "",
		MaxFrameSize: r.maxFrameSize,
		Logger:       log.With("component", "peer"),
	}
	switch {
	case r.listen != "":
		err = r.runListen(ctx, env, store, opts)
	case r.connect != "":
		err = r.runConnect(ctx, env, store, opts)
	default:
		err = r.runStdio(ctx, env, store, opts)
	}
	if cerr := store.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("closing store: %w", cerr)
	}
	return err
}

// progress prints one line on stderr.
func progress(env *Env, format string, args ...any) {
	fmt.Fprintf(env.Stderr, "sync: "+format+"\n", args...)
}

func describe(st peer.Stats) string {
	return fmt.Sprintf("%d workspace(s) [%s], %d bytes sent, %d bytes received", len(st.Workspaces), strings.Join(st.Workspaces, " "), st.BytesOut, st.BytesIn)
}

func (r *syncRunner) onSynced(env *Env, where string) func(peer.Stats) {
	return func(st peer.Stats) {
		progress(env, "in sync with %s (%s): %s", st.Remote, where, describe(st))
	}
}

func (r *syncRunner) runListen(ctx context.Context, env *Env, store *engine.Store, opts *peer.Options) error {
	ln, err := peer.Listen(r.listen)
	if err != nil {
		return err
	}
	progress(env, "listening on %s as %s (data %s)", ln.Addr(), r.name, r.data)
	if r.ready != nil {
		r.ready(ln.Addr().String())
	}
	o := *opts
	o.OnSynced = func(st peer.Stats) { progress(env, "in sync with %s: %s", st.Remote, describe(st)) }
	err = peer.Serve(ctx, store, ln, &o, func(addr string, st peer.Stats, err error) {
		switch {
		case err == nil || errors.Is(err, context.Canceled):
			progress(env, "session with %s (%s) ended: %d bytes sent, %d bytes received in all", st.Remote, addr, st.BytesOut, st.BytesIn)
		default:
			progress(env, "session with %s (%s) failed: %v", st.Remote, addr, err)
		}
	})
	progress(env, "stopped")
	return err
}

func (r *syncRunner) runConnect(ctx context.Context, env *Env, store *engine.Store, opts *peer.Options) error {
	o := *opts
	o.OnSynced = r.onSynced(env, r.connect)
	if !r.follow {
		st, err := peer.Dial(ctx, store, r.connect, &o)
		if err != nil {
			return fmt.Errorf("sync with %s: %w", r.connect, err)
		}
		progress(env, "done: %s", describe(st))
		return nil
	}
	delay := r.retryDelay
	if delay <= 0 {
		delay = time.Second
	}
	wait := delay
	for {
		st, err := peer.Dial(ctx, store, r.connect, &o)
		if ctx.Err() != nil {
			progress(env, "stopped")
			return nil
		}
		if st.Synced {
			wait = delay // the connection worked: retry quickly
		}
		if err != nil {
			progress(env, "connection to %s lost: %v; retrying in %s", r.connect, err, wait)
		} else {
			progress(env, "%s closed the connection; retrying in %s", r.connect, wait)
		}
		select {
		case <-ctx.Done():
			progress(env, "stopped")
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func (r *syncRunner) runStdio(ctx context.Context, env *Env, store *engine.Store, opts *peer.Options) error {
	o := *opts
	o.OnSynced = r.onSynced(env, "stdio")
	st, err := peer.Sync(ctx, store, peer.NewStream(env.Stdin, env.Stdout), &o)
	if err != nil && !(r.follow && errors.Is(err, context.Canceled)) {
		return fmt.Errorf("sync over stdio: %w", err)
	}
	progress(env, "done: %s", describe(st))
	return nil
}
