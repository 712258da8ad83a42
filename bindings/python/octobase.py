"""OctoBase for Python: a ctypes binding of the C ABI (cmd/liboctobase/octobase.h).

Standard library only. Load the shared library built with

    go build -buildmode=c-shared -o liboctobase.so ./cmd/liboctobase

from the path given to ``load()`` or in the environment variable OCTOBASE_LIB.

    import octobase
    lib = octobase.load("/path/to/liboctobase.so")
    with lib.open_store("/tmp/data") as store:
        ws = store.workspace("notes")
        page = ws.create_block({"flavour": "affine:page", "props": {"title": {"$text": "Hi"}}})
        rows = ws.query("SELECT id FROM blocks WHERE type = $1", ["affine:page"])

Errors raise ``octobase.Error`` with ``.code`` (an OCTOBASE_ERR_* value) and
the library's message. Objects are safe to share between threads, as the C
API is.
"""

import base64
import ctypes
import json
import os

ABI_VERSION = 1

OK = 0
NONE = 1
ERR_INTERNAL = -1
ERR_INVALID_ARGUMENT = -2
ERR_INVALID_HANDLE = -3
ERR_UNKNOWN_BUFFER = -4
ERR_JSON = -5
ERR_UPDATE = -6
ERR_NOT_FOUND = -7
ERR_EXISTS = -8
ERR_QUERY = -9
ERR_CLOSED = -10
ERR_IO = -11


class Error(Exception):
    """A failed call: code is the OCTOBASE_ERR_* value, message the library's text."""

    def __init__(self, code, message):
        super().__init__("%s (code %d)" % (message, code))
        self.code = code
        self.message = message


_c_char_pp = ctypes.POINTER(ctypes.c_char_p)
_u8p = ctypes.POINTER(ctypes.c_uint8)

# name: argument types (every function returns int32_t).
_SIGNATURES = {
    "octobase_free": [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)],
    "octobase_store_open": [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int64), ctypes.POINTER(ctypes.c_void_p)],
    "octobase_store_close": [ctypes.c_int64, ctypes.POINTER(ctypes.c_void_p)],
    "octobase_workspace_open": [ctypes.c_int64, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int64), ctypes.POINTER(ctypes.c_void_p)],
    "octobase_workspace_close": [ctypes.c_int64, ctypes.POINTER(ctypes.c_void_p)],
    "octobase_apply_update": [ctypes.c_int64, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_void_p)],
    "octobase_apply_update_v2": [ctypes.c_int64, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_void_p)],
    "octobase_state_vector": [ctypes.c_int64, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_void_p)],
    "octobase_encode_state": [ctypes.c_int64, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_void_p)],
    "octobase_last_lsn": [ctypes.c_int64, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_void_p)],
    "octobase_block_create": [ctypes.c_int64, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_void_p)],
    "octobase_block_get": [ctypes.c_int64, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p)],
    "octobase_block_update": [ctypes.c_int64, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_void_p)],
    "octobase_block_delete": [ctypes.c_int64, ctypes.c_char_p, ctypes.c_int32, ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_void_p)],
    "octobase_query": [ctypes.c_int64, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p)],
    "octobase_subscribe": [ctypes.c_int64, ctypes.c_uint64, ctypes.POINTER(ctypes.c_int64), ctypes.POINTER(ctypes.c_void_p)],
    "octobase_poll": [ctypes.c_int64, ctypes.c_int32, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p)],
    "octobase_subscription_close": [ctypes.c_int64, ctypes.POINTER(ctypes.c_void_p)],
}


def _enc(s):
    return None if s is None else s.encode("utf-8")


class Library:
    """A loaded liboctobase. Use load() to get one."""

    def __init__(self, path):
        self._dll = ctypes.CDLL(path)
        self._dll.octobase_abi_version.restype = ctypes.c_int32
        self._dll.octobase_abi_version.argtypes = []
        v = self._dll.octobase_abi_version()
        if v != ABI_VERSION:
            raise Error(ERR_INTERNAL, "%s has ABI version %d, this binding needs %d" % (path, v, ABI_VERSION))
        for name, args in _SIGNATURES.items():
            fn = getattr(self._dll, name)
            fn.restype = ctypes.c_int32
            fn.argtypes = args

    # -- low level: pointers the library returns are raw addresses (c_void_p)
    # so they can be copied and then freed with octobase_free.

    def _take_string(self, p):
        """Copy a returned string and free it."""
        if not p.value:
            return None
        s = ctypes.string_at(p.value).decode("utf-8")
        self.free(p.value)
        return s

    def _take_bytes(self, p, n):
        b = ctypes.string_at(p.value, n.value)
        self.free(p.value)
        return b

    def call(self, name, *args):
        """Call octobase_<name>(*args, &err); raise Error unless it returned OK or NONE.
        Returns the code."""
        err = ctypes.c_void_p()
        rc = getattr(self._dll, "octobase_" + name)(*args, ctypes.byref(err))
        if rc < 0:
            msg = self._take_string(err) if err.value else "(no message)"
            raise Error(rc, msg)
        return rc

    def free(self, address):
        """octobase_free(address): raises Error(ERR_UNKNOWN_BUFFER) for an
        address the library did not return or already freed."""
        self.call("free", ctypes.c_void_p(address))

    def open_store(self, directory=None, memory=False, durability=None, client_id=None):
        """Open (create) the store in directory, or an in-memory one."""
        opts = {}
        if memory:
            opts["memory"] = True
        if durability:
            opts["durability"] = durability
        if client_id:
            opts["client_id"] = client_id
        h = ctypes.c_int64()
        self.call("store_open", _enc(directory), _enc(json.dumps(opts)), ctypes.byref(h))
        return Store(self, h.value)


