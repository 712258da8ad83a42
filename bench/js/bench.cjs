'use strict'
// The Node.js side of OctoBase's merge-throughput suite (bench/merge).
//
//   node --expose-gc bench/js/bench.cjs yjs|ywasm
//
// One process runs one implementation. It reads requests from stdin, one
// JSON object per line, and answers each with one JSON line on stdout:
//
//   {"op":"hello"}                          -> {"version":"13.6.33","node":"v20.x"}
//   {"op":"prng","count":5}                 -> {"values":[...],"word":"..."}
//   {"op":"run","id":"B1.1","n":6000,"files":{...}}
//                                           -> {"metrics":{...},"checksum":"...","extra":{...}}
//                                              or {"error":"..."}
//
// The benchmarks mirror dmonad/crdt-benchmarks (js-lib/b1.js … b4.js and
// benchmarks/{yjs,ywasm}/factory.js) and bench/merge/*.go line by line: the
// same mulberry32 PRNG (seed 42 per benchmark), the same client ids and the
// same content checksums. Keep the three in step.
//
// Anything printed with console.log goes to stderr.

const fs = require('fs')
const path = require('path')
const zlib = require('zlib')
const crypto = require('crypto')
const readline = require('readline')
const { performance } = require('perf_hooks')

console.log = console.error
console.info = console.error

const implName = process.argv[2]
const rootDir = path.join(__dirname, '..', '..')

// ---------------------------------------------------------------------------
// PRNG: mulberry32, identical to bench/merge/prng.go.

const SEED = 42

function rng (seed) {
  let s = seed >>> 0
  const uint32 = () => {
    s = (s + 0x6D2B79F5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), 1 | t)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return (t ^ (t >>> 14)) >>> 0
  }
  const intn = (lo, hi) => lo + (uint32() % (hi - lo + 1))
  const flip = () => (uint32() >>> 31) === 1
  const word = (lo, hi) => {
    const n = intn(lo, hi)
    let s = ''
    for (let i = 0; i < n; i++) s += String.fromCharCode(97 + intn(0, 25))
    return s
  }
  return { uint32, intn, flip, word }
}

// clientID is the client id of document k of a benchmark (clientID in workload.go).
const clientID = k => 1000000000 + k

// ---------------------------------------------------------------------------
// Checksums (checksum.go).

function canon (v) {
  if (v === null || v === undefined) return 'null'
  switch (typeof v) {
    case 'boolean': return String(v)
    case 'number': return String(v)
    case 'bigint': return String(v)
    case 'string': return 's' + Buffer.byteLength(v, 'utf8') + ':' + v
  }
  if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']'
  if (v instanceof Map) v = Object.fromEntries(v)
  const keys = Object.keys(v).filter(k => v[k] !== undefined).sort()
  return '{' + keys.map(k => canon(k) + ':' + canon(v[k])).join(',') + '}'
}

const sha = s => crypto.createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 16)
const checksumText = s => sha(s)
const checksumValue = v => sha(canon(v))

// ---------------------------------------------------------------------------
// Implementations. A benchmark doc mirrors crdt-benchmarks' factory: roots
// "array", "map" and "text" and an update V2 listener. A plain doc (merge,
// load) has no listener.

function pkgVersion (name) {
  return JSON.parse(fs.readFileSync(path.join(rootDir, 'node_modules', name, 'package.json'), 'utf8')).version
}

function yjsImpl () {
  const Y = require('yjs')
  class Doc {
    constructor (k, onUpdate) {
      this.doc = new Y.Doc()
      this.doc.clientID = clientID(k)
      const cb = onUpdate || (() => {})
      this.doc.on('updateV2', update => cb(update))
      this.arr = this.doc.getArray('array')
      this.map = this.doc.getMap('map')
      this.text = this.doc.getText('text')
    }

    insertText (i, s) { this.text.insert(i, s) }
    deleteText (i, n) { this.text.delete(i, n) }
    insertArray (i, vals) { this.arr.insert(i, vals) }
    setMap (key, v) { this.map.set(key, v) }
    getText () { return this.text.toString() }
    getArray () { return this.arr.toArray() }
    getMap () { return this.map.toJSON() }
    transact (f) { this.doc.transact(f) }
    applyUpdate (u) { Y.applyUpdateV2(this.doc, u) }
    encode () { return Y.encodeStateAsUpdateV2(this.doc) }
  }
  return {
    version: pkgVersion('yjs'),
    Doc,
    plain: k => { const d = new Y.Doc(); d.clientID = clientID(k); return d },
    applyV1: (d, u) => Y.applyUpdate(d, u),
    applyV2: (d, u) => Y.applyUpdateV2(d, u),
    plainText: d => d.getText('text').toString()
  }
}

