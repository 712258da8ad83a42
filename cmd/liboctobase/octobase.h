/*
 * octobase.h — the C ABI of OctoBase, a yjs-compatible, event-sourced
 * collaborative database.
 *
 * Build the library from the repository root (see docs/embedding.md):
 *
 *   go build -buildmode=c-shared  -o liboctobase.so ./cmd/liboctobase
 *   go build -buildmode=c-archive -o liboctobase.a  ./cmd/liboctobase
 *
 * and compile against this header (not the header `go build` writes next to
 * the library, which lacks const qualifiers and documentation).
 *
 * ABI version 1. OCTOBASE_ABI_VERSION is bumped whenever a function's
 * signature or meaning, a code's value or a JSON shape changes incompatibly;
 * additions do not bump it. Check at startup that
 * octobase_abi_version() == OCTOBASE_ABI_VERSION.
 *
 * CONVENTIONS
 *
 * Results. Every function except octobase_abi_version returns an int32_t
 * code: OCTOBASE_OK (0) on success, OCTOBASE_NONE (1) from octobase_poll
 * when no change is available yet, and a negative OCTOBASE_ERR_* otherwise.
 *
 * Error messages. Every function that can fail takes a last parameter
 * `char **err`. On failure, when err is not NULL, *err is set to a
 * NUL-terminated UTF-8 message that the caller must release with
 * octobase_free; on success *err is set to NULL. Pass NULL to ignore
 * messages. (A per-call out-parameter, rather than a "last error", so that
 * messages never race between threads.)
 *
 * Handles. Stores, workspaces and subscriptions are int64_t handles: positive
 * numbers from a table inside the library, never pointers. A handle is valid
 * until closed and never reused, so a closed, unknown or wrong-kind handle
 * returns OCTOBASE_ERR_INVALID_HANDLE. Closing a store invalidates its
 * workspace and subscription handles (and ends the subscriptions).
 *
 * Buffers. Strings (char *) and byte buffers (uint8_t *) the library returns
 * through out-parameters belong to the caller, who releases each exactly
 * once with octobase_free. Freeing a pointer the library did not return, or
 * freeing it twice, returns OCTOBASE_ERR_UNKNOWN_BUFFER and changes nothing.
 * Out-parameters are set to NULL / 0 when a call fails. Input strings are
 * NUL-terminated UTF-8; input buffers are only read during the call.
 *
 * Threads. Every function may be called from any thread, concurrently; the
 * library serializes what needs it. A panic inside the library is recovered
 * and reported as OCTOBASE_ERR_INTERNAL; nothing unwinds into the caller.
 *
 * JSON shapes (docs/embedding.md has examples):
 *   block:   {"id", "space", "flavour", "parent": id|null, "children": [ids],
 *             "created": ms, "updated": ms, "creator", "props": {name: value}}
 *            rich-text properties are {"$text": "plain", "$delta": [quill ops]}
 *   new:     {"flavour" (required), "id"?, "creator"?, "parent"?, "index"?,
 *             "props"?}           (a property {"$text": "..."} is rich text)
 *   patch:   {"props"?: {name: value}, "remove"?: [name], "text"?: {name:
 *             [quill delta ops]}, "parent"?: id or "" (move), "index"?}
 *   rows:    {"columns": [names], "rows": [{column: value, ...}]}
 *   change:  {"lsn", "time": ms, "origin", "blocks": [{"space", "id",
 *             "op": "created"|"updated"|"deleted", "fields"?: [keys]}],
 *             "update": base64 of the yjs v1 update}
 *   options: {"memory"?: bool, "durability"?: "always"|"interval"|"none",
 *             "client_id"?: number}
 * Unknown fields in input objects are errors (OCTOBASE_ERR_JSON).
 */
#ifndef OCTOBASE_H
#define OCTOBASE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OCTOBASE_ABI_VERSION 1

/* Result codes. The values are part of the ABI. */
#define OCTOBASE_OK                    0  /* success */
#define OCTOBASE_NONE                  1  /* octobase_poll: no change yet */
#define OCTOBASE_ERR_INTERNAL         -1  /* a bug in the library (recovered panic) */
#define OCTOBASE_ERR_INVALID_ARGUMENT -2  /* NULL where a value is required, bad name/index/option */
#define OCTOBASE_ERR_INVALID_HANDLE   -3  /* unknown, closed or wrong-kind handle */
#define OCTOBASE_ERR_UNKNOWN_BUFFER   -4  /* octobase_free of a foreign or already freed pointer */
#define OCTOBASE_ERR_JSON             -5  /* malformed JSON, or JSON of the wrong shape */
#define OCTOBASE_ERR_UPDATE           -6  /* malformed or unsupported yjs update / state vector */
#define OCTOBASE_ERR_NOT_FOUND        -7  /* no such block */
#define OCTOBASE_ERR_EXISTS           -8  /* a block with that id already exists */
#define OCTOBASE_ERR_QUERY            -9  /* OQL that does not parse, bind or run */
#define OCTOBASE_ERR_CLOSED          -10  /* the store or subscription was closed */
#define OCTOBASE_ERR_IO              -11  /* the store could not be opened, read or written */

/* octobase_abi_version returns OCTOBASE_ABI_VERSION of the library. */
int32_t octobase_abi_version(void);

/* octobase_free releases a buffer or string the library returned. NULL is
 * accepted and ignored. */
int32_t octobase_free(void *buf, char **err);

