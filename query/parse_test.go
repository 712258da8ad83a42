package query

import (
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// validCases are statements and their canonical form.
var validCases = []struct{ in, want string }{
	// Projections, clauses and case-insensitivity.
	{"SELECT * FROM blocks", "SELECT * FROM blocks"},
	{"select * from Blocks;", "SELECT * FROM blocks"},
	{"SELECT * FROM blocks ;  -- done", "SELECT * FROM blocks"},
	{"SELECT id,type,creator,created,updated,parent,prop.x FROM blocks",
		"SELECT id, type, creator, created, updated, parent, prop.x FROM blocks"},
	{"SELECT FLAVOUR, Prop.Title FROM blocks", "SELECT type, prop.Title FROM blocks"},
	{"explain select count(*) from blocks", "EXPLAIN SELECT COUNT(*) FROM blocks"},
	{"SELECT * FROM blocks IN 'ws-1'", "SELECT * FROM blocks IN 'ws-1'"},
	{"SELECT * FROM blocks ORDER BY id ASC, created desc", "SELECT * FROM blocks ORDER BY id, created DESC"},
	{"SELECT * FROM blocks LIMIT 0", "SELECT * FROM blocks LIMIT 0"},
	{"SELECT * FROM blocks LIMIT 10 OFFSET 0", "SELECT * FROM blocks LIMIT 10 OFFSET 0"},
	{"SELECT * FROM blocks AS OF 0", "SELECT * FROM blocks AS OF 0"},
	{"SELECT * FROM blocks AS OF '2024-05-01'", "SELECT * FROM blocks AS OF '2024-05-01T00:00:00Z'"},
	{"SELECT COUNT(*) FROM blocks LIMIT 1", "SELECT COUNT(*) FROM blocks LIMIT 1"},
	{"SELECT COUNT(*) FROM blocks GROUP BY creator", "SELECT COUNT(*) FROM blocks GROUP BY creator"},
	{"SELECT prop.s, COUNT(*) FROM blocks GROUP BY prop.s ORDER BY prop.s DESC",
		"SELECT prop.s, COUNT(*) FROM blocks GROUP BY prop.s ORDER BY prop.s DESC"},
	{"SELECT id FROM blocks ORDER BY prop.rank", "SELECT id FROM blocks ORDER BY prop.rank"},

	// Operators and predicates.
	{"SELECT * FROM blocks WHERE id <> 'a'", "SELECT * FROM blocks WHERE id != 'a'"},
	{"SELECT * FROM blocks WHERE id<'a'AND id>='0'", "SELECT * FROM blocks WHERE id < 'a' AND id >= '0'"},
	{"SELECT * FROM blocks WHERE prop.n <= -1.5e+3", "SELECT * FROM blocks WHERE prop.n <= -1500.0"},
	{"SELECT * FROM blocks WHERE prop.n = 2.0", "SELECT * FROM blocks WHERE prop.n = 2.0"},
	{"SELECT * FROM blocks WHERE prop.n = 007", "SELECT * FROM blocks WHERE prop.n = 7"},
	{"SELECT * FROM blocks WHERE prop.n = 9223372036854775807", "SELECT * FROM blocks WHERE prop.n = 9223372036854775807"},
	{"SELECT * FROM blocks WHERE prop.n = -9223372036854775808", "SELECT * FROM blocks WHERE prop.n = -9223372036854775808"},
	{"SELECT * FROM blocks WHERE prop.b = false", "SELECT * FROM blocks WHERE prop.b = FALSE"},
	{"SELECT * FROM blocks WHERE prop.b != null", "SELECT * FROM blocks WHERE prop.b != NULL"},
	{"SELECT * FROM blocks WHERE parent = NULL", "SELECT * FROM blocks WHERE parent = NULL"},
	{"SELECT * FROM blocks WHERE type NOT IN ('a','b')", "SELECT * FROM blocks WHERE type NOT IN ('a', 'b')"},
	{"SELECT * FROM blocks WHERE NOT type IN ('a')", "SELECT * FROM blocks WHERE NOT type IN ('a')"},
	{"SELECT * FROM blocks WHERE prop.t NOT LIKE 'a%'", "SELECT * FROM blocks WHERE prop.t NOT LIKE 'a%'"},
	{"SELECT * FROM blocks WHERE id LIKE '50\\%'", "SELECT * FROM blocks WHERE id LIKE '50\\\\%'"},
	{"SELECT * FROM blocks WHERE HAS parent", "SELECT * FROM blocks WHERE HAS parent"},
	{"SELECT * FROM blocks WHERE links to 'x'", "SELECT * FROM blocks WHERE LINKS TO 'x'"},
	{"SELECT * FROM blocks WHERE type CONTAINS 'page'", "SELECT * FROM blocks WHERE type CONTAINS 'page'"},
	{"SELECT * FROM blocks WHERE prop.t CONTAINS ''", "SELECT * FROM blocks WHERE prop.t CONTAINS ''"},

	// Precedence and parentheses.
	{"SELECT * FROM blocks WHERE (((HAS parent)))", "SELECT * FROM blocks WHERE HAS parent"},
	{"SELECT * FROM blocks WHERE HAS prop.a OR HAS prop.b AND HAS prop.c",
		"SELECT * FROM blocks WHERE HAS prop.a OR HAS prop.b AND HAS prop.c"},
	{"SELECT * FROM blocks WHERE (HAS prop.a OR HAS prop.b) AND HAS prop.c",
		"SELECT * FROM blocks WHERE (HAS prop.a OR HAS prop.b) AND HAS prop.c"},
	{"SELECT * FROM blocks WHERE HAS prop.a AND (HAS prop.b AND HAS prop.c)",
		"SELECT * FROM blocks WHERE HAS prop.a AND HAS prop.b AND HAS prop.c"},
	{"SELECT * FROM blocks WHERE NOT (HAS prop.a OR HAS prop.b)",
		"SELECT * FROM blocks WHERE NOT (HAS prop.a OR HAS prop.b)"},
	{"SELECT * FROM blocks WHERE NOT (NOT HAS prop.a)", "SELECT * FROM blocks WHERE NOT NOT HAS prop.a"},
	{"SELECT * FROM blocks WHERE (NOT HAS prop.a) AND HAS prop.b", "SELECT * FROM blocks WHERE NOT HAS prop.a AND HAS prop.b"},

	// Property names, strings, escapes.
	{`SELECT prop.order, prop.NULL, prop."a b", prop.'c''d', prop."e""f" FROM blocks`,
		`SELECT prop.order, prop.NULL, prop."a b", prop."c'd", prop."e""f" FROM blocks`},
	{`SELECT prop."1st", prop.ok_2 FROM blocks`, `SELECT prop."1st", prop.ok_2 FROM blocks`},
	{`SELECT * FROM blocks WHERE id = 'a\'b' OR id = 'c''d' OR id = '\\'`,
		`SELECT * FROM blocks WHERE id = 'a''b' OR id = 'c''d' OR id = '\\'`},
	{"SELECT * FROM blocks WHERE id = 'line\nbreak\tand \\u0001'",
		`SELECT * FROM blocks WHERE id = 'line\nbreak\tand \u0001'`},
	{`SELECT * FROM blocks WHERE id = '\"'`, `SELECT * FROM blocks WHERE id = '"'`},

	// Times.
	{"SELECT * FROM blocks WHERE created > '2024-05-01T10:00:00.5+01:30'",
		"SELECT * FROM blocks WHERE created > '2024-05-01T08:30:00.5Z'"},
	{"SELECT * FROM blocks WHERE created > -1000", "SELECT * FROM blocks WHERE created > '1969-12-31T23:59:59Z'"},
	{"SELECT * FROM blocks WHERE updated IN ('0000-01-01', '9999-12-31T23:59:59.999999999Z')",
		"SELECT * FROM blocks WHERE updated IN ('0000-01-01T00:00:00Z', '9999-12-31T23:59:59.999999999Z')"},

	// Parameters.
	{"SELECT * FROM blocks IN $1 WHERE id = $2 AND id IN ($3, $2) LIMIT $4 OFFSET $5 AS OF $6",
		"SELECT * FROM blocks IN $1 WHERE id = $2 AND id IN ($3, $2) LIMIT $4 OFFSET $5 AS OF $6"},

	// The example of docs/oql.md, "Canonical form".
	{`select Id from BLOCKS where (flavour <> 'a' and (creator='b' and not(created>'2024-05-01'))) or prop."x" in (1.0e1);`,
		`SELECT id FROM blocks WHERE type != 'a' AND creator = 'b' AND NOT created > '2024-05-01T00:00:00Z' OR prop.x IN (10.0)`},

	// TAIL.
	{"TAIL blocks", "TAIL blocks"},
	{"TAIL blocks FROM NOW", "TAIL blocks"},
	{"TAIL BLOCKS IN 'w' WHERE HAS parent FROM 0", "TAIL blocks IN 'w' WHERE HAS parent FROM 0"},
}

// TestParseValid parses statements and checks their canonical form.
func TestParseValid(t *testing.T) {
	for _, tc := range validCases {
		s, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := Format(s); got != tc.want {
			t.Errorf("Format(Parse(%q))\n got %s\nwant %s", tc.in, got, tc.want)
		}
		checkRoundTrip(t, tc.in, s)
	}
}

// invalidCases are rejected statements and their exact error.
var invalidCases = []struct{ in, want string }{
	// Syntax.
	{"", `1:1: expected SELECT, EXPLAIN or TAIL, found end of input`},
	{"  -- only a comment", `1:20: expected SELECT, EXPLAIN or TAIL, found end of input`},
	{"DELETE FROM blocks", `1:1: expected SELECT, EXPLAIN or TAIL, found identifier DELETE`},
	{"EXPLAIN TAIL blocks", `1:9: expected SELECT, found TAIL`},
	{"SELECT * FROM blocks;;", `1:22: unexpected ";"`},
	{"SELECT * FROM blocks; SELECT * FROM blocks", `1:23: unexpected SELECT`},
	{"SELECT *, id FROM blocks", `1:9: expected FROM, found ","`},
	{"SELECT id, FROM blocks", `1:12: expected COUNT(*) or a field, found FROM`},
	{"SELECT COUNT(id) FROM blocks", `1:14: expected "*", found identifier id`},
	{"SELECT * FROM", `1:14: expected blocks, found end of input`},
	{"SELECT * FROM 'blocks'", `1:15: expected blocks, found string 'blocks'`},
	{"SELECT * FROM blocks IN ws", `1:25: expected a value, found identifier ws`},
	{"SELECT * FROM blocks WHERE id = 'a' AND", `1:40: expected an expression, found end of input`},
	{"SELECT * FROM blocks WHERE id == 'a'", `1:32: expected a value, found "="`},
	{"SELECT * FROM blocks WHERE id = id", `1:33: expected a value, found identifier id`},
	{"SELECT * FROM blocks WHERE id IN 'a'", `1:34: expected "(", found string 'a'`},
	{"SELECT * FROM blocks WHERE id IN ('a',)", `1:39: expected a value, found ")"`},
	{"SELECT * FROM blocks WHERE id IN ('a'", `1:38: expected ")", found end of input`},
	{"SELECT * FROM blocks WHERE LINKS 'a'", `1:34: expected TO, found string 'a'`},
	{"SELECT * FROM blocks WHERE HAS", `1:31: expected a field, found end of input`},
	{"SELECT * FROM blocks WHERE (HAS parent", `1:39: expected ")", found end of input`},
	{"SELECT * FROM blocks WHERE HAS parent)", `1:38: unexpected ")"`},
	{"SELECT * FROM blocks WHERE prop.x.y = 1", `1:34: expected a comparison operator, NOT, IN, LIKE or CONTAINS, found "."`},
	{"SELECT * FROM blocks WHERE prop. = 1", `1:34: expected a property name, found "="`},
	{"SELECT * FROM blocks ORDER BY", `1:30: expected COUNT(*) or a field, found end of input`},
	{"SELECT * FROM blocks LIMIT 1 2", `1:30: unexpected number 2`},
	{"SELECT * FROM blocks OFFSET 2", `1:22: unexpected OFFSET`},
	{"SELECT * FROM blocks AS 2", `1:25: expected OF, found number 2`},
	{"TAIL blocks FROM", `1:17: expected NOW or a value, found end of input`},
	{"TAIL blocks LIMIT 1", `1:13: unexpected LIMIT`},

	// Lexical.
	{"SELECT * FROM blocks WHERE id = 'abc", `1:33: unterminated string literal`},
	{`SELECT prop."abc FROM blocks`, `1:13: unterminated quoted identifier`},
	{`SELECT * FROM blocks WHERE id = 'a\x'`, `1:35: unknown escape sequence \x`},
	{`SELECT * FROM blocks WHERE id = 'a\u12'`, `1:35: \u needs four hex digits`},
	{`SELECT * FROM blocks WHERE id = 'a\uD800'`, `1:35: \uD800 is a surrogate half, not a character`},
	{`SELECT * FROM blocks WHERE id = 'a\`, `1:35: unterminated escape sequence`},
	{"SELECT * FROM blocks WHERE id = 'a' # x", `1:37: unexpected character '#'`},
	{"SELECT * FROM blocks WHERE id = 'a' \x01", `1:37: unexpected character U+0001`},
	{"SELECT * FROM blocks WHERE id = '\xff'", `1:34: invalid UTF-8 encoding`},
	{"SELECT * FROM blocks -- \xff", `1:25: invalid UTF-8 encoding`},
	{"SELECT * FROM blocks WHERE prop.n = 1.5.5", `1:37: malformed number 1.5.`},
	{"SELECT * FROM blocks WHERE prop.n = 12abc", `1:37: malformed number 12a`},
	{"SELECT * FROM blocks WHERE prop.n = 1e", `1:37: malformed number 1e`},
	{"SELECT * FROM blocks WHERE prop.n = - 1", `1:37: unexpected character '-'`},
	{"SELECT * FROM blocks WHERE id = $", `1:33: expected a parameter number after $ (like $1)`},
	{"SELECT * FROM blocks WHERE id = $1x", `1:33: malformed parameter $1`},
	{"SELECT * FROM blocks WHERE id = '\n\n' AND x !", `3:9: unexpected character '!'`},
	{"SELECT * FROM blocks WHERE " + strings.Repeat("NOT ", 101) + "HAS parent",
		`1:428: expression nested too deeply (more than 100 levels)`},

	// Semantics: fields and tables.
	{"SELECT * FROM docs", `1:15: unknown table "docs"; OQL reads from blocks`},
	{"SELECT name FROM blocks", `1:8: unknown field "name" (fields are id, type, creator, created, updated, parent and prop.<name>)`},
	{"SELECT foo.bar FROM blocks", `1:8: unknown field "foo.bar" (fields are id, type, creator, created, updated, parent and prop.<name>)`},
	{"SELECT prop FROM blocks", `1:8: prop needs a property name, as in prop.title`},
	{"SELECT type.x FROM blocks", `1:13: field type has no sub-fields; only prop.<name> does`},
	{`SELECT prop."" FROM blocks`, `1:13: empty property name`},
	{"SELECT * FROM blocks IN ''", `1:25: workspace name must not be empty`},

	// Semantics: values.
	{"SELECT * FROM blocks WHERE created > 'not a time'",
		`1:38: created needs a time, got 'not a time' (use ISO-8601, like '2024-05-01' or '2024-05-01T12:00:00Z')`},
	{"SELECT * FROM blocks WHERE created > '2024-13-01'",
		`1:38: created needs a time, got '2024-13-01' (use ISO-8601, like '2024-05-01' or '2024-05-01T12:00:00Z')`},
	{"SELECT * FROM blocks WHERE created > '0000-01-01T00:00:00+01:00'",
		`1:38: created needs a time, got '0000-01-01T00:00:00+01:00' (use ISO-8601, like '2024-05-01' or '2024-05-01T12:00:00Z')`},
	{"SELECT * FROM blocks WHERE updated > 1.5", `1:38: updated needs a time, got 1.5`},
	{"SELECT * FROM blocks WHERE updated > TRUE", `1:38: updated needs a time, got TRUE`},
	{"SELECT * FROM blocks WHERE updated > 9223372036854775807", `1:38: updated: time 9223372036854775807 is out of range (years 0000 to 9999)`},
	{"SELECT * FROM blocks WHERE created = NULL", `1:38: created is never NULL`},
	{"SELECT * FROM blocks WHERE type = 5", `1:35: type needs a string, got 5`},
	{"SELECT * FROM blocks WHERE type = NULL", `1:35: type is never NULL`},
	{"SELECT * FROM blocks WHERE parent < NULL", `1:37: cannot use < with NULL`},
	{"SELECT * FROM blocks WHERE prop.x >= NULL", `1:38: cannot use >= with NULL`},
	{"SELECT * FROM blocks WHERE prop.x > TRUE", `1:37: cannot use > with TRUE`},
	{"SELECT * FROM blocks WHERE prop.x IN (1, NULL)", `1:42: NULL cannot appear in an IN list; use prop.x = NULL`},
	{"SELECT * FROM blocks WHERE parent IN (NULL)", `1:39: NULL cannot appear in an IN list; use parent = NULL`},
	{"SELECT * FROM blocks WHERE id IN (NULL)", `1:35: id is never NULL`},
	{"SELECT * FROM blocks WHERE creator IN ('a', 1)", `1:45: creator needs a string, got 1`},
	{"SELECT * FROM blocks WHERE prop.n = 9223372036854775808", `1:37: integer 9223372036854775808 is out of range`},
	{"SELECT * FROM blocks WHERE prop.n = 1e400", `1:37: number 1e400 is out of range`},
	{"SELECT * FROM blocks WHERE id LIKE 5", `1:36: LIKE needs a string, got 5`},
	{`SELECT * FROM blocks WHERE id LIKE 'a\\'`, `1:36: LIKE pattern ends with an unfinished escape (a lone \)`},
	{"SELECT * FROM blocks WHERE updated LIKE '2024%'", `1:28: LIKE needs a text field; updated is a time`},
	{"SELECT * FROM blocks WHERE created CONTAINS '2024'", `1:28: CONTAINS needs a text field; created is a time`},
	{"SELECT * FROM blocks WHERE prop.t CONTAINS NULL", `1:44: CONTAINS needs a string, got NULL`},
	{"SELECT * FROM blocks WHERE HAS type", `1:32: HAS needs parent or prop.<name>; type is always present`},
	{"SELECT * FROM blocks WHERE LINKS TO 1", `1:37: LINKS TO needs a string, got 1`},
	{"SELECT * FROM blocks WHERE LINKED FROM ''", `1:40: LINKED FROM needs a block id, got ''`},
	{"SELECT * FROM blocks WHERE CHILD OF NULL", `1:37: CHILD OF needs a string, got NULL`},
	{"SELECT * FROM blocks WHERE DESCENDANT OF TRUE", `1:42: DESCENDANT OF needs a string, got TRUE`},
	{"SELECT * FROM blocks LIMIT -1", `1:28: LIMIT needs a non-negative integer, got -1`},
	{"SELECT * FROM blocks LIMIT 1.0", `1:28: LIMIT needs a non-negative integer, got 1.0`},
	{"SELECT * FROM blocks LIMIT '1'", `1:28: LIMIT needs a non-negative integer, got '1'`},
	{"SELECT * FROM blocks LIMIT 1 OFFSET -5", `1:37: OFFSET needs a non-negative integer, got -5`},
	{"SELECT * FROM blocks AS OF -1", `1:28: AS OF needs a log position (a non-negative integer) or an ISO-8601 time, got -1`},
	{"SELECT * FROM blocks AS OF 'yesterday'", `1:28: AS OF needs a log position (a non-negative integer) or an ISO-8601 time, got 'yesterday'`},
	{"TAIL blocks FROM -3", `1:18: FROM needs a non-negative integer, got -3`},
	{"TAIL blocks FROM '2024-01-01'", `1:18: FROM needs a non-negative integer, got '2024-01-01'`},

	// Semantics: parameters.
	{"SELECT * FROM blocks WHERE id = $0", `1:33: parameters are numbered from $1`},
	{"SELECT * FROM blocks WHERE id = $2", `1:33: parameter $2 is used but $1 is not; number parameters from $1 without gaps`},
	{"SELECT * FROM blocks WHERE id = $1 OR id = $3 OR id = $4", `1:44: parameter $3 is used but $2 is not; number parameters from $1 without gaps`},
	{"SELECT * FROM blocks WHERE id = $65536", `1:33: parameter number $65536 is out of range ($1 to $65535)`},

	// Semantics: COUNT(*), GROUP BY, ORDER BY.
	{"SELECT COUNT(*), COUNT(*) FROM blocks", `1:18: COUNT(*) appears twice in the select list`},
	{"SELECT type, COUNT(*) FROM blocks", `1:8: COUNT(*) cannot be mixed with fields unless grouped: add GROUP BY type`},
	{"SELECT COUNT(*), id FROM blocks", `1:18: COUNT(*) cannot be mixed with fields unless grouped: add GROUP BY id`},
	{"SELECT * FROM blocks GROUP BY type", `1:31: GROUP BY needs a select list of COUNT(*) and the grouped field, not *`},
	{"SELECT type FROM blocks GROUP BY type", `1:34: GROUP BY needs COUNT(*) in the select list`},
	{"SELECT creator, COUNT(*) FROM blocks GROUP BY type", `1:8: cannot select creator when grouping by type`},
	{"SELECT prop.a, COUNT(*) FROM blocks GROUP BY prop.b", `1:8: cannot select prop.a when grouping by prop.b`},
	{"SELECT COUNT(*) FROM blocks GROUP BY type ORDER BY id", `1:52: cannot order by id when grouping by type`},
	{"SELECT * FROM blocks ORDER BY COUNT(*)", `1:31: ORDER BY COUNT(*) needs GROUP BY`},
	{"SELECT COUNT(*) FROM blocks ORDER BY id", `1:38: cannot order by id: SELECT COUNT(*) returns one row`},
}

// TestParseInvalid checks the exact message and position of errors.
func TestParseInvalid(t *testing.T) {
	for _, tc := range invalidCases {
		_, err := Parse(tc.in)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q) = %v, want *Error %q", tc.in, err, tc.want)
			continue
		}
		if got := e.Pos.String() + ": " + e.Msg; got != tc.want {
			t.Errorf("Parse(%q):\n got %s\nwant %s", tc.in, got, tc.want)
		}
		if got, want := e.Error(), "oql: "+tc.want; got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
		checkErrorPos(t, tc.in, e)
	}
}

func TestParseExpr(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"type = 'a'", "type = 'a'"},
		{"type = 'a';", "type = 'a'"},
		{"(HAS parent) or not has prop.x", "HAS parent OR NOT HAS prop.x"},
		{"created > $1 AND prop.t LIKE $2", "created > $1 AND prop.t LIKE $2"},
	} {
		e, err := ParseExpr(tc.in)
		if err != nil {
			t.Errorf("ParseExpr(%q): %v", tc.in, err)
			continue
		}
		if got := FormatExpr(e); got != tc.want {
			t.Errorf("FormatExpr(ParseExpr(%q)) = %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", "1:1: expected an expression, found end of input"},
		{"SELECT * FROM blocks", "1:1: expected an expression, found SELECT"},
		{"type = 'a' LIMIT 1", "1:12: unexpected LIMIT"},
		{"type = 1", "1:8: type needs a string, got 1"},
		{"id = $2", "1:6: parameter $2 is used but $1 is not; number parameters from $1 without gaps"},
	} {
		_, err := ParseExpr(tc.in)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("ParseExpr(%q) = %v, want *Error", tc.in, err)
			continue
		}
		if got := e.Pos.String() + ": " + e.Msg; got != tc.want {
			t.Errorf("ParseExpr(%q):\n got %s\nwant %s", tc.in, got, tc.want)
		}
		checkErrorPos(t, tc.in, e)
	}
}

func TestErrorPretty(t *testing.T) {
	src := "SELECT *\nFROM blocks\n\tWHERE créé = 1\r\nLIMIT 1"
	_, err := Parse(src)
	e := err.(*Error)
	want := "oql: 3:8: unknown field \"créé\" (fields are id, type, creator, created, updated, parent and prop.<name>)\n" +
		"\tWHERE créé = 1\n" +
		"\t      ^"
	if got := e.Pretty(src); got != want {
		t.Errorf("Pretty:\n%s\nwant:\n%s", got, want)
	}
	// At the end of the input, the caret sits after the last character.
	src = "SELECT"
	_, err = Parse(src)
	if got, want := err.(*Error).Pretty(src), "oql: 1:7: expected \"*\", COUNT(*) or a field, found end of input\nSELECT\n      ^"; got != want {
		t.Errorf("Pretty:\n%s\nwant:\n%s", got, want)
	}
	// A position that does not fit the source falls back to Error().
	e = &Error{Pos: Position{Offset: 99, Line: 1, Column: 100}, Msg: "x"}
	if got := e.Pretty("short"); got != "oql: 1:100: x" {
		t.Errorf("Pretty with a foreign source = %q", got)
	}
}

// TestFlattening checks the AST shape of nested AND and OR.
func TestFlattening(t *testing.T) {
	e, err := ParseExpr("HAS prop.a AND (HAS prop.b AND (HAS prop.c OR (HAS prop.d OR HAS prop.e)))")
	if err != nil {
		t.Fatal(err)
	}
	and, ok := e.(*And)
	if !ok || len(and.Terms) != 3 {
		t.Fatalf("got %s, want an And of 3 terms", Dump(e))
	}
	or, ok := and.Terms[2].(*Or)
	if !ok || len(or.Terms) != 3 {
		t.Fatalf("got %s, want an Or of 3 terms last", Dump(e))
	}
}

// TestConcurrentParse runs parses in parallel (meaningful under -race).
func TestConcurrentParse(t *testing.T) {
	queries := readCorpus(t, "select.oql")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				for _, q := range queries {
					s, err := Parse(q)
					if err != nil {
						t.Error(err)
						return
					}
					_ = Format(s)
				}
			}
		}()
	}
	wg.Wait()
}

// checkErrorPos checks that an error position lies within src and that
// Line and Column agree with Offset.
func checkErrorPos(t testing.TB, src string, e *Error) {
	t.Helper()
	p := e.Pos
	if p.Offset < 0 || p.Offset > len(src) {
		t.Fatalf("%q: error %v: offset %d outside the input", src, e, p.Offset)
	}
	line, col := 1, 1
	for _, r := range src[:p.Offset] {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	if p.Line != line || p.Column != col {
		t.Fatalf("%q: error %v: offset %d is %d:%d", src, e, p.Offset, line, col)
	}
}

// checkRoundTrip checks that Format(s) parses back to s, positions aside,
// and that Format is a fixed point.
func checkRoundTrip(t testing.TB, src string, s Stmt) {
	t.Helper()
	out := Format(s)
	s2, err := Parse(out)
	if err != nil {
		t.Fatalf("Parse(%q) accepted, but its Format %q fails: %v", src, out, err)
	}
	if a, b := dumpNoPos(s), dumpNoPos(s2); a != b {
		t.Fatalf("round trip of %q via %q changes the AST:\n%s\nvs\n%s", src, out, a, b)
	}
	if !reflect.DeepEqual(clearPositions(s), clearPositions(s2)) {
		t.Fatalf("round trip of %q via %q: ASTs differ beyond the dump", src, out)
	}
	if out2 := Format(s2); out2 != out {
		t.Fatalf("Format is not canonical: %q then %q", out, out2)
	}
}

// clearPositions zeroes every position in n (in place) and returns n.
func clearPositions[N Node](n N) N {
	Inspect(n, func(n Node) bool {
		switch n := n.(type) {
		case *Select:
			n.At = Position{}
		case *Tail:
			n.At = Position{}
		case *Column:
			n.At = Position{}
		case *OrderItem:
			n.At = Position{}
		case *Field:
			n.At = Position{}
		case *Literal:
			n.At = Position{}
		case *Param:
			n.At = Position{}
		case *And:
			n.At = Position{}
		case *Or:
			n.At = Position{}
		case *Not:
			n.At = Position{}
		case *Compare:
			n.At = Position{}
		case *In:
			n.At = Position{}
		case *Like:
			n.At = Position{}
		case *Has:
			n.At = Position{}
		case *LinksTo:
			n.At = Position{}
		case *LinkedFrom:
			n.At = Position{}
		case *ChildOf:
			n.At = Position{}
		case *DescendantOf:
			n.At = Position{}
		case *Contains:
			n.At = Position{}
		}
		return true
	})
	return n
}
