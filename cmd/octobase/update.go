package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"octobase/engine/crdt"
	"octobase/engine/lib0"
)

// stateClientID is the client id of the documents the update commands build.
// They never edit, so the id is never written anywhere.
const stateClientID = 1

func updateCommand() *Command {
	return &Command{
		Name:  "update",
		Short: "work with yjs updates: apply, merge, diff, inspect, print as JSON",
		Long: `The update commands read yjs updates (the bytes of Y.encodeStateAsUpdate,
doc.on('update') and y-websocket) from files, or from stdin when FILE is -.
Updates are in format v1 unless --in-v2 is given. With --framed, each FILE
holds a stream of updates, each prefixed by its byte length as a lib0 varUint
(lib0 encoding.writeVarUint8Array); docs/cli.md shows how to write one from
Node. Binary output goes to stdout.`,
		Subcommands: []*Command{
			{
				Name:  "state",
				Args:  "FILE...",
				Short: "apply updates to a new document and write its state as one update",
				Long: `State applies the updates, in the order given, to a new empty document and
writes Y.encodeStateAsUpdate of it to stdout (v1, or v2 with --v2). Updates
whose dependencies are missing stay pending and are still included in the
output, as in yjs; a warning on stderr names the missing clocks. Deleted
content is garbage-collected, as yjs does by default; --no-gc keeps it.`,
				Example: `octobase update state a.bin b.bin > state.bin
octobase update state --framed --v2 stream.bin > state-v2.bin
cat a.bin | octobase update state - > state.bin`,
				New: func() Runner { return &updateStateCmd{} },
			},
			{
				Name:  "merge",
				Args:  "FILE...",
				Short: "merge updates into one without a document",
				Long: `Merge combines the updates into one without building a document, like
Y.mergeUpdates: structs are kept as they are (nothing is garbage-collected)
and updates with missing dependencies stay in. The output is v1, or v2 with
--v2.`,
				Example: `octobase update merge a.bin b.bin > merged.bin
octobase update merge --framed --v2 stream.bin > merged-v2.bin`,
				New: func() Runner { return &updateMergeCmd{} },
			},
			{
				Name:  "diff",
				Args:  "FILE",
				Short: "write the part of an update a peer with a given state vector lacks",
				Long: `Diff writes the part of the update in FILE that a peer with the given state
vector lacks, like Y.diffUpdate. The state vector is read from a file holding
its binary encoding (--sv; 'octobase update sv --raw' writes one) or given in
base64 (--sv-base64). A framed FILE is merged first.`,
				Example: `octobase update sv --raw peer.bin > peer.sv
octobase update diff --sv peer.sv state.bin > missing.bin
octobase update diff --sv-base64 AQEBAw== state.bin > missing.bin`,
				New: func() Runner { return &updateDiffCmd{} },
			},
			{
				Name:  "sv",
				Args:  "FILE...",
				Short: "print the state vector of the merged updates",
				Long: `Sv prints the state vector of the merged updates, like
Y.encodeStateVectorFromUpdate: base64 on one line, or the raw bytes with
--raw. A client whose structs have a gap counts only up to the gap.`,
				Example: `octobase update sv state.bin
octobase update sv --raw --framed stream.bin > stream.sv`,
				New: func() Runner { return &updateSVCmd{} },
			},
			{
				Name:  "json",
				Args:  "FILE...",
				Short: "print the document the updates build as JSON",
				Long: `Json applies the updates to a new document and prints the roots named by
--root as one JSON object keyed by root name, like yjs toJSON(). An update does
not record the type of a root, so each root is given as NAME:KIND (repeat
--root for more; the last ':' separates the kind, so 'space:blocks:map' is
the root "space:blocks" as a map). KIND is one of:

  text    Y.Text as a string
  delta   Y.Text as a Quill delta (formatting and embeds kept)
  map     Y.Map as an object (nested shared types as in toJSON)
  array   Y.Array as an array
  xml     Y.XmlFragment as its XML string

A bigint, which JSON.stringify rejects, prints as a decimal string. Without
--root, json lists the names of the roots in the document, one per line.`,
				Example: `octobase update json --root t:text a.bin
octobase update json --compact --root space:blocks:map --root space:meta:map ws.bin
octobase update json state.bin`,
				New: func() Runner { return &updateJSONCmd{} },
			},
			{
				Name:  "inspect",
				Args:  "FILE",
				Short: "print an update's structs, delete set and state vector",
				Long: `Inspect prints the structs of an update (id, length, origins, parent, key and
content), its delete set and the state vector it produces. With --framed,
each frame is listed in turn.`,
				Example: `octobase update inspect a.bin
octobase update inspect --framed stream.bin`,
				New: func() Runner { return &updateInspectCmd{} },
			},
		},
	}
}

