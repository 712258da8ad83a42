package serverbench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"octobase/engine"
	"octobase/oplog"
	"octobase/server"
)

// childEnv carries the child's configuration (JSON childConfig); its
// presence is what makes ServeChild serve.
const childEnv = "OCTOBASE_SERVERBENCH_CHILD"

// childConfig is what the parent tells the child.
type childConfig struct {
	Dir        string `json:"dir"`
	Durability uint8  `json:"durability"`
	GroupSync  bool   `json:"group_sync"`
	Journal    bool   `json:"journal"`
	MinFiles   uint64 `json:"min_files"` // RLIMIT_NOFILE the child needs
}

// serverStats is one sample of the child's own accounting.
type serverStats struct {
	CPU        time.Duration `json:"cpu_ns"`     // user+system, getrusage(RUSAGE_SELF)
	Switches   int64         `json:"switches"`   // context switches, voluntary and not (getrusage)
	RSS        int64         `json:"rss"`        // VmRSS, bytes (0: unknown)
	GoMem      int64         `json:"go_mem"`     // heap in use + goroutine stacks, after a GC
	Goroutines int           `json:"goroutines"` // runtime.NumGoroutine
	// Fsyncs is how many fsync-like system calls the store made: its
	// op-logs' fsyncs, or with shared fsyncs the rounds (one syncfs each).
	Fsyncs int64 `json:"fsyncs"`
	// Messages is how many WebSocket messages the server sent (its
	// octobase_websocket_sent_messages_total; 0 for the reference).
	Messages int64 `json:"messages"`
}

// ServeChild serves the benchmark's server when this process was started by
// Run as its child, and reports whether it was. It returns (false, nil) at
// once in any other process. Run starts os.Executable() with
// Options.ChildArgs and an environment variable; whatever main that runs
// must call ServeChild first (octobase bench server does, and so does the
// package's TestMain).
//
// The child opens a store in the directory Run chose, serves it on a
// loopback port with server.New (no auth, no connection limits, everything
// else at its defaults), prints "listening <addr>" on out and then answers
// one command per line read from in: "stats" prints a JSON serverStats
// line, "profile <path>" starts a CPU profile into path, "profile-stop"
// ends it, "heap <path>" writes a heap profile. End of input shuts the server down.
func ServeChild(ctx context.Context, in io.Reader, out io.Writer) (bool, error) {
	raw, ok := os.LookupEnv(childEnv)
	if !ok {
		return false, nil
	}
	os.Unsetenv(childEnv) // not for anything this process starts
	var cfg childConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return true, fmt.Errorf("serverbench child: bad %s: %w", childEnv, err)
	}
	return true, serveChild(ctx, cfg, in, out)
}

func serveChild(ctx context.Context, cfg childConfig, in io.Reader, out io.Writer) error {
	if _, err := raiseFileLimit(cfg.MinFiles); err != nil {
		return fmt.Errorf("serverbench child: %w", err)
	}
	store, err := engine.Open(cfg.Dir, &engine.Options{Durability: oplog.Durability(cfg.Durability), GroupSync: cfg.GroupSync, Journal: cfg.Journal})
	if err != nil {
		return err
	}
	defer store.Close()
	srv := server.New(store, server.Options{MaxConnections: -1, MaxConnectionsPerWorkspace: -1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	// Commands run in this goroutine; a closed input (the parent is done or
	// gone) or ctx ends the child.
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	bw := bufio.NewWriter(out)
	fmt.Fprintf(bw, "listening %s\n", ln.Addr())
	bw.Flush()
	var prof *os.File
	var serveErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case serveErr = <-errc:
			break loop
		case line, ok := <-lines:
			if !ok {
				break loop
			}
			cmd, arg, _ := strings.Cut(line, " ")
			switch cmd {
			case "stats":
				b, _ := json.Marshal(sampleSelf(store, srv, cfg))
				bw.Write(append(b, '\n'))
			case "profile":
				if prof == nil {
					if prof, err = os.Create(arg); err == nil {
						err = pprof.StartCPUProfile(prof)
					}
				}
				fmt.Fprintf(bw, "ok %v\n", err)
			case "heap":
				var f *os.File
				if f, err = os.Create(arg); err == nil {
					runtime.GC()
					err = pprof.Lookup("heap").WriteTo(f, 0)
					if cerr := f.Close(); err == nil {
						err = cerr
					}
				}
				fmt.Fprintf(bw, "ok %v\n", err)
			case "profile-stop":
				if prof != nil {
					pprof.StopCPUProfile()
					err = prof.Close()
					prof = nil
				}
				fmt.Fprintf(bw, "ok %v\n", err)
			default:
				fmt.Fprintf(bw, "error unknown command %q\n", cmd)
			}
			bw.Flush()
		}
	}
	if prof != nil {
		pprof.StopCPUProfile()
		prof.Close()
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	srv.Close()
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return store.Close()
}

// sampleSelf measures this process: its CPU time before a GC, its memory
// after it. Its fsyncs: with the journal, the journal's rounds and the
// segments' own fsyncs (open, sealing, close); with group fsync, the
// rounds (its logs' LogSyncs are waits for them); else the logs' fsyncs.
func sampleSelf(store *engine.Store, srv *server.Server, cfg childConfig) serverStats {
	cpu, switches := selfUsage() // before the GC, which is the sample's own
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := serverStats{
		CPU:        cpu,
		Switches:   switches,
		RSS:        selfRSS(),
		GoMem:      int64(ms.HeapInuse + ms.StackInuse),
		Goroutines: runtime.NumGoroutine(),
	}
	switch ss := store.Stats(); {
	case cfg.Journal:
		st.Fsyncs = ss.SyncRounds + ss.LogSyncs
	case cfg.GroupSync:
		st.Fsyncs = ss.SyncRounds
	default:
		st.Fsyncs = ss.LogSyncs
	}
	st.Messages = sentMessages(srv)
	return st
}

// sentMessages reads octobase_websocket_sent_messages_total from the
// server's /metrics (0 if it is missing).
func sentMessages(srv *server.Server) int64 {
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "octobase_websocket_sent_messages_total "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
			return n
		}
	}
	return 0
}

