// gen.cjs writes vectors.json: golden vectors produced by the real lib0 (and by V8's
// TextDecoder, String(number), JSON.stringify and JSON.parse) for the Go tests in
// package octobase/engine/lib0. The Go tests read only vectors.json; Node is not needed
// at test time.
//
// Regenerate (lib0 installed anywhere, found through NODE_PATH):
//
//	mkdir -p /tmp/lib0-ref && (cd /tmp/lib0-ref && npm install lib0@0.2.117)
//	NODE_PATH=/tmp/lib0-ref/node_modules node engine/lib0/testdata/gen.cjs > engine/lib0/testdata/vectors.json
//
// Node prefers a node_modules/lib0 in a parent folder of this file over NODE_PATH; the
// version used is recorded in vectors.json "meta". The committed vectors come from lib0
// 0.2.117; 0.2.120 produces identical vectors.
//
// Value notation in the vectors (so that -0, NaN, bigint, undefined, Uint8Array and
// strings with any code points survive JSON):
//
//	null                      null
//	true / false              boolean
//	{"u":1}                   undefined
//	{"n":"<16 hex digits>"}   number, float64 bits big endian
//	{"b":"<decimal>"}         bigint, wrapped to int64 as writeAny's setBigInt64 does
//	{"s":"<hex>"}             string, as UTF-8 (TextEncoder: lone surrogates are U+FFFD)
//	{"y":"<hex>"}             Uint8Array
//	{"a":[...]}               array
//	{"o":[["<key hex>", v]]}  object, in Object.keys order
'use strict'

const encoding = require('lib0/encoding')
const decoding = require('lib0/decoding')

const hex = (u8) => Buffer.from(u8).toString('hex')
const utf8hex = (s) => hex(new TextEncoder().encode(s))
const fromHex = (h) => new Uint8Array(Buffer.from(h, 'hex'))
const enc = (f) => hex(encoding.encode(f))

const numHex = (n) => {
  const dv = new DataView(new ArrayBuffer(8))
  dv.setFloat64(0, n)
  return hex(new Uint8Array(dv.buffer))
}

const T = (v) => {
  if (v === undefined) return { u: 1 }
  if (v === null) return null
  switch (typeof v) {
    case 'boolean': return v
    case 'number': return { n: numHex(v) }
    case 'bigint': return { b: BigInt.asIntN(64, v).toString() } // setBigInt64 wraps
    case 'string': return { s: utf8hex(v) }
  }
  if (v instanceof Uint8Array) return { y: hex(v) }
  if (Array.isArray(v)) return { a: v.map(T) }
  return { o: Object.keys(v).map((k) => [utf8hex(k), T(v[k])]) }
}

// Deterministic PRNG (mulberry32).
let seed = 0x0c7ba5e
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const randInt = (n) => Math.floor(rand() * n)
const randBits = () => {
  const dv = new DataView(new ArrayBuffer(8))
  dv.setUint32(0, randInt(2 ** 32))
  dv.setUint32(4, randInt(2 ** 32))
  return dv.getFloat64(0)
}
const randF32 = () => {
  const dv = new DataView(new ArrayBuffer(4))
  dv.setUint32(0, randInt(2 ** 32))
  return dv.getFloat32(0)
}

// A spread of doubles: random bit patterns, integers of every size, short decimals,
// float32 values, values near the formatting thresholds.
const randomNumbers = (count) => {
  const out = []
  for (let i = 0; i < count; i++) {
    switch (i % 8) {
      case 0: out.push(randBits()); break
      case 1: out.push(randInt(2 ** 31) * (rand() < 0.5 ? -1 : 1)); break
      case 2: out.push(Math.floor(rand() * 2 ** randInt(64)) * (rand() < 0.5 ? -1 : 1)); break
      case 3: out.push(Number((rand() * 1000).toFixed(randInt(6)))); break
      case 4: out.push(randF32()); break
      case 5: out.push(rand() * 10 ** (randInt(60) - 30)); break
      case 6: out.push(Number(`${1 + randInt(9)}e${randInt(40) - 20}`)); break
      default: out.push((rand() - 0.5) * 2 ** (randInt(2000) - 1000))
    }
  }
  return out.filter((n) => !Number.isNaN(n))
}

