package bindings_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/query"
)

// Example is the Go example of docs/embedding.md: open a store, edit blocks
// in a transaction, query them with OQL, watch the change stream and sync a
// replica with state vectors and diffs.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "octobase-example-")
	defer os.RemoveAll(dir)

	store, err := engine.Open(dir, nil) // fsync every write; see engine.Options
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	ws, err := store.Workspace(ctx, "notes") // created on first use
	if err != nil {
		log.Fatal(err)
	}
	sub, _ := ws.Subscribe(ctx, 0) // changes after now
	defer sub.Close()

	// Edit blocks in one transaction: one yjs update, one log record.
	_, err = ws.Transact(ctx, "example", func(_ *crdt.Txn, b *engine.Blocks) error {
		page, err := b.Create(engine.NewBlock{ID: "todo", Flavour: "affine:page",
			Props: map[string]any{"title": engine.RichText{Text: "Todo"}}})
		if err != nil {
			return err
		}
		_, err = b.Create(engine.NewBlock{ID: "todo-1", Flavour: "affine:paragraph", Parent: page,
			Props: map[string]any{"item": "milk"}})
		return err
	})
	if err != nil {
		log.Fatal(err)
	}

	// OQL.
	stmt, _ := query.Parse("SELECT prop.item FROM blocks WHERE CHILD OF $1")
	stmt, _ = query.Bind(stmt, []any{"todo"})
	src, _ := query.NewWorkspaceSource(ctx, ws)
	res, err := query.Exec(ctx, stmt, src)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Columns, res.Rows)

	// The change stream.
	c := <-sub.C
	fmt.Println(c.LSN, c.Origin, c.Blocks[0].ID, c.Blocks[0].Op)

	// Sync a replica (any yjs peer): it sends its state vector, we send the diff.
	other, _ := engine.Open(dir+"-replica", nil)
	defer os.RemoveAll(dir + "-replica")
	defer other.Close()
	replica, _ := other.Workspace(ctx, "notes")
	sv, _ := replica.StateVector(ctx)
	diff, _ := ws.EncodeStateAsUpdate(ctx, sv)
	if _, err := replica.Apply(ctx, diff, "sync"); err != nil {
		log.Fatal(err)
	}
	b, _, _ := replica.Get(ctx, "todo")
	fmt.Println(b.Props["title"].(engine.RichText).Text, len(b.Children))
	// Output:
	// [prop.item] [[milk]]
	// 1 example todo created
	// Todo 1
}