// inputFlags are the flags every update command reads its FILEs with.
type inputFlags struct {
	inV2   bool
	framed bool
}

func (f *inputFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.inV2, "in-v2", false, "the input updates are in format v2")
	fs.BoolVar(&f.framed, "framed", false, "each FILE holds many updates, each prefixed by its length (lib0 varUint)")
}

// read reads the updates in files, warning about v2 updates read as v1.
func (f *inputFlags) read(ctx context.Context, env *Env, files []string) ([]input, error) {
	ins, err := readInputs(ctx, env, files, f.framed)
	if err != nil {
		return nil, err
	}
	warnLikelyV2(env, ins, f.inV2)
	return ins, nil
}

// buildDoc applies the inputs in order to a new document.
func buildDoc(ctx context.Context, ins []input, v2, gc bool) (*crdt.Doc, error) {
	doc, err := crdt.NewDoc(crdt.Options{ClientID: stateClientID, DisableGC: !gc})
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if v2 {
			err = doc.ApplyUpdateV2(in.data, nil)
		} else {
			err = doc.ApplyUpdate(in.data, nil)
		}
		if err != nil {
			return nil, decodeErr(in, v2, err)
		}
	}
	return doc, nil
}

// warnPending warns when doc holds structs or deletions that wait for
// missing updates; inOutput says whether the command writes them out (state)
// or not (json). Doc.PendingMissing also names clocks that are pending
// themselves (a struct waits for its predecessor, which waits in turn), so
// clients whose missing clock the pending structs cover are left out: the
// warning names what to fetch.
func warnPending(env *Env, doc *crdt.Doc, inOutput bool) {
	if !doc.HasPending() {
		return
	}
	what := "their content is not shown"
	if inOutput {
		what = "they are kept as pending and included in the output"
	}
	missing := doc.PendingMissing()
	if len(missing) == 0 {
		if !inOutput {
			what = "they are not applied"
		}
		env.Warnf("some deletions refer to content that is missing; %s", what)
		return
	}
	// The clocks each client has from 0 without a gap, pending included.
	var covered crdt.StateVector
	if sv, err := crdt.EncodeStateVectorFromUpdate(doc.EncodeStateAsUpdate(nil)); err == nil {
		covered, _ = crdt.DecodeStateVector(sv)
	}
	var clients []uint64
	for c, k := range missing {
		if k >= covered.Get(c) {
			clients = append(clients, c)
		}
	}
	if len(clients) == 0 {
		for c := range missing {
			clients = append(clients, c)
		}
	}
	slices.Sort(clients)
	parts := make([]string, len(clients))
	for i, c := range clients {
		parts[i] = fmt.Sprintf("client %d from clock %d", c, missing[c])
	}
	env.Warnf("updates depend on changes that are missing (%s); %s", strings.Join(parts, ", "), what)
}

// decodeErr names the input that failed to decode and, when it decodes in
// the other format (with structs, so that it is not a coincidence), says so:
// mixing up v1 and v2 is the usual mistake.
func decodeErr(in input, v2 bool, err error) error {
	if hasStructs(in.data, !v2) {
		if v2 {
			return fmt.Errorf("%s: %w (it decodes as a v1 update: drop --in-v2)", in, err)
		}
		return fmt.Errorf("%s: %w (it decodes as a v2 update: pass --in-v2)", in, err)
	}
	return fmt.Errorf("%s: %w", in, err)
}

// hasStructs reports whether update decodes in the given format and holds
// at least one struct.
func hasStructs(update []byte, v2 bool) bool {
	var b bytes.Buffer
	if crdt.InspectUpdate(&b, update, v2) != nil {
		return false
	}
	// InspectUpdate's listing starts with "structs: N".
	return !bytes.HasPrefix(b.Bytes(), []byte("structs: 0\n"))
}

