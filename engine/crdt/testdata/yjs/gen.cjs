#!/usr/bin/env node
// gen.cjs: generates the yjs conformance fixtures in this directory with the
// real yjs (the version pinned in the repository's package-lock.json).
//
//   make fixtures                      (= node engine/crdt/testdata/yjs/gen.cjs)
//   node gen.cjs --out /tmp/fx         write elsewhere (e.g. to diff two runs)
//   node gen.cjs --only text,map       some families only (no basics, no traces)
//   node gen.cjs --seeds 3             fewer scenarios per family and gc mode
//   node gen.cjs --traces DIR          editing traces (default ../shared/data/... beside the repo)
//   node gen.cjs --no-traces           skip traces.json
//   GEN_DUMP=/tmp/s.json node gen.cjs  on a failed self-check, dump the scenario there
//
// Output is deterministic: a seeded PRNG drives every choice, every doc gets
// a fixed clientID, and nothing depends on time. README.md in this directory
// documents the JSON schema; keep it in step with this file.
'use strict'

const fs = require('fs')
const path = require('path')
const zlib = require('zlib')
const crypto = require('crypto')
const Y = require('yjs')
const lib0enc = require('lib0/encoding')

const SCHEMA = 1
const FAMILIES = ['map', 'array', 'text', 'xml', 'mixed']
const DEFAULT_SEEDS = 40 // per family and gc mode

// ---------------------------------------------------------------- arguments

const args = process.argv.slice(2)
const opt = { out: __dirname, only: null, seeds: DEFAULT_SEEDS, traces: undefined, noTraces: false }
for (let i = 0; i < args.length; i++) {
  const a = args[i]
  if (a === '--out') opt.out = path.resolve(args[++i])
  else if (a === '--only') opt.only = args[++i].split(',')
  else if (a === '--seeds') opt.seeds = parseInt(args[++i], 10)
  else if (a === '--traces') opt.traces = path.resolve(args[++i])
  else if (a === '--no-traces') opt.noTraces = true
  else {
    console.error(`gen.cjs: unknown argument ${a}`)
    process.exit(2)
  }
}
const repoRoot = path.resolve(__dirname, '../../../..')
if (opt.traces === undefined) {
  opt.traces = process.env.OCTOBASE_TRACES ||
    path.resolve(repoRoot, '..', 'shared', 'data', 'editing-traces', 'sequential')
}

// ---------------------------------------------------------------- helpers

const b64 = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('base64')
const hex = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('hex')
const sha256 = (u8) => crypto.createHash('sha256').update(u8).digest('hex')

// fnv1a32 turns a scenario name into a PRNG seed.
function fnv1a32 (s) {
  let h = 0x811c9dc5
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

// Rng is mulberry32: tiny, fast and good enough for test data.
class Rng {
  constructor (seed) { this.a = seed >>> 0 }
  next () {
    this.a = (this.a + 0x6D2B79F5) >>> 0
    let t = this.a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  int (n) { return Math.floor(this.next() * n) } // [0, n)
  range (lo, hi) { return lo + this.int(hi - lo + 1) } // [lo, hi]
  bool (p = 0.5) { return this.next() < p }
  pick (arr) { return arr[this.int(arr.length)] }
  shuffle (arr) {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [arr[i], arr[j]] = [arr[j], arr[i]]
    }
    return arr
  }
  // weighted picks a key of {key: weight}.
  weighted (table) {
    let total = 0
    for (const k in table) total += table[k]
    let x = this.next() * total
    for (const k in table) {
      x -= table[k]
      if (x < 0) return k
    }
    return Object.keys(table)[0]
  }
}

// tag converts a value read from yjs into plain JSON. Values JSON cannot
// carry are tagged: Uint8Array {"$bytes": base64}, bigint {"$bigint": "123"},
// undefined {"$undefined": true}, a sub-document {"$doc": guid}. Shared
// types become their toJSON(). -0 becomes 0 (JSON.stringify does the same).
function tag (v) {
  if (v === undefined) return { $undefined: true }
  if (v === null) return null
  if (typeof v === 'bigint') return { $bigint: v.toString() }
  if (v instanceof Uint8Array) return { $bytes: b64(v) }
  if (v instanceof Y.Doc) return { $doc: v.guid }
  if (v instanceof Y.AbstractType) return tag(v.toJSON())
  if (Array.isArray(v)) return v.map(tag)
  if (typeof v === 'object') {
    const o = {}
    for (const k of Object.keys(v)) o[k] = tag(v[k])
    return o
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`gen.cjs: non-finite number ${v} in output`)
    return Object.is(v, -0) ? 0 : v
  }
  return v
}

// canon is JSON.stringify with object keys sorted, for comparing outputs
// whose Y.Map key order depends on integration order.
function canon (v) {
  if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']'
  if (v !== null && typeof v === 'object') {
    return '{' + Object.keys(v).sort().map(k => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}'
  }
  return JSON.stringify(v)
}

// short renders a value for the human-readable op descriptions.
function short (v) {
  let s
  if (v instanceof Y.AbstractType) s = `new ${typeName(v)}`
  else if (v instanceof Y.Doc) s = `new Y.Doc(${JSON.stringify(v.guid)})`
  else {
    try {
      s = JSON.stringify(v, (k, x) => typeof x === 'bigint' ? `${x}n`
        : x instanceof Uint8Array ? `u8[${x.length}]`
          : x === undefined ? 'undefined' : Object.is(x, -0) ? '-0' : x)
    } catch (e) { s = String(v) }
    if (s === undefined) s = 'undefined'
  }
  return s.length > 48 ? s.slice(0, 45) + '…' : s
}

function typeName (t) {
  if (t instanceof Y.XmlText) return 'Y.XmlText'
  if (t instanceof Y.Text) return 'Y.Text'
  if (t instanceof Y.XmlElement) return 'Y.XmlElement'
  if (t instanceof Y.XmlFragment) return 'Y.XmlFragment'
  if (t instanceof Y.Array) return 'Y.Array'
  if (t instanceof Y.Map) return 'Y.Map'
  return 'Y.AbstractType'
}

// ---------------------------------------------------------------- value pools

const STRINGS = [
  '', 'a', 'hello', 'world', 'yjs', 'Ωmega', 'naïve', 'straße', '日本語', '中文字', 'русский',
  'עברית', 'مرحبا', '😀', '👍🏽', '👨‍👩‍👧', '🇩🇪', 'e\u0301', 'tab\tnew\nline', '"quoted"',
  'back\\slash', 'nul\u0000byte', ' ', '🦄🌈', 'line\u2028sep', 'ᄀᄀ', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢'
]
const MAP_KEYS = ['a', 'b', 'c', 'title', 'count', 'ключ', '🔑', '', '10', '2', 'k with space', 'x.y']
const OBJ_KEYS = ['a', 'b', 'name', 'id', '1', '10', '2', 'ü', '🙂', 'nested', '']
const INT_EDGES = [0, 1, -1, 63, 64, -64, -65, 127, 128, 8191, 8192, -8193, 2147483647, -2147483647,
  2147483646, 1000000]