function ywasmImpl () {
  const Y = require('ywasm')
  class Doc {
    constructor (k, onUpdate) {
      this.doc = new Y.YDoc({ clientID: clientID(k) })
      const cb = onUpdate || (() => {})
      this.doc.onUpdateV2(update => cb(update))
      this.arr = this.doc.getArray('array')
      this.map = this.doc.getMap('map')
      this.text = this.doc.getText('text')
      this.txn = null
    }

    transact (f) {
      if (this.txn !== null) {
        f()
        return
      }
      this.txn = this.doc.beginTransaction(null)
      try {
        f()
      } finally {
        this.txn.free()
        this.txn = null
      }
    }

    insertText (i, s) { this.transact(() => this.text.insert(i, s, null, this.txn)) }
    deleteText (i, n) { this.transact(() => this.text.delete(i, n, this.txn)) }
    insertArray (i, vals) { this.transact(() => this.arr.insert(i, vals, this.txn)) }
    setMap (key, v) { this.transact(() => this.map.set(key, v, this.txn)) }
    getText () { return this.text.toString() }
    getArray () { return this.arr.toJson() }
    getMap () { return this.map.toJson() }
    applyUpdate (u) { this.transact(() => this.txn.applyV2(u)) }
    encode () { return Y.encodeStateAsUpdateV2(this.doc) }
  }
  return {
    version: pkgVersion('ywasm'),
    Doc,
    plain: k => new Y.YDoc({ clientID: clientID(k) }),
    applyV1: (d, u) => Y.applyUpdate(d, u, null),
    applyV2: (d, u) => Y.applyUpdateV2(d, u, null),
    plainText: d => d.getText('text').toString()
  }
}

const impls = { yjs: yjsImpl, ywasm: ywasmImpl }
if (!impls[implName]) {
  console.error(`usage: node --expose-gc bench/js/bench.cjs ${Object.keys(impls).join('|')}`)
  process.exit(2)
}
const Impl = impls[implName]()
const { Doc } = Impl

// ---------------------------------------------------------------------------
// Measuring.

const gc = () => { if (global.gc) global.gc() }
const mem = () => { gc(); return process.memoryUsage() }
let keepAlive = null // the last loaded doc, kept alive while its memory is read

function fail (msg) { throw new Error(msg) }

// A timer measures wall-clock and process CPU time (all threads: V8's
// compiler and GC threads too) of the timed part of a benchmark (timer in
// octobase.go).
const startTimer = () => ({ t: performance.now(), c: process.cpuUsage() })
function measure (tm) {
  const time = performance.now() - tm.t
  const c = process.cpuUsage(tm.c)
  return { metrics: { time, cpuTime: (c.user + c.system) / 1000 }, extra: {} }
}

// warmN and warmOps size the untimed warm-up run (workload.go).
const warmN = n => Math.max(1, Math.floor(n / 10))
const warmOps = total => Math.max(1, Math.floor(total / 10))

function edit (doc, op) {
  if (op.del > 0) doc.deleteText(op.pos, op.del)
  if (op.ins) doc.insertText(op.pos, op.ins)
}

// encodeAndParse measures encodeTime, docSize, parseTime and memUsed
// (Measure.encodeAndParse in octobase.go).
function encodeAndParse (res, doc1, load, sum) {
  let t = performance.now()
  const state = doc1.encode()
  res.metrics.encodeTime = performance.now() - t
  res.metrics.docSize = state.length
  const before = mem()
  t = performance.now()
  const doc = load(state)
  res.metrics.parseTime = performance.now() - t
  keepAlive = doc
  const after = mem()
  res.metrics.memUsed = Math.max(after.heapUsed - before.heapUsed, 0)
  res.extra = Object.assign(res.extra || {}, { memExternal: after.external - before.external })
  res.checksum = sum(doc)
  keepAlive = null
  return res
}