const out = {}
{
  const path = require('path')
  const dir = path.dirname(require.resolve('lib0/encoding'))
  const pkg = JSON.parse(require('fs').readFileSync(path.join(dir, '..', 'package.json'), 'utf8'))
  out.meta = { lib0: pkg.version, node: process.version }
}

// varUint
const uints = [0, 1, 2, 63, 64, 127, 128, 129, 255, 256, 300, 16383, 16384, 2097151, 2097152,
  2 ** 28 - 1, 2 ** 28, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35, 2 ** 42 + 5,
  2 ** 49 - 1, 2 ** 49, 2 ** 52, 2 ** 53 - 1]
for (let i = 0; i < 40; i++) uints.push(Math.floor(rand() * 2 ** randInt(54)))
out.varUint = uints.map((v) => ({ v: String(v), hex: enc((e) => encoding.writeVarUint(e, v)) }))

// varInt ("-0" is negative zero)
const ints = [0, -0, 1, -1, 2, -2, 63, -63, 64, -64, 65, 127, 128, -128, 8191, 8192, -8192,
  2 ** 31 - 1, -(2 ** 31 - 1), 2 ** 31, -(2 ** 31), 2 ** 32, -(2 ** 40), 2 ** 53 - 1, -(2 ** 53 - 1)]
for (let i = 0; i < 40; i++) ints.push(Math.floor(rand() * 2 ** randInt(54)) * (rand() < 0.5 ? -1 : 1))
out.varInt = ints.map((v) => ({
  v: Object.is(v, -0) ? '-0' : String(v),
  hex: enc((e) => encoding.writeVarInt(e, v))
}))

// varString (s is the string as UTF-8; u16 is JS .length)
const strings = ['', 'a', 'hello world', 'ä', '€', '𝄞', '😀👍🏽', 'mixed aä€😀 end', '\u0000',
  '\ud800', 'a\udc00b', '\ufeffbom', '\u2028\u2029', 'x'.repeat(300), '€'.repeat(100)]
out.varString = strings.map((s) => ({
  s: utf8hex(s), u16: s.length, hex: enc((e) => encoding.writeVarString(e, s))
}))

// TextDecoder (non-fatal, ignoreBOM) on arbitrary bytes; lib0Throws records whether
// lib0's own readVarString (a fatal TextDecoder) rejects them.
const utf8Inputs = ['', '41', 'ff', 'c0', 'c080', 'c1bf', 'c2', 'c241', 'e282', 'e28241', 'e282ac',
  'f09080', 'f0908041', 'f0', 'eda080', 'edbfbf', 'ed9fbf', 'f4908080', 'f48fbfbf', 'f5', 'f8888080',
  '8080', 'e08080', 'e0a080', 'efbfbd', 'efbbbf41', 'f09f9880', 'f09f98', 'f09f98f09f9880',
  'e2ffac', 'c2c2', '41ff42fe43']
for (let i = 0; i < 60; i++) {
  const b = []
  const n = 1 + randInt(12)
  for (let j = 0; j < n; j++) b.push(rand() < 0.5 ? 0x80 + randInt(0x80) : randInt(0x100))
  utf8Inputs.push(hex(b))
}
const lenient = new TextDecoder('utf-8', { ignoreBOM: true })
out.utf8Decode = utf8Inputs.map((h) => {
  const bytes = fromHex(h)
  let lib0Throws = false
  try {
    decoding.readVarString(decoding.createDecoder(encoding.encode((e) => encoding.writeVarUint8Array(e, bytes))))
  } catch (err) {
    lib0Throws = true
  }
  const s = lenient.decode(bytes)
  return { in: h, out: utf8hex(s), u16: s.length, lib0Throws }
})