const F32_EDGES = [0.5, -1.25, 2147483648, -2147483648, 2 ** 40, -(2 ** 33), 3.4028234663852886e38,
  Math.fround(0.1), Math.fround(1e-40), 1.5e-45, 65504.5]
const F64_EDGES = [0.1, -3.14159, 1e300, -1e-300, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53 + 2, 5e-324,
  1.7976931348623157e308, 123456789.123, 0.30000000000000004]
const TEXT_CHUNKS = [
  'a', 'b', 'c', 'x', 'hello', ' ', ' world', '\n', 'é', 'ü', 'ß', '中', '文', 'ж', '😀', '👍🏽',
  '🇩🇪', '𝔘', 'e\u0301', 'abc', 'The quick brown fox', '—', '…', '"', '\t'
]
const FORMATS = [
  { bold: true }, { italic: true }, { bold: null }, { italic: null }, { underline: true },
  { link: { href: 'https://example.com/a?b=1' } }, { link: null }, { href: 'https://octo.base/x' },
  { color: '#ff0000' }, { size: 12 }, { bold: true, italic: true }, { code: true },
  { comment: { id: 'c1', resolved: false } }, { bold: null, italic: null }
]
const EMBEDS = [
  { image: 'https://example.com/cat.png' }, { formula: 'e=mc^2' }, { mention: { id: 7, name: 'Ada' } },
  { video: 'v.mp4', width: 320, height: 240 }, { divider: true }
]
const NODE_NAMES = ['p', 'div', 'h1', 'ul', 'li', 'span', 'blockquote', 'custom-el', 'ünï']
const ATTR_KEYS = ['class', 'id', 'href', 'data-x', 'style', 'lang', 'ßattr']
const ATTR_VALUES = ['', 'a', 'main', 'x y z', '😀', 'https://example.com', '"q"', '<&>']
const TEXT_ATTR_KEYS = ['lang', 'version', 'owner']

// ---------------------------------------------------------------- random values

// pickFormat returns a fresh copy of a FORMATS entry: yjs writes into the
// attributes object it is given (it adds null for attributes to undo), so
// sharing one would leak state from one scenario into the next.
function pickFormat (r) {
  return structuredClone(r.pick(FORMATS))
}

function randString (r) {
  const n = r.weighted({ 1: 6, 2: 3, 3: 1 })
  let s = ''
  for (let i = 0; i < n; i++) s += r.pick(STRINGS)
  return s
}

function randBytes (r, max = 8) {
  const u = new Uint8Array(r.int(max + 1))
  for (let i = 0; i < u.length; i++) u[i] = r.int(256)
  return u
}

// anyValue returns a value of any lib0 Any kind. top says where it goes:
// 'map' (Y.Map value: undefined and bigint allowed), 'array' (Y.Array
// element: neither), 'nested' (inside an object or array: anything).
function anyValue (r, top, depth = 0) {
  const kinds = {
    smallint: 6, intedge: 4, f32: 3, f64: 3, negzero: 0.5, string: 8, bool: 2, null: 1.5,
    object: depth < 3 ? 3 : 0, array: depth < 3 ? 2.5 : 0,
    undefined: top === 'array' ? 0 : 0.5,
    bigint: top === 'array' ? 0 : 0.7,
    bytes: top === 'nested' ? 1 : 0 // top-level bytes are ContentBinary, chosen elsewhere
  }
  switch (r.weighted(kinds)) {
    case 'smallint': return r.range(-100, 100)
    case 'intedge': return r.pick(INT_EDGES)
    case 'f32': return r.pick(F32_EDGES)
    case 'f64': return r.pick(F64_EDGES)
    case 'negzero': return -0
    case 'string': return randString(r)
    case 'bool': return r.bool()
    case 'null': return null
    case 'undefined': return undefined
    case 'bigint': return r.pick([0n, 1n, -5n, 2n ** 60n, -(2n ** 63n), 2n ** 63n - 1n, 12345678901234n])
    case 'bytes': return randBytes(r)
    case 'object': {
      const o = {}
      const n = r.int(4)
      for (let i = 0; i < n; i++) o[r.pick(OBJ_KEYS)] = anyValue(r, 'nested', depth + 1)
      return o
    }
    case 'array': {
      const a = []
      const n = r.int(4)
      for (let i = 0; i < n; i++) a.push(anyValue(r, 'nested', depth + 1))
      return a
    }
  }
  throw new Error('unreachable')
}

function textChunk (r) {
  let s = ''
  const n = r.weighted({ 1: 5, 2: 3, 4: 2, 12: 1 })
  for (let i = 0; i < n; i++) s += r.pick(TEXT_CHUNKS)
  return s
}

// ---------------------------------------------------------------- scenario context

class Ctx {
  constructor (name, family, gc, r) {
    this.name = name
    this.family = family
    this.gc = gc
    this.r = r
    this.subdocs = 0
  }

  newSubdoc () {
    const guid = `${this.name}/sub${this.subdocs++}`
    const o = { guid }
    if (this.r.bool(0.3)) o.meta = { title: 'sub', n: this.subdocs }
    if (this.r.bool(0.3)) o.gc = false
    if (this.r.bool(0.2)) o.autoLoad = true
    return new Y.Doc(o)
  }

  // newType builds a preliminary (not yet integrated) shared type, filled
  // with some content that yjs integrates along with it.
  newType (depth, kinds) {
    const r = this.r
    const kind = r.pick(kinds)
    switch (kind) {
      case 'map': {
        const m = new Y.Map()
        const n = r.int(3)
        for (let i = 0; i < n; i++) {
          m.set(r.pick(MAP_KEYS), depth < 2 && r.bool(0.2) ? this.newType(depth + 1, ['map', 'array', 'text']) : anyValue(r, 'map'))
        }
        return m
      }
      case 'array': {
        const a = new Y.Array()
        const items = []
        const n = r.int(4)
        for (let i = 0; i < n; i++) {
          items.push(depth < 2 && r.bool(0.15) ? this.newType(depth + 1, ['map', 'array', 'text']) : anyValue(r, 'array'))
        }
        if (items.length > 0) a.insert(0, items)
        return a
      }
      case 'text':
        return new Y.Text(r.bool(0.6) ? textChunk(r) : undefined)
      case 'xmlfragment': {
        const f = new Y.XmlFragment()
        if (r.bool(0.5)) f.insert(0, [this.newXmlNode(depth + 1)])
        return f
      }
      case 'xmlelement':
        return this.newXmlElement(depth)
      case 'xmltext':
        return new Y.XmlText(r.bool(0.7) ? textChunk(r) : undefined)
    }
    throw new Error(`unknown kind ${kind}`)
  }

  newXmlElement (depth) {
    const r = this.r
    const el = new Y.XmlElement(r.pick(NODE_NAMES))
    const na = r.int(3)
    for (let i = 0; i < na; i++) el.setAttribute(r.pick(ATTR_KEYS), r.pick(ATTR_VALUES))
    if (depth < 3) {
      const nc = r.weighted({ 0: 3, 1: 3, 2: 1 })
      const kids = []
      for (let i = 0; i < nc; i++) kids.push(this.newXmlNode(depth + 1))
      if (kids.length > 0) el.insert(0, kids)
    }
    return el
  }