def load(path=None):
    """Load liboctobase from path, or from $OCTOBASE_LIB."""
    path = path or os.environ.get("OCTOBASE_LIB")
    if not path:
        raise Error(ERR_INVALID_ARGUMENT, "no library path: pass one or set OCTOBASE_LIB")
    return Library(path)


class Store:
    """An open store (a directory of workspaces)."""

    def __init__(self, lib, handle):
        self.lib = lib
        self.handle = handle

    def workspace(self, name):
        h = ctypes.c_int64()
        self.lib.call("workspace_open", self.handle, _enc(name), ctypes.byref(h))
        return Workspace(self.lib, h.value)

    def close(self):
        """Close the store and every workspace and subscription opened from it."""
        self.lib.call("store_close", self.handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Workspace:
    """A workspace: one yjs document of blocks."""

    def __init__(self, lib, handle):
        self.lib = lib
        self.handle = handle

    def close(self):
        self.lib.call("workspace_close", self.handle)

    def apply_update(self, update, origin="", v2=False):
        """Integrate a yjs update (bytes); returns its log position."""
        update = bytes(update)
        lsn = ctypes.c_uint64()
        self.lib.call("apply_update_v2" if v2 else "apply_update", self.handle, update, len(update), _enc(origin), ctypes.byref(lsn))
        return lsn.value

    def state_vector(self):
        p, n = ctypes.c_void_p(), ctypes.c_size_t()
        self.lib.call("state_vector", self.handle, ctypes.byref(p), ctypes.byref(n))
        return self.lib._take_bytes(p, n)

    def encode_state(self, state_vector=None):
        """The state as a yjs v1 update: all of it, or the diff against state_vector."""
        sv = bytes(state_vector or b"")
        p, n = ctypes.c_void_p(), ctypes.c_size_t()
        self.lib.call("encode_state", self.handle, sv or None, len(sv), ctypes.byref(p), ctypes.byref(n))
        return self.lib._take_bytes(p, n)

    def last_lsn(self):
        lsn = ctypes.c_uint64()
        self.lib.call("last_lsn", self.handle, ctypes.byref(lsn))
        return lsn.value

    def create_block(self, block, origin=""):
        """Create a block from a dict (flavour required); returns the new block."""
        out = ctypes.c_void_p()
        self.lib.call("block_create", self.handle, _enc(json.dumps(block)), _enc(origin), ctypes.byref(out), None)
        return json.loads(self.lib._take_string(out))

    def get_block(self, block_id):
        """The block as a dict, or None if there is no such block."""
        out = ctypes.c_void_p()
        try:
            self.lib.call("block_get", self.handle, _enc(block_id), ctypes.byref(out))
        except Error as e:
            if e.code == ERR_NOT_FOUND:
                return None
            raise
        return json.loads(self.lib._take_string(out))

    def update_block(self, block_id, patch, origin=""):
        """Apply a patch dict (props, remove, text, parent, index); returns the block."""
        out = ctypes.c_void_p()
        self.lib.call("block_update", self.handle, _enc(block_id), _enc(json.dumps(patch)), _enc(origin), ctypes.byref(out), None)
        return json.loads(self.lib._take_string(out))

    def delete_block(self, block_id, subtree=False, origin=""):
        lsn = ctypes.c_uint64()
        self.lib.call("block_delete", self.handle, _enc(block_id), 1 if subtree else 0, _enc(origin), ctypes.byref(lsn))
        return lsn.value

    def query(self, oql, params=None):
        """Run an OQL SELECT; returns {"columns": [...], "rows": [{...}]}."""
        out = ctypes.c_void_p()
        self.lib.call("query", self.handle, _enc(oql), _enc(json.dumps(params or [])), ctypes.byref(out))
        return json.loads(self.lib._take_string(out))

    def subscribe(self, from_lsn=0):
        h = ctypes.c_int64()
        self.lib.call("subscribe", self.handle, from_lsn, ctypes.byref(h))
        return Subscription(self.lib, h.value)


class Subscription:
    """A change stream, read with poll()."""

    def __init__(self, lib, handle):
        self.lib = lib
        self.handle = handle

    def poll(self, timeout_ms=0):
        """The next change as a dict (its "update" decoded to bytes), or None
        if none came within timeout_ms (negative: wait)."""
        out = ctypes.c_void_p()
        rc = self.lib.call("poll", self.handle, timeout_ms, ctypes.byref(out))
        if rc == NONE:
            return None
        change = json.loads(self.lib._take_string(out))
        change["update"] = base64.b64decode(change["update"])
        return change

    def close(self):
        self.lib.call("subscription_close", self.handle)