// warnLikelyV2 warns about inputs read as v1 that decode, but without
// structs, and hold structs as v2: a v2 update (its first byte is 0) often
// decodes as an empty v1 update.
func warnLikelyV2(env *Env, ins []input, v2 bool) {
	if v2 {
		return
	}
	for _, in := range ins {
		// A v1 update starts with its number of clients: 0 means no structs.
		if len(in.data) < 3 || in.data[0] != 0 {
			continue
		}
		if crdt.InspectUpdate(io.Discard, in.data, false) == nil && hasStructs(in.data, true) {
			env.Warnf("%s has no structs as a v1 update but decodes as a v2 update with structs: pass --in-v2 if it is v2", in)
		}
	}
}

// merge merges the inputs (all in format v2 or all v1) into one update of
// the same format. When merging fails, the first input that does not decode
// on its own is named.
func merge(ins []input, v2 bool) ([]byte, error) {
	us := make([][]byte, len(ins))
	for i, in := range ins {
		us[i] = in.data
	}
	var out []byte
	var err error
	if v2 {
		out, err = crdt.MergeUpdatesV2(us)
	} else {
		out, err = crdt.MergeUpdates(us)
	}
	if err == nil {
		return out, nil
	}
	for _, in := range ins {
		if verr := crdt.InspectUpdate(io.Discard, in.data, v2); verr != nil {
			return nil, decodeErr(in, v2, verr)
		}
	}
	if len(ins) == 1 {
		return nil, decodeErr(ins[0], v2, err)
	}
	return nil, err
}

// convert re-encodes update from format inV2 to format outV2.
func convert(update []byte, inV2, outV2 bool) ([]byte, error) {
	switch {
	case inV2 == outV2:
		return update, nil
	case outV2:
		return crdt.ConvertUpdateV1ToV2(update)
	default:
		return crdt.ConvertUpdateV2ToV1(update)
	}
}

type updateStateCmd struct {
	in   inputFlags
	v2   bool
	noGC bool
}

func (c *updateStateCmd) Flags(fs *flag.FlagSet) {
	c.in.register(fs)
	fs.BoolVar(&c.v2, "v2", false, "write the output in format v2")
	fs.BoolVar(&c.noGC, "no-gc", false, "keep deleted content instead of garbage-collecting it")
}

func (c *updateStateCmd) Run(ctx context.Context, env *Env, args []string) error {
	ins, err := c.in.read(ctx, env, args)
	if err != nil {
		return err
	}
	doc, err := buildDoc(ctx, ins, c.in.inV2, !c.noGC)
	if err != nil {
		return err
	}
	warnPending(env, doc, true)
	var out []byte
	if c.v2 {
		out = doc.EncodeStateAsUpdateV2(nil)
	} else {
		out = doc.EncodeStateAsUpdate(nil)
	}
	_, err = env.Stdout.Write(out)
	return err
}

type updateMergeCmd struct {
	in inputFlags
	v2 bool
}

func (c *updateMergeCmd) Flags(fs *flag.FlagSet) {
	c.in.register(fs)
	fs.BoolVar(&c.v2, "v2", false, "write the output in format v2")
}

func (c *updateMergeCmd) Run(ctx context.Context, env *Env, args []string) error {
	ins, err := c.in.read(ctx, env, args)
	if err != nil {
		return err
	}
	out, err := merge(ins, c.in.inV2)
	if err != nil {
		return err
	}
	if out, err = convert(out, c.in.inV2, c.v2); err != nil {
		return err
	}
	_, err = env.Stdout.Write(out)
	return err
}

type updateDiffCmd struct {
	in       inputFlags
	v2       bool
	svFile   string
	svBase64 string
}

func (c *updateDiffCmd) Flags(fs *flag.FlagSet) {
	c.in.register(fs)
	fs.BoolVar(&c.v2, "v2", false, "write the output in format v2")
	fs.StringVar(&c.svFile, "sv", "", "read the binary state vector to diff against from `FILE` (- for stdin)")
	fs.StringVar(&c.svBase64, "sv-base64", "", "the state vector to diff against, as base64 `S`")
}

