package merge

import "math"

// This file generates the inputs of B1–B3 exactly as crdt-benchmarks'
// js-lib/b1.js, b2.js and b3.js do, with this package's rng in place of
// lib0/prng. bench/js/bench.cjs has the same generators; keep them in step.

// textOp is one text edit: delete del units at pos, then insert ins at pos.
type textOp struct {
	pos, del int
	ins      string
}

// arrayOp inserts vals at pos of the array.
type arrayOp struct {
	pos  int
	vals []any
}

// b1Text is the input of a text B1 benchmark: the edits made one by one
// (each its own transaction) and the text both documents must end with.
type b1Text struct {
	ops  [][]textOp // ops[i] is changeFunction(doc, input[i], i): 1 or 2 edits
	want string
}

// b1Array is the input of an array B1 benchmark.
type b1Array struct {
	ops  []arrayOp
	want []int64
}

func insertString(s []byte, at int, ins string) []byte {
	s = append(s, ins...)
	copy(s[at+len(ins):], s[at:len(s)-len(ins)])
	copy(s[at:], ins)
	return s
}

// genB1Text returns the input of B1.1–B1.7.
func genB1Text(id string, n int) b1Text {
	r := newRNG(Seed)
	var in b1Text
	switch id {
	case "B1.1": // append N characters
		s := r.word(n, n)
		for i := 0; i < len(s); i++ {
			in.ops = append(in.ops, []textOp{{pos: i, ins: s[i : i+1]}})
		}
		in.want = s
	case "B1.2": // insert a string of length N
		s := r.word(n, n)
		in.ops = [][]textOp{{{pos: 0, ins: s}}}
		in.want = s
	case "B1.3": // prepend N characters
		s := r.word(n, n)
		for i := len(s) - 1; i >= 0; i-- {
			in.ops = append(in.ops, []textOp{{pos: 0, ins: s[i : i+1]}})
		}
		in.want = s
	case "B1.4", "B1.5": // insert N characters / words at random positions
		lo, hi := 1, 1
		if id == "B1.5" {
			lo, hi = 2, 10
		}
		var s []byte
		for i := 0; i < n; i++ {
			at := r.intn(0, len(s))
			w := r.word(lo, hi)
			s = insertString(s, at, w)
			in.ops = append(in.ops, []textOp{{pos: at, ins: w}})
		}
		in.want = string(s)
	case "B1.6": // insert a string, then delete it
		s := r.word(n, n)
		in.ops = [][]textOp{{{pos: 0, ins: s}, {pos: 0, del: len(s)}}}
		in.want = ""
	case "B1.7": // random inserts (2–10) and deletes (1–9)
		var s []byte
		for i := 0; i < n; i++ {
			at := r.intn(0, len(s))
			if len(s) == at || r.flip() {
				w := r.word(2, 10)
				s = insertString(s, at, w)
				in.ops = append(in.ops, []textOp{{pos: at, ins: w}})
			} else {
				del := r.intn(1, min(9, len(s)-at))
				s = append(s[:at], s[at+del:]...)
				in.ops = append(in.ops, []textOp{{pos: at, del: del}})
			}
		}
		in.want = string(s)
	default:
		panic("merge: no text input for " + id)
	}
	return in
}

// genB1Array returns the input of B1.8–B1.11.
func genB1Array(id string, n int) b1Array {
	r := newRNG(Seed)
	var in b1Array
	switch id {
	case "B1.8", "B1.9", "B1.10":
		nums := make([]int64, n)
		for i := range nums {
			nums[i] = int64(r.intn(0, 0x7fffffff))
		}
		switch id {
		case "B1.8": // append N numbers
			for i, v := range nums {
				in.ops = append(in.ops, arrayOp{pos: i, vals: []any{v}})
			}
			in.want = nums
		case "B1.9": // insert an array of N numbers
			vals := make([]any, n)
			for i, v := range nums {
				vals[i] = v
			}
			in.ops = []arrayOp{{pos: 0, vals: vals}}
			in.want = nums
		case "B1.10": // prepend N numbers
			for _, v := range nums {
				in.ops = append(in.ops, arrayOp{pos: 0, vals: []any{v}})
			}
			in.want = make([]int64, n)
			for i, v := range nums {
				in.want[n-1-i] = v
			}
		}
	case "B1.11": // insert N numbers at random positions
		var nums []int64
		for i := 0; i < n; i++ {
			at := r.intn(0, len(nums))
			v := int64(r.intn(0, 0x7fffffff))
			nums = append(nums, 0)
			copy(nums[at+1:], nums[at:])
			nums[at] = v
			in.ops = append(in.ops, arrayOp{pos: at, vals: []any{v}})
		}
		in.want = nums
	default:
		panic("merge: no array input for " + id)
	}
	return in
}

// b2Input is the input of a B2 benchmark: the 100-letter initial text and
// the edits of each peer (made in one transaction per peer).
type b2Input struct {
	init       string
	ops1, ops2 []textOp
	wantLen    int // expected final length, or -1 if unchecked
}

// genB2 returns the input of B2.1–B2.4. Only lengths are tracked: the
// checks compare the two peers with each other.
func genB2(id string, n int) b2Input {
	r := newRNG(Seed)
	in := b2Input{init: r.word(100, 100), wantLen: -1}
	gen := func(lo, hi int, withDeletes bool) []textOp {
		length := len(in.init)
		var ops []textOp
		for i := 0; i < n; i++ {
			at := r.intn(0, length)
			w := r.word(lo, hi)
			length += len(w)
			ops = append(ops, textOp{pos: at, ins: w})
			if !withDeletes {
				continue
			}
			if length == at || r.flip() {
				w := r.word(2, 10)
				length += len(w)
				ops = append(ops, textOp{pos: at, ins: w})
			} else {
				del := r.intn(1, min(9, length-at))
				length -= del
				ops = append(ops, textOp{pos: at, del: del})
			}
		}
		return ops
	}
	switch id {
	case "B2.1": // both insert a string of length N at 0
		in.ops1 = []textOp{{pos: 0, ins: r.word(n, n)}}
		in.ops2 = []textOp{{pos: 0, ins: r.word(n, n)}}
		in.wantLen = 2*n + 100
	case "B2.2": // N random single characters each
		in.ops1 = gen(1, 1, false)
		in.ops2 = gen(1, 1, false)
		in.wantLen = 2*n + 100
	case "B2.3": // N random words (3–9) each
		in.ops1 = gen(3, 9, false)
		in.ops2 = gen(3, 9, false)
	case "B2.4": // N × (word, then word or delete) each
		in.ops1 = gen(3, 9, true)
		in.ops2 = gen(3, 9, true)
	default:
		panic("merge: no B2 input for " + id)
	}
	return in
}

// b3Clients is crdt-benchmarks' sqrtN: 20·⌊√N⌋ clients.
func b3Clients(n int) int { return 20 * int(math.Floor(math.Sqrt(float64(n)))) }

// clientID is the client id of document k (1-based) of a benchmark, the
// same in every implementation. yjs would pick random 32-bit ids; fixed
// ones make results (B3's winners, B2's interleavings) and sizes
// reproducible and comparable. They take 5 bytes as varUints, as most
// random 32-bit ids do.
func clientID(k int) uint64 { return 1_000_000_000 + uint64(k) }

// warmN is the N of the untimed warm-up run of a B1–B3 benchmark.
func warmN(n int) int { return max(1, n/10) }

// warmOps is how many B4 edits (or merge-only updates) the warm-up uses.
func warmOps(total int) int { return max(1, total/10) }
