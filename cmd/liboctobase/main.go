// Command liboctobase is OctoBase's C ABI: built with -buildmode=c-shared
// (or c-archive) it is a library exporting the functions declared in
// octobase.h, a small, stable API over package engine and query: stores,
// workspaces, yjs updates and state vectors, blocks as JSON, OQL queries and
// polled change streams.
//
//	go build -buildmode=c-shared  -o liboctobase.so ./cmd/liboctobase
//	go build -buildmode=c-archive -o liboctobase.a  ./cmd/liboctobase
//
// octobase.h is the contract and its documentation; the logic lives in
// package octobase/bindings/ffi, shared with the WebAssembly module. This
// package only converts arguments, tracks the buffers it hands out (so
// octobase_free can reject foreign pointers and double frees), turns errors
// into codes and messages, and recovers panics at every exported function.
//
// Tests: bindings/c (a C program built with gcc against octobase.h, linked
// with the shared and the static library) and bindings/python (ctypes).
package main

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
*/
import "C"

import (
	"math"
	"sync"
	"time"
	"unsafe"

	"octobase/bindings/ffi"
)

// abiVersion is OCTOBASE_ABI_VERSION in octobase.h.
const abiVersion = 1

var api = ffi.New()

// buffers records every pointer handed to the caller and not yet freed.
var buffers struct {
	sync.Mutex
	live map[uintptr]struct{}
}

func init() { buffers.live = map[uintptr]struct{}{} }

func track(p unsafe.Pointer) unsafe.Pointer {
	buffers.Lock()
	buffers.live[uintptr(p)] = struct{}{}
	buffers.Unlock()
	return p
}

// cString returns a tracked, malloc'd copy of s.
func cString(s string) *C.char {
	return (*C.char)(track(unsafe.Pointer(C.CString(s))))
}

// cBytes returns a tracked, malloc'd copy of b (never NULL, even when empty).
func cBytes(b []byte) *C.uint8_t {
	p := C.malloc(C.size_t(max(len(b), 1)))
	if p == nil {
		panic("out of memory")
	}
	copy(unsafe.Slice((*byte)(p), len(b)), b)
	return (*C.uint8_t)(track(p))
}

// goBytes copies n bytes at p; NULL is accepted only with n == 0.
func goBytes(p *C.uint8_t, n C.size_t) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	if p == nil {
		return nil, &ffi.Error{Code: ffi.CodeInvalidArg, Msg: "octobase: NULL buffer with a non-zero length"}
	}
	if uint64(n) > math.MaxInt32 {
		return nil, &ffi.Error{Code: ffi.CodeInvalidArg, Msg: "octobase: buffers of 2 GiB or more are not supported"}
	}
	return C.GoBytes(unsafe.Pointer(p), C.int(n)), nil
}

// goString copies a NUL-terminated string; NULL is "".
func goString(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

func nullArg(name string) error {
	return &ffi.Error{Code: ffi.CodeInvalidArg, Msg: "octobase: " + name + " must not be NULL"}
}

// call runs f, recovering a panic, and reports its result: the code, and the
// message through errp.
func call(errp **C.char, f func() error) (rc C.int32_t) {
	if errp != nil {
		*errp = nil
	}
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = ffi.Recover(r)
			}
		}()
		return f()
	}()
	code := ffi.CodeOf(err)
	if err != nil && errp != nil {
		*errp = cString(err.Error())
	}
	return C.int32_t(code)
}

//export octobase_abi_version
func octobase_abi_version() C.int32_t { return abiVersion }

//export octobase_free
func octobase_free(buf unsafe.Pointer, errp **C.char) C.int32_t {
	return call(errp, func() error {
		if buf == nil {
			return nil
		}
		buffers.Lock()
		_, ok := buffers.live[uintptr(buf)]
		delete(buffers.live, uintptr(buf))
		buffers.Unlock()
		if !ok {
			return &ffi.Error{Code: ffi.CodeUnknownBuffer, Msg: "octobase: free of a pointer the library did not return, or that was already freed"}
		}
		C.free(buf)
		return nil
	})
}

