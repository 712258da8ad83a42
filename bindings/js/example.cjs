// The JavaScript example of docs/embedding.md, run by js_test.go:
//   node example.cjs path/to/octobase.wasm
const octobase = require('./octobase.cjs')

async function example (wasm) {
  const ob = await octobase.load({ wasm })
  const store = await ob.openStore()
  const ws = await store.workspace('notes')
  const changes = await ws.subscribe()

  // Blocks in and out as plain objects; {$text} is rich text.
  const page = await ws.createBlock({ flavour: 'affine:page', props: { title: { $text: 'Groceries' } } })
  await ws.createBlock({ flavour: 'affine:paragraph', parent: page.id, props: { item: 'milk', done: false } })
  await ws.updateBlock(page.id, { text: { title: [{ retain: 9 }, { insert: ' for Sunday' }] } })

  // OQL with parameters.
  const { rows } = await ws.query('SELECT prop.item FROM blocks WHERE CHILD OF $1', [page.id])

  // The change stream: one change per edit, with its yjs update.
  const first = await changes.poll(1000)

  // Sync with a replica: it sends its state vector, we answer with a diff.
  const replica = await (await ob.openStore()).workspace('notes')
  await replica.apply(await ws.encodeState(await replica.stateVector()))
  const copy = await replica.getBlock(page.id)

  try {
    await ws.apply(new Uint8Array([1, 2, 3]))
  } catch (e) {
    if (e.code !== octobase.codes.ERR_UPDATE) throw e
  }
  return { rows, first: first.blocks[0].op, title: copy.props.title.$text }
}

module.exports = example
if (require.main === module) {
  example(process.argv[2]).then(r => console.log(JSON.stringify(r)))
}