  newXmlNode (depth) {
    return (depth < 3 && this.r.bool(0.5)) ? this.newXmlElement(depth) : new Y.XmlText(textChunk(this.r))
  }

  // nestedKinds are the shared types this family nests inside maps and arrays.
  nestedKinds () {
    if (this.family === 'mixed') return ['map', 'array', 'text', 'xmlfragment', 'xmlelement', 'xmltext']
    return ['map', 'array', 'text']
  }
}

// ---------------------------------------------------------------- operations

function rootOf (doc, name, kind) {
  switch (kind) {
    case 'map': return doc.getMap(name)
    case 'array': return doc.getArray(name)
    case 'text': return doc.getText(name)
    case 'xmlfragment': return doc.getXmlFragment(name)
  }
  throw new Error(`unknown root kind ${kind}`)
}

// collectTypes lists every shared type reachable from the roots with a
// human-readable path and its depth.
function collectTypes (doc, roots) {
  const out = []
  const visit = (t, p, depth) => {
    out.push({ t, path: p, depth })
    if (t instanceof Y.Map) {
      for (const [k, v] of t.entries()) if (v instanceof Y.AbstractType) visit(v, `${p}[${JSON.stringify(k)}]`, depth + 1)
    } else if (t instanceof Y.Array || t instanceof Y.XmlFragment) {
      t.toArray().forEach((v, i) => { if (v instanceof Y.AbstractType) visit(v, `${p}[${i}]`, depth + 1) })
    } else if (t instanceof Y.Text) {
      let i = 0
      for (const d of t.toDelta()) {
        if (d.insert instanceof Y.AbstractType) visit(d.insert, `${p}<embed@${i}>`, depth + 1)
        i += typeof d.insert === 'string' ? d.insert.length : 1
      }
    }
  }
  for (const [name, kind] of Object.entries(roots)) visit(rootOf(doc, name, kind), name, 0)
  return out
}

function mapOp (ctx, m, p, depth) {
  const r = ctx.r
  const keys = Array.from(m.keys())
  const op = r.weighted({ set: 50, setType: depth < 3 ? 12 : 0, setBytes: 6, setDoc: ctx.family === 'mixed' || ctx.family === 'map' ? 2 : 0, delete: 24, clear: 1.5 })
  switch (op) {
    case 'set': {
      const k = r.pick(MAP_KEYS)
      const v = anyValue(r, 'map')
      m.set(k, v)
      return `${p}.set(${JSON.stringify(k)}, ${short(v)})`
    }
    case 'setType': {
      const k = r.pick(MAP_KEYS)
      const v = ctx.newType(depth + 1, ctx.nestedKinds())
      m.set(k, v)
      return `${p}.set(${JSON.stringify(k)}, new ${typeName(v)})`
    }
    case 'setBytes': {
      const k = r.pick(MAP_KEYS)
      const v = randBytes(r, 12)
      m.set(k, v)
      return `${p}.set(${JSON.stringify(k)}, ${short(v)})`
    }
    case 'setDoc': {
      const k = r.pick(MAP_KEYS)
      const d = ctx.newSubdoc()
      m.set(k, d)
      return `${p}.set(${JSON.stringify(k)}, ${short(d)})`
    }
    case 'delete': {
      const k = keys.length > 0 && r.bool(0.9) ? r.pick(keys) : r.pick(MAP_KEYS)
      m.delete(k)
      return `${p}.delete(${JSON.stringify(k)})`
    }
    case 'clear':
      m.clear()
      return `${p}.clear()`
  }
}

function arrayOp (ctx, a, p, depth) {
  const r = ctx.r
  const len = a.length
  const op = r.weighted({ insert: 35, push: 10, unshift: 8, run: 4, delete: len > 0 ? 30 : 0 })
  const items = () => {
    const out = []
    const n = r.weighted({ 1: 5, 2: 3, 3: 1, 4: 1 })
    for (let i = 0; i < n; i++) {
      const k = r.weighted({ any: 80, type: depth < 3 ? 12 : 0, bytes: 5, doc: ctx.family === 'mixed' ? 1.5 : 0 })
      if (k === 'any') out.push(anyValue(r, 'array'))
      else if (k === 'type') out.push(ctx.newType(depth + 1, ctx.nestedKinds()))
      else if (k === 'bytes') out.push(randBytes(r, 12))
      else out.push(ctx.newSubdoc())
    }
    return out
  }
  const list = (vs) => vs.map(short).join(', ')
  switch (op) {
    case 'insert': {
      const i = r.int(len + 1)
      const vs = items()
      a.insert(i, vs)
      return `${p}.insert(${i}, [${list(vs)}])`
    }
    case 'push': {
      const vs = items()
      a.push(vs)
      return `${p}.push([${list(vs)}])`
    }
    case 'unshift': {
      const vs = items()
      a.unshift(vs)
      return `${p}.unshift([${list(vs)}])`
    }
    case 'run': { // a long run of numbers, split later by inserts and deletes
      const i = r.int(len + 1)
      const vs = []
      const n = r.range(10, 30)
      for (let j = 0; j < n; j++) vs.push(r.int(1000))
      a.insert(i, vs)
      return `${p}.insert(${i}, [${n} numbers])`
    }
    case 'delete': {
      const i = r.int(len)
      const n = r.range(1, Math.min(r.bool(0.2) ? 10 : 3, len - i))
      a.delete(i, n)
      return `${p}.delete(${i}, ${n})`
    }
  }
}

// midPairs returns the indexes of t (in yjs units: UTF-16 code units, an
// embed counts 1) that fall between the two halves of a surrogate pair.
function midPairs (t) {
  const bad = new Set()
  let pos = 0
  for (const d of t.toDelta()) {
    if (typeof d.insert === 'string') {
      for (let k = 1; k < d.insert.length; k++) {
        const c = d.insert.charCodeAt(k - 1)
        if (c >= 0xD800 && c <= 0xDBFF) bad.add(pos + k)
      }
      pos += d.insert.length
    } else {
      pos += 1
    }
  }
  return bad
}