const textSum = d => checksumText(d.getText())
const arraySum = d => checksumValue(d.getArray())
const mapSum = d => checksumValue(d.getMap())

// b1 is crdt-benchmarks' B1 template.
function b1 (count, change, check, sum) {
  const doc2 = new Doc(2)
  const updates = []
  const doc1 = new Doc(1, u => updates.push(u))
  const tm = startTimer()
  for (let i = 0; i < count; i++) change(doc1, i)
  for (let i = 0; i < updates.length; i++) doc2.applyUpdate(updates[i])
  check(doc1, doc2)
  const res = measure(tm)
  const size = updates.reduce((a, u) => a + u.length, 0)
  res.metrics.avgUpdateSize = Math.round(size / count)
  return encodeAndParse(res, doc1, state => {
    const doc = new Doc(3)
    doc.applyUpdate(state)
    check(doc2, doc)
    return doc
  }, sum)
}

function insertString (s, at, ins) { return s.slice(0, at) + ins + s.slice(at) }

function genB1Text (id, n) {
  const r = rng(SEED)
  const ops = []
  let want = ''
  switch (id) {
    case 'B1.1': {
      const s = r.word(n, n)
      for (let i = 0; i < s.length; i++) ops.push([{ pos: i, del: 0, ins: s[i] }])
      want = s
      break
    }
    case 'B1.2': {
      const s = r.word(n, n)
      ops.push([{ pos: 0, del: 0, ins: s }])
      want = s
      break
    }
    case 'B1.3': {
      const s = r.word(n, n)
      for (let i = s.length - 1; i >= 0; i--) ops.push([{ pos: 0, del: 0, ins: s[i] }])
      want = s
      break
    }
    case 'B1.4':
    case 'B1.5': {
      const [lo, hi] = id === 'B1.5' ? [2, 10] : [1, 1]
      let s = ''
      for (let i = 0; i < n; i++) {
        const at = r.intn(0, s.length)
        const w = r.word(lo, hi)
        s = insertString(s, at, w)
        ops.push([{ pos: at, del: 0, ins: w }])
      }
      want = s
      break
    }
    case 'B1.6': {
      const s = r.word(n, n)
      ops.push([{ pos: 0, del: 0, ins: s }, { pos: 0, del: s.length, ins: '' }])
      want = ''
      break
    }
    case 'B1.7': {
      let s = ''
      for (let i = 0; i < n; i++) {
        const at = r.intn(0, s.length)
        if (s.length === at || r.flip()) {
          const w = r.word(2, 10)
          s = insertString(s, at, w)
          ops.push([{ pos: at, del: 0, ins: w }])
        } else {
          const del = r.intn(1, Math.min(9, s.length - at))
          s = s.slice(0, at) + s.slice(at + del)
          ops.push([{ pos: at, del, ins: '' }])
        }
      }
      want = s
      break
    }
    default: fail('no text input for ' + id)
  }
  return { ops, want }
}

function genB1Array (id, n) {
  const r = rng(SEED)
  const ops = []
  let want
  if (id === 'B1.11') {
    const nums = []
    for (let i = 0; i < n; i++) {
      const at = r.intn(0, nums.length)
      const v = r.intn(0, 0x7fffffff)
      nums.splice(at, 0, v)
      ops.push({ pos: at, vals: [v] })
    }
    want = nums
  } else {
    const nums = []
    for (let i = 0; i < n; i++) nums.push(r.intn(0, 0x7fffffff))
    if (id === 'B1.8') {
      nums.forEach((v, i) => ops.push({ pos: i, vals: [v] }))
      want = nums
    } else if (id === 'B1.9') {
      ops.push({ pos: 0, vals: nums })
      want = nums
    } else if (id === 'B1.10') {
      nums.forEach(v => ops.push({ pos: 0, vals: [v] }))
      want = nums.slice().reverse()
    } else {
      fail('no array input for ' + id)
    }
  }
  return { ops, want }
}

