// Package query is the front end of OQL, OctoBase's read-only, SQL-like
// query language over blocks: lexer, grammar, typed AST, semantic checks,
// parameter binding, canonical printer and positioned errors. The language
// is specified in docs/oql.md.
//
// # What it owns
//
// The language, a first planner and executor, and filtered change
// streams. Exec runs a bound SELECT over a Source (a consumer-defined read
// view: FromView copies an engine.ReadView, NewViewSource reads one in
// place, NewWorkspaceSource adds AS OF history, NewMemSource holds blocks
// in memory); the engine's sources use the index the engine maintains
// (engine.ReadView.Index), never build one. OpenTail and TailStmt run TAIL:
// a change stream filtered by a compiled predicate, evaluated on the state
// right before and right after each change (tail.go; docs/oql.md, section
// "Change streams"). Predicates on type, creator, parent, ids,
// links and created/updated times are answered with the index package's
// roaring bitmaps (plan.go: every plan node holds "sure" and "maybe" rows);
// the remaining candidates are filtered by the compiled WHERE (eval.go, the
// reference semantics). A scan with the same filter is the reference
// evaluation, and the model test requires both to agree. The mapping is
// described in docs/oql.md, section "Evaluation". Change streams are built
// on engine.Workspace.Subscribe and an engine.Replica: query compiles the
// filter and applies it to what the engine publishes, so engine never
// imports query.
//
// # Use
//
//	src := `SELECT id FROM blocks WHERE type = $1 LIMIT 10`
//	stmt, err := query.Parse(src) // once; the result can be bound many times
//	if err != nil {
//		fmt.Println(err.(*query.Error).Pretty(src)) // message, the line, a caret
//		return
//	}
//	bound, err := query.Bind(stmt, []any{"affine:page"})
//	...
//	fmt.Println(query.Format(bound)) // SELECT id FROM blocks WHERE type = 'affine:page' LIMIT 10
//
// The grammar is written with participle (grammar.go); its structs never
// leave the package: build.go converts them into the AST (ast.go) and
// applies the rules a grammar cannot express (check.go).
//
// # Invariants
//
//   - Every error returned by Parse, ParseExpr, Bind and BindExpr is an
//     *Error whose position lies in the input: 0 ≤ Pos.Offset ≤ len(src),
//     with Offset == len(src) for an unexpected end of input.
//   - A statement from Parse is well typed: fields exist, each literal has
//     the kind its place needs (times are KindTime, LIMIT is a non-negative
//     KindInt, ...), GROUP BY, COUNT(*) and ORDER BY fit together, and
//     parameters are numbered $1..$n without gaps. Bind re-checks every
//     value, so the same holds for its result, which contains no *Param.
//   - And and Or have at least two terms and are flattened: no And directly
//     inside an And, no Or inside an Or.
//   - Format is canonical: Parse(Format(s)) equals s except for positions,
//     and Format(Parse(Format(s))) == Format(s).
//   - Nesting of parentheses and NOT is bounded (100 levels), so hostile
//     input cannot exhaust the stack.
//
// # Concurrency
//
// The participle parsers are built once, at package initialisation, and are
// safe for concurrent use; every function of the package may be called from
// many goroutines. ASTs are immutable by convention: Bind copies, and the
// copy shares Field and Literal nodes with its input. Exec may run many
// statements over one Source at once: MemSource builds its index once
// (sync.Once) and is read-only afterwards; index snapshots are immutable.
// A TailStream's channel may be read from any goroutine; its Close and Err
// are safe for concurrent use.
package query
