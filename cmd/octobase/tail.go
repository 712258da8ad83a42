package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"time"

	"octobase/oplog"
	"octobase/query"
)

func tailCommand() *Command {
	return &Command{
		Name:  "tail",
		Args:  "[PARAM...]",
		Short: "stream a workspace's changes as JSON lines, filtered by an OQL predicate",
		Long: `Tail opens the store in --data and prints the changes of workspace -w, one JSON
object per line: {"lsn", "time", "origin", "blocks": [{"space", "id", "op", "fields"}]}.
With --where, only changes of blocks that match the OQL predicate right before or right
after the change are printed, and only those blocks (docs/oql.md, section TAIL); PARAMs
bind its $1, $2, ... as for query. --from N replays the log from record N, then follows
new changes; without it only changes after the start are printed. --no-follow stops once
the history up to the last record at the start is printed. Interrupt to stop. The store
is opened with its lock: while tail runs, only this process writes the store, so follow
a running node's changes through its HTTP change stream instead.`,
		Example: `octobase tail -w notes --from 1 --no-follow
octobase tail -w notes --where "type = 'affine:page' AND creator = \$1" --from 1 alice`,
		New: func() Runner { return &tailRunner{} },
	}
}

type tailRunner struct {
	data      string
	workspace string
	where     string
	from      uint64
	noFollow  bool
}

func (r *tailRunner) Flags(fs *flag.FlagSet) {
	fs.StringVar(&r.data, "data", "./octobase-data", "read the store in `DIR`")
	fs.StringVar(&r.workspace, "w", "", "the `WORKSPACE` to follow (required)")
	fs.StringVar(&r.where, "where", "", "print only changes of blocks matching the OQL `PREDICATE`")
	fs.Uint64Var(&r.from, "from", 0, "replay the log from record `LSN` (0: only new changes)")
	fs.BoolVar(&r.noFollow, "no-follow", false, "stop after the history up to the last record at the start")
}

// tailLine is one line of output.
type tailLine struct {
	LSN    oplog.LSN       `json:"lsn"`
	Time   string          `json:"time"`
	Origin string          `json:"origin"`
	Blocks []tailLineBlock `json:"blocks"`
}

type tailLineBlock struct {
	Space  string   `json:"space"`
	ID     string   `json:"id"`
	Op     string   `json:"op"`
	Fields []string `json:"fields,omitempty"`
}

func (r *tailRunner) Run(ctx context.Context, env *Env, args []string) error {
	if r.workspace == "" {
		return usagef("missing -w WORKSPACE")
	}
	params := make([]any, len(args))
	for i, a := range args {
		params[i] = query.ParamValue(a)
	}
	if r.where == "" && len(params) > 0 {
		return usagef("PARAMs given without --where")
	}
	if r.where != "" {
		e, err := query.ParseExpr(r.where)
		if err != nil {
			return queryError(env, r.where, err)
		}
		if n := query.NumParams(e); n != len(params) {
			return usagef("the predicate has %d parameters, got %d", n, len(params))
		}
	}
	store, ws, err := openWorkspace(ctx, r.data, r.workspace)
	if err != nil {
		return err
	}
	defer store.Close()
	last, err := ws.LastLSN(ctx)
	if err != nil {
		return err
	}
	if r.noFollow && (r.from == 0 || oplog.LSN(r.from) > last) {
		return nil // nothing in the history to print
	}
	s, err := query.OpenTail(ctx, ws, r.where, params, oplog.LSN(r.from))
	if err != nil {
		var qe *query.Error
		if errors.As(err, &qe) {
			return queryError(env, r.where, err)
		}
		return err
	}
	defer s.Close()
	enc := json.NewEncoder(env.Stdout)
	enc.SetEscapeHTML(false)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var ev query.TailEvent
		var ok bool
		select {
		case ev, ok = <-s.C:
		case <-tick.C:
			// --no-follow stops at the last record of the start, even
			// when the predicate filtered it out.
			if r.noFollow && s.Position() >= last {
				return nil
			}
			continue
		}
		if !ok {
			if err := s.Err(); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		}
		line := tailLine{LSN: ev.LSN, Time: ev.Time.UTC().Format(time.RFC3339Nano), Origin: ev.Origin, Blocks: []tailLineBlock{}}
		for _, b := range ev.Blocks {
			line.Blocks = append(line.Blocks, tailLineBlock{Space: b.Space, ID: string(b.ID), Op: b.Op.String(), Fields: b.Fields})
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
		if r.noFollow && ev.LSN >= last {
			return nil
		}
	}
}