// writeAny / readAny round trip.
const manyKeys = {}
for (let i = 0; i < 20; i++) manyKeys['k' + ((i * 7) % 20)] = i
const deep = []
let cur = deep
for (let i = 0; i < 20; i++) { const next = []; cur.push(i, next); cur = next }
const anyValues = [
  0, -0, 1, -1, 42, 63, 64, -64, 127, 128, 255, 256, 1000000, 2 ** 31 - 1, -(2 ** 31 - 1), 2 ** 31,
  -(2 ** 31), 2 ** 32, 2 ** 40, 2 ** 53 - 1, 2 ** 53, 2 ** 60, -(2 ** 60), 0.1, 0.5, 1.5, -1.5,
  1e21, 1e-7, 3.4028234663852886e38, 3.4028235677973366e38, 1.401298464324817e-45, 5e-324,
  Number.MAX_VALUE, -Number.MAX_VALUE, NaN, Infinity, -Infinity, true, false, null, undefined,
  '', 'abc', '😀', 'ä€𝄞', 'x'.repeat(200),
  0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n + 5n,
  new Uint8Array([]), new Uint8Array([1, 2, 3, 255]), new Uint8Array(300).fill(7),
  [], [1, 'a', null, undefined, [2], {}], {}, { a: 1, b: 'x' },
  { b: 1, a: 2, 10: 'ten', 2: 'two', '01': 'z', '-1': 'm', 4294967294: 'max', 4294967295: 'notidx', '': 'empty' },
  { arr: [{ x: 1 }, [true, false]], bin: new Uint8Array([7]), n: null, u: undefined, big: 5n },
  manyKeys, deep,
  ...randomNumbers(400)
]
out.any = anyValues.map((v) => ({ v: T(v), hex: enc((e) => encoding.writeAny(e, v)) }))

// readAny of hand-built bytes: duplicate keys, index keys out of order, __proto__,
// non-canonical varUints, float32 NaN.
const handBuilt = [
  (e) => { encoding.write(e, 118); encoding.writeVarUint(e, 3); for (const [k, v] of [['b', 1], ['a', 2], ['b', 3]]) { encoding.writeVarString(e, k); encoding.writeAny(e, v) } },
  (e) => { encoding.write(e, 118); encoding.writeVarUint(e, 6); for (const [k, v] of [['x', 1], ['10', 2], ['2', 3], ['__proto__', { p: 1 }], ['1', 4], ['02', 5]]) { encoding.writeVarString(e, k); encoding.writeAny(e, v) } },
  (e) => { encoding.write(e, 118); encoding.writeVarUint(e, 3); for (const [k, v] of [['__proto__', 5], ['a', 1], ['__proto__', null]]) { encoding.writeVarString(e, k); encoding.writeAny(e, v) } },
  (e) => { encoding.write(e, 118); encoding.writeVarUint(e, 4); for (const [k, v] of [['5', 1], ['3', 2], ['5', 3], ['4294967295', 4]]) { encoding.writeVarString(e, k); encoding.writeAny(e, v) } },
  (e) => { encoding.write(e, 117); encoding.write(e, 0x82); encoding.write(e, 0x00); encoding.writeAny(e, 1); encoding.writeAny(e, 2) },
  (e) => { encoding.write(e, 125); encoding.write(e, 0x81); encoding.write(e, 0x80); encoding.write(e, 0x00) },
  (e) => { encoding.write(e, 125); encoding.write(e, 0x40) },
  (e) => { encoding.write(e, 124); encoding.writeUint32BigEndian(e, 0x7fc00000) },
  (e) => { encoding.write(e, 124); encoding.writeUint32BigEndian(e, 0x80000000) },
  (e) => { encoding.write(e, 123); encoding.writeUint32BigEndian(e, 0x80000000); encoding.writeUint32BigEndian(e, 0) },
  (e) => { encoding.write(e, 119); encoding.writeVarUint8Array(e, new Uint8Array([0xef, 0xbb, 0xbf, 0x41])) }
]
out.readAny = handBuilt.map((f) => {
  const bytes = encoding.encode(f)
  return { hex: hex(bytes), v: T(decoding.readAny(decoding.createDecoder(bytes))) }
})

