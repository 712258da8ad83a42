//go:build js && wasm

package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall/js"
	"time"

	"octobase/bindings/ffi"
)

// abiVersion matches OCTOBASE_ABI_VERSION of the C ABI: the two surfaces
// change together.
const abiVersion = 1

var api = ffi.New()

func main() {
	obj := js.Global().Get("Object").New()
	for name, fn := range functions {
		obj.Set(name, js.FuncOf(promise(fn)))
	}
	obj.Set("abiVersion", abiVersion)
	js.Global().Set("octobase", obj)
	if ready := js.Global().Get("__octobaseReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {} // serve calls until the host goes away
}

// A function reads its JavaScript arguments synchronously (they are only
// valid during the call) and returns the work to run in a goroutine.
type function func(args args) (func() (any, error), error)

var functions = map[string]function{
	"version": func(a args) (func() (any, error), error) {
		return func() (any, error) { return abiVersion, nil }, nil
	},
	"openStore": func(a args) (func() (any, error), error) {
		opts, err := memoryOptions(a.optStr(0))
		if a.err != nil {
			err = a.err
		}
		return func() (any, error) { return api.OpenStore("/octobase", opts) }, err
	},
	"closeStore": func(a args) (func() (any, error), error) {
		h := a.handle(0)
		return func() (any, error) { return nil, api.CloseStore(h) }, a.err
	},
	"openWorkspace": func(a args) (func() (any, error), error) {
		h, name := a.handle(0), a.str(1)
		return func() (any, error) { return api.OpenWorkspace(h, name) }, a.err
	},
	"closeWorkspace": func(a args) (func() (any, error), error) {
		h := a.handle(0)
		return func() (any, error) { return nil, api.CloseWorkspace(h) }, a.err
	},
	"apply":   applyFn(false),
	"applyV2": applyFn(true),
	"stateVector": func(a args) (func() (any, error), error) {
		h := a.handle(0)
		return func() (any, error) { return bytesResult(api.StateVector(h)) }, a.err
	},
	"encodeState": func(a args) (func() (any, error), error) {
		h, sv := a.handle(0), a.bytes(1, true)
		return func() (any, error) { return bytesResult(api.EncodeState(h, sv)) }, a.err
	},
	"lastLSN": func(a args) (func() (any, error), error) {
		h := a.handle(0)
		return func() (any, error) { return api.LastLSN(h) }, a.err
	},
	"createBlock": func(a args) (func() (any, error), error) {
		h, js, origin := a.handle(0), a.str(1), a.optStr(2)
		return func() (any, error) { return editResult(api.CreateBlock(h, js, origin)) }, a.err
	},
	"getBlock": func(a args) (func() (any, error), error) {
		h, id := a.handle(0), a.str(1)
		return func() (any, error) { return api.GetBlock(h, id) }, a.err
	},
	"updateBlock": func(a args) (func() (any, error), error) {
		h, id, patch, origin := a.handle(0), a.str(1), a.str(2), a.optStr(3)
		return func() (any, error) { return editResult(api.UpdateBlock(h, id, patch, origin)) }, a.err
	},
	"deleteBlock": func(a args) (func() (any, error), error) {
		h, id, subtree, origin := a.handle(0), a.str(1), a.bool(2), a.optStr(3)
		return func() (any, error) { return api.DeleteBlock(h, id, subtree, origin) }, a.err
	},
	"query": func(a args) (func() (any, error), error) {
		h, oql, params := a.handle(0), a.str(1), a.optStr(2)
		return func() (any, error) { return api.Query(h, oql, params) }, a.err
	},
	"subscribe": func(a args) (func() (any, error), error) {
		h, from := a.handle(0), a.number(1)
		if from < 0 {
			a.fail(1, "a log position >= 0")
		}
		return func() (any, error) { return api.Subscribe(h, uint64(from)) }, a.err
	},
	"poll": func(a args) (func() (any, error), error) {
		h, ms := a.handle(0), a.number(1)
		return func() (any, error) {
			timeout := time.Duration(ms * float64(time.Millisecond))
			if ms < 0 {
				timeout = -1
			}
			js, err := api.Poll(h, timeout)
			if err != nil || js == "" {
				return nil, err
			}
			return js, nil
		}, a.err
	},
	"closeSubscription": func(a args) (func() (any, error), error) {
		h := a.handle(0)
		return func() (any, error) { return nil, api.CloseSubscription(h) }, a.err
	},
}

func applyFn(v2 bool) function {
	return func(a args) (func() (any, error), error) {
		h, u, origin := a.handle(0), a.bytes(1, false), a.optStr(2)
		return func() (any, error) { return api.Apply(h, u, origin, v2) }, a.err
	}
}

// memoryOptions forces {"memory": true} into the store options: this build
// has no filesystem to write to.
func memoryOptions(opts string) (string, error) {
	if strings.TrimSpace(opts) == "" {
		return `{"memory":true}`, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(opts), &m); err != nil {
		return "", &ffi.Error{Code: ffi.CodeJSON, Msg: "octobase: store options: invalid JSON: " + err.Error()}
	}
	if v, ok := m["memory"]; ok && v != true {
		return "", &ffi.Error{Code: ffi.CodeInvalidArg, Msg: "octobase: the WebAssembly build keeps stores in memory only"}
	}
	m["memory"] = true
	b, _ := json.Marshal(m)
	return string(b), nil
}

func bytesResult(b []byte, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	u := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(u, b)
	return u, nil
}

func editResult(block string, lsn uint64, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return map[string]any{"json": block, "lsn": lsn}, nil
}

// promise adapts fn to a JavaScript function returning a Promise.
func promise(fn function) func(this js.Value, argv []js.Value) any {
	return func(this js.Value, argv []js.Value) any {
		var (
			work func() (any, error)
			err  error
		)
		func() {
			defer func() {
				if r := recover(); r != nil {
					err = ffi.Recover(r)
				}
			}()
			work, err = fn(args{v: argv})
		}()
		var executor js.Func
		executor = js.FuncOf(func(_ js.Value, pa []js.Value) any {
			resolve, reject := pa[0], pa[1]
			if err != nil {
				reject.Invoke(jsError(err))
				return nil
			}
			go func() {
				v, err := func() (v any, err error) {
					defer func() {
						if r := recover(); r != nil {
							err = ffi.Recover(r)
						}
					}()
					v, err = work()
					return jsValue(v), err
				}()
				if err != nil {
					reject.Invoke(jsError(err))
				} else {
					resolve.Invoke(v)
				}
			}()
			return nil
		})
		p := js.Global().Get("Promise").New(executor)
		executor.Release() // the executor ran synchronously inside New
		return p
	}
}

// jsValue converts a result for js.ValueOf: integers become float64 (a
// JavaScript number; handles and log positions stay below 2^53).
func jsValue(v any) any {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case map[string]any:
		for k, e := range x {
			x[k] = jsValue(e)
		}
	}
	return v
}