function textOp (ctx, t, p, depth) {
  const r = ctx.r
  const len = t.length
  const xml = t instanceof Y.XmlText
  // Local edits only ever cut text at code-point boundaries. yjs replaces
  // both halves of a split surrogate pair with U+FFFD, and a local format
  // that changes nothing can do that without emitting an update, which
  // would make the fixture unreplayable (basics.json covers the split).
  const bad = midPairs(t)
  const at = (i) => bad.has(i) ? i + 1 : i
  const span = (i, n) => bad.has(i + n) ? n + 1 : n
  const op = r.weighted({
    insert: 35,
    insertFmt: 10,
    delete: len > 0 ? 20 : 0,
    format: len > 0 ? 14 : 0,
    embed: xml ? 0 : 5,
    embedType: !xml && depth < 2 ? 1.5 : 0,
    delta: 5,
    setAttr: xml ? 0 : 2,
    removeAttr: xml ? 0 : 1
  })
  switch (op) {
    case 'insert': {
      const i = at(r.int(len + 1))
      const s = textChunk(r)
      t.insert(i, s)
      return `${p}.insert(${i}, ${JSON.stringify(s)})`
    }
    case 'insertFmt': {
      const i = at(r.int(len + 1))
      const s = textChunk(r)
      const f = pickFormat(r)
      t.insert(i, s, f)
      return `${p}.insert(${i}, ${JSON.stringify(s)}, ${JSON.stringify(f)})`
    }
    case 'delete': {
      const i = at(r.int(len))
      if (i >= len) return textOp(ctx, t, p, depth)
      const n = span(i, r.range(1, Math.min(r.bool(0.2) ? 20 : 4, len - i)))
      t.delete(i, n)
      return `${p}.delete(${i}, ${n})`
    }
    case 'format': {
      const i = at(r.int(len))
      if (i >= len) return textOp(ctx, t, p, depth)
      const n = span(i, r.range(1, Math.min(10, len - i)))
      const f = pickFormat(r)
      t.format(i, n, f)
      return `${p}.format(${i}, ${n}, ${JSON.stringify(f)})`
    }
    case 'embed': {
      const i = at(r.int(len + 1))
      const e = structuredClone(r.pick(EMBEDS))
      const f = r.bool(0.3) ? pickFormat(r) : undefined
      t.insertEmbed(i, e, f)
      return `${p}.insertEmbed(${i}, ${JSON.stringify(e)}${f ? ', ' + JSON.stringify(f) : ''})`
    }
    case 'embedType': {
      const i = at(r.int(len + 1))
      const v = ctx.newType(depth + 1, ['map', 'array'])
      t.insertEmbed(i, v)
      return `${p}.insertEmbed(${i}, new ${typeName(v)})`
    }
    case 'delta': {
      // A Quill-style delta: retain, insert (maybe formatted), delete.
      const d = []
      let pos = 0
      const steps = r.range(1, 3)
      for (let s = 0; s < steps; s++) {
        const k = r.weighted({ retain: pos < len ? 3 : 0, insert: 3, delete: pos < len ? 2 : 0 })
        if (k === 'retain') {
          const n = span(pos, r.range(1, Math.min(5, len - pos)))
          d.push(r.bool(0.3) ? { retain: n, attributes: pickFormat(r) } : { retain: n })
          pos += n
        } else if (k === 'insert') {
          const s = textChunk(r)
          d.push(r.bool(0.4) ? { insert: s, attributes: pickFormat(r) } : { insert: s })
        } else {
          const n = span(pos, r.range(1, Math.min(3, len - pos)))
          d.push({ delete: n })
          pos += n
        }
      }
      t.applyDelta(d)
      return `${p}.applyDelta(${JSON.stringify(d)})`
    }
    case 'setAttr': {
      const k = r.pick(TEXT_ATTR_KEYS)
      const v = anyValue(r, 'array')
      t.setAttribute(k, v)
      return `${p}.setAttribute(${JSON.stringify(k)}, ${short(v)})`
    }
    case 'removeAttr': {
      const k = r.pick(TEXT_ATTR_KEYS)
      t.removeAttribute(k)
      return `${p}.removeAttribute(${JSON.stringify(k)})`
    }
  }
}

function xmlOp (ctx, x, p, depth) {
  const r = ctx.r
  const len = x.length
  const el = x instanceof Y.XmlElement
  const op = r.weighted({ insert: 35, delete: len > 0 ? 20 : 0, setAttr: el ? 22 : 0, removeAttr: el ? 8 : 0 })
  switch (op) {
    case 'insert': {
      const i = r.int(len + 1)
      const n = r.weighted({ 1: 4, 2: 1 })
      const nodes = []
      for (let j = 0; j < n; j++) nodes.push(ctx.newXmlNode(depth + 1))
      x.insert(i, nodes)
      return `${p}.insert(${i}, [${nodes.map(v => v instanceof Y.XmlElement ? `<${v.nodeName}>` : 'new Y.XmlText').join(', ')}])`
    }
    case 'delete': {
      const i = r.int(len)
      const n = r.range(1, Math.min(2, len - i))
      x.delete(i, n)
      return `${p}.delete(${i}, ${n})`
    }
    case 'setAttr': {
      const k = r.pick(ATTR_KEYS)
      const v = r.pick(ATTR_VALUES)
      x.setAttribute(k, v)
      return `${p}.setAttribute(${JSON.stringify(k)}, ${JSON.stringify(v)})`
    }
    case 'removeAttr': {
      const attrs = Object.keys(x.getAttributes())
      const k = attrs.length > 0 ? r.pick(attrs) : r.pick(ATTR_KEYS)
      x.removeAttribute(k)
      return `${p}.removeAttribute(${JSON.stringify(k)})`
    }
  }
}

// randomOp picks a shared type (a root more often than not) and edits it.
function randomOp (ctx, doc, roots) {
  const r = ctx.r
  const types = collectTypes(doc, roots)
  const rootTypes = types.filter(x => x.depth === 0)
  const { t, path: p, depth } = r.bool(0.55) ? r.pick(rootTypes) : r.pick(types)
  if (t instanceof Y.Text) return textOp(ctx, t, p, depth)
  if (t instanceof Y.XmlFragment) return xmlOp(ctx, t, p, depth) // XmlElement too
  if (t instanceof Y.Array) return arrayOp(ctx, t, p, depth)
  if (t instanceof Y.Map) return mapOp(ctx, t, p, depth)
  throw new Error(`no op for ${typeName(t)} at ${p}`)
}

// ---------------------------------------------------------------- scenarios

const ID_SPECIALS = [0, 1, 2, 127, 128, 16383, 16384, 2147483647, 2147483648, 4294967295]

function pickClientIDs (r, n) {
  const ids = new Set()
  while (ids.size < n) {
    switch (r.weighted({ special: 2, small: 3, u16: 2, u31: 2, u32: 3 })) {
      case 'special': ids.add(r.pick(ID_SPECIALS)); break
      case 'small': ids.add(r.range(1, 20)); break
      case 'u16': ids.add(r.int(65536)); break
      case 'u31': ids.add(r.int(2147483648)); break
      case 'u32': ids.add(2147483648 + r.int(2147483648)); break
    }
  }
  return Array.from(ids)
}

function pickRoots (r, family) {
  switch (family) {
    case 'map': return r.bool(0.3) ? { m: 'map', 'карта 🗺': 'map' } : { m: 'map' }
    case 'array': return r.bool(0.3) ? { a: 'array', 'list-2': 'array' } : { a: 'array' }
    case 'text': return r.bool(0.3) ? { t: 'text', 'notes 📝': 'text' } : { t: 'text' }
    case 'xml': return r.bool(0.3) ? { x: 'xmlfragment', prosemirror: 'xmlfragment' } : { x: 'xmlfragment' }
    case 'mixed': return { m: 'map', a: 'array', t: 'text', x: 'xmlfragment' }
  }
  throw new Error(`unknown family ${family}`)
}