//export octobase_store_open
func octobase_store_open(dir, opts *C.char, out *C.int64_t, errp **C.char) C.int32_t {
	return call(errp, func() error {
		if out == nil {
			return nullArg("out_store")
		}
		*out = 0
		h, err := api.OpenStore(goString(dir), goString(opts))
		*out = C.int64_t(h)
		return err
	})
}

//export octobase_store_close
func octobase_store_close(store C.int64_t, errp **C.char) C.int32_t {
	return call(errp, func() error { return api.CloseStore(int64(store)) })
}

//export octobase_workspace_open
func octobase_workspace_open(store C.int64_t, name *C.char, out *C.int64_t, errp **C.char) C.int32_t {
	return call(errp, func() error {
		if out == nil {
			return nullArg("out_ws")
		}
		*out = 0
		if name == nil {
			return nullArg("name")
		}
		h, err := api.OpenWorkspace(int64(store), goString(name))
		*out = C.int64_t(h)
		return err
	})
}

//export octobase_workspace_close
func octobase_workspace_close(ws C.int64_t, errp **C.char) C.int32_t {
	return call(errp, func() error { return api.CloseWorkspace(int64(ws)) })
}

func apply(ws C.int64_t, update *C.uint8_t, n C.size_t, origin *C.char, outLSN *C.uint64_t, errp **C.char, v2 bool) C.int32_t {
	return call(errp, func() error {
		if outLSN != nil {
			*outLSN = 0
		}
		u, err := goBytes(update, n)
		if err != nil {
			return err
		}
		lsn, err := api.Apply(int64(ws), u, goString(origin), v2)
		if outLSN != nil {
			*outLSN = C.uint64_t(lsn)
		}
		return err
	})
}

//export octobase_apply_update
func octobase_apply_update(ws C.int64_t, update *C.uint8_t, n C.size_t, origin *C.char, outLSN *C.uint64_t, errp **C.char) C.int32_t {
	return apply(ws, update, n, origin, outLSN, errp, false)
}

//export octobase_apply_update_v2
func octobase_apply_update_v2(ws C.int64_t, update *C.uint8_t, n C.size_t, origin *C.char, outLSN *C.uint64_t, errp **C.char) C.int32_t {
	return apply(ws, update, n, origin, outLSN, errp, true)
}

// bytesOut stores b in the out-parameters.
func bytesOut(out **C.uint8_t, outLen *C.size_t, b []byte) {
	*out = cBytes(b)
	*outLen = C.size_t(len(b))
}

//export octobase_state_vector
func octobase_state_vector(ws C.int64_t, out **C.uint8_t, outLen *C.size_t, errp **C.char) C.int32_t {
	return call(errp, func() error {
		if out == nil || outLen == nil {
			return nullArg("out and out_len")
		}
		*out, *outLen = nil, 0
		sv, err := api.StateVector(int64(ws))
		if err != nil {
			return err
		}
		bytesOut(out, outLen, sv)
		return nil
	})
}

//export octobase_encode_state
func octobase_encode_state(ws C.int64_t, sv *C.uint8_t, svLen C.size_t, out **C.uint8_t, outLen *C.size_t, errp **C.char) C.int32_t {
	return call(errp, func() error {
		if out == nil || outLen == nil {
			return nullArg("out and out_len")
		}
		*out, *outLen = nil, 0
		v, err := goBytes(sv, svLen)
		if err != nil {
			return err
		}
		u, err := api.EncodeState(int64(ws), v)
		if err != nil {
			return err
		}
		bytesOut(out, outLen, u)
		return nil
	})
}

//export octobase_last_lsn
func octobase_last_lsn(ws C.int64_t, outLSN *C.uint64_t, errp **C.char) C.int32_t {
	return call(errp, func() error {
		if outLSN == nil {
			return nullArg("out_lsn")
		}
		*outLSN = 0
		lsn, err := api.LastLSN(int64(ws))
		*outLSN = C.uint64_t(lsn)
		return err
	})
}

// editOut stores a block edit's results in the optional out-parameters.
func editOut(outJSON **C.char, outLSN *C.uint64_t, js string, lsn uint64) {
	if outJSON != nil {
		*outJSON = cString(js)
	}
	if outLSN != nil {
		*outLSN = C.uint64_t(lsn)
	}
}