/* --- stores ------------------------------------------------------------ */

/* octobase_store_open opens (creating if needed) the store in directory dir,
 * with options_json (NULL or "" for defaults; see "options" above). With
 * {"memory": true} the store lives in memory and dir may be NULL. A
 * directory can be open in one store at a time (OCTOBASE_ERR_IO otherwise). */
int32_t octobase_store_open(const char *dir, const char *options_json,
                            int64_t *out_store, char **err);

/* octobase_store_close closes a store and every handle opened from it. */
int32_t octobase_store_close(int64_t store, char **err);

/* --- workspaces -------------------------------------------------------- */

/* octobase_workspace_open returns a new handle to workspace name of store,
 * creating the workspace on first use. */
int32_t octobase_workspace_open(int64_t store, const char *name,
                                int64_t *out_ws, char **err);

/* octobase_workspace_close releases a workspace handle (the workspace stays
 * in its store; other handles to it stay valid). */
int32_t octobase_workspace_close(int64_t ws, char **err);

/* octobase_apply_update integrates a yjs update (v1 encoding) received from a
 * peer, logs it with origin (NULL: "") and sets *out_lsn (may be NULL) to its
 * log position. A malformed update changes nothing: OCTOBASE_ERR_UPDATE. */
int32_t octobase_apply_update(int64_t ws, const uint8_t *update, size_t len,
                              const char *origin, uint64_t *out_lsn, char **err);

/* octobase_apply_update_v2 is octobase_apply_update for the v2 encoding. */
int32_t octobase_apply_update_v2(int64_t ws, const uint8_t *update, size_t len,
                                 const char *origin, uint64_t *out_lsn, char **err);

/* octobase_state_vector returns the workspace's encoded yjs state vector. */
int32_t octobase_state_vector(int64_t ws, uint8_t **out, size_t *out_len,
                              char **err);

/* octobase_encode_state returns the workspace state as a yjs v1 update: all
 * of it when sv is NULL / sv_len is 0, otherwise only what a peer with the
 * encoded state vector sv lacks (a diff). */
int32_t octobase_encode_state(int64_t ws, const uint8_t *sv, size_t sv_len,
                              uint8_t **out, size_t *out_len, char **err);

/* octobase_last_lsn sets *out_lsn to the log position of the workspace's
 * last record (0 for an empty workspace). */
int32_t octobase_last_lsn(int64_t ws, uint64_t *out_lsn, char **err);

/* --- blocks (default space "blocks") ----------------------------------- */

/* octobase_block_create creates a block from block_json ("new" above) and
 * returns it as JSON in *out_json and the edit's log position in *out_lsn
 * (either may be NULL). */
int32_t octobase_block_create(int64_t ws, const char *block_json,
                              const char *origin, char **out_json,
                              uint64_t *out_lsn, char **err);

/* octobase_block_get returns block id as JSON, or OCTOBASE_ERR_NOT_FOUND. */
int32_t octobase_block_get(int64_t ws, const char *id, char **out_json,
                           char **err);

/* octobase_block_update applies patch_json ("patch" above) to block id in one
 * transaction and returns the block as JSON and the edit's log position
 * (either may be NULL). Properties are set, then removed, then rich texts
 * edited, then the block moved. A patch that changes nothing logs nothing;
 * *out_lsn is then the current last position. */
int32_t octobase_block_update(int64_t ws, const char *id,
                              const char *patch_json, const char *origin,
                              char **out_json, uint64_t *out_lsn, char **err);

/* octobase_block_delete deletes block id (and its descendants when subtree
 * is non-zero; otherwise its children are detached). */
int32_t octobase_block_delete(int64_t ws, const char *id, int32_t subtree,
                              const char *origin, uint64_t *out_lsn,
                              char **err);

/* --- queries ----------------------------------------------------------- */

/* octobase_query runs one OQL SELECT (docs/oql.md) over the workspace, with
 * params_json a JSON array binding $1, $2, ... (NULL or "" for none), and
 * returns the rows as JSON ("rows" above). Times are RFC 3339 strings. */
int32_t octobase_query(int64_t ws, const char *oql, const char *params_json,
                       char **out_json, char **err);

/* --- change streams (poll) --------------------------------------------- */

/* octobase_subscribe opens a change stream: from_lsn 0 delivers the changes
 * after the current last record; from_lsn n > 0 replays records n, n+1, ...
 * then continues live. Every record yields exactly one change, in order. */
int32_t octobase_subscribe(int64_t ws, uint64_t from_lsn, int64_t *out_sub,
                           char **err);

/* octobase_poll returns the next change as JSON in *out_json ("change"
 * above) and OCTOBASE_OK, or OCTOBASE_NONE with *out_json NULL when none came
 * within timeout_ms (0: do not wait; negative: wait until one comes or the
 * subscription is closed). A change is delivered by a background thread, so
 * a poll with timeout 0 right after an edit may still return NONE. Once the
 * subscription or its store is closed: OCTOBASE_ERR_CLOSED or
 * OCTOBASE_ERR_INVALID_HANDLE. */
int32_t octobase_poll(int64_t sub, int32_t timeout_ms, char **out_json,
                      char **err);

/* octobase_subscription_close ends a subscription; a poll blocked on it
 * returns. */
int32_t octobase_subscription_close(int64_t sub, char **err);

#ifdef __cplusplus
}
#endif

#endif /* OCTOBASE_H */
