package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"octobase/engine/lib0"
)

// An input is one encoded update read from a FILE argument: the whole file,
// or one frame of a framed file.
type input struct {
	file   string // the argument as the user gave it; "stdin" for "-"
	frame  int    // index of the frame in a framed file; -1 for a whole file
	offset int    // byte offset of the frame's length prefix in the file
	data   []byte
}

// String names the input in messages: "a.bin", or "a.bin: frame 2 (byte
// offset 40)".
func (in input) String() string {
	if in.frame < 0 {
		return in.file
	}
	return fmt.Sprintf("%s: frame %d (byte offset %d)", in.file, in.frame, in.offset)
}

// readFile reads one FILE argument; "-" is stdin.
func readFile(env *Env, name string) (display string, data []byte, err error) {
	if name == "-" {
		data, err = io.ReadAll(env.Stdin)
		if err != nil {
			return "stdin", nil, fmt.Errorf("stdin: %w", err)
		}
		return "stdin", data, nil
	}
	data, err = os.ReadFile(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the name is printed once, in front
		}
		return name, nil, fmt.Errorf("%s: %w", name, err)
	}
	return name, data, nil
}

// readInputs reads the updates in the FILE arguments, in order. With
// framed, each file holds any number of updates, each prefixed by its byte
// length as a lib0 varUint (lib0 writeVarUint8Array).
func readInputs(ctx context.Context, env *Env, files []string, framed bool) ([]input, error) {
	if len(files) == 0 {
		return nil, usagef("no FILE given (use - to read stdin)")
	}
	stdin := 0
	for _, f := range files {
		if f == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return nil, usagef("stdin (-) given more than once")
	}
	var out []input
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name, data, err := readFile(env, f)
		if err != nil {
			return nil, err
		}
		if !framed {
			out = append(out, input{file: name, frame: -1, data: data})
			continue
		}
		frames, err := splitFrames(name, data)
		if err != nil {
			return nil, err
		}
		out = append(out, frames...)
	}
	return out, nil
}

// splitFrames splits a framed file into its updates. The frames alias b.
func splitFrames(name string, b []byte) ([]input, error) {
	var out []input
	d := lib0.NewDecoder(b)
	for d.Remaining() > 0 {
		off := d.Pos()
		n, err := d.ReadVarUint()
		switch {
		case errors.Is(err, lib0.ErrUnexpectedEOF):
			return nil, fmt.Errorf("%s: truncated frame %d at byte offset %d: the length prefix is cut off", name, len(out), off)
		case err != nil:
			return nil, fmt.Errorf("%s: bad frame %d at byte offset %d: length prefix: %w", name, len(out), off, err)
		}
		if n > uint64(d.Remaining()) {
			return nil, fmt.Errorf("%s: truncated frame %d at byte offset %d: length %d, but only %d bytes remain",
				name, len(out), off, n, d.Remaining())
		}
		data, _ := d.ReadBytes(int(n))
		out = append(out, input{file: name, frame: len(out), offset: off, data: data})
	}
	return out, nil
}