func (c *updateDiffCmd) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) != 1 {
		return usagef("want exactly one FILE, got %d", len(args))
	}
	var sv []byte
	switch {
	case (c.svFile == "") == (c.svBase64 == ""):
		return usagef("give the state vector with either --sv FILE or --sv-base64 S")
	case c.svFile != "":
		if c.svFile == "-" && args[0] == "-" {
			return usagef("stdin (-) given for both --sv and FILE")
		}
		name, data, err := readFile(env, c.svFile)
		if err != nil {
			return fmt.Errorf("--sv %w", err)
		}
		if _, err := crdt.DecodeStateVector(data); err != nil {
			return fmt.Errorf("--sv %s: %w", name, err)
		}
		sv = data
	default:
		data, err := decodeBase64(c.svBase64)
		if err != nil {
			return fmt.Errorf("--sv-base64: %w", err)
		}
		if _, err := crdt.DecodeStateVector(data); err != nil {
			return fmt.Errorf("--sv-base64: %w", err)
		}
		sv = data
	}
	ins, err := c.in.read(ctx, env, args)
	if err != nil {
		return err
	}
	update, err := merge(ins, c.in.inV2)
	if err != nil {
		return err
	}
	var out []byte
	if c.in.inV2 {
		out, err = crdt.DiffUpdateV2(update, sv)
	} else {
		out, err = crdt.DiffUpdate(update, sv)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", ins[0].file, err)
	}
	if out, err = convert(out, c.in.inV2, c.v2); err != nil {
		return err
	}
	_, err = env.Stdout.Write(out)
	return err
}

// decodeBase64 accepts standard and URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	var firstErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, fmt.Errorf("invalid base64: %w", firstErr)
}

type updateSVCmd struct {
	in  inputFlags
	raw bool
}

func (c *updateSVCmd) Flags(fs *flag.FlagSet) {
	c.in.register(fs)
	fs.BoolVar(&c.raw, "raw", false, "write the binary state vector instead of base64")
}

func (c *updateSVCmd) Run(ctx context.Context, env *Env, args []string) error {
	ins, err := c.in.read(ctx, env, args)
	if err != nil {
		return err
	}
	update, err := merge(ins, c.in.inV2)
	if err != nil {
		return err
	}
	var sv []byte
	if c.in.inV2 {
		sv, err = crdt.EncodeStateVectorFromUpdateV2(update)
	} else {
		sv, err = crdt.EncodeStateVectorFromUpdate(update)
	}
	if err != nil {
		return err
	}
	if c.raw {
		_, err = env.Stdout.Write(sv)
	} else {
		_, err = fmt.Fprintln(env.Stdout, base64.StdEncoding.EncodeToString(sv))
	}
	return err
}

// rootKinds are the KINDs --root accepts.
var rootKinds = []string{"text", "delta", "map", "array", "xml"}

type rootSpec struct{ name, kind string }

// rootFlag is the repeatable --root NAME:KIND flag.
type rootFlag []rootSpec

func (r *rootFlag) String() string {
	if r == nil {
		return ""
	}
	parts := make([]string, len(*r))
	for i, s := range *r {
		parts[i] = s.name + ":" + s.kind
	}
	return strings.Join(parts, ",")
}

func (r *rootFlag) Set(v string) error {
	i := strings.LastIndexByte(v, ':')
	if i < 0 {
		return errors.New("want NAME:KIND, e.g. t:text")
	}
	name, kind := v[:i], v[i+1:]
	if name == "" {
		return errors.New("empty root NAME (want NAME:KIND)")
	}
	if !slices.Contains(rootKinds, kind) {
		return fmt.Errorf("unknown KIND %q (want %s)", kind, strings.Join(rootKinds, ", "))
	}
	for _, s := range *r {
		if s.name == name {
			return fmt.Errorf("root %q given twice", name)
		}
	}
	*r = append(*r, rootSpec{name, kind})
	return nil
}

type updateJSONCmd struct {
	in      inputFlags
	roots   rootFlag
	compact bool
}

func (c *updateJSONCmd) Flags(fs *flag.FlagSet) {
	c.in.register(fs)
	fs.Var(&c.roots, "root", "print a root, given as `NAME:KIND` (KIND: "+strings.Join(rootKinds, ", ")+"); repeatable")
	fs.BoolVar(&c.compact, "compact", false, "print the JSON on one line")
}

