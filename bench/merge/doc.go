// Package merge is OctoBase's merge-throughput suite: dmonad/crdt-benchmarks'
// B1–B4 plus merge-only and load, run for octobase/engine/crdt in process and
// for yjs and ywasm in Node.js (bench/js/bench.cjs), side by side, with the
// same inputs, and compared on time, CPU time, update and document sizes,
// encode and parse time and memory. docs/benchmarks.md describes every
// benchmark and records a run.
//
// [Run] drives it: for each selected benchmark it runs each implementation in
// turn (never two at once), prints a progress line, and at the end prints the
// table and the targets and returns a [Report], which can be written
// as merge.json, merge.svg and merge.md ([Report.WriteFiles]) and read back
// ([ReadReport]).
//
// Invariants that keep the implementations comparable:
//   - inputs come from the same mulberry32 PRNG (seed 42, per benchmark) in
//     Go and JavaScript, and documents use the same fixed client ids;
//   - every implementation reports a checksum of its final content; a
//     mismatch is a discrepancy in the report and a failure of the command;
//   - the B4 updates and encoded states of merge-only and load are recorded
//     once with octobase and given to every implementation as the same bytes.
//
// Concurrency: Run is not safe for concurrent use with itself (it measures
// the process heap); a Report is a plain value. The Node.js processes it
// starts end when Run returns or its context is cancelled.
package merge