const arraysEqual = (a, b) => a.length === b.length && a.every((v, i) => v === b[i])

function runB1Text (id, n) {
  const { ops, want } = genB1Text(id, n)
  return b1(ops.length, (d, i) => { for (const op of ops[i]) edit(d, op) }, (a, b) => {
    const sa = a.getText()
    if (sa !== b.getText()) fail("the two documents' texts differ")
    if (sa !== want) fail(`text differs from the expected text (${sa.length} vs ${want.length} units)`)
  }, textSum)
}

function runB1Array (id, n) {
  const { ops, want } = genB1Array(id, n)
  return b1(ops.length, (d, i) => d.insertArray(ops[i].pos, ops[i].vals), (a, b) => {
    const va = a.getArray()
    if (!arraysEqual(va, b.getArray())) fail("the two documents' arrays differ")
    if (!arraysEqual(va, want)) fail('array differs from the expected numbers')
  }, arraySum)
}

function genB2 (id, n) {
  const r = rng(SEED)
  const init = r.word(100, 100)
  const gen = (lo, hi, withDeletes) => {
    let length = init.length
    const ops = []
    for (let i = 0; i < n; i++) {
      const at = r.intn(0, length)
      const w = r.word(lo, hi)
      length += w.length
      ops.push({ pos: at, del: 0, ins: w })
      if (!withDeletes) continue
      if (length === at || r.flip()) {
        const w = r.word(2, 10)
        length += w.length
        ops.push({ pos: at, del: 0, ins: w })
      } else {
        const del = r.intn(1, Math.min(9, length - at))
        length -= del
        ops.push({ pos: at, del, ins: '' })
      }
    }
    return ops
  }
  const input = { init, wantLen: -1 }
  switch (id) {
    case 'B2.1':
      input.ops1 = [{ pos: 0, del: 0, ins: r.word(n, n) }]
      input.ops2 = [{ pos: 0, del: 0, ins: r.word(n, n) }]
      input.wantLen = 2 * n + 100
      break
    case 'B2.2':
      input.ops1 = gen(1, 1, false)
      input.ops2 = gen(1, 1, false)
      input.wantLen = 2 * n + 100
      break
    case 'B2.3':
      input.ops1 = gen(3, 9, false)
      input.ops2 = gen(3, 9, false)
      break
    case 'B2.4':
      input.ops1 = gen(3, 9, true)
      input.ops2 = gen(3, 9, true)
      break
    default: fail('no B2 input for ' + id)
  }
  return input
}

// runB2 is crdt-benchmarks' B2 template (a sequential exchange: each doc's
// update handler applies the update to the other doc under a mutex).
function runB2 (id, n) {
  const input = genB2(id, n)
  let locked = false
  let size = 0
  const relay = to => u => {
    if (locked) return
    locked = true
    try {
      size += u.length
      to().applyUpdate(u)
    } finally {
      locked = false
    }
  }
  const doc1 = new Doc(1, relay(() => doc2))
  const doc2 = new Doc(2, relay(() => doc1))
  const check = (a, b) => {
    const sa = a.getText()
    if (sa !== b.getText()) fail("the two documents' texts differ")
    if (input.wantLen >= 0 && sa.length !== input.wantLen) fail(`text has ${sa.length} units, want ${input.wantLen}`)
  }
  doc1.insertText(0, input.init)
  const tm = startTimer()
  doc1.transact(() => { for (const op of input.ops1) edit(doc1, op) })
  doc2.transact(() => { for (const op of input.ops2) edit(doc2, op) })
  check(doc1, doc2)
  const res = measure(tm)
  res.metrics.avgUpdateSize = Math.round(size / 2)
  return encodeAndParse(res, doc1, state => {
    const doc = new Doc(3)
    doc.applyUpdate(state)
    check(doc, doc2)
    return doc
  }, textSum)
}

const b3Clients = n => 20 * Math.floor(Math.sqrt(n))

