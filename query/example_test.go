package query_test

import (
	"errors"
	"fmt"

	"octobase/query"
)

func ExampleParse() {
	stmt, err := query.Parse(`select id, prop.title from blocks
		where flavour = 'affine:page' and not has prop.archived
		order by updated desc limit 20`)
	if err != nil {
		panic(err)
	}
	fmt.Println(query.Format(stmt))
	// Output:
	// SELECT id, prop.title FROM blocks WHERE type = 'affine:page' AND NOT HAS prop.archived ORDER BY updated DESC LIMIT 20
}

func ExampleError_Pretty() {
	src := "SELECT * FROM blocks\nWHERE created > 'last tuesday'"
	_, err := query.Parse(src)
	var e *query.Error
	if errors.As(err, &e) {
		fmt.Println(e.Pretty(src))
	}
	// Output:
	// oql: 2:17: created needs a time, got 'last tuesday' (use ISO-8601, like '2024-05-01' or '2024-05-01T12:00:00Z')
	// WHERE created > 'last tuesday'
	//                 ^
}

func ExampleBind() {
	stmt, err := query.Parse("SELECT id FROM blocks WHERE type IN ($1) AND created >= $2 LIMIT $3")
	if err != nil {
		panic(err)
	}
	bound, err := query.Bind(stmt, []any{[]string{"affine:page", "affine:note"}, "2024-05-01", 10})
	if err != nil {
		panic(err)
	}
	fmt.Println(query.Format(bound))
	// Output:
	// SELECT id FROM blocks WHERE type IN ('affine:page', 'affine:note') AND created >= '2024-05-01T00:00:00Z' LIMIT 10
}

func ExampleDump() {
	e, err := query.ParseExpr("HAS parent AND prop.n > 1")
	if err != nil {
		panic(err)
	}
	fmt.Print(query.Dump(e))
	// Output:
	// And 1:1
	//   Has 1:1
	//     Field 1:5 parent
	//   Compare 1:16 >
	//     Field 1:16 prop.n
	//     Literal 1:25 int 1
}