// Column codecs. reads: values read back by lib0's decoder (for Rle a few more than
// written: the last value repeats forever).
const column = (Enc, Dec, values, extra) => {
  const e = new Enc()
  for (const v of values) e.write(v)
  const bytes = e.toUint8Array ? e.toUint8Array() : encoding.toUint8Array(e)
  const reads = []
  if (values.length > 0) {
    const d = Dec(bytes)
    for (let i = 0; i < values.length + extra; i++) reads.push(d.read())
  }
  return { bytes, reads }
}
const randSeq = (n, f) => Array.from({ length: n }, f)
const walk = (n, step) => { let s = 0; return randSeq(n, () => { s += step(); return s }) }
const rleSeqs = [[], [0], [1], [0, 0], [1, 1, 1], [1, 1, 1, 7], [0, 0, 1, 2, 2, 2, 3], Array(300).fill(255),
  randSeq(200, () => randInt(3)), randSeq(50, () => randInt(256)), [4, 4, 4, 4, 0, 0, 0, 4, 4]]
out.rle = rleSeqs.map((vals) => {
  const { bytes, reads } = column(
    function () { return new encoding.RleEncoder(encoding.writeUint8) },
    (b) => new decoding.RleDecoder(b, decoding.readUint8), vals, 5)
  return { values: vals, hex: hex(bytes), reads }
})
const uintSeqs = [[], [0], [0, 0], [0, 0, 0, 5, 5, 1], [1, 2, 3, 3, 3], [7], [5, 5], [2 ** 31, 2 ** 31],
  [2 ** 40, 0, 2 ** 53 - 1, 2 ** 53 - 1], randSeq(200, () => randInt(4)), randSeq(100, () => randInt(2 ** 20)),
  Array(1000).fill(3)]
out.uintOptRle = uintSeqs.map((vals) => {
  const { bytes, reads } = column(encoding.UintOptRleEncoder, (b) => new decoding.UintOptRleDecoder(b), vals, 0)
  return { values: vals.map(String), hex: hex(bytes), reads: reads.map(String) }
})
const intSeqs = [[], [0], [0, 0], [1], [1, 2, 3, 2], [1, 1, 1, 2, 3, 4, 5, 6], [5, 4, 3, 2, 1, 0, -1], [-5],
  [3, 1100, 1101, 1050, 0], [2 ** 40, -(2 ** 40), 0], walk(200, () => randInt(3) - 1),
  walk(100, () => randInt(2000) - 1000), randSeq(100, () => randInt(2 ** 31)), Array(500).fill(9)]
out.intDiffOptRle = intSeqs.map((vals) => {
  const { bytes, reads } = column(encoding.IntDiffOptRleEncoder, (b) => new decoding.IntDiffOptRleDecoder(b), vals, 0)
  return { values: vals.map(String), hex: hex(bytes), reads: reads.map(String) }
})
const longWords = randSeq(40, () => 'w' + 'o'.repeat(randInt(30)))
const strSeqs = [[], [''], ['', '', ''], ['a', 'b', 'c'], ['hello', '', 'world', 'x'.repeat(25)],
  ['😀', 'a😀b', '€', 'ä'], longWords, randSeq(100, () => ['a', 'bb', '€', '😀', ''][randInt(5)]),
  ['same', 'same', 'same']]
