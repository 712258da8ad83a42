package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"octobase/engine/crdt"
	"octobase/engine/lib0"
)

// yjsABC is an update written by yjs 13: client 1 inserts "abc" into the
// root text "t" (new Y.Doc(), clientID = 1, getText('t').insert(0, 'abc')).
var yjsABC = []byte{0x01, 0x01, 0x01, 0x00, 0x04, 0x01, 0x01, 0x74, 0x03, 0x61, 0x62, 0x63, 0x00}

// editUpdates returns the v1 updates of a deterministic editing session:
// client 1 creates a map, a text, an array and an XML fragment (one
// transaction each); client 2 receives them and edits all four
// concurrently-looking: overwrites and deletes map keys, inserts and
// formats text, deletes from the array and edits the XML.
func editUpdates(t testing.TB) [][]byte {
	t.Helper()
	var ups [][]byte
	d1 := crdt.MustNewDoc(crdt.Options{ClientID: 1})
	d2 := crdt.MustNewDoc(crdt.Options{ClientID: 2})
	collect := func(d *crdt.Doc) {
		d.OnUpdate(func(u []byte, tx *crdt.Txn) {
			if tx.Local {
				ups = append(ups, bytes.Clone(u))
			}
		})
	}
	collect(d1)
	collect(d2)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	m, err := d1.GetMap("m")
	must(err)
	txt, err := d1.GetText("t")
	must(err)
	arr, err := d1.GetArray("a")
	must(err)
	frag, err := d1.GetXmlFragment("x")
	must(err)
	d1.Transact(nil, func(tx *crdt.Txn) {
		must(m.Set(tx, "title", "Hello"))
		must(m.Set(tx, "n", 42))
		must(m.Set(tx, "tags", []any{"a", "b"}))
		must(m.Set(tx, "big", lib0.BigInt(1<<60)))
		must(m.Set(tx, "meta", crdt.NewMap()))
		meta, _ := m.Get("meta")
		must(meta.(*crdt.Map).Set(tx, "owner", "ada"))
	})
	d1.Transact(nil, func(tx *crdt.Txn) {
		must(txt.Insert(tx, 0, "Hello world", nil))
		must(txt.Format(tx, 0, 5, map[string]any{"bold": true}))
	})
	d1.Transact(nil, func(tx *crdt.Txn) {
		must(arr.Push(tx, 1, "two", map[string]any{"three": 3.5}, nil, true))
	})
	d1.Transact(nil, func(tx *crdt.Txn) {
		p := crdt.NewXmlElement("p")
		must(frag.Insert(tx, 0, p))
		must(p.SetAttribute(tx, "class", "lead"))
		xt := crdt.NewXmlText()
		must(p.Insert(tx, 0, xt))
		must(xt.Insert(tx, 0, "hi", nil))
	})
	for _, u := range ups {
		must(d2.ApplyUpdate(u, "remote"))
	}

	m2, err := d2.GetMap("m")
	must(err)
	txt2, err := d2.GetText("t")
	must(err)
	arr2, err := d2.GetArray("a")
	must(err)
	frag2, err := d2.GetXmlFragment("x")
	must(err)
	d2.Transact(nil, func(tx *crdt.Txn) {
		must(m2.Set(tx, "title", "Hi"))
		m2.Delete(tx, "n")
	})
	d2.Transact(nil, func(tx *crdt.Txn) {
		must(txt2.Insert(tx, 5, ",", nil))
		must(txt2.InsertEmbed(tx, 12, map[string]any{"image": "x.png"}, nil))
	})
	d2.Transact(nil, func(tx *crdt.Txn) {
		must(arr2.Delete(tx, 0, 1))
	})
	d2.Transact(nil, func(tx *crdt.Txn) {
		must(frag2.Insert(tx, 1, crdt.NewXmlElement("hr")))
	})
	if len(ups) != 8 {
		t.Fatalf("got %d updates, want 8", len(ups))
	}
	return ups
}