// runB3 is crdt-benchmarks' B3 template.
function runB3 (id, n) {
  const clients = b3Clients(n)
  const updates = []
  let locked = false
  const docs = []
  for (let i = 0; i < clients; i++) {
    docs.push(new Doc(i + 1, u => { if (!locked) updates.push(u) }))
  }
  let change
  let check = (a, b) => { if (canon(a.getMap()) !== canon(b.getMap())) fail("the two documents' maps differ") }
  let sum = mapSum
  switch (id) {
    case 'B3.1': change = (d, i) => d.setMap('v', i); break
    case 'B3.2': change = (d, i) => d.setMap('v', { name: i.toString(), address: 'here' }); break
    case 'B3.3': change = (d, i) => d.setMap('v', i.toString().repeat(clients)); break
    case 'B3.4':
      change = (d, i) => d.insertArray(0, [i.toString()])
      check = (a, b) => { if (canon(a.getArray()) !== canon(b.getArray())) fail("the two documents' arrays differ") }
      sum = arraySum
      break
    default: fail('unknown benchmark ' + id)
  }
  docs.forEach((d, i) => change(d, i))
  if (updates.length < clients) fail(`${updates.length} updates from ${clients} clients`)
  const applyAll = d => {
    locked = true
    try {
      d.transact(() => { for (let i = 0; i < updates.length; i++) d.applyUpdate(updates[i]) })
    } finally {
      locked = false
    }
  }
  applyAll(docs[0])
  const tm = startTimer()
  applyAll(docs[1])
  check(docs[0], docs[1])
  const res = measure(tm)
  res.metrics.updateSize = updates.reduce((a, u) => a + u.length, 0)
  return encodeAndParse(res, docs[0], state => {
    const doc = new Doc(clients + 1)
    doc.applyUpdate(state)
    check(doc, docs[0])
    return doc
  }, sum)
}

// ---------------------------------------------------------------------------
// B4 and the merge-only and load benchmarks.

let traceCache = null

function loadTrace (file) {
  if (traceCache && traceCache.file === file) return traceCache
  const raw = JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8'))
  const ops = []
  if (raw.startContent) ops.push({ pos: 0, del: 0, ins: raw.startContent })
  for (const tx of raw.txns) {
    for (const [pos, del, ins] of tx.patches) ops.push({ pos, del, ins: ins || '' })
  }
  traceCache = { file, ops, end: raw.endContent }
  return traceCache
}

// runB4 replays the trace reps times (b4 in octobase.go); a limit > 0
// replays only the first limit edits.
function runB4 (files, reps, limit) {
  const tr = loadTrace(files.trace)
  const ops = limit > 0 ? tr.ops.slice(0, limit) : tr.ops
  const check = reps === 1 && !(limit > 0)
  let doc1 = new Doc(1)
  const tm = startTimer()
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < ops.length; i++) edit(doc1, ops[i])
  }
  if (check && doc1.getText() !== tr.end) fail("text differs from the trace's endContent")
  const res = measure(tm)
  let t = performance.now()
  const state = doc1.encode()
  res.metrics.encodeTime = performance.now() - t
  res.metrics.docSize = state.length
  doc1 = null
  const before = mem()
  t = performance.now()
  const doc = new Doc(2)
  doc.applyUpdate(state)
  if (check && doc.getText() !== tr.end) fail("loaded text differs from the trace's endContent")
  res.metrics.parseTime = performance.now() - t
  keepAlive = doc
  const after = mem()
  res.metrics.memUsed = Math.max(after.heapUsed - before.heapUsed, 0)
  res.extra.memExternal = after.external - before.external
  res.checksum = textSum(doc)
  keepAlive = null
  return res
}

function readUpdates (file) {
  const buf = fs.readFileSync(file)
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
  const updates = []
  let total = 0
  for (let off = 0; off < bytes.length;) {
    const len = buf.readUInt32LE(off)
    off += 4
    updates.push(bytes.subarray(off, off + len))
    total += len
    off += len
  }
  return { updates, total }
}

