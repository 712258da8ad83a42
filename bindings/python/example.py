"""The Python example of docs/embedding.md, run by python_test.go:
    OCTOBASE_LIB=./liboctobase.so python3 example.py
"""
import octobase

lib = octobase.load()  # the path in $OCTOBASE_LIB, or load("/path/to/liboctobase.so")
with lib.open_store(memory=True) as store:
    ws = store.workspace("notes")
    changes = ws.subscribe()

    # Blocks in and out as dicts; {"$text": ...} is rich text.
    page = ws.create_block({"flavour": "affine:page", "props": {"title": {"$text": "Todo"}}})
    ws.create_block({"flavour": "affine:paragraph", "parent": page["id"], "props": {"item": "milk"}})
    ws.update_block(page["id"], {"text": {"title": [{"retain": 4}, {"insert": " today"}]}})

    # OQL with parameters.
    print(ws.query("SELECT prop.item FROM blocks WHERE CHILD OF $1", [page["id"]])["rows"])

    # The change stream: one change per edit, with its yjs update (bytes).
    print(changes.poll(timeout_ms=1000)["blocks"][0]["op"])

    # Sync with a replica: it sends its state vector, we answer with a diff.
    with lib.open_store(memory=True) as other:
        replica = other.workspace("notes")
        replica.apply_update(ws.encode_state(replica.state_vector()))
        print(replica.get_block(page["id"])["props"]["title"]["$text"])

    # Errors raise octobase.Error with a code and the library's message.
    try:
        ws.apply_update(b"\x01\x02\x03")
    except octobase.Error as e:
        print(e.code == octobase.ERR_UPDATE)