function applyFmt (doc, fmt, v1, v2) {
  if (fmt === 'v1') Y.applyUpdate(doc, v1)
  else Y.applyUpdateV2(doc, v2)
}

function checkpoint (doc, round) {
  return {
    kind: 'check',
    round,
    sv: b64(Y.encodeStateVector(doc)),
    state_v1_sha256: sha256(Y.encodeStateAsUpdate(doc)),
    pending_structs: doc.store.pendingStructs !== null,
    pending_ds: doc.store.pendingDs !== null
  }
}

function docOutput (doc, roots) {
  const out = {
    sv: b64(Y.encodeStateVector(doc)),
    state_v1: b64(Y.encodeStateAsUpdate(doc)),
    state_v2: b64(Y.encodeStateAsUpdateV2(doc)),
    roots: {}
  }
  for (const [name, kind] of Object.entries(roots)) {
    const t = rootOf(doc, name, kind)
    const o = { json: tag(t.toJSON()) }
    if (kind === 'text') {
      o.delta = deltaOut(t.toDelta())
      const attrs = t.getAttributes()
      if (Object.keys(attrs).length > 0) o.attrs = tag(attrs)
    }
    if (kind === 'xmlfragment') o.tree = xmlTree(t)
    out.roots[name] = o
  }
  return out
}

// kindOf names a shared type the way fixtures do.
function kindOf (t) {
  if (t instanceof Y.XmlText) return 'xmltext'
  if (t instanceof Y.Text) return 'text'
  if (t instanceof Y.XmlElement) return 'xmlelement'
  if (t instanceof Y.XmlFragment) return 'xmlfragment'
  if (t instanceof Y.Array) return 'array'
  if (t instanceof Y.Map) return 'map'
  throw new Error(`unknown shared type ${typeName(t)}`)
}

// deltaOut is tag() for a Y.Text delta, except that an embedded shared
// type becomes {"$type": kind, "json": its toJSON()} so it is not mistaken
// for an embedded object.
function deltaOut (delta) {
  return delta.map(op => {
    const o = tag(op)
    if (op.insert instanceof Y.AbstractType) o.insert = { $type: kindOf(op.insert), json: tag(op.insert.toJSON()) }
    return o
  })
}

function xmlTree (node) {
  if (node instanceof Y.XmlText) {
    const o = { text: deltaOut(node.toDelta()) }
    const attrs = node.getAttributes()
    if (Object.keys(attrs).length > 0) o.attrs = tag(attrs)
    return o
  }
  if (node instanceof Y.XmlElement) {
    return { name: node.nodeName, attrs: tag(node.getAttributes()), children: node.toArray().map(xmlTree) }
  }
  if (node instanceof Y.XmlFragment) return { children: node.toArray().map(xmlTree) }
  throw new Error(`unexpected xml child ${typeName(node)}`)
}

