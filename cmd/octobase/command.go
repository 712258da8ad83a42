package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// Exit codes of the octobase binary.
const (
	exitOK       = 0
	exitError    = 1  // the command failed: one line on stderr says why
	exitUsage    = 2  // unknown command or flag, bad arguments: usage on stderr
	exitInternal = 70 // a bug (a recovered panic); EX_SOFTWARE in sysexits.h
)

// rootCommand returns the command tree. This is the registry: to add a
// command (serve, oplog, query, bench, sync, token, ...), write <name>.go
// holding a func <name>Command() *Command and its Runner types, plus
// <name>_test.go, and list it here. Help output follows this order.
func rootCommand() *Command {
	return &Command{
		Name:  "octobase",
		Short: "a yjs-compatible, event-sourced collaborative database",
		Long: `OctoBase stores workspaces as yjs documents and every change as a yjs update.
This tool works with those updates and, as it grows, runs and inspects nodes.`,
		Subcommands: []*Command{
			updateCommand(),
			serveCommand(),
			clusterCommand(),
			tokenCommand(),
			oplogCommand(),
			queryCommand(),
			tailCommand(),
			indexCommand(),
			benchCommand(),
			syncCommand(),
			versionCommand(),
			helpCommand(),
		},
	}
}

// Env is everything a command may touch besides its arguments. Commands
// never use os.Stdin/os.Stdout/os.Stderr directly, so tests run them
// in-process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	root *Command   // the whole tree, for help
	path []*Command // root ... the running command
}

// Warnf prints a warning line on stderr, prefixed like errors are
// ("octobase: update state: warning: ...").
func (e *Env) Warnf(format string, args ...any) {
	fmt.Fprintf(e.Stderr, "%s: warning: %s\n", msgPrefix(e.path), fmt.Sprintf(format, args...))
}

// Runner is one invocation of a leaf command. The dispatcher makes a fresh
// Runner per run (Command.New), lets Flags bind its flags to the Runner's
// fields, parses the arguments, and calls Run with the positional arguments
// that remain. Run returns nil, a usage error (see usagef: exit 2, usage on
// stderr) or any other error (exit 1, one line on stderr).
type Runner interface {
	Flags(fs *flag.FlagSet)
	Run(ctx context.Context, env *Env, args []string) error
}

// Command is a node of the command tree: a leaf (New is set) or a group of
// subcommands.
type Command struct {
	Name    string // what the user types
	Args    string // positional arguments in the synopsis, e.g. "FILE..."
	Short   string // one line for command lists (lower case, no period)
	Long    string // paragraphs for `help`
	Example string // one or more example lines, without the "$ "

	New         func() Runner // leaf commands
	Subcommands []*Command    // groups
}

func (c *Command) sub(name string) *Command {
	for _, s := range c.Subcommands {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// usageError is a mistake in how the command was called: the dispatcher
// prints it with the command's usage and exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a usage error.
func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// msgPrefix is how errors and warnings start: "octobase: update state".
func msgPrefix(path []*Command) string {
	if len(path) == 1 {
		return path[0].Name
	}
	return path[0].Name + ": " + commandPath(path[1:])
}

func commandPath(path []*Command) string {
	names := make([]string, len(path))
	for i, c := range path {
		names[i] = c.Name
	}
	return strings.Join(names, " ")
}

// run is the whole program behind main: it runs the command args names
// and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr}
	return runCommand(ctx, rootCommand(), args, env)
}

// runCommand dispatches args through the tree under root. A panic is a
// bug; it is recovered as a last resort and reported as an internal error.
func runCommand(ctx context.Context, root *Command, args []string, env *Env) (code int) {
	env.root = root
	env.path = []*Command{root}
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(env.Stderr, "%s: internal error (please report this bug): %v\n", msgPrefix(env.path), r)
			fmt.Fprintf(env.Stderr, "%s", debug.Stack())
			code = exitInternal
		}
	}()

	cmd := root
	for cmd.New == nil {
		if len(args) == 0 {
			return usageFail(env, cmd, "missing command")
		}
		a := args[0]
		if isHelpFlag(a) {
			writeHelp(env.Stdout, env.path)
			return exitOK
		}
		if strings.HasPrefix(a, "-") {
			return usageFail(env, cmd, fmt.Sprintf("flag provided but not defined: %s", a))
		}
		sub := cmd.sub(a)
		if sub == nil {
			return usageFail(env, cmd, fmt.Sprintf("unknown command %q", a))
		}
		cmd = sub
		env.path = append(env.path, sub)
		args = args[1:]
	}

	r := cmd.New()
	fs := flag.NewFlagSet(commandPath(env.path), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	r.Flags(fs)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		writeHelp(env.Stdout, env.path)
		return exitOK
	}
	if err != nil {
		return usageFail(env, cmd, gnuFlags(err.Error()))
	}
	err = r.Run(ctx, env, pos)
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return usageFail(env, cmd, ue.msg)
	default:
		fmt.Fprintf(env.Stderr, "%s: %s\n", msgPrefix(env.path), oneLine(err.Error()))
		return exitError
	}
}

