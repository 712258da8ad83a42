//go:build race

package index

// raceEnabled scales the single-goroutine model test down under the race
// detector, which slows it about tenfold without adding to what it checks;
// the concurrency tests are what -race is for.
const raceEnabled = true
