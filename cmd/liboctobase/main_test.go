package main

import (
	"testing"

	"octobase/bindings/ffi"
)

// TestCallRecovers checks that a panic inside an exported function becomes
// OCTOBASE_ERR_INTERNAL instead of crossing the boundary.
func TestCallRecovers(t *testing.T) {
	rc := call(nil, func() error { panic("boom") })
	if int32(rc) != int32(ffi.CodeInternal) {
		t.Fatalf("rc = %d, want %d", rc, ffi.CodeInternal)
	}
	if rc := call(nil, func() error { return nil }); int32(rc) != int32(ffi.OK) {
		t.Fatalf("rc = %d, want OK", rc)
	}
	if v := octobase_abi_version(); int32(v) != abiVersion {
		t.Fatalf("abi version %d", v)
	}
}