// writeFiles writes each update to its own file in a new temporary
// directory and returns the paths.
func writeFiles(t *testing.T, ups [][]byte) []string {
	t.Helper()
	dir := t.TempDir()
	paths := make([]string, len(ups))
	for i, u := range ups {
		paths[i] = filepath.Join(dir, fmt.Sprintf("u%d.bin", i))
		writeFile(t, paths[i], u)
	}
	return paths
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// framed returns the updates as one framed stream.
func framed(ups ...[]byte) []byte {
	var b []byte
	for _, u := range ups {
		b = lib0.AppendVarBytes(b, u)
	}
	return b
}

func args(first []string, rest ...string) []string {
	return append(append([]string{}, first...), rest...)
}

var allRoots = []string{"--root", "m:map", "--root", "t:text", "--root", "d:delta", "--root", "a:array", "--root", "x:xml"}

func TestUpdateJSONYjs(t *testing.T) {
	r := mustRun(t, yjsABC, "update", "json", "--root", "t:text", "-")
	if r.stdout != "{\n  \"t\": \"abc\"\n}\n" || r.stderr != "" {
		t.Errorf("got %q, stderr %q", r.stdout, r.stderr)
	}
	r = mustRun(t, yjsABC, "update", "json", "--compact", "--root", "t:text", "-")
	if r.stdout != `{"t":"abc"}`+"\n" {
		t.Errorf("--compact: got %q", r.stdout)
	}
}

func TestUpdateJSONGolden(t *testing.T) {
	ups := editUpdates(t)
	files := writeFiles(t, ups)
	// "d" is the text "t" again, read as a delta ("t" as text and delta
	// would be the same root twice, which --root rejects).
	roots := []string{"--root", "m:map", "--root", "t:delta", "--root", "a:array", "--root", "x:xml"}
	r := mustRun(t, nil, args(args([]string{"update", "json"}, roots...), files...)...)
	checkGolden(t, "json.golden", r.stdout)
	if r.stderr != "" {
		t.Errorf("stderr: %q", r.stderr)
	}
	r = mustRun(t, nil, args([]string{"update", "json", "--compact", "--root", "t:text", "--root", "m:map"}, files...)...)
	checkGolden(t, "json-compact.golden", r.stdout)

	// Without --root: the root names, and a hint on stderr.
	r = mustRun(t, nil, args([]string{"update", "json"}, files...)...)
	if r.stdout != "a\nm\nt\nx\n" {
		t.Errorf("root names: %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "pass --root NAME:KIND") {
		t.Errorf("no --root hint: %q", r.stderr)
	}
	// A root the document does not have prints as an empty value, as yjs.
	r = mustRun(t, nil, args([]string{"update", "json", "--compact", "--root", "none:map", "--root", "space:blocks:array"}, files...)...)
	if r.stdout != `{"none":{},"space:blocks":[]}`+"\n" {
		t.Errorf("absent roots: %q", r.stdout)
	}
}

func TestUpdateInspectGolden(t *testing.T) {
	ups := editUpdates(t)
	files := writeFiles(t, ups)
	var b strings.Builder
	for i, f := range files {
		r := mustRun(t, nil, "update", "inspect", f)
		fmt.Fprintf(&b, "==== update %d\n%s", i, r.stdout)
	}
	checkGolden(t, "inspect.golden", b.String())

	dir := t.TempDir()
	stream := filepath.Join(dir, "stream.bin")
	writeFile(t, stream, framed(yjsABC, ups[0]))
	r := mustRun(t, nil, "update", "inspect", "--framed", stream)
	checkGolden(t, "inspect-framed.golden", r.stdout)

	// v2 input lists the same structs.
	v2, err := crdt.ConvertUpdateV1ToV2(ups[0])
	if err != nil {
		t.Fatal(err)
	}
	r2 := mustRun(t, v2, "update", "inspect", "--in-v2", "-")
	r1 := mustRun(t, ups[0], "update", "inspect", "-")
	if r1.stdout != r2.stdout {
		t.Errorf("inspect v2:\n%s\nv1:\n%s", r2.stdout, r1.stdout)
	}
}

// The state of the merged updates equals the state of applying them one
// after the other, in both formats, and every output reads back.
func TestUpdateRoundTrips(t *testing.T) {
	ups := editUpdates(t)
	files := writeFiles(t, ups)
	dir := t.TempDir()
	state := mustRun(t, nil, args([]string{"update", "state"}, files...)...).stdout

	// The reference: a document that applied the updates itself.
	ref := crdt.MustNewDoc(crdt.Options{ClientID: 99})
	for _, u := range ups {
		if err := ref.ApplyUpdate(u, nil); err != nil {
			t.Fatal(err)
		}
	}
	if want := string(ref.EncodeStateAsUpdate(nil)); state != want {
		t.Errorf("state differs from a document's own EncodeStateAsUpdate")
	}

	merged := mustRun(t, nil, args([]string{"update", "merge"}, files...)...).stdout
	if got := mustRun(t, []byte(merged), "update", "state", "-").stdout; got != state {
		t.Errorf("state(merge(updates)) != state(updates)")
	}
	// Applying the state again, or twice, changes nothing.
	stateFile := filepath.Join(dir, "state.bin")
	writeFile(t, stateFile, []byte(state))
	if got := mustRun(t, nil, "update", "state", stateFile, files[3], stateFile).stdout; got != state {
		t.Errorf("re-applying updates changed the state")
	}

	// v1 -> v2 -> v1.
	stateV2 := mustRun(t, nil, args([]string{"update", "state", "--v2"}, files...)...).stdout
	if want := string(ref.EncodeStateAsUpdateV2(nil)); stateV2 != want {
		t.Errorf("state --v2 differs from EncodeStateAsUpdateV2")
	}
	if got := mustRun(t, []byte(stateV2), "update", "state", "--in-v2", "-").stdout; got != state {
		t.Errorf("state --in-v2 of the v2 state != v1 state")
	}
	mergedV2 := mustRun(t, nil, args([]string{"update", "merge", "--v2"}, files...)...).stdout
	if got := mustRun(t, []byte(mergedV2), "update", "state", "--in-v2", "-").stdout; got != state {
		t.Errorf("state(merge --v2) != state")
	}
	mergedBack := mustRun(t, []byte(mergedV2), "update", "merge", "--in-v2", "-").stdout
	if mergedBack != merged {
		t.Errorf("merge --in-v2 of merge --v2 != merge")
	}
	// Merging v2 inputs directly.
	var v2files []string
	for i, u := range ups {
		v2, err := crdt.ConvertUpdateV1ToV2(u)
		if err != nil {
			t.Fatal(err)
		}
		v2files = append(v2files, filepath.Join(dir, fmt.Sprintf("v2-%d.bin", i)))
		writeFile(t, v2files[i], v2)
	}
	if got := mustRun(t, nil, args([]string{"update", "state", "--in-v2"}, v2files...)...).stdout; got != state {
		t.Errorf("state --in-v2 of v2 updates != state")
	}
	if got := mustRun(t, nil, args([]string{"update", "merge", "--in-v2"}, v2files...)...).stdout; got != merged {
		t.Errorf("merge --in-v2 of v2 updates != merge of v1 updates")
	}

	// JSON is the same from the updates, the state, the merge and v2.
	want := mustRun(t, nil, args(args([]string{"update", "json"}, allRoots...), files...)...).stdout
	for name, in := range map[string][]string{
		"state":  {"-"},
		"merged": {"-"},
		"v2":     {"--in-v2", "-"},
	} {
		stdin := map[string]string{"state": state, "merged": merged, "v2": stateV2}[name]
		got := mustRun(t, []byte(stdin), args(args([]string{"update", "json"}, allRoots...), in...)...).stdout
		if got != want {
			t.Errorf("json of %s:\n%s\nwant\n%s", name, got, want)
		}
	}

	// sv matches the document's state vector, in base64 and raw.
	wantSV := crdt.EncodeStateVector(ref.StateVector())
	if got := mustRun(t, nil, args([]string{"update", "sv"}, files...)...).stdout; got != base64.StdEncoding.EncodeToString(wantSV)+"\n" {
		t.Errorf("sv: %q", got)
	}
	if got := mustRun(t, []byte(stateV2), "update", "sv", "--raw", "--in-v2", "-").stdout; got != string(wantSV) {
		t.Errorf("sv --raw --in-v2: %x, want %x", got, wantSV)
	}
}

// diff against the state vector of a prefix of the updates gives what the
// prefix lacks: prefix + diff = everything.
func TestUpdateDiff(t *testing.T) {
	ups := editUpdates(t)
	files := writeFiles(t, ups)
	dir := t.TempDir()
	state := mustRun(t, nil, args([]string{"update", "state"}, files...)...).stdout
	stateFile := filepath.Join(dir, "state.bin")
	writeFile(t, stateFile, []byte(state))

	prefix := files[:4:4]
	svRaw := mustRun(t, nil, args([]string{"update", "sv", "--raw"}, prefix...)...).stdout
	svFile := filepath.Join(dir, "prefix.sv")
	writeFile(t, svFile, []byte(svRaw))
	svB64 := strings.TrimSpace(mustRun(t, nil, args([]string{"update", "sv"}, prefix...)...).stdout)

	diff := mustRun(t, nil, "update", "diff", "--sv", svFile, stateFile).stdout
	if got := mustRun(t, nil, "update", "diff", "--sv-base64", svB64, stateFile).stdout; got != diff {
		t.Errorf("--sv-base64 and --sv disagree")
	}
	if got := mustRun(t, nil, "update", "diff", "--sv-base64", strings.TrimRight(svB64, "="), stateFile).stdout; got != diff {
		t.Errorf("unpadded base64 not accepted")
	}
	if len(diff) >= len(state) {
		t.Errorf("diff (%d bytes) is not smaller than the state (%d bytes)", len(diff), len(state))
	}
	diffFile := filepath.Join(dir, "diff.bin")
	writeFile(t, diffFile, []byte(diff))
	if got := mustRun(t, nil, args([]string{"update", "state"}, append(prefix, diffFile)...)...).stdout; got != state {
		t.Errorf("state(prefix + diff) != state")
	}
	// The sv from stdin, and v2 in and out.
	if got := mustRun(t, []byte(svRaw), "update", "diff", "--sv", "-", stateFile).stdout; got != diff {
		t.Errorf("--sv - differs")
	}
	stateV2 := mustRun(t, nil, args([]string{"update", "state", "--v2"}, files...)...).stdout
	diffV2 := mustRun(t, []byte(stateV2), "update", "diff", "--in-v2", "--v2", "--sv", svFile, "-").stdout
	if got := mustRun(t, []byte(diffV2), "update", "merge", "--in-v2", "-").stdout; got != diff {
		back, _ := crdt.ConvertUpdateV2ToV1([]byte(diffV2))
		if string(back) != diff {
			t.Errorf("diff --in-v2 --v2 does not match diff")
		}
	}
	// Diff against an empty state vector is the whole update.
	// (The bytes may differ: like yjs' diffUpdate, a struct decoded without
	// a document loses the parentSub flag of its info byte.)
	whole := mustRun(t, nil, "update", "diff", "--sv-base64", "AA==", stateFile).stdout
	if got := mustRun(t, []byte(whole), "update", "state", "-").stdout; got != state {
		t.Errorf("diff against the empty state vector != state")
	}
	// A framed FILE is merged first.
	stream := filepath.Join(dir, "stream.bin")
	writeFile(t, stream, framed(ups...))
	if got := mustRun(t, nil, "update", "diff", "--framed", "--sv", svFile, stream).stdout; got != diff {
		mergedDiff := mustRun(t, []byte(got), args([]string{"update", "state"}, append(prefix, "-")...)...).stdout
		if mergedDiff != state {
			t.Errorf("framed diff does not complete the prefix")
		}
	}
}

func TestUpdateFramed(t *testing.T) {
	ups := editUpdates(t)
	files := writeFiles(t, ups)
	dir := t.TempDir()
	state := mustRun(t, nil, args([]string{"update", "state"}, files...)...).stdout
	merged := mustRun(t, nil, args([]string{"update", "merge"}, files...)...).stdout

	// One stream, and the same split over two files and stdin.
	stream := filepath.Join(dir, "stream.bin")
	writeFile(t, stream, framed(ups...))
	first := filepath.Join(dir, "first.bin")
	writeFile(t, first, framed(ups[:3]...))
	empty := filepath.Join(dir, "empty.bin")
	writeFile(t, empty, nil)
	for _, tc := range []struct {
		stdin []byte
		files []string
	}{
		{nil, []string{stream}},
		{framed(ups[3:]...), []string{first, empty, "-"}},
	} {
		if got := mustRun(t, tc.stdin, args([]string{"update", "state", "--framed"}, tc.files...)...).stdout; got != state {
			t.Errorf("state --framed %v != state", tc.files)
		}
		if got := mustRun(t, tc.stdin, args([]string{"update", "merge", "--framed"}, tc.files...)...).stdout; got != merged {
			t.Errorf("merge --framed %v != merge", tc.files)
		}
	}
	if got, want := mustRun(t, nil, "update", "sv", "--framed", stream).stdout, mustRun(t, nil, args([]string{"update", "sv"}, files...)...).stdout; got != want {
		t.Errorf("sv --framed: %q, want %q", got, want)
	}
	// A stream of v2 updates.
	var v2s [][]byte
	for _, u := range ups {
		v2, err := crdt.ConvertUpdateV1ToV2(u)
		if err != nil {
			t.Fatal(err)
		}
		v2s = append(v2s, v2)
	}
	if got := mustRun(t, framed(v2s...), "update", "state", "--framed", "--in-v2", "-").stdout; got != state {
		t.Errorf("state --framed --in-v2 != state")
	}
	// An empty framed file is no updates: an empty document.
	if got := mustRun(t, nil, "update", "state", "--framed", empty).stdout; got != "\x00\x00" {
		t.Errorf("state of no updates: %x", got)
	}
	if got := mustRun(t, nil, "update", "inspect", "--framed", empty).stdout; got != "no frames\n" {
		t.Errorf("inspect of no frames: %q", got)
	}

	// Truncated streams name the file and the offset of the bad frame.
	full := framed(ups...)
	lastOff := len(full) - len(ups[7]) - 1 // ups[7] is short: one length byte
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{full[:len(full)-1], fmt.Sprintf("truncated frame 7 at byte offset %d: length %d, but only %d bytes remain", lastOff, len(ups[7]), len(ups[7])-1)},
		{append(full[:len(full):len(full)], 0x85), fmt.Sprintf("truncated frame 8 at byte offset %d: the length prefix is cut off", len(full))},
		{append(full[:len(full):len(full)], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), fmt.Sprintf("bad frame 8 at byte offset %d: length prefix: lib0: integer overflow", len(full))},
	} {
		bad := filepath.Join(dir, "bad.bin")
		writeFile(t, bad, tc.data)
		for _, sub := range []string{"state", "merge", "sv", "json", "inspect"} {
			r := runCLI(t, nil, "update", sub, "--framed", bad)
			want := fmt.Sprintf("octobase: update %s: %s: %s\n", sub, bad, tc.want)
			if r.code != exitError || r.stderr != want || r.stdout != "" {
				t.Errorf("%s: exit %d, stderr %q, want 1 and %q", sub, r.code, r.stderr, want)
			}
		}
	}
}

// Updates whose dependencies are missing stay pending, are kept in the
// state, and a warning names what is missing.
func TestUpdatePending(t *testing.T) {
	ups := editUpdates(t)
	files := writeFiles(t, ups)
	dir := t.TempDir()
	state := mustRun(t, nil, args([]string{"update", "state"}, files...)...).stdout

	// Client 2's updates without client 1's.
	r := mustRun(t, nil, args([]string{"update", "state"}, files[4:]...)...)
	want := "octobase: update state: warning: updates depend on changes that are missing (client 1 from clock 0); they are kept as pending and included in the output\n"
	if r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	partial := filepath.Join(dir, "partial.bin")
	writeFile(t, partial, []byte(r.stdout))
	r = mustRun(t, nil, args([]string{"update", "state"}, append(files[:4:4], partial)...)...)
	if r.stdout != state || r.stderr != "" {
		t.Errorf("state(client 1 + pending state of client 2) != state; stderr %q", r.stderr)
	}
	// Deletions of content nobody sent are pending too.
	dsOnly := []byte{0x00, 0x01, 0x05, 0x01, 0x00, 0x02} // client 5 deletes [0,2)
	r = mustRun(t, dsOnly, "update", "state", "-")
	if r.stdout != string(dsOnly) || r.stderr != "octobase: update state: warning: some deletions refer to content that is missing; they are kept as pending and included in the output\n" {
		t.Errorf("pending deletions: stdout %x stderr %q", r.stdout, r.stderr)
	}
	r = mustRun(t, dsOnly, "update", "json", "--root", "t:text", "-")
	if !strings.HasSuffix(r.stderr, "warning: some deletions refer to content that is missing; they are not applied\n") {
		t.Errorf("pending deletions, json: stderr %q", r.stderr)
	}
	// json warns that pending content is not shown.
	r = mustRun(t, nil, args([]string{"update", "json", "--root", "m:map"}, files[4:]...)...)
	if !strings.Contains(r.stderr, "warning: updates depend on changes that are missing (client 1 from clock 0); their content is not shown") {
		t.Errorf("json stderr: %q", r.stderr)
	}
}

// Every error is one line on stderr and exit 1 (usage mistakes: exit 2,
// with the usage); none is a recovered panic.
func TestUpdateErrors(t *testing.T) {
	ups := editUpdates(t)
	files := writeFiles(t, ups)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.bin")
	writeFile(t, bad, []byte{0x01, 0x01, 0x05, 0x00, 0x04})
	garbage := filepath.Join(dir, "garbage.bin")
	writeFile(t, garbage, []byte("this is not a yjs update"))
	v2, err := crdt.ConvertUpdateV1ToV2(ups[0])
	if err != nil {
		t.Fatal(err)
	}
	v2file := filepath.Join(dir, "v2.bin")
	writeFile(t, v2file, v2)
	missing := filepath.Join(dir, "missing.bin")
	badSV := filepath.Join(dir, "bad.sv")
	writeFile(t, badSV, []byte{0x05, 0x01})

	errCases := []struct {
		stdin []byte
		args  []string
		want  string // the whole stderr line after "octobase: "
	}{
		{nil, []string{"update", "state", missing}, "update state: " + missing + ": no such file or directory"},
		{nil, []string{"update", "state", dir}, "update state: " + dir + ": is a directory"},
		{nil, []string{"update", "state", files[0], bad}, "update state: " + bad + ": crdt: decode update: lib0: unexpected end of input"},
		{nil, []string{"update", "merge", files[0], bad}, "update merge: " + bad + ": crdt: decode update: lib0: unexpected end of input"},
		{nil, []string{"update", "merge", bad}, "update merge: " + bad + ": crdt: decode update: lib0: unexpected end of input"},
		{nil, []string{"update", "sv", bad, files[0]}, "update sv: " + bad + ": crdt: decode update: lib0: unexpected end of input"},
		{nil, []string{"update", "json", "--root", "t:text", bad}, "update json: " + bad + ": crdt: decode update: lib0: unexpected end of input"},
		{nil, []string{"update", "inspect", bad}, "update inspect: " + bad + ": crdt: decode update: lib0: unexpected end of input"},
		{nil, []string{"update", "diff", "--sv-base64", "AA==", bad}, "update diff: " + bad + ": crdt: decode update: lib0: unexpected end of input"},
		{nil, []string{"update", "diff", "--sv", badSV, files[0]}, "update diff: --sv " + badSV + ": crdt: decode state vector: lib0: unexpected end of input"},
		{nil, []string{"update", "diff", "--sv", missing, files[0]}, "update diff: --sv " + missing + ": no such file or directory"},
		{nil, []string{"update", "diff", "--sv-base64", "!!", files[0]}, "update diff: --sv-base64: invalid base64: illegal base64 data at input byte 0"},
		{nil, []string{"update", "diff", "--sv-base64", "BQE=", files[0]}, "update diff: --sv-base64: crdt: decode state vector: lib0: unexpected end of input"},
		{[]byte{0x01}, []string{"update", "state", "-"}, "update state: stdin: crdt: decode update: lib0: unexpected end of input"},
		{framed(ups[0], []byte{0x07}), []string{"update", "state", "--framed", "-"}, "update state: stdin: frame 1 (byte offset " + fmt.Sprint(len(framed(ups[0]))) + "): crdt: decode update: lib0: unexpected end of input"},
	}
	for _, tc := range errCases {
		r := runCLI(t, tc.stdin, tc.args...)
		if r.code != exitError || r.stderr != "octobase: "+tc.want+"\n" || r.stdout != "" {
			t.Errorf("%v:\n exit %d stderr %q\n want 1 %q", tc.args, r.code, r.stderr, "octobase: "+tc.want+"\n")
		}
	}

	// Input in the wrong format, or garbage, is an error, whatever its text.
	for _, a := range [][]string{
		{"update", "state", garbage},
		{"update", "state", "--in-v2", garbage},
		{"update", "state", "--in-v2", files[0]},
		{"update", "merge", "--in-v2", files[0], files[1]},
		{"update", "sv", "--in-v2", files[0]},
		{"update", "json", "--in-v2", "--root", "m:map", files[0]},
		{"update", "inspect", "--in-v2", files[0]},
	} {
		r := runCLI(t, nil, a...)
		if r.code != exitError || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "octobase: update ") {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and one line", a, r.code, r.stderr)
		}
	}

	// v1 read as v2 fails with a hint; v2 read as v1 often decodes (as an
	// empty update), so a warning says what it probably is.
	r := runCLI(t, nil, "update", "state", "--in-v2", files[0])
	if r.code != exitError || !strings.HasSuffix(r.stderr, "(it decodes as a v1 update: drop --in-v2)\n") {
		t.Errorf("v1 as v2: exit %d stderr %q", r.code, r.stderr)
	}
	for _, sub := range []string{"state", "merge", "sv", "json", "inspect"} {
		r := runCLI(t, nil, "update", sub, v2file)
		want := "octobase: update " + sub + ": warning: " + v2file + " has no structs as a v1 update but decodes as a v2 update with structs: pass --in-v2 if it is v2\n"
		if r.code != exitOK || !strings.HasPrefix(r.stderr, want) {
			t.Errorf("v2 as v1 (%s): exit %d stderr %q, want %q", sub, r.code, r.stderr, want)
		}
	}

	usageCases := []struct {
		stdin []byte
		args  []string
		want  string // first line of stderr
	}{
		{nil, []string{"update", "json", "--root", "t", files[0]}, `update json: invalid value "t" for flag --root: want NAME:KIND, e.g. t:text`},
		{nil, []string{"update", "json", "--root", ":text", files[0]}, `update json: invalid value ":text" for flag --root: empty root NAME (want NAME:KIND)`},
		{nil, []string{"update", "json", "--root", "t:string", files[0]}, `update json: invalid value "t:string" for flag --root: unknown KIND "string" (want text, delta, map, array, xml)`},
		{nil, []string{"update", "json", "--root", "t:text", "--root", "t:delta", files[0]}, `update json: invalid value "t:delta" for flag --root: root "t" given twice`},
		{nil, []string{"update", "json", "--root"}, `update json: flag needs an argument: --root`},
		{nil, []string{"update", "diff", files[0]}, "update diff: give the state vector with either --sv FILE or --sv-base64 S"},
		{nil, []string{"update", "diff", "--sv", "x", "--sv-base64", "AA==", files[0]}, "update diff: give the state vector with either --sv FILE or --sv-base64 S"},
		{nil, []string{"update", "diff", "--sv-base64", "AA==", files[0], files[1]}, "update diff: want exactly one FILE, got 2"},
		{nil, []string{"update", "diff", "--sv", "-", "-"}, "update diff: stdin (-) given for both --sv and FILE"},
		{nil, []string{"update", "inspect"}, "update inspect: want exactly one FILE, got 0"},
		{nil, []string{"update", "merge", "-", "-"}, "update merge: stdin (-) given more than once"},
		{nil, []string{"update", "sv"}, "update sv: no FILE given (use - to read stdin)"},
		{nil, []string{"update", "state", "--v3", files[0]}, "update state: flag provided but not defined: --v3"},
	}
	for _, tc := range usageCases {
		r := runCLI(t, tc.stdin, tc.args...)
		first, rest, _ := strings.Cut(r.stderr, "\n")
		if r.code != exitUsage || first != "octobase: "+tc.want || !strings.Contains(rest, "Usage: octobase "+strings.Join(tc.args[:2], " ")) {
			t.Errorf("%v:\n exit %d stderr %q\n want 2 %q and the usage", tc.args, r.code, r.stderr, "octobase: "+tc.want)
		}
	}
}