func isHelpFlag(a string) bool { return a == "-h" || a == "--help" || a == "-help" }

// usageFail prints msg and cmd's usage on stderr and returns exitUsage.
func usageFail(env *Env, cmd *Command, msg string) int {
	fmt.Fprintf(env.Stderr, "%s: %s\n\n", msgPrefix(env.path), oneLine(msg))
	writeUsage(env.Stderr, env.path)
	fmt.Fprintf(env.Stderr, "\nRun '%s help", env.path[0].Name)
	for _, c := range env.path[1:] {
		fmt.Fprintf(env.Stderr, " %s", c.Name)
	}
	fmt.Fprintf(env.Stderr, "' for details.\n")
	return exitUsage
}

// oneLine keeps an error on one line whatever its text holds.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// gnuFlags rewrites the flag package's messages to name flags the way help
// shows them: "-root" becomes "--root".
func gnuFlags(msg string) string {
	for _, p := range []string{"flag provided but not defined: -", "flag needs an argument: -", " for flag -", " for -"} {
		if i := strings.Index(msg, p); i >= 0 && !strings.HasPrefix(msg[i+len(p):], "-") {
			return msg[:i+len(p)] + "-" + msg[i+len(p):]
		}
	}
	return msg
}

// parseInterspersed parses flags wherever they appear among the positional
// arguments (`update state a.bin --v2` works). "--" ends the flags; "-" is
// a positional argument (stdin).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// writeUsage writes the synopsis and the flags of the command at the end of
// path.
func writeUsage(w io.Writer, path []*Command) {
	cmd := path[len(path)-1]
	name := commandPath(path)
	if cmd.New == nil {
		fmt.Fprintf(w, "Usage: %s <command> [flags] [arguments]\n", name)
		fmt.Fprintf(w, "\nCommands:\n")
		width := 0
		for _, s := range cmd.Subcommands {
			width = max(width, len(s.Name))
		}
		for _, s := range cmd.Subcommands {
			fmt.Fprintf(w, "  %-*s  %s\n", width, s.Name, s.Short)
		}
		return
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cmd.New().Flags(fs)
	synopsis := name
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		synopsis += " [flags]"
	}
	if cmd.Args != "" {
		synopsis += " " + cmd.Args
	}
	fmt.Fprintf(w, "Usage: %s\n", synopsis)
	if hasFlags {
		fmt.Fprintf(w, "\nFlags:\n")
		writeFlags(w, fs)
	}
}

// writeFlags lists fs's flags GNU style (--name VALUE), aligned, sorted by
// name.
func writeFlags(w io.Writer, fs *flag.FlagSet) {
	type row struct{ left, usage string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *flag.Flag) {
		typ, usage := flag.UnquoteUsage(f)
		left := "--" + f.Name
		if typ != "" {
			left += " " + typ
		}
		if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "[]" {
			usage += fmt.Sprintf(" (default %s)", d)
		}
		width = max(width, len(left))
		rows = append(rows, row{left, usage})
	})
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %s\n", width, r.left, r.usage)
	}
}

// writeHelp writes the full help of the command at the end of path: what it
// does, its usage, flags and examples.
func writeHelp(w io.Writer, path []*Command) {
	cmd := path[len(path)-1]
	if len(path) == 1 {
		fmt.Fprintf(w, "%s: %s\n\n", cmd.Name, cmd.Short)
	} else {
		fmt.Fprintf(w, "%s: %s\n\n", commandPath(path), cmd.Short)
	}
	if cmd.Long != "" {
		fmt.Fprintf(w, "%s\n\n", strings.TrimSpace(cmd.Long))
	}
	writeUsage(w, path)
	if cmd.Example != "" {
		fmt.Fprintf(w, "\nExamples:\n")
		for _, line := range strings.Split(strings.TrimSpace(cmd.Example), "\n") {
			fmt.Fprintf(w, "  %s\n", strings.TrimSpace(line))
		}
	}
	if cmd.New == nil {
		fmt.Fprintf(w, "\nRun '%s help %s<command>' for details on a command.\n",
			path[0].Name, strings.TrimPrefix(commandPath(path)+" ", path[0].Name+" "))
	}
}
