package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"octobase/bindings/bindingtest"
	"octobase/engine"
)

// TestC builds the library both ways, compiles bindings/c/octobase_test.c against the
// hand-written header and runs it: it applies an update made by a Go
// workspace, edits, queries and polls through the C ABI, checks the error
// cases, and hands back a diff that the Go workspace applies.
func TestC(t *testing.T) {
	gcc := bindingtest.Tool(t, "gcc")
	for _, mode := range []string{"c-shared", "c-archive"} {
		t.Run(mode, func(t *testing.T) {
			lib := bindingtest.BuildLibrary(t, mode)
			lib.CheckHeader(t)

			exe := compile(t, gcc, lib, mode, "octobase_test.c")

			// The example of docs/embedding.md.
			out := bindingtest.Run(t, exec.Command(compile(t, gcc, lib, mode, "example.c")))
			if want := `{"columns":["prop.item"],"rows":[{"prop.item":"milk"}]}` + "\n-6 octobase: apply update: "; !strings.HasPrefix(out, want) {
				t.Errorf("example.c printed %q, want it to start with %q", out, want)
			}

			peer := bindingtest.NewPeer(t, "notes", 101)
			update := peer.Edit(t, func(b *engine.Blocks) error {
				if _, err := b.Create(engine.NewBlock{ID: "go-page", Flavour: "affine:page", Creator: "go-user",
					Props: map[string]any{"title": engine.RichText{Text: "Made in Go"}}}); err != nil {
					return err
				}
				_, err := b.Create(engine.NewBlock{ID: "go-para", Flavour: "affine:paragraph", Parent: "go-page"})
				return err
			})
			dir := t.TempDir()
			files := map[string]string{}
			for _, f := range []string{"update", "gosv", "diff", "sv"} {
				files[f] = filepath.Join(dir, f)
			}
			write(t, files["update"], update)
			write(t, files["gosv"], peer.StateVector(t))

			out = bindingtest.Run(t, exec.Command(exe, filepath.Join(dir, "data"),
				files["update"], files["gosv"], files["diff"], files["sv"]))
			t.Logf("C program output:\n%s", out)
			if !strings.HasSuffix(out, "PASS\n") {
				t.Fatalf("the C program did not print PASS")
			}
			if n := strings.Count(out, "expected error:"); n < 25 {
				t.Errorf("only %d error cases were checked", n)
			}

			// Go applies what C made and ends with the same state.
			peer.Apply(t, read(t, files["diff"]))
			peer.SameState(t, read(t, files["sv"]))
			b := peer.Get(t, "c-para")
			if b.Parent != "go-page" || b.Creator != "c-user" || b.Props["done"] != true || b.Props["n"] != float64(42) {
				t.Errorf("c-para in Go = %+v", b)
			}
			if rt, ok := b.Props["text"].(engine.RichText); !ok || rt.Text != "from C!" {
				t.Errorf("c-para text in Go = %#v", b.Props["text"])
			}
			if kids := peer.Get(t, "go-page").Children; len(kids) != 2 || kids[1] != "c-para" {
				t.Errorf("go-page children in Go = %v", kids)
			}
			if _, ok, _ := peer.WS.Get(t.Context(), "c-tmp"); ok {
				t.Errorf("c-tmp, deleted in C, exists in Go")
			}
		})
	}
}

// compile builds bindings/c/<src> against octobase.h and the library.
func compile(t *testing.T, gcc string, lib bindingtest.Library, mode, src string) string {
	t.Helper()
	exe := filepath.Join(lib.Dir, strings.TrimSuffix(src, ".c"))
	bindingtest.Track(t, lib.Header, filepath.Join(bindingtest.Root(t), "bindings", "c", src))
	args := []string{"-std=c11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter",
		"-I", filepath.Dir(lib.Header), "-o", exe,
		filepath.Join(bindingtest.Root(t), "bindings", "c", src)}
	if mode == "c-shared" {
		args = append(args, "-L", lib.Dir, "-loctobase", "-Wl,-rpath,"+lib.Dir)
	} else {
		args = append(args, lib.Path)
	}
	args = append(args, "-lpthread", "-lm")
	bindingtest.Run(t, exec.Command(gcc, args...))
	return exe
}

func TestMain(m *testing.M) { bindingtest.Main(m) }

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
