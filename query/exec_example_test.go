package query_test

import (
	"context"
	"fmt"

	"octobase/query"
)

func ExampleExec() {
	src := query.NewMemSource([]query.Block{
		{ID: "page-1", Type: "affine:page", Creator: "ann", Props: map[string]any{"title": "Budget"}},
		{ID: "para-1", Type: "affine:paragraph", Creator: "ann", Parent: "page-1", Props: map[string]any{"text": "costs"}},
		{ID: "para-2", Type: "affine:paragraph", Creator: "bob", Parent: "page-1", Links: []string{"page-1"}},
	})
	stmt, _ := query.Parse(`SELECT id, creator FROM blocks WHERE CHILD OF $1 AND NOT HAS prop.text`)
	bound, _ := query.Bind(stmt, []any{"page-1"})
	res, err := query.Exec(context.Background(), bound, src)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Columns, res.Rows)

	stmt, _ = query.Parse(`EXPLAIN SELECT id FROM blocks WHERE CHILD OF 'page-1' AND NOT HAS prop.text`)
	res, _ = query.Exec(context.Background(), stmt, src)
	for _, row := range res.Rows {
		fmt.Println(row[0])
	}
	// Output:
	// [id creator] [[para-2 bob]]
	// select: SELECT id FROM blocks
	// rows: sure 0 (from bitmaps), maybe 2 (filtered by the residual)
	// residual: CHILD OF 'page-1' AND NOT HAS prop.text
	// access: look up the sure and maybe rows
	// AND: candidate, sure 0, maybe 2
	//   CHILD OF 'page-1': index children['page-1'], exact, sure 2, maybe 0
	//   NOT: candidate, sure 0, maybe 3
	//     filter HAS prop.text
}
