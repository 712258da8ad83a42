package query

import (
	"errors"
	"math"
	"testing"
	"time"
)

type myString string

type myTime time.Time

func TestBind(t *testing.T) {
	day := time.Date(2024, 5, 1, 12, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	for _, tc := range []struct {
		in     string
		params []any
		want   string
	}{
		{"SELECT * FROM blocks", nil, "SELECT * FROM blocks"},
		{"SELECT * FROM blocks WHERE type = $1", []any{"affine:page"},
			"SELECT * FROM blocks WHERE type = 'affine:page'"},
		{"SELECT * FROM blocks WHERE type = $1 OR creator = $1", []any{myString("x")},
			"SELECT * FROM blocks WHERE type = 'x' OR creator = 'x'"},
		{"SELECT * FROM blocks WHERE created > $1 AND updated < $2 AND updated > $3", []any{"2024-05-01", int64(0), day},
			"SELECT * FROM blocks WHERE created > '2024-05-01T00:00:00Z' AND updated < '1970-01-01T00:00:00Z' AND updated > '2024-05-01T10:00:00Z'"},
		{"SELECT * FROM blocks WHERE created > $1", []any{myTime(day)},
			"SELECT * FROM blocks WHERE created > '2024-05-01T10:00:00Z'"},
		{"SELECT * FROM blocks WHERE created > $1", []any{float64(1000)},
			"SELECT * FROM blocks WHERE created > '1970-01-01T00:00:01Z'"},
		{"SELECT * FROM blocks WHERE prop.a = $1 AND prop.b = $2 AND prop.c = $3 AND prop.d = $4 AND prop.e != $5",
			[]any{uint8(7), 2.5, true, float32(0.5), nil},
			"SELECT * FROM blocks WHERE prop.a = 7 AND prop.b = 2.5 AND prop.c = TRUE AND prop.d = 0.5 AND prop.e != NULL"},
		{"SELECT * FROM blocks WHERE parent = $1", []any{nil}, "SELECT * FROM blocks WHERE parent = NULL"},
		{"SELECT * FROM blocks WHERE type IN ($1, 'c', $2)", []any{[]string{"a", "b"}, "d"},
			"SELECT * FROM blocks WHERE type IN ('a', 'b', 'c', 'd')"},
		{"SELECT * FROM blocks WHERE prop.n NOT IN ($1)", []any{[2]any{1, "x"}},
			"SELECT * FROM blocks WHERE prop.n NOT IN (1, 'x')"},
		{"SELECT * FROM blocks WHERE prop.t LIKE $1 AND prop.t CONTAINS $2", []any{"a%", "it's"},
			"SELECT * FROM blocks WHERE prop.t LIKE 'a%' AND prop.t CONTAINS 'it''s'"},
		{"SELECT * FROM blocks WHERE LINKS TO $1 AND LINKED FROM $2 AND CHILD OF $3 AND DESCENDANT OF $4",
			[]any{"a", "b", "c", "d"},
			"SELECT * FROM blocks WHERE LINKS TO 'a' AND LINKED FROM 'b' AND CHILD OF 'c' AND DESCENDANT OF 'd'"},
		{"SELECT * FROM blocks IN $1 LIMIT $2 OFFSET $3 AS OF $4", []any{"ws", 10, float64(20), uint64(30)},
			"SELECT * FROM blocks IN 'ws' LIMIT 10 OFFSET 20 AS OF 30"},
		{"SELECT * FROM blocks AS OF $1", []any{"2024-05-01T00:00:00Z"},
			"SELECT * FROM blocks AS OF '2024-05-01T00:00:00Z'"},
		{"SELECT * FROM blocks AS OF $1", []any{day}, "SELECT * FROM blocks AS OF '2024-05-01T10:00:00Z'"},
		{"TAIL blocks IN $1 WHERE NOT HAS prop.x AND id = $2 FROM $3", []any{"w", "b", 5},
			"TAIL blocks IN 'w' WHERE NOT HAS prop.x AND id = 'b' FROM 5"},
	} {
		s, err := Parse(tc.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.in, err)
		}
		before := Format(s)
		b, err := Bind(s, tc.params)
		if err != nil {
			t.Errorf("Bind(%q, %v): %v", tc.in, tc.params, err)
			continue
		}
		if got := Format(b); got != tc.want {
			t.Errorf("Bind(%q, %v)\n got %s\nwant %s", tc.in, tc.params, got, tc.want)
		}
		if NumParams(b) != 0 {
			t.Errorf("Bind(%q) left parameters: %s", tc.in, Dump(b))
		}
		if Format(s) != before {
			t.Errorf("Bind(%q) modified its input", tc.in)
		}
		checkRoundTrip(t, tc.want, b)
	}
}