// runMerge applies the recorded v1 updates (merge in octobase.go); a
// limit > 0 applies only the first limit updates.
function runMerge (files, limit) {
  const tr = loadTrace(files.trace)
  const all = readUpdates(files.updates)
  const updates = limit > 0 ? all.updates.slice(0, limit) : all.updates
  const before = mem()
  const tm = startTimer()
  const d = Impl.plain(2)
  for (let i = 0; i < updates.length; i++) Impl.applyV1(d, updates[i])
  const res = measure(tm)
  keepAlive = d
  const after = mem()
  keepAlive = null
  res.metrics.memUsed = Math.max(after.heapUsed - before.heapUsed, 0)
  res.metrics.avgUpdateSize = Math.round(all.total / all.updates.length)
  res.extra.memExternal = after.external - before.external
  const s = Impl.plainText(d)
  if (!(limit > 0) && s !== tr.end) fail("merged text differs from the trace's endContent")
  res.checksum = checksumText(s)
  return res
}

const LOAD_REPS = 5 // loadReps in octobase.go

function runLoad (files, v2) {
  const tr = loadTrace(files.trace)
  const state = new Uint8Array(fs.readFileSync(v2 ? files.stateV2 : files.stateV1))
  const apply = v2 ? Impl.applyV2 : Impl.applyV1
  const times = []
  const cpus = []
  let memUsed = 0
  let memExternal = 0
  let d = null
  for (let r = 0; r < LOAD_REPS; r++) {
    d = null
    // Only the first run forces a GC (for its memory figure): a full GC
    // before every run keeps V8 from reaching its optimized code (yjs then
    // loads the B4 document about 3x slower).
    const before = r === 0 ? mem() : null
    const tm = startTimer()
    d = Impl.plain(2)
    apply(d, state)
    const m = measure(tm).metrics
    times.push(m.time)
    cpus.push(m.cpuTime)
    if (r === 0) {
      const after = mem()
      memUsed = Math.max(after.heapUsed - before.heapUsed, 0)
      memExternal = after.external - before.external
    }
  }
  const s = Impl.plainText(d)
  if (s !== tr.end) fail("loaded text differs from the trace's endContent")
  times.sort((a, b) => a - b)
  cpus.sort((a, b) => a - b)
  return {
    metrics: { time: times[times.length >> 1], cpuTime: cpus[cpus.length >> 1], docSize: state.length, memUsed },
    extra: { memExternal },
    checksum: checksumText(s)
  }
}

// ---------------------------------------------------------------------------

function run (req) {
  const id = req.id
  const n = req.warmup ? warmN(req.n) : req.n
  const files = req.files || {}
  if (/^B1\.(8|9|10|11)$/.test(id)) return runB1Array(id, n)
  if (id.startsWith('B1.')) return runB1Text(id, n)
  if (id.startsWith('B2.')) return runB2(id, n)
  if (id.startsWith('B3.')) return runB3(id, n)
  if (!files.trace) fail('no trace file given for ' + id)
  const limit = req.warmup ? warmOps(loadTrace(files.trace).ops.length) : 0
  switch (id) {
    case 'B4': return runB4(files, 1, limit)
    case 'B4x100': return limit > 0 ? runB4(files, 1, limit) : runB4(files, 100, 0)
    case 'B4.merge': return runMerge(files, limit)
    case 'B4.load.v1': return runLoad(files, false)
    case 'B4.load.v2': return runLoad(files, true)
  }
  fail('unknown benchmark ' + id)
}

function handle (req) {
  switch (req.op) {
    case 'hello':
      return { version: Impl.version, node: process.version, gc: typeof global.gc === 'function' }
    case 'prng': {
      const r = rng(SEED)
      const values = []
      for (let i = 0; i < (req.count || 5); i++) values.push(r.uint32())
      return { values, word: r.word(2, 10), intn: r.intn(0, 0x7fffffff) }
    }
    case 'run':
      return run(req)
  }
  fail('unknown op ' + req.op)
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
rl.on('line', line => {
  if (!line.trim()) return
  let out
  try {
    out = handle(JSON.parse(line))
  } catch (e) {
    out = { error: String((e && e.stack) || e) }
  }
  process.stdout.write(JSON.stringify(out) + '\n')
})