// Flags may follow the files; "--" ends the flags.
func TestUpdateFlagPlacement(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "abc.bin")
	writeFile(t, f, yjsABC)
	want := `{"t":"abc"}` + "\n"
	for _, a := range [][]string{
		{"update", "json", f, "--root", "t:text", "--compact"},
		{"update", "json", "--compact", f, "--root=t:text"},
		{"update", "json", "--compact", "--root", "t:text", "--", f},
	} {
		if got := mustRun(t, nil, a...).stdout; got != want {
			t.Errorf("%v: %q", a, got)
		}
	}
	r := runCLI(t, nil, "update", "json", "--root", "t:text", "--", "--compact")
	if r.code != exitError || !strings.Contains(r.stderr, "--compact: no such file") {
		t.Errorf("after --, --compact must be a FILE: %+v", r)
	}
}

// Damaged updates (bytes flipped, cut, inserted) through every command give
// a result or an ordinary error, never a recovered panic.
func TestUpdateNoPanics(t *testing.T) {
	ups := editUpdates(t)
	ref := crdt.MustNewDoc(crdt.Options{ClientID: 99})
	for _, u := range ups {
		if err := ref.ApplyUpdate(u, nil); err != nil {
			t.Fatal(err)
		}
	}
	seeds := append(ups, ref.EncodeStateAsUpdate(nil), ref.EncodeStateAsUpdateV2(nil), yjsABC)
	rng := rand.New(rand.NewPCG(1, 2))
	n := 300
	if testing.Short() {
		n = 50
	}
	for range n {
		in := mutate(rng, seeds[rng.IntN(len(seeds))])
		for _, a := range updateArgSets {
			r := runCLI(t, in, a...)
			if r.code == exitInternal {
				t.Fatalf("octobase %s on %x: internal error:\n%s", strings.Join(a, " "), in, r.stderr)
			}
			if r.code == exitError && strings.Count(r.stderr, "\n") != 1 {
				t.Fatalf("octobase %s on %x: error is not one line: %q", strings.Join(a, " "), in, r.stderr)
			}
		}
	}
}