func TestBindErrors(t *testing.T) {
	for _, tc := range []struct {
		in     string
		params []any
		want   string
	}{
		{"SELECT * FROM blocks WHERE type = $1", nil, "1:1: statement takes 1 parameter(s), got 0 value(s)"},
		{"SELECT * FROM blocks", []any{1}, "1:1: statement takes 0 parameter(s), got 1 value(s)"},
		{"SELECT * FROM blocks WHERE type = $1", []any{5}, "1:35: parameter $1: type needs a string, got 5"},
		{"SELECT * FROM blocks WHERE type = $1", []any{nil}, "1:35: parameter $1: type is never NULL"},
		{"SELECT * FROM blocks WHERE type = $1", []any{"\xff"}, "1:35: parameter $1: string is not valid UTF-8"},
		{"SELECT * FROM blocks WHERE type = $1", []any{[]byte("x")}, "1:35: parameter $1: unsupported type []uint8"},
		{"SELECT * FROM blocks WHERE type = $1", []any{[]string{"x"}}, "1:35: parameter $1: a list ([]string) is only allowed as an element of an IN list"},
		{"SELECT * FROM blocks WHERE type = $1", []any{struct{}{}}, "1:35: parameter $1: unsupported type struct {}"},
		{"SELECT * FROM blocks WHERE type = $1", []any{time.Now()}, "1:35: parameter $1: type needs a string, got a time.Time; pass a string"},
		{"SELECT * FROM blocks WHERE created > $1", []any{"soon"},
			"1:38: parameter $1: created needs a time, got 'soon' (use ISO-8601, like '2024-05-01' or '2024-05-01T12:00:00Z')"},
		{"SELECT * FROM blocks WHERE created > $1", []any{1.5}, "1:38: parameter $1: created needs a time, got 1.5"},
		{"SELECT * FROM blocks WHERE created > $1", []any{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
			"1:38: parameter $1: created: time '10000-01-01T00:00:00Z' is out of range (years 0000 to 9999)"},
		{"SELECT * FROM blocks WHERE prop.x > $1", []any{true}, "1:37: parameter $1: cannot use > with TRUE"},
		{"SELECT * FROM blocks WHERE prop.x = $1", []any{math.NaN()}, "1:37: parameter $1: number NaN is not finite"},
		{"SELECT * FROM blocks WHERE prop.x = $1", []any{uint64(math.MaxUint64)}, "1:37: parameter $1: integer 18446744073709551615 is out of range"},
		{"SELECT * FROM blocks WHERE prop.x IN ($1)", []any{[]any{}}, "1:39: parameter $1: empty list (an IN list needs at least one value)"},
		{"SELECT * FROM blocks WHERE prop.x IN ($1)", []any{[]any{1, nil}}, "1:39: parameter $1: NULL cannot appear in an IN list; use prop.x = NULL"},
		{"SELECT * FROM blocks WHERE id LIKE $1", []any{`x\`}, `1:36: parameter $1: LIKE pattern ends with an unfinished escape (a lone \)`},
		{"SELECT * FROM blocks WHERE LINKS TO $1", []any{""}, "1:37: parameter $1: LINKS TO needs a block id, got ''"},
		{"SELECT * FROM blocks IN $1", []any{""}, "1:25: parameter $1: workspace name must not be empty"},
		{"SELECT * FROM blocks LIMIT $1", []any{-1}, "1:28: parameter $1: LIMIT needs a non-negative integer, got -1"},
		{"SELECT * FROM blocks LIMIT $1", []any{2.5}, "1:28: parameter $1: LIMIT needs a non-negative integer, got 2.5"},
		{"SELECT * FROM blocks LIMIT $1", []any{"10"}, "1:28: parameter $1: LIMIT needs a non-negative integer, got '10'"},
		{"SELECT * FROM blocks AS OF $1", []any{true}, "1:28: parameter $1: AS OF needs a log position (a non-negative integer) or an ISO-8601 time, got TRUE"},
		{"TAIL blocks FROM $1", []any{"now"}, "1:18: parameter $1: FROM needs a non-negative integer, got 'now'"},
	} {
		s, err := Parse(tc.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.in, err)
		}
		_, err = Bind(s, tc.params)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Bind(%q, %v) = %v, want *Error", tc.in, tc.params, err)
			continue
		}
		if got := e.Pos.String() + ": " + e.Msg; got != tc.want {
			t.Errorf("Bind(%q, %v):\n got %s\nwant %s", tc.in, tc.params, got, tc.want)
		}
		checkErrorPos(t, tc.in, e)
	}
}

func TestBindExpr(t *testing.T) {
	e, err := ParseExpr("creator = $1 OR prop.n IN ($2)")
	if err != nil {
		t.Fatal(err)
	}
	b, err := BindExpr(e, []any{"u1", []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := FormatExpr(b), "creator = 'u1' OR prop.n IN (1, 2)"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if _, err := BindExpr(e, []any{"u1"}); err == nil || err.Error() != "oql: 1:1: expression takes 2 parameter(s), got 1 value(s)" {
		t.Errorf("BindExpr with too few values: %v", err)
	}
	if _, err := BindExpr(nil, nil); err == nil {
		t.Error("BindExpr(nil) succeeded")
	}
	if _, err := Bind(nil, nil); err == nil {
		t.Error("Bind(nil) succeeded")
	}
}

// TestBindReuse binds one parsed statement from many goroutines.
func TestBindReuse(t *testing.T) {
	s, err := Parse("SELECT id FROM blocks WHERE type = $1 LIMIT $2")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string)
	for i := 0; i < 4; i++ {
		go func() {
			b, err := Bind(s, []any{"t", i})
			if err != nil {
				done <- err.Error()
				return
			}
			done <- Format(b)
		}()
	}
	seen := map[string]bool{}
	for i := 0; i < 4; i++ {
		seen[<-done] = true
	}
	if len(seen) != 4 {
		t.Errorf("got %v, want four distinct statements", seen)
	}
}
