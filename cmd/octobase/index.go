package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"octobase/engine"
)

func indexCommand() *Command {
	return &Command{
		Name:  "index",
		Short: "check the block indexes of a store",
		Long: `The engine keeps a roaring-bitmap index per space of every workspace (type, creator,
parent, backlinks, time buckets; docs/oql.md), maintained update by update and
persisted beside each op-log snapshot.`,
		Subcommands: []*Command{
			{
				Name:  "check",
				Short: "compare the maintained and persisted indexes with rebuilds from the log",
				Long: `Check opens the store in --data and, for each workspace (all, or those named with
-w), rebuilds the index of every space from the op-log (replaying every record, or the
newest snapshot and the records after it when the log was compacted) and compares it,
block by block, with the index the engine maintains, and with the index files persisted
beside the newest snapshot. It prints one line per workspace and exits 1 if any index
differs, naming the space and the first difference. It changes nothing but what opening
and closing a workspace change (a workspace recovered with a log tail is snapshotted when
closed), and it takes the store's lock: stop a node that serves the same directory first.`,
				Example: `octobase index check --data ./octobase-data
octobase index check -w notes -w wiki`,
				New: func() Runner { return &indexCheckRunner{} },
			},
		},
	}
}

type indexCheckRunner struct {
	data       string
	workspaces workspaceList
}

func (r *indexCheckRunner) Flags(fs *flag.FlagSet) {
	fs.StringVar(&r.data, "data", "./octobase-data", "check the store in `DIR`")
	fs.Var(&r.workspaces, "w", "a `WORKSPACE` to check (repeatable; default: every workspace)")
}

func (r *indexCheckRunner) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	store, err := engine.Open(r.data, &engine.Options{IdleTimeout: -1})
	if err != nil {
		return err
	}
	defer store.Close()
	names, err := store.Workspaces()
	if err != nil {
		return err
	}
	if len(r.workspaces) > 0 {
		for _, w := range r.workspaces {
			if !slices.Contains(names, w) {
				return fmt.Errorf("no workspace %q in %s", w, r.data)
			}
		}
		names = r.workspaces
	}
	if len(names) == 0 {
		fmt.Fprintf(env.Stdout, "no workspaces in %s\n", r.data)
		return nil
	}
	var failed []string
	for _, name := range names {
		ws, err := store.Workspace(ctx, name)
		if err != nil {
			return err
		}
		start := time.Now()
		res, err := ws.CheckIndex(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			fmt.Fprintf(env.Stdout, "%s: MISMATCH: %v\n", name, err)
			failed = append(failed, name)
			continue
		}
		fmt.Fprintf(env.Stdout, "%s: ok at LSN %d (%s): %s", name, res.LSN, rebuiltFrom(res), describeSpaces(res.Spaces))
		if res.Files > 0 {
			fmt.Fprintf(env.Stdout, "; %d persisted index files at LSN %d ok", res.Files, res.FileLSN)
		} else {
			fmt.Fprint(env.Stdout, "; no persisted index at the newest snapshot")
		}
		fmt.Fprintf(env.Stdout, " (%.1fs)\n", time.Since(start).Seconds())
		store.CloseIdle(0) // one workspace in memory at a time
	}
	if len(failed) > 0 {
		return errors.New("indexes differ from rebuilds in " + strings.Join(failed, ", "))
	}
	return nil
}

func rebuiltFrom(res engine.IndexCheck) string {
	if res.Base == 0 {
		return "rebuilt from every record"
	}
	return fmt.Sprintf("rebuilt from the snapshot at LSN %d", res.Base)
}

func describeSpaces(spaces []engine.IndexCheckSpace) string {
	if len(spaces) == 0 {
		return "no blocks"
	}
	var parts []string
	for _, s := range spaces {
		parts = append(parts, fmt.Sprintf("space %q %d live blocks, %d rows", s.Space, s.Live, s.Rows))
	}
	return strings.Join(parts, ", ")
}