func jsError(err error) js.Value {
	e := js.Global().Get("Error").New(err.Error())
	e.Set("code", int(ffi.CodeOf(err)))
	return e
}

// args reads JavaScript arguments, remembering the first type error.
type args struct {
	v   []js.Value
	err error
}

func (a *args) get(i int) js.Value {
	if i < len(a.v) {
		return a.v[i]
	}
	return js.Undefined()
}

func (a *args) fail(i int, want string) {
	if a.err == nil {
		a.err = &ffi.Error{Code: ffi.CodeInvalidArg, Msg: fmt.Sprintf("octobase: argument %d must be %s", i+1, want)}
	}
}

func (a *args) str(i int) string {
	v := a.get(i)
	if v.Type() != js.TypeString {
		a.fail(i, "a string")
		return ""
	}
	return v.String()
}

func (a *args) optStr(i int) string {
	if v := a.get(i); v.IsUndefined() || v.IsNull() {
		return ""
	}
	return a.str(i)
}

func (a *args) number(i int) float64 {
	v := a.get(i)
	if v.Type() != js.TypeNumber {
		a.fail(i, "a number")
		return 0
	}
	return v.Float()
}

func (a *args) handle(i int) ffi.Handle {
	f := a.number(i)
	if f != float64(int64(f)) {
		a.fail(i, "a handle (an integer)")
	}
	return ffi.Handle(f)
}

func (a *args) bool(i int) bool {
	return a.get(i).Truthy()
}

var uint8Array = js.Global().Get("Uint8Array")

func (a *args) bytes(i int, optional bool) []byte {
	v := a.get(i)
	if optional && (v.IsUndefined() || v.IsNull()) {
		return nil
	}
	if v.Type() != js.TypeObject || !v.InstanceOf(uint8Array) {
		a.fail(i, "a Uint8Array")
		return nil
	}
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b
}
