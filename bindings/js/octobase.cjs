'use strict'
// OctoBase for JavaScript, through WebAssembly (cmd/octobase-wasm).
//
//   const octobase = require('./octobase.cjs')
//   const ob = await octobase.load({ wasm: 'octobase.wasm' })
//   const store = await ob.openStore()
//   const ws = await store.workspace('notes')
//   const page = await ws.createBlock({ flavour: 'affine:page', props: { title: { $text: 'Hi' } } })
//   const { rows } = await ws.query('SELECT id FROM blocks WHERE type = $1', ['affine:page'])
//
// Build the module with GOOS=js GOARCH=wasm go build -o octobase.wasm
// ./cmd/octobase-wasm. Go's runtime glue, wasm_exec.js, is found at
// options.wasmExec, $OCTOBASE_WASM_EXEC, or $(go env GOROOT)/lib/wasm.
// Stores live in memory. Every method returns a Promise; failures reject with
// an OctoBaseError whose code is an OCTOBASE_ERR_* value (codes below).

const fs = require('fs')
const path = require('path')

const codes = Object.freeze({
  OK: 0, NONE: 1,
  ERR_INTERNAL: -1, ERR_INVALID_ARGUMENT: -2, ERR_INVALID_HANDLE: -3, ERR_UNKNOWN_BUFFER: -4,
  ERR_JSON: -5, ERR_UPDATE: -6, ERR_NOT_FOUND: -7, ERR_EXISTS: -8, ERR_QUERY: -9,
  ERR_CLOSED: -10, ERR_IO: -11,
})

class OctoBaseError extends Error {
  constructor (message, code) {
    super(message)
    this.name = 'OctoBaseError'
    this.code = code
  }
}

// call invokes a raw function, turning rejections into OctoBaseErrors.
async function call (raw, name, ...args) {
  try {
    return await raw[name](...args)
  } catch (e) {
    if (e && typeof e.code === 'number') throw new OctoBaseError(e.message, e.code)
    throw e
  }
}

function wasmExecPath (explicit) {
  if (explicit) return explicit
  if (process.env.OCTOBASE_WASM_EXEC) return process.env.OCTOBASE_WASM_EXEC
  const goroot = require('child_process').execFileSync('go', ['env', 'GOROOT'], { encoding: 'utf8' }).trim()
  return path.join(goroot, 'lib', 'wasm', 'wasm_exec.js')
}

let loaded = null

// load instantiates the module once per process and resolves to an OctoBase.
function load (options = {}) {
  if (loaded) return loaded
  loaded = (async () => {
    // What wasm_exec.js expects of its host (wasm_exec_node.js sets the same).
    globalThis.require ??= require
    globalThis.fs ??= fs
    globalThis.path ??= path
    globalThis.crypto ??= require('crypto').webcrypto
    globalThis.TextEncoder ??= require('util').TextEncoder
    globalThis.TextDecoder ??= require('util').TextDecoder
    globalThis.performance ??= require('perf_hooks').performance
    require(wasmExecPath(options.wasmExec))
    const wasm = options.wasm || process.env.OCTOBASE_WASM
    if (!wasm) throw new OctoBaseError('no module: pass options.wasm or set OCTOBASE_WASM', codes.ERR_INVALID_ARGUMENT)
    const go = new globalThis.Go()
    const { instance } = await WebAssembly.instantiate(fs.readFileSync(wasm), go.importObject)
    const ready = new Promise(resolve => { globalThis.__octobaseReady = resolve })
    go.run(instance).catch(e => console.error('octobase wasm exited:', e))
    await ready
    delete globalThis.__octobaseReady
    return new OctoBase(globalThis.octobase)
  })().catch(e => { loaded = null; throw e })
  return loaded
}

class OctoBase {
  constructor (raw) {
    this.raw = raw // globalThis.octobase: the functions of cmd/octobase-wasm
    this.abiVersion = raw.abiVersion
  }

  // openStore opens an in-memory store; options: { client_id, durability }.
  async openStore (options = {}) {
    return new Store(this.raw, await call(this.raw, 'openStore', JSON.stringify(options)))
  }
}

class Store {
  constructor (raw, handle) { this.raw = raw; this.handle = handle }
  async workspace (name) {
    return new Workspace(this.raw, await call(this.raw, 'openWorkspace', this.handle, name))
  }

  // close closes the store and every workspace and subscription opened from it.
  close () { return call(this.raw, 'closeStore', this.handle) }
}

class Workspace {
  constructor (raw, handle) { this.raw = raw; this.handle = handle }
  close () { return call(this.raw, 'closeWorkspace', this.handle) }
  // apply integrates a yjs update (Uint8Array, v1 unless v2) and resolves to its log position.
  apply (update, origin = '', v2 = false) { return call(this.raw, v2 ? 'applyV2' : 'apply', this.handle, update, origin) }
  stateVector () { return call(this.raw, 'stateVector', this.handle) }
  // encodeState resolves to the whole state as an update, or the diff against stateVector.
  encodeState (stateVector) { return call(this.raw, 'encodeState', this.handle, stateVector || null) }
  lastLSN () { return call(this.raw, 'lastLSN', this.handle) }
  async createBlock (block, origin = '') {
    const r = await call(this.raw, 'createBlock', this.handle, JSON.stringify(block), origin)
    return JSON.parse(r.json)
  }

  // getBlock resolves to the block, or null when there is none.
  async getBlock (id) {
    try {
      return JSON.parse(await call(this.raw, 'getBlock', this.handle, id))
    } catch (e) {
      if (e.code === codes.ERR_NOT_FOUND) return null
      throw e
    }
  }

  // updateBlock applies a patch { props, remove, text, parent, index }.
  async updateBlock (id, patch, origin = '') {
    const r = await call(this.raw, 'updateBlock', this.handle, id, JSON.stringify(patch), origin)
    return JSON.parse(r.json)
  }

  deleteBlock (id, subtree = false, origin = '') { return call(this.raw, 'deleteBlock', this.handle, id, subtree, origin) }
  // query runs an OQL SELECT and resolves to { columns, rows: [{column: value}] }.
  async query (oql, params = []) {
    return JSON.parse(await call(this.raw, 'query', this.handle, oql, JSON.stringify(params)))
  }

  async subscribe (fromLSN = 0) {
    return new Subscription(this.raw, await call(this.raw, 'subscribe', this.handle, fromLSN))
  }
}

class Subscription {
  constructor (raw, handle) { this.raw = raw; this.handle = handle }
  // poll resolves to the next change ({ lsn, time, origin, blocks, update: Uint8Array })
  // or null if none came within timeoutMS.
  async poll (timeoutMS = 0) {
    const js = await call(this.raw, 'poll', this.handle, timeoutMS)
    if (js === null || js === undefined) return null
    const c = JSON.parse(js)
    c.update = new Uint8Array(Buffer.from(c.update, 'base64'))
    return c
  }

  close () { return call(this.raw, 'closeSubscription', this.handle) }
}

module.exports = { load, codes, OctoBaseError }