out.string = strSeqs.map((vals) => {
  const { bytes, reads } = column(encoding.StringEncoder, (b) => new decoding.StringDecoder(b), vals, 0)
  return { values: vals.map(utf8hex), hex: hex(bytes), reads: reads.map(utf8hex) }
})
// StringDecoder on columns Go cannot produce: lengths that split a surrogate pair,
// lengths past the end of the string.
const splitCases = [['\ud83d', '\ude00'], ['a\ud83d', '\ude00b', 'c'], ['\ud83d', '', '\ude00x']]
out.stringDecode = splitCases.map((vals) => {
  const { bytes, reads } = column(encoding.StringEncoder, (b) => new decoding.StringDecoder(b), vals, 0)
  return { hex: hex(bytes), reads: reads.map(utf8hex) }
})
{
  const e = encoding.createEncoder()
  encoding.writeVarString(e, 'abc😀')
  const lens = new encoding.UintOptRleEncoder()
  for (const n of [2, 4, 3, 0]) lens.write(n)
  encoding.writeUint8Array(e, lens.toUint8Array())
  const bytes = encoding.toUint8Array(e)
  const d = new decoding.StringDecoder(bytes)
  out.stringDecode.push({ hex: hex(bytes), reads: [0, 1, 2, 3].map(() => utf8hex(d.read())) })
}

// String(number) and JSON.stringify(number).
const tricky = [0, -0, 1, -1, 0.1, 0.2, 0.3, 0.1 + 0.2, 1 / 3, 2 / 3, 123.456, 1e21, 1e20, 123e18,
  999999999999999900000, 1e-7, 1e-6, 1.5e-7, 1.23e-18, 5e-324, Number.MAX_VALUE, Number.MIN_VALUE,
  Number.EPSILON, 2 ** 53, 2 ** 53 - 1, 2 ** 53 + 2, 2 ** 60, 2 ** 64, 2 ** 70, -(2 ** 70), 1e100,
  1.7976931348623157e308, 4.35, 0.000001234, 100, 1e2, 12345678901234567890, NaN, Infinity, -Infinity]
out.numberToString = [...tricky, ...randomNumbers(1200)].map((n) => ({
  n: numHex(n), s: String(n), json: JSON.stringify(n)
}))

// JSON.stringify of values (no lone surrogates: Go strings cannot hold them).
const stringifyValues = [null, true, false, '', 'a"b', 'back\\slash', '\b\f\n\r\t',
  '\u0000\u0001\u001f\u007f', '<>&\'/', '\u2028\u2029', '😀é€', [], {}, [1, 'a', null, undefined, true],
  { a: undefined, b: 1, c: [undefined] }, { b: 1, a: 2, 10: 3, 2: 4 }, { n: -0, x: NaN, y: -Infinity },
  new Uint8Array([1, 2, 255]), { bin: new Uint8Array([]) }, { nested: { deep: [[[{ k: 'v' }]]] } },
  [0.1, 1e21, 1e-7, -1.5e-7]]
out.stringify = stringifyValues.map((v) => ({ v: T(v), out: JSON.stringify(v) }))

// JSON.parse (err: JS throws).
const parseTexts = ['{"b":1,"a":2,"1":3,"0":4}', '{"a":1,"a":2,"b":3,"a":4}', '[1,2.5,-0,1e400,-1e400,1e-400]',
  '"\\ud83d\\ude00"', '"\\u00e9\\u00E9"', ' \t\n\r[ ] ', '{"__proto__":{"x":1},"y":2}', '123456789012345678901234567890',
  '0.1', '"\\/\\b\\f\\n\\r\\t\\"\\\\"', '{"a":[{"b":[null,true,false]}]}', '-0', '0', '1E5', '1e-5', '-12.5e+3',
  '"€😀"', '"\u007f"', '{"4294967295":1,"4294967294":2,"01":3,"1":4}', '"\\ud800"', '"a\\udc00b"',
  '', ' ', '01', '1.', '.5', '+1', '-', '[1,]', '{"a":1,}', "'a'", '"\t"', '"\u0000"', 'undefined', 'NaN', 'Infinity',
  '\ufeff1', '1 2', '{"a" 1}', '[', '"abc', '{a:1}', 'tru', 'nul', '"\\x41"', '"\\u12"', '1e', '0x10', '[1 2]',
  '{"a":1 "b":2}', '\u00a01', '--1', '1.e5']
out.parse = parseTexts.map((text) => {
  try {
    return { text: utf8hex(text), v: T(JSON.parse(text)) }
  } catch (err) {
    return { text: utf8hex(text), err: true }
  }
})

process.stdout.write(JSON.stringify(out, null, 1) + '\n')
