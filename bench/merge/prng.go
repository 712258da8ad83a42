package merge

// Seed is the PRNG seed of every benchmark, as in crdt-benchmarks.
const Seed = 42

// rng is mulberry32: a 32-bit PRNG small enough to be written identically
// in Go and JavaScript (bench/js/bench.cjs has the twin), so both sides draw
// the same positions, words and numbers. Every benchmark starts its own rng
// from Seed, so selecting a subset with -only does not change the inputs.
//
// The helpers below must stay in step with bench/js/bench.cjs: uint32,
// intn (inclusive range, by modulo), flip (top bit), word (lowercase
// letters).
type rng struct{ s uint32 }

func newRNG(seed uint32) *rng { return &rng{s: seed} }

// uint32 returns the next value in [0, 2^32).
func (r *rng) uint32() uint32 {
	r.s += 0x6D2B79F5
	t := r.s
	t = (t ^ t>>15) * (1 | t)
	t = (t + (t^t>>7)*(61|t)) ^ t
	return t ^ t>>14
}

// intn returns a value in [lo, hi] (both inclusive; hi-lo < 2^32).
func (r *rng) intn(lo, hi int) int {
	return lo + int(uint64(r.uint32())%uint64(hi-lo+1))
}

// flip returns a random bool.
func (r *rng) flip() bool { return r.uint32()>>31 == 1 }

// word returns a string of intn(minLen, maxLen) letters a–z.
func (r *rng) word(minLen, maxLen int) string {
	n := r.intn(minLen, maxLen)
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.intn(0, 25))
	}
	return string(b)
}