// selfRSS reads VmRSS from /proc/self/status (Linux); 0 elsewhere.
func selfRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest) // "123456 kB"
			if len(f) >= 1 {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}

// child is the parent's handle on a running child server.
type child struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string // the child's output, closed at its end
	addr  string
	mu    sync.Mutex // one command at a time
}

// startChild starts os.Executable() args... as the benchmark's server.
func startChild(ctx context.Context, args []string, cfg childConfig, stderr io.Writer) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	cmd.Stderr = stderr
	c, err := startProcess(ctx, cmd, "the server process")
	if err != nil {
		return nil, fmt.Errorf("%w (does its main call serverbench.ServeChild?)", err)
	}
	return c, nil
}

// startProcess starts cmd, a server speaking the child protocol (stdin
// commands, stdout answers; ServeChild's doc), and waits for its
// "listening <addr>" line. what names it in errors.
func startProcess(ctx context.Context, cmd *exec.Cmd, what string) (*child, error) {
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("serverbench: starting %s: %w", what, err)
	}
	c := &child{cmd: cmd, in: in, lines: make(chan string, 1)}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(outp)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	line, err := c.readLine(ctx, 30*time.Second)
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("serverbench: %s did not start: %w", what, err)
	}
	addr, ok := strings.CutPrefix(line, "listening ")
	if !ok {
		c.stop()
		return nil, fmt.Errorf("serverbench: %s said %q, not \"listening <addr>\"", what, line)
	}
	c.addr = addr
	return c, nil
}

// readLine reads the child's next output line within d.
func (c *child) readLine(ctx context.Context, d time.Duration) (string, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case line, ok := <-c.lines:
		if !ok {
			return "", errors.New("the process ended")
		}
		return line, nil
	case <-t.C:
		return "", fmt.Errorf("no answer within %v", d)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// command sends one command line and returns the answer line.
func (c *child) command(ctx context.Context, line string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.in, line+"\n"); err != nil {
		return "", fmt.Errorf("serverbench: server process: %w", err)
	}
	ans, err := c.readLine(ctx, time.Minute)
	if err != nil {
		return "", fmt.Errorf("serverbench: server process, %q: %w", line, err)
	}
	return ans, nil
}

func (c *child) stats(ctx context.Context) (serverStats, error) {
	var st serverStats
	ans, err := c.command(ctx, "stats")
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal([]byte(ans), &st); err != nil {
		return st, fmt.Errorf("serverbench: server process stats %q: %w", ans, err)
	}
	return st, nil
}

// profile sends "profile path", or "profile-stop" if path is "", or
// another command with an ok/error answer.
func (c *child) profile(ctx context.Context, path string) error {
	line := "profile-stop"
	if path != "" {
		line = "profile " + path
	}
	return c.okCommand(ctx, line)
}

func (c *child) okCommand(ctx context.Context, line string) error {
	ans, err := c.command(ctx, line)
	if err != nil {
		return err
	}
	if ans != "ok <nil>" {
		return fmt.Errorf("serverbench: server process, %q: %s", line, ans)
	}
	return nil
}

// stop closes the child's input (it shuts down) and waits for it, killing
// it after a grace period.
func (c *child) stop() error {
	c.in.Close()
	go func() {
		for range c.lines { // unblock the reader; it ends with the process
		}
	}()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-done
		return errors.New("serverbench: server process did not exit within 30 s; killed")
	}
}