var updateArgSets = [][]string{
	{"update", "state", "-"},
	{"update", "state", "--in-v2", "--v2", "-"},
	{"update", "merge", "-"},
	{"update", "merge", "--in-v2", "-"},
	{"update", "merge", "--v2", "--framed", "-"},
	{"update", "sv", "-"},
	{"update", "sv", "--in-v2", "-"},
	{"update", "diff", "--sv-base64", "AgEBAgI=", "-"},
	{"update", "diff", "--in-v2", "--sv-base64", "AgEBAgI=", "-"},
	{"update", "json", "--root", "m:map", "--root", "t:delta", "--root", "a:array", "--root", "x:xml", "-"},
	{"update", "json", "--in-v2", "--root", "m:text", "--root", "t:map", "--root", "a:xml", "--root", "x:array", "-"},
	{"update", "inspect", "-"},
	{"update", "inspect", "--in-v2", "-"},
}

func mutate(rng *rand.Rand, seed []byte) []byte {
	b := bytes.Clone(seed)
	for range 1 + rng.IntN(3) {
		if len(b) == 0 {
			return b
		}
		switch i := rng.IntN(len(b)); rng.IntN(4) {
		case 0:
			b[i] ^= byte(1 << rng.IntN(8))
		case 1:
			b[i] = byte(rng.IntN(256))
		case 2:
			b = b[:i]
		case 3:
			b = append(b[:i:i], append([]byte{byte(rng.IntN(256))}, b[i:]...)...)
		}
	}
	return b
}

// FuzzUpdate runs every update command on arbitrary bytes: no input may
// make the CLI panic.
func FuzzUpdate(f *testing.F) {
	for _, u := range editUpdates(f) {
		f.Add(u)
	}
	f.Add(yjsABC)
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, a := range updateArgSets {
			if r := runCLI(t, in, a...); r.code == exitInternal {
				t.Fatalf("octobase %s: internal error:\n%s", strings.Join(a, " "), r.stderr)
			}
		}
	})
}
