"""Test and example of the Python binding, run by python_test.go:

    OCTOBASE_LIB=liboctobase.so python3 test_octobase.py DIR

DIR holds "update" (an update made by a Go workspace) and "gosv" (that
workspace's state vector); the script writes "diff" (what the Go side lacks)
and "sv" (its own state vector) there, and prints PASS.
"""

import ctypes
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import octobase  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("check failed:", what, file=sys.stderr)


def expect_error(code, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except octobase.Error as e:
        check(e.code == code, "%s: code %d, want %d (%s)" % (fn.__name__, e.code, code, e.message))
        check(bool(e.message), "%s: no message" % fn.__name__)
        print("expected error: %s -> %d: %s" % (fn.__name__, e.code, e.message))
        return
    check(False, "%s%r did not fail" % (fn.__name__, args))


def main():
    d = sys.argv[1]
    lib = octobase.load()
    with open(os.path.join(d, "update"), "rb") as f:
        go_update = f.read()
    with open(os.path.join(d, "gosv"), "rb") as f:
        go_sv = f.read()

    store = lib.open_store(os.path.join(d, "data"), client_id=303)
    ws = store.workspace("notes")
    sub = ws.subscribe(0)

    # Apply the Go side's update; its blocks appear.
    check(ws.apply_update(go_update, origin="go") == 1, "apply lsn")
    page = ws.get_block("go-page")
    check(page is not None and page["props"]["title"]["$text"] == "Made in Go", "go-page: %r" % page)

    # Create, edit, delete blocks.
    para = ws.create_block({"id": "py-para", "flavour": "affine:paragraph", "creator": "py-user",
                            "parent": "go-page", "index": 0,
                            "props": {"text": {"$text": "from Python"}, "n": 7}}, origin="py")
    check(para["parent"] == "go-page" and para["props"]["n"] == 7, "created %r" % para)
    para = ws.update_block("py-para", {"props": {"done": True}, "remove": ["n"],
                                       "text": {"text": [{"retain": 4}, {"insert": " 🐍", "attributes": {"bold": True}}]}})
    check(para["props"]["text"]["$text"] == "from 🐍 Python" and "n" not in para["props"], "updated %r" % para)
    tmp = ws.create_block({"flavour": "affine:paragraph"})
    check(len(tmp["id"]) > 0, "generated id")
    ws.delete_block(tmp["id"])
    check(ws.get_block(tmp["id"]) is None, "deleted block still there")

    # Query.
    res = ws.query("SELECT id, prop.done FROM blocks WHERE CHILD OF $1 ORDER BY id", ["go-page"])
    check(res == {"columns": ["id", "prop.done"],
                  "rows": [{"id": "go-para", "prop.done": None}, {"id": "py-para", "prop.done": True}]},
          "query %r" % res)
    res = ws.query("SELECT COUNT(*) FROM blocks")
    check(res["rows"][0]["COUNT(*)"] == 3, "count %r" % res)

    # Changes, in order, with their updates.
    changes = [sub.poll(5000) for _ in range(5)]
    check(all(c is not None for c in changes), "missing changes %r" % changes)
    check([c["lsn"] for c in changes] == [1, 2, 3, 4, 5], "lsns %r" % [c and c["lsn"] for c in changes])
    check(changes[0]["origin"] == "go" and changes[0]["update"] == go_update, "first change %r" % changes[0])
    check({"space": "blocks", "id": "py-para", "op": "created"} in changes[1]["blocks"], "second %r" % changes[1])
    check(changes[2]["blocks"] == [{"space": "blocks", "id": "py-para", "op": "updated",
                                    "fields": ["prop:done", "prop:n", "prop:text"]}], "third %r" % changes[2])
    check(sub.poll(0) is None, "a sixth change")

    # Sync back.
    diff = ws.encode_state(go_sv)
    check(len(diff) > 0, "empty diff")
    with open(os.path.join(d, "diff"), "wb") as f:
        f.write(diff)
    with open(os.path.join(d, "sv"), "wb") as f:
        f.write(ws.state_vector())

    # Errors.
    expect_error(octobase.ERR_UPDATE, ws.apply_update, b"\xff\xff\xff")
    expect_error(octobase.ERR_UPDATE, ws.apply_update, go_update[: len(go_update) // 2])
    expect_error(octobase.ERR_UPDATE, ws.encode_state, b"\xff\xff")
    expect_error(octobase.ERR_JSON, lib.call, "block_create", ws.handle, b'{"flavour": ', None, None, None)
    expect_error(octobase.ERR_JSON, ws.create_block, {"flavour": "x", "unknown": 1})
    expect_error(octobase.ERR_JSON, ws.update_block, "py-para", {"props": {"t": {"$text": 1}}})
    expect_error(octobase.ERR_EXISTS, ws.create_block, {"id": "py-para", "flavour": "x"})
    expect_error(octobase.ERR_NOT_FOUND, ws.update_block, "nope", {"props": {"a": 1}})
    expect_error(octobase.ERR_QUERY, ws.query, "SELECT nonsense FROM")
    expect_error(octobase.ERR_QUERY, ws.query, "SELECT id FROM blocks WHERE type = $1", [])
    expect_error(octobase.ERR_INVALID_HANDLE, octobase.Workspace(lib, 424242).get_block, "x")
    expect_error(octobase.ERR_INVALID_HANDLE, octobase.Workspace(lib, store.handle).get_block, "x")
    expect_error(octobase.ERR_IO, lib.open_store, os.path.join(d, "data"))  # locked

    # Freed and foreign buffers.
    out = ctypes.c_void_p()
    lib.call("block_get", ws.handle, b"py-para", ctypes.byref(out))
    lib.free(out.value)
    expect_error(octobase.ERR_UNKNOWN_BUFFER, lib.free, out.value)
    foreign = ctypes.create_string_buffer(8)
    expect_error(octobase.ERR_UNKNOWN_BUFFER, lib.free, ctypes.addressof(foreign))

    # Threads share the workspace.
    errors = []

    def work(n):
        try:
            w = store.workspace("notes")
            for i in range(20):
                w.create_block({"id": "th%d-%d" % (n, i), "flavour": "test:thread"})
                w.query("SELECT COUNT(*) FROM blocks WHERE type = 'test:thread'")
            w.close()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, "thread errors %r" % errors)
    check(ws.query("SELECT COUNT(*) FROM blocks WHERE type = 'test:thread'")["rows"][0]["COUNT(*)"] == 80, "thread count")

    # Closing the store invalidates its handles.
    sub.close()
    expect_error(octobase.ERR_INVALID_HANDLE, sub.poll)
    store.close()
    expect_error(octobase.ERR_INVALID_HANDLE, ws.get_block, "py-para")
    expect_error(octobase.ERR_INVALID_HANDLE, store.close)

    # An in-memory store.
    with lib.open_store(memory=True) as mem:
        m = mem.workspace("scratch")
        m.apply_update(go_update)
        m.apply_update(diff)
        check(m.get_block("py-para")["props"]["done"] is True, "memory store")

    if failures:
        print("FAIL: %d checks failed" % len(failures), file=sys.stderr)
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