func (c *updateJSONCmd) Run(ctx context.Context, env *Env, args []string) error {
	ins, err := c.in.read(ctx, env, args)
	if err != nil {
		return err
	}
	doc, err := buildDoc(ctx, ins, c.in.inV2, true)
	if err != nil {
		return err
	}
	warnPending(env, doc, false)
	if len(c.roots) == 0 {
		names := doc.RootNames()
		slices.Sort(names)
		for _, n := range names {
			if _, err := fmt.Fprintln(env.Stdout, n); err != nil {
				return err
			}
		}
		if len(names) == 0 {
			env.Warnf("the document has no roots")
		} else {
			env.Warnf("updates do not record root types: pass --root NAME:KIND (KIND: %s) to print a root", strings.Join(rootKinds, ", "))
		}
		return nil
	}
	obj := make(lib0.Object, 0, len(c.roots))
	for _, r := range c.roots {
		v, err := rootJSON(doc, r)
		if err != nil {
			return fmt.Errorf("root %q: %w", r.name, err)
		}
		obj = append(obj, lib0.Field{Key: r.name, Value: jsonSafe(v)})
	}
	s, err := lib0.StringifyJSON(obj)
	if err != nil {
		return err
	}
	out := []byte(s)
	if !c.compact {
		var buf bytes.Buffer
		if err := json.Indent(&buf, out, "", "  "); err != nil {
			return err
		}
		out = buf.Bytes()
	}
	out = append(out, '\n')
	_, err = env.Stdout.Write(out)
	return err
}

// rootJSON returns root r of doc as a JSON-ready value.
func rootJSON(doc *crdt.Doc, r rootSpec) (any, error) {
	switch r.kind {
	case "text":
		t, err := doc.GetText(r.name)
		if err != nil {
			return nil, err
		}
		return t.String(), nil
	case "delta":
		t, err := doc.GetText(r.name)
		if err != nil {
			return nil, err
		}
		return deltaJSON(t.ToDelta()), nil
	case "map":
		m, err := doc.GetMap(r.name)
		if err != nil {
			return nil, err
		}
		return crdt.ToJSON(m), nil
	case "array":
		a, err := doc.GetArray(r.name)
		if err != nil {
			return nil, err
		}
		return crdt.ToJSON(a), nil
	case "xml":
		x, err := doc.GetXmlFragment(r.name)
		if err != nil {
			return nil, err
		}
		return x.String(), nil
	}
	return nil, fmt.Errorf("unknown kind %q", r.kind)
}

// deltaJSON renders a delta the way JSON.stringify(ytext.toDelta()) does.
func deltaJSON(delta []crdt.Delta) []any {
	out := make([]any, 0, len(delta))
	for _, op := range delta {
		var o lib0.Object
		switch {
		case op.Delete > 0:
			o = append(o, lib0.Field{Key: "delete", Value: op.Delete})
		case op.Retain > 0:
			o = append(o, lib0.Field{Key: "retain", Value: op.Retain})
		default:
			o = append(o, lib0.Field{Key: "insert", Value: crdt.ToJSON(op.Insert)})
		}
		if len(op.Attributes) > 0 {
			o = append(o, lib0.Field{Key: "attributes", Value: crdt.ToJSON(op.Attributes)})
		}
		out = append(out, o)
	}
	return out
}

// jsonSafe replaces what JSON.stringify cannot print: a bigint becomes its
// decimal string.
func jsonSafe(v any) any {
	switch x := v.(type) {
	case lib0.BigInt:
		return strconv.FormatInt(int64(x), 10)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonSafe(e)
		}
		return out
	case lib0.Object:
		out := make(lib0.Object, len(x))
		for i, f := range x {
			out[i] = lib0.Field{Key: f.Key, Value: jsonSafe(f.Value)}
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonSafe(e)
		}
		return out
	}
	return v
}

type updateInspectCmd struct {
	in inputFlags
}

func (c *updateInspectCmd) Flags(fs *flag.FlagSet) { c.in.register(fs) }

func (c *updateInspectCmd) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) != 1 {
		return usagef("want exactly one FILE, got %d", len(args))
	}
	ins, err := c.in.read(ctx, env, args)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for i, in := range ins {
		if err := ctx.Err(); err != nil {
			return err
		}
		if in.frame >= 0 {
			if i > 0 {
				buf.WriteByte('\n')
			}
			fmt.Fprintf(&buf, "frame %d (byte offset %d, %d bytes):\n", in.frame, in.offset, len(in.data))
		}
		if err := crdt.InspectUpdate(&buf, in.data, c.in.inV2); err != nil {
			return decodeErr(in, c.in.inV2, err)
		}
	}
	if c.in.framed && len(ins) == 0 {
		fmt.Fprintf(&buf, "no frames\n")
	}
	_, err = env.Stdout.Write(buf.Bytes())
	return err
}
