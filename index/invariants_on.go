//go:build invariants || race

package index

// invariantsOn turns on self-checks that cost O(changed rows) per Apply:
// after each change, the changed row's state is compared with every
// posting it should (and should not) be in. It is on with the invariants
// build tag and under the race detector, as in pebble.
const invariantsOn = true