function runScenario (family, gc, seed) {
  const name = `${family}/${gc ? 'gc' : 'nogc'}/${seed}`
  const r = new Rng(fnv1a32(name))
  const ctx = new Ctx(name, family, gc, r)
  const n = r.range(2, 5)
  const ids = pickClientIDs(r, n)
  const roots = pickRoots(r, family)
  const fmt = r.bool() ? 'v1' : 'v2'
  const rounds = r.range(2, 7)
  const pDeliver = 0.3 + 0.6 * r.next()

  const clients = ids.map((id) => {
    const doc = new Y.Doc({ gc })
    doc.clientID = id
    for (const [rn, kind] of Object.entries(roots)) rootOf(doc, rn, kind)
    const c = { id, doc, updates: [], events: [], got: new Set(), v1: [], v2: [] }
    doc.on('update', (u, origin, d, tr) => { if (tr.local) c.v1.push(u) })
    doc.on('updateV2', (u, origin, d, tr) => { if (tr.local) c.v2.push(u) })
    return c
  })

  // drain records the updates client ci's doc emitted for its own
  // transactions since the last drain. Besides edits, yjs runs a local
  // transaction of its own after applying a remote update that touched a
  // formatted Y.Text (cleanupYTextAfterTransaction deletes redundant format
  // items); such updates are marked auto and are delivered like any other.
  const drain = (ci, ops) => {
    const c = clients[ci]
    if (c.v1.length !== c.v2.length) throw new Error(`${name}: update and updateV2 events out of step`)
    c.v1.forEach((v1, i) => {
      const ev = { kind: 'local', u: c.updates.length }
      if (ops === null) ev.auto = true
      c.events.push(ev)
      c.updates.push({ v1, v2: c.v2[i], ops: ops === null ? ['(yjs formatting cleanup after a remote update)'] : (i === 0 ? ops : ['(follow-up)']) })
    })
    c.v1.length = 0
    c.v2.length = 0
  }

  const edit = (ci) => {
    const c = clients[ci]
    const nops = r.weighted({ 1: 65, 2: 20, 3: 10, 4: 5 })
    const desc = []
    c.doc.transact(() => {
      for (let k = 0; k < nops; k++) desc.push(randomOp(ctx, c.doc, roots))
    })
    drain(ci, desc)
  }

  // deliver applies a batch of (from, u) pairs to client d, in order.
  const deliver = (d, batch) => {
    const c = clients[d]
    for (const [from, u] of batch) {
      const up = clients[from].updates[u]
      applyFmt(c.doc, fmt, up.v1, up.v2)
      c.got.add(`${from}:${u}`)
      c.events.push({ kind: 'recv', from, u })
      drain(d, null)
    }
  }

  const outstanding = (d) => {
    const out = []
    clients.forEach((c, from) => {
      if (from === d) return
      c.updates.forEach((_, u) => { if (!clients[d].got.has(`${from}:${u}`)) out.push([from, u]) })
    })
    return out
  }

  // order returns the batch either fully shuffled or in per-client order
  // with the clients interleaved at random.
  const order = (batch) => {
    if (r.bool(0.5)) return r.shuffle(batch)
    const queues = new Map()
    for (const x of batch) {
      if (!queues.has(x[0])) queues.set(x[0], [])
      queues.get(x[0]).push(x)
    }
    const out = []
    const qs = Array.from(queues.values())
    while (qs.length > 0) {
      const i = r.int(qs.length)
      out.push(qs[i].shift())
      if (qs[i].length === 0) qs.splice(i, 1)
    }
    return out
  }

  for (let round = 0; round < rounds; round++) {
    // Edit phase: each client makes 0-3 transactions, interleaved.
    const slots = []
    clients.forEach((_, ci) => { for (let k = r.int(4); k > 0; k--) slots.push(ci) })
    if (slots.length === 0) slots.push(r.int(n))
    for (const ci of r.shuffle(slots)) edit(ci)

    // Sync phase: some docs receive some of what they lack, in random order,
    // with duplicates; the rest is withheld for a later round.
    const receivers = r.shuffle(clients.map((_, i) => i)).filter(() => r.bool(0.75))
    for (const d of receivers) {
      let batch = outstanding(d).filter(() => r.bool(pDeliver))
      const seen = Array.from(clients[d].got).map(s => s.split(':').map(Number))
      if (seen.length > 0 && r.bool(0.2)) batch.push(r.pick(seen))
      if (batch.length > 0 && r.bool(0.15)) batch.push(r.pick(batch))
      batch = order(batch)
      deliver(d, batch)
      if (r.bool(0.1)) {
        // A y-protocols style sync step 2 from another doc: its state
        // (pending structs included) minus what d has.
        const from = r.pick(clients.map((_, i) => i).filter(i => i !== d))
        const sv = Y.encodeStateVector(clients[d].doc)
        const v1 = Y.encodeStateAsUpdate(clients[from].doc, sv)
        const v2 = Y.encodeStateAsUpdateV2(clients[from].doc, sv)
        applyFmt(clients[d].doc, fmt, v1, v2)
        clients[d].events.push({ kind: 'sync', from, v1: b64(v1), v2: b64(v2) })
        drain(d, null)
      }
    }
    clients.forEach(c => c.events.push(checkpoint(c.doc, round)))
  }

  // Final round: every doc receives everything it lacks, in random order,
  // until nothing is outstanding (auto cleanup updates made while receiving
  // must reach the others too).
  for (let pass = 0; ; pass++) {
    if (pass > 10) throw new Error(`${name}: final sync does not settle`)
    let moved = false
    clients.forEach((c, d) => {
      const batch = order(outstanding(d))
      if (batch.length === 0) return
      if (r.bool(0.3)) batch.push(r.pick(batch))
      deliver(d, batch)
      moved = true
    })
    if (!moved) break
  }
  clients.forEach(c => c.events.push(checkpoint(c.doc, rounds)))

  // yjs itself must converge, or the fixture is worthless.
  const finals = clients.map(c => docOutput(c.doc, roots))
  finals.forEach((f, d) => {
    const c = clients[d]
    if (c.doc.store.pendingStructs !== null || c.doc.store.pendingDs !== null) throw new Error(`${name}: doc ${d} still has pending updates after the final round`)
    if (f.sv !== finals[0].sv) throw new Error(`${name}: state vectors differ: doc ${d}`)
    if (canon(f.roots) !== canon(finals[0].roots)) throw new Error(`${name}: docs did not converge: doc ${d}\n${canon(f.roots)}\n${canon(finals[0].roots)}`)
  })

  // Merge and diff of encoded updates, without a Doc.
  const allV1 = clients.flatMap(c => c.updates.map(u => u.v1))
  const allV2 = clients.flatMap(c => c.updates.map(u => u.v2))
  const mergedV1 = Y.mergeUpdates(allV1)
  const mergedV2 = Y.mergeUpdatesV2(allV2)
  const firstCheck = clients[0].events.find(e => e.kind === 'check')
  const diffSV = Buffer.from(firstCheck.sv, 'base64')
  const svV1 = Y.encodeStateVectorFromUpdate(mergedV1)
  const fresh = new Y.Doc({ gc })
  const freshV2 = new Y.Doc({ gc })
  withoutFormattingCleanup(() => {
    Y.applyUpdate(fresh, mergedV1)
    Y.applyUpdateV2(freshV2, mergedV2)
  })
  const freshOut = docOutput(fresh, roots)
  if (canon(freshOut.roots) !== canon(finals[0].roots)) throw new Error(`${name}: merged v1 update does not reproduce the docs`)
  if (canon(docOutput(freshV2, roots).roots) !== canon(finals[0].roots)) throw new Error(`${name}: merged v2 update does not reproduce the docs`)
  const merged = {
    v1: b64(mergedV1),
    v2: b64(mergedV2),
    sv_v1: b64(svV1),
    sv_v2: b64(Y.encodeStateVectorFromUpdateV2(mergedV2)),
    diff_sv: firstCheck.sv,
    diff_v1: b64(Y.diffUpdate(mergedV1, diffSV)),
    diff_v2: b64(Y.diffUpdateV2(mergedV2, diffSV)),
    diff_full_v1: b64(Y.diffUpdate(mergedV1, svV1)),
    v1_to_v2: b64(Y.convertUpdateFormatV1ToV2(mergedV1)),
    v2_to_v1: b64(Y.convertUpdateFormatV2ToV1(mergedV2)),
    applied_state_v1_sha256: sha256(Y.encodeStateAsUpdate(fresh)),
    applied_v2_state_v1_sha256: sha256(Y.encodeStateAsUpdate(freshV2))
  }
  // A random half of the updates: merging them leaves gaps, which
  // mergeUpdates fills with Skip structs.
  const rs = new Rng(fnv1a32(name + '/subset'))
  const subset = []
  clients.forEach((c, from) => c.updates.forEach((_, u) => { if (rs.bool()) subset.push([from, u]) }))
  merged.subset = subset
  merged.subset_v1 = b64(Y.mergeUpdates(subset.map(([from, u]) => clients[from].updates[u].v1)))
  merged.subset_v2 = b64(Y.mergeUpdatesV2(subset.map(([from, u]) => clients[from].updates[u].v2)))

  const scenario = {
    name,
    seed,
    family,
    gc,
    format: fmt,
    roots,
    clients: clients.map(c => ({
      id: c.id,
      updates: c.updates.map(u => ({ v1: b64(u.v1), v2: b64(u.v2), ops: u.ops }))
    })),
    deliveries: clients.map(c => c.events),
    final: finals,
    merged
  }
  try {
    selfCheck(scenario)
  } catch (e) {
    if (process.env.GEN_DUMP) fs.writeFileSync(process.env.GEN_DUMP, JSON.stringify(scenario))
    throw e
  }
  for (const c of clients) c.doc.destroy()
  return scenario
}

// withoutFormattingCleanup runs f with yjs's formatting cleanup turned off.
// After a remote transaction touches a Y.Text with formatting, yjs runs
// cleanupYTextAfterTransaction, a new local transaction that deletes
// redundant format items. The live docs of a scenario do that, and the
// updates it emits are recorded (as auto updates). A replay must not do it
// again on its own: there every update is remote, including the doc's own
// edits, so it would clean up where the live doc did not.
function withoutFormattingCleanup (f) {
  const proto = Y.Text.prototype
  const orig = proto._callObserver
  proto._callObserver = function (transaction, parentSubs) {
    orig.call(this, transaction, parentSubs)
    transaction._needFormattingCleanup = false
  }
  try {
    return f()
  } finally {
    proto._callObserver = orig
  }
}

// selfCheck replays every doc's deliveries into fresh docs, once with the v1
// and once with the v2 updates, the way a Go test will, and requires the
// recorded checkpoints and final states. It proves the fixture is
// replayable: that applying a client's own updates is equivalent to making
// its edits.
function selfCheck (s) {
  withoutFormattingCleanup(() => selfCheckReplay(s))
}

