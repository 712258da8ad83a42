package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"octobase/engine"
	"octobase/query"
)

func queryCommand() *Command {
	return &Command{
		Name:  "query",
		Args:  "STATEMENT [PARAM...]",
		Short: "run an OQL SELECT over a workspace of a store",
		Long: `Query opens the store in --data, reads the current state of workspace -w (or the
one named by IN '<workspace>') and runs one OQL SELECT over its blocks (docs/oql.md).
PARAMs bind $1, $2, ...: a PARAM that is JSON (a number, true, false, null or a
"quoted string") is that value, anything else is a string. Results print as a table,
as JSON lines (--json) or as CSV (--csv); EXPLAIN prints the plan. A statement that
does not parse or check prints the error with a caret under its position and exits 2.
The store is opened for reading only, but it takes the store's lock: stop a node that
serves the same directory first.`,
		Example: `octobase query -w notes "SELECT id, prop.title FROM blocks WHERE type = 'affine:page'"
octobase query -w notes --json "SELECT type, COUNT(*) FROM blocks GROUP BY type"
octobase query -w notes "SELECT id FROM blocks WHERE created > \$1 LIMIT \$2" 2024-05-01 10`,
		New: func() Runner { return &queryRunner{} },
	}
}

type queryRunner struct {
	data      string
	workspace string
	json, csv bool
}

func (r *queryRunner) Flags(fs *flag.FlagSet) {
	fs.StringVar(&r.data, "data", "./octobase-data", "read the store in `DIR`")
	fs.StringVar(&r.workspace, "w", "", "the `WORKSPACE` to read (required unless the statement says IN '<workspace>')")
	fs.BoolVar(&r.json, "json", false, "print one JSON object per row")
	fs.BoolVar(&r.csv, "csv", false, "print CSV with a header row")
}

func (r *queryRunner) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("missing STATEMENT")
	}
	if r.json && r.csv {
		return usagef("--json and --csv exclude each other")
	}
	src := args[0]
	stmt, err := query.Parse(src)
	if err != nil {
		return queryError(env, src, err)
	}
	params := make([]any, len(args)-1)
	for i, a := range args[1:] {
		params[i] = query.ParamValue(a)
	}
	if n := query.NumParams(stmt); n != len(params) {
		return usagef("the statement has %d parameters, got %d", n, len(params))
	}
	if stmt, err = query.Bind(stmt, params); err != nil {
		return queryError(env, src, err)
	}
	sel, ok := stmt.(*query.Select)
	if !ok {
		return fmt.Errorf("TAIL is not supported by this command yet")
	}
	name := r.workspace
	if sel.Workspace != nil {
		name = sel.Workspace.(*query.Literal).Str
	}
	if name == "" {
		return usagef("missing -w WORKSPACE")
	}
	store, ws, err := openWorkspace(ctx, r.data, name)
	if err != nil {
		return err
	}
	defer store.Close()
	qs, err := query.NewWorkspaceSource(ctx, ws)
	if err != nil {
		return err
	}
	res, err := query.Exec(ctx, stmt, qs)
	if err != nil {
		var qe *query.Error
		if errors.As(err, &qe) {
			return queryError(env, src, err)
		}
		return err
	}
	switch {
	case sel.Explain && !r.json && !r.csv:
		for _, row := range res.Rows {
			if _, err := fmt.Fprintln(env.Stdout, row[0]); err != nil {
				return err
			}
		}
		return nil
	case r.json:
		return writeJSONRows(env.Stdout, res)
	case r.csv:
		return writeCSV(env.Stdout, res)
	}
	return writeTable(env.Stdout, res)
}

// queryError prints an OQL error with its caret and returns a usage error
// (exit 2).
func queryError(env *Env, src string, err error) error {
	var qe *query.Error
	if !errors.As(err, &qe) {
		return err
	}
	fmt.Fprintln(env.Stderr, qe.Pretty(src))
	return usagef("invalid statement (see above)")
}

// cell renders a value for the table and CSV.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return x
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return jsonValue(v)
}

func jsonValue(v any) string {
	if t, ok := v.(time.Time); ok {
		v = t.UTC().Format(time.RFC3339Nano)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return strconv.Quote(fmt.Sprint(v))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func writeTable(w io.Writer, res *query.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	esc := strings.NewReplacer("\t", `\t`, "\n", `\n`, "\r", `\r`)
	fmt.Fprintln(tw, strings.Join(res.Columns, "\t"))
	for _, row := range res.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = esc.Replace(cell(v))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	noun := "rows"
	if len(res.Rows) == 1 {
		noun = "row"
	}
	_, err := fmt.Fprintf(w, "(%d %s)\n", len(res.Rows), noun)
	return err
}

func writeJSONRows(w io.Writer, res *query.Result) error {
	for _, row := range res.Rows {
		var b strings.Builder
		b.WriteByte('{')
		for i, v := range row {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(jsonValue(res.Columns[i]))
			b.WriteByte(':')
			b.WriteString(jsonValue(v))
		}
		b.WriteString("}\n")
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
	}
	return nil
}

func writeCSV(w io.Writer, res *query.Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(res.Columns); err != nil {
		return err
	}
	for _, row := range res.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			if v != nil { // NULL is an empty field
				cells[i] = cell(v)
			}
		}
		if err := cw.Write(cells); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// openWorkspace opens the store in dir and its existing workspace name
// (an error, not a new workspace, when there is none). The caller closes
// the store.
func openWorkspace(ctx context.Context, dir, name string) (*engine.Store, *engine.Workspace, error) {
	store, err := engine.Open(dir, &engine.Options{IdleTimeout: -1})
	if err != nil {
		return nil, nil, err
	}
	names, err := store.Workspaces()
	if err == nil && !slices.Contains(names, name) {
		err = fmt.Errorf("no workspace %q in %s", name, dir)
	}
	var ws *engine.Workspace
	if err == nil {
		ws, err = store.Workspace(ctx, name)
	}
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, ws, nil
}
