//go:build !invariants && !race

package index

// invariantsOn: see invariants_on.go.
const invariantsOn = false