function selfCheckReplay (s) {
  s.deliveries.forEach((events, d) => {
    for (const fmt of ['v1', 'v2']) {
      const doc = new Y.Doc({ gc: s.gc })
      for (const [rn, kind] of Object.entries(s.roots)) rootOf(doc, rn, kind)
      for (const e of events) {
        const apply = (u) => {
          const bytes = Buffer.from(u[fmt], 'base64')
          if (fmt === 'v1') Y.applyUpdate(doc, bytes)
          else Y.applyUpdateV2(doc, bytes)
        }
        if (e.kind === 'local') apply(s.clients[d].updates[e.u])
        else if (e.kind === 'recv') apply(s.clients[e.from].updates[e.u])
        else if (e.kind === 'sync') apply(e)
        else if (e.kind === 'check') {
          const c = checkpoint(doc, e.round)
          for (const k of ['sv', 'state_v1_sha256', 'pending_structs', 'pending_ds']) {
            if (c[k] !== e[k]) throw new Error(`${s.name}: ${fmt} replay of doc ${d} differs at round ${e.round} check in ${k}`)
          }
        }
      }
      const out = docOutput(doc, s.roots)
      if (out.state_v1 !== s.final[d].state_v1) throw new Error(`${s.name}: ${fmt} replay of doc ${d}: final state_v1 differs`)
      if (out.state_v2 !== s.final[d].state_v2) throw new Error(`${s.name}: ${fmt} replay of doc ${d}: final state_v2 differs`)
      doc.destroy()
    }
  })
}

// ---------------------------------------------------------------- basics

// basics: small, hand-picked vectors: lib0 Any encodings, empty docs, and
// one update per content kind.
function basics () {
  const anyCases = [
    ['int 0', 0], ['int 1', 1], ['int -1', -1], ['int 63', 63], ['int 64', 64], ['int -64', -64],
    ['int 2^31-1', 2147483647], ['int -(2^31-1)', -2147483647], ['-0 (varInt with sign bit, magnitude 0)', -0],
    ['2^31 (float32)', 2147483648], ['-2^31 (float32)', -2147483648], ['2^40 (float32)', 2 ** 40], ['0.5 (float32)', 0.5],
    ['0.1 (float64)', 0.1], ['2^53-1 (float64)', 2 ** 53 - 1], ['1e300 (float64)', 1e300], ['5e-324 (float64)', 5e-324],
    ['bigint 2^60', 2n ** 60n], ['bigint -2^63', -(2n ** 63n)], ['true', true], ['false', false], ['null', null],
    ['undefined', undefined], ['empty string', ''], ['string', 'hello'], ['emoji string', '😀👍🏽'],
    ['NUL in string', 'a\u0000b'], ['bytes', new Uint8Array([0, 1, 255])], ['empty bytes', new Uint8Array(0)],
    ['empty object', {}], ['object key order (integer-like keys first)', { b: 1, 10: 2, a: 3, 2: 4 }],
    ['nested', { a: [1, 'x', null, { b: false }], c: new Uint8Array([7]) }], ['empty array', []],
    ['array', [1, 2.5, 'three', true, null, undefined]]
  ]
  const any = anyCases.map(([desc, v]) => {
    const e = lib0enc.createEncoder()
    lib0enc.writeAny(e, v)
    return { desc, json: tag(v), hex: hex(lib0enc.toUint8Array(e)) }
  })

  const empty = new Y.Doc()
  const emptyOut = {
    state_v1: hex(Y.encodeStateAsUpdate(empty)),
    state_v2: hex(Y.encodeStateAsUpdateV2(empty)),
    sv: hex(Y.encodeStateVector(empty)),
    merge_v1: hex(Y.mergeUpdates([])),
    merge_v2: hex(Y.mergeUpdatesV2([]))
  }

  // Each unit: a fresh doc with clientID 1 (and gc on) runs one transaction.
  const units = [
    ['text insert "abc" (YJS.md example)', { t: 'text' }, d => d.getText('t').insert(0, 'abc')],
    ['text insert then insert(1,"X"), delete(3,1) (YJS.md example)', { t: 'text' }, d => {
      d.getText('t').insert(0, 'abc')
    }, d => { d.getText('t').insert(1, 'X'); d.getText('t').delete(3, 1) }],
    ['text emoji (UTF-16 length 2 per astral char)', { t: 'text' }, d => d.getText('t').insert(0, 'a😀b')],
    ['text split surrogate pair: insert inside "😀" gives U+FFFD halves', { t: 'text' }, d => d.getText('t').insert(0, '😀'), d => d.getText('t').insert(1, 'x')],
    ['text formatted insert', { t: 'text' }, d => d.getText('t').insert(0, 'bold', { bold: true })],
    ['text format range', { t: 'text' }, d => d.getText('t').insert(0, 'hello world'), d => d.getText('t').format(0, 5, { italic: true, link: { href: 'https://x.y' } })],
    ['text embed', { t: 'text' }, d => d.getText('t').insertEmbed(0, { image: 'cat.png' })],
    ['text attribute (map part of a Y.Text)', { t: 'text' }, d => d.getText('t').setAttribute('lang', 'en')],
    ['map set int', { m: 'map' }, d => d.getMap('m').set('k', 42)],
    ['map set -0', { m: 'map' }, d => d.getMap('m').set('k', -0)],
    ['map set float32', { m: 'map' }, d => d.getMap('m').set('k', 0.5)],
    ['map set float64', { m: 'map' }, d => d.getMap('m').set('k', 0.1)],
    ['map set bigint', { m: 'map' }, d => d.getMap('m').set('k', 2n ** 60n)],
    ['map set string', { m: 'map' }, d => d.getMap('m').set('k', 'héllo 😀')],
    ['map set bool, null, undefined', { m: 'map' }, d => { const m = d.getMap('m'); m.set('t', true); m.set('n', null); m.set('u', undefined) }],
    ['map set object', { m: 'map' }, d => d.getMap('m').set('k', { b: 1, 10: 2, a: [true, null] })],
    ['map set Uint8Array (ContentBinary)', { m: 'map' }, d => d.getMap('m').set('k', new Uint8Array([1, 2, 3]))],
    ['map set Y.Map with prelim content', { m: 'map' }, d => { const v = new Y.Map(); v.set('x', 1); d.getMap('m').set('k', v) }],
    ['map set Y.Array and Y.Text', { m: 'map' }, d => { const a = new Y.Array(); a.insert(0, [1, 2]); d.getMap('m').set('a', a); d.getMap('m').set('t', new Y.Text('hi')) }],
    ['map set sub-document (ContentDoc)', { m: 'map' }, d => d.getMap('m').set('k', new Y.Doc({ guid: 'sub-guid', meta: { x: 1 } }))],
    ['map overwrite key (old value deleted)', { m: 'map' }, d => d.getMap('m').set('k', 1), d => d.getMap('m').set('k', 2)],
    ['map delete key', { m: 'map' }, d => d.getMap('m').set('k', 1), d => d.getMap('m').delete('k')],
    ['array insert values (one ContentAny)', { a: 'array' }, d => d.getArray('a').insert(0, [1, 'two', { three: 3 }, null])],
    ['array insert mixed (Any, Binary, Type runs)', { a: 'array' }, d => d.getArray('a').insert(0, [1, new Uint8Array([9]), new Y.Map(), 2])],
    ['array delete middle', { a: 'array' }, d => d.getArray('a').insert(0, [1, 2, 3, 4]), d => d.getArray('a').delete(1, 2)],
    ['xml element with attributes and text', { x: 'xmlfragment' }, d => {
      const p = new Y.XmlElement('p')
      p.setAttribute('class', 'intro')
      p.insert(0, [new Y.XmlText('hello')])
      d.getXmlFragment('x').insert(0, [p])
    }],
    ['xml text formatted', { x: 'xmlfragment' }, d => {
      const t = new Y.XmlText()
      d.getXmlFragment('x').insert(0, [t])
      t.insert(0, 'bold', { bold: {} })
    }],
    ['non-ASCII root name', { 'données 📦': 'map' }, d => d.getMap('données 📦').set('k', 'v')],
    ['large client id 2^32-1', { t: 'text' }, d => d.getText('t').insert(0, 'z'), null, 4294967295]
  ]
  const unitOut = units.map(([desc, roots, setup, change, clientID]) => {
    const d = new Y.Doc()
    d.clientID = clientID ?? 1
    for (const [rn, kind] of Object.entries(roots)) rootOf(d, rn, kind)
    const updates = []
    const v2s = []
    d.on('update', u => updates.push(u))
    d.on('updateV2', u => v2s.push(u))
    d.transact(() => setup(d))
    if (change) d.transact(() => change(d))
    const out = docOutput(d, roots)
    d.destroy()
    return {
      desc,
      client: clientID ?? 1,
      roots,
      updates: updates.map((u, i) => ({ v1: hex(u), v2: hex(v2s[i]) })),
      state_v1: hex(Buffer.from(out.state_v1, 'base64')),
      state_v2: hex(Buffer.from(out.state_v2, 'base64')),
      sv: hex(Buffer.from(out.sv, 'base64')),
      roots_out: out.roots
    }
  })
  return { any, empty: emptyOut, units: unitOut }
}