func clearEdit(outJSON **C.char, outLSN *C.uint64_t) {
	if outJSON != nil {
		*outJSON = nil
	}
	if outLSN != nil {
		*outLSN = 0
	}
}

//export octobase_block_create
func octobase_block_create(ws C.int64_t, block, origin *C.char, outJSON **C.char, outLSN *C.uint64_t, errp **C.char) C.int32_t {
	return call(errp, func() error {
		clearEdit(outJSON, outLSN)
		if block == nil {
			return nullArg("block_json")
		}
		js, lsn, err := api.CreateBlock(int64(ws), goString(block), goString(origin))
		if err != nil {
			return err
		}
		editOut(outJSON, outLSN, js, lsn)
		return nil
	})
}

//export octobase_block_get
func octobase_block_get(ws C.int64_t, id *C.char, outJSON **C.char, errp **C.char) C.int32_t {
	return call(errp, func() error {
		if outJSON == nil {
			return nullArg("out_json")
		}
		*outJSON = nil
		if id == nil {
			return nullArg("id")
		}
		js, err := api.GetBlock(int64(ws), goString(id))
		if err != nil {
			return err
		}
		*outJSON = cString(js)
		return nil
	})
}

//export octobase_block_update
func octobase_block_update(ws C.int64_t, id, patch, origin *C.char, outJSON **C.char, outLSN *C.uint64_t, errp **C.char) C.int32_t {
	return call(errp, func() error {
		clearEdit(outJSON, outLSN)
		if id == nil || patch == nil {
			return nullArg("id and patch_json")
		}
		js, lsn, err := api.UpdateBlock(int64(ws), goString(id), goString(patch), goString(origin))
		if err != nil {
			return err
		}
		editOut(outJSON, outLSN, js, lsn)
		return nil
	})
}

//export octobase_block_delete
func octobase_block_delete(ws C.int64_t, id *C.char, subtree C.int32_t, origin *C.char, outLSN *C.uint64_t, errp **C.char) C.int32_t {
	return call(errp, func() error {
		if outLSN != nil {
			*outLSN = 0
		}
		if id == nil {
			return nullArg("id")
		}
		lsn, err := api.DeleteBlock(int64(ws), goString(id), subtree != 0, goString(origin))
		if outLSN != nil {
			*outLSN = C.uint64_t(lsn)
		}
		return err
	})
}

//export octobase_query
func octobase_query(ws C.int64_t, oql, params *C.char, outJSON **C.char, errp **C.char) C.int32_t {
	return call(errp, func() error {
		if outJSON == nil {
			return nullArg("out_json")
		}
		*outJSON = nil
		if oql == nil {
			return nullArg("oql")
		}
		js, err := api.Query(int64(ws), goString(oql), goString(params))
		if err != nil {
			return err
		}
		*outJSON = cString(js)
		return nil
	})
}

//export octobase_subscribe
func octobase_subscribe(ws C.int64_t, from C.uint64_t, out *C.int64_t, errp **C.char) C.int32_t {
	return call(errp, func() error {
		if out == nil {
			return nullArg("out_sub")
		}
		*out = 0
		h, err := api.Subscribe(int64(ws), uint64(from))
		*out = C.int64_t(h)
		return err
	})
}

//export octobase_poll
func octobase_poll(sub C.int64_t, timeoutMS C.int32_t, outJSON **C.char, errp **C.char) C.int32_t {
	var none bool
	rc := call(errp, func() error {
		if outJSON == nil {
			return nullArg("out_json")
		}
		*outJSON = nil
		timeout := time.Duration(timeoutMS) * time.Millisecond
		if timeoutMS < 0 {
			timeout = -1
		}
		js, err := api.Poll(int64(sub), timeout)
		if err != nil {
			return err
		}
		if js == "" {
			none = true
			return nil
		}
		*outJSON = cString(js)
		return nil
	})
	if rc == C.int32_t(ffi.OK) && none {
		return C.int32_t(ffi.None)
	}
	return rc
}

//export octobase_subscription_close
func octobase_subscription_close(sub C.int64_t, errp **C.char) C.int32_t {
	return call(errp, func() error { return api.CloseSubscription(int64(sub)) })
}

// main is required by -buildmode=c-shared and c-archive; it never runs.
func main() {}