// ---------------------------------------------------------------- traces

// replayTrace applies one sequential editing trace to a Y.Text, one yjs
// transaction per trace transaction. Trace positions count code points;
// yjs indexes count UTF-16 units, so we track where the astral (2-unit)
// code points are.
function replayTrace (file) {
  const data = JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8'))
  const doc = new Y.Doc()
  doc.clientID = 1
  const text = doc.getText('text')
  const astral = [] // sorted code-point positions of astral characters in the text
  const lowerBound = (cp) => {
    let lo = 0; let hi = astral.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (astral[mid] < cp) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  const u16 = (cp) => cp + lowerBound(cp)
  let patches = 0
  const start = data.startContent || ''
  if (start.length > 0) {
    doc.transact(() => {
      Array.from(start).forEach((ch, i) => { if (ch.length === 2) astral.push(i) })
      text.insert(0, start)
    })
  }
  for (const txn of data.txns) {
    doc.transact(() => {
      for (const [pos, del, ins] of txn.patches) {
        patches++
        if (del > 0) {
          const from = u16(pos)
          const to = u16(pos + del)
          text.delete(from, to - from)
          const a = lowerBound(pos)
          const b = lowerBound(pos + del)
          astral.splice(a, b - a)
          for (let i = a; i < astral.length; i++) astral[i] -= del
        }
        if (ins && ins.length > 0) {
          // The insert position in UTF-16 units is computed before the
          // astral table is updated for the inserted characters.
          const at = u16(pos)
          const cps = Array.from(ins)
          const k = lowerBound(pos)
          for (let i = k; i < astral.length; i++) astral[i] += cps.length
          const added = []
          cps.forEach((ch, i) => { if (ch.length === 2) added.push(pos + i) })
          astral.splice(k, 0, ...added)
          text.insert(at, ins)
        }
      }
    })
  }
  const end = data.endContent
  const got = text.toString()
  if (got !== end) throw new Error(`${path.basename(file)}: replay does not reach endContent (got ${got.length} UTF-16 units, want ${end.length})`)
  const v1 = Y.encodeStateAsUpdate(doc)
  const v2 = Y.encodeStateAsUpdateV2(doc)
  const sv = Y.encodeStateVector(doc)
  const res = {
    file: path.basename(file),
    txns: data.txns.length,
    patches,
    start_length_utf16: start.length,
    end_length_utf16: end.length,
    end_length_codepoints: Array.from(end).length,
    end_sha256: sha256(Buffer.from(end, 'utf8')),
    sv: b64(sv),
    sv_map: Object.fromEntries(Y.decodeStateVector(sv)),
    state_v1: { len: v1.length, sha256: sha256(v1) },
    state_v2: { len: v2.length, sha256: sha256(v2) }
  }
  doc.destroy()
  return res
}

// ---------------------------------------------------------------- main

function writeFile (name, content) {
  const p = path.join(opt.out, name)
  fs.writeFileSync(p, content)
  console.error(`wrote ${path.relative(process.cwd(), p) || p} (${Buffer.byteLength(content)} bytes)`)
}

// writeScenarios writes one scenario per line inside a JSON object, then
// gzips it (level 9; the gzip header carries no time stamp or file name).
function writeScenarios (family, scenarios) {
  const head = {
    schema: SCHEMA,
    generator: 'engine/crdt/testdata/yjs/gen.cjs',
    yjs: require('yjs/package.json').version,
    lib0: require('lib0/package.json').version,
    family
  }
  let s = JSON.stringify(head).slice(0, -1) + ',"scenarios":[\n'
  s += scenarios.map(x => JSON.stringify(x)).join(',\n')
  s += '\n]}\n'
  writeFile(`${family}.json.gz`, zlib.gzipSync(Buffer.from(s, 'utf8'), { level: 9 }))
}

function main () {
  fs.mkdirSync(opt.out, { recursive: true })
  const families = opt.only || FAMILIES
  for (const f of families) {
    if (!FAMILIES.includes(f)) throw new Error(`unknown family ${f}`)
    const t0 = Date.now()
    const scenarios = []
    for (const gc of [true, false]) {
      for (let seed = 1; seed <= opt.seeds; seed++) scenarios.push(runScenario(f, gc, seed))
    }
    writeScenarios(f, scenarios)
    console.error(`  ${f}: ${scenarios.length} scenarios in ${Date.now() - t0} ms`)
  }
  if (opt.only) return

  const head = { schema: SCHEMA, generator: 'engine/crdt/testdata/yjs/gen.cjs', yjs: require('yjs/package.json').version, lib0: require('lib0/package.json').version }
  writeFile('basics.json', JSON.stringify({ ...head, ...basics() }, null, 1) + '\n')

  if (opt.noTraces) return
  if (!fs.existsSync(opt.traces)) {
    console.error(`gen.cjs: editing traces not found at ${opt.traces}; skipping traces.json (pass --traces DIR or set OCTOBASE_TRACES)`)
    return
  }
  const files = fs.readdirSync(opt.traces).filter(f => f.endsWith('.json.gz')).sort()
  const traces = []
  for (const f of files) {
    const t0 = Date.now()
    traces.push(replayTrace(path.join(opt.traces, f)))
    console.error(`  trace ${f}: ${Date.now() - t0} ms`)
  }
  writeFile('traces.json', JSON.stringify({ ...head, client: 1, root: 'text', traces }, null, 1) + '\n')
}

main()
