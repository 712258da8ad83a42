/*
 * octobase_test.c — the C binding's test and example: a real round trip
 * through the C ABI (cmd/liboctobase/octobase.h), run by c_test.go.
 *
 *   octobase_test DATADIR GO_UPDATE GO_SV OUT_DIFF OUT_SV
 *
 * It opens a store in DATADIR, applies the update the Go test produced
 * (GO_UPDATE), edits blocks through JSON, queries, polls the change stream,
 * writes the diff the Go side lacks (against GO_SV) to OUT_DIFF and its own
 * state vector to OUT_SV, then checks that invalid handles, freed and foreign
 * buffers, malformed JSON and malformed updates come back as error codes
 * with messages, from several threads too. Prints "PASS" and exits 0 when
 * every check holds.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "octobase.h"

static int failures;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__,        \
                    __LINE__, #cond);                                     \
            fprintf(stderr, __VA_ARGS__);                                 \
            fprintf(stderr, "\n");                                        \
            failures++;                                                   \
        }                                                                 \
    } while (0)

/* OK runs an API call that must succeed, printing its message if not. */
#define OK(call)                                                          \
    do {                                                                  \
        char *err_ = NULL;                                                \
        int32_t rc_ = call;                                               \
        if (rc_ != OCTOBASE_OK) {                                         \
            fprintf(stderr, "%s:%d: %s = %d: %s\n", __FILE__, __LINE__,   \
                    #call, rc_, err_ ? err_ : "(no message)");            \
            failures++;                                                   \
            octobase_free(err_, NULL);                                    \
        }                                                                 \
    } while (0)

/* expect_err checks that a call failed with code want and a message. */
static void expect_err(const char *what, int32_t rc, char *err, int32_t want) {
    if (rc != want) {
        fprintf(stderr, "%s: code %d, want %d (%s)\n", what, rc, want,
                err ? err : "no message");
        failures++;
    } else if (err == NULL || err[0] == '\0') {
        fprintf(stderr, "%s: code %d but no message\n", what, rc);
        failures++;
    } else {
        printf("expected error: %s -> %d: %s\n", what, rc, err);
    }
    if (err != NULL && octobase_free(err, NULL) != OCTOBASE_OK) {
        fprintf(stderr, "%s: freeing the message failed\n", what);
        failures++;
    }
}
#define EXPECT_ERR(want, call)                                            \
    do {                                                                  \
        int32_t rc_ = call;                                               \
        expect_err(#call, rc_, err, want);                                \
        err = NULL;                                                       \
    } while (0)

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? n : 1);
    if (fread(buf, 1, n, f) != (size_t)n) {
        perror(path);
        exit(2);
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void write_file(const char *path, const uint8_t *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len) {
        perror(path);
        exit(2);
    }
    fclose(f);
}

struct worker {
    int64_t store;
    int n;
    int errors;
};

/* work opens its own workspace handle, creates blocks and provokes errors,
 * concurrently with the other workers. */
static void *work(void *arg) {
    struct worker *w = arg;
    int64_t ws = 0;
    char *err = NULL;
    if (octobase_workspace_open(w->store, "notes", &ws, &err) != OCTOBASE_OK) {
        fprintf(stderr, "worker %d: open: %s\n", w->n, err);
        w->errors++;
        return NULL;
    }
    for (int i = 0; i < 25; i++) {
        char json[128], *out = NULL;
        snprintf(json, sizeof json,
                 "{\"id\":\"t%d-%d\",\"flavour\":\"test:thread\",\"props\":{\"i\":%d}}",
                 w->n, i, i);
        if (octobase_block_create(ws, json, "thread", &out, NULL, &err) != OCTOBASE_OK) {
            fprintf(stderr, "worker %d: create: %s\n", w->n, err);
            octobase_free(err, NULL);
            w->errors++;
        }
        octobase_free(out, NULL);
        /* errors on the way, from every thread */
        if (octobase_block_get(ws + 100000, "x", &out, &err) != OCTOBASE_ERR_INVALID_HANDLE || err == NULL)
            w->errors++;
        octobase_free(err, NULL);
        if (octobase_free(out, NULL) != OCTOBASE_OK) /* out is NULL after the failed call */
            w->errors++;
    }
    octobase_workspace_close(ws, NULL);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s DATADIR GO_UPDATE GO_SV OUT_DIFF OUT_SV\n", argv[0]);
        return 2;
    }
    char *err = NULL, *json = NULL;
    CHECK(octobase_abi_version() == OCTOBASE_ABI_VERSION, "abi version %d", octobase_abi_version());

    /* Open a store on disk and a workspace. */
    int64_t store = 0, ws = 0, sub = 0, scratch = 0;
    OK(octobase_store_open(argv[1], "{\"client_id\": 202}", &store, &err_));
    OK(octobase_workspace_open(store, "notes", &ws, &err_));
    OK(octobase_subscribe(ws, 0, &sub, &err_));

    /* Apply the update the Go side produced. */
    size_t ulen, svlen;
    unsigned char *update = read_file(argv[2], &ulen);
    unsigned char *gosv = read_file(argv[3], &svlen);
    uint64_t lsn = 0;
    OK(octobase_apply_update(ws, update, ulen, "go", &lsn, &err_));
    CHECK(lsn == 1, "lsn %llu", (unsigned long long)lsn);
    OK(octobase_block_get(ws, "go-page", &json, &err_));
    CHECK(json && strstr(json, "\"$text\":\"Made in Go\""), "go-page = %s", json);
    octobase_free(json, NULL);

    /* Create and edit blocks with JSON. */
    OK(octobase_block_create(ws,
        "{\"id\":\"c-para\",\"flavour\":\"affine:paragraph\",\"creator\":\"c-user\","
        "\"parent\":\"go-page\",\"props\":{\"text\":{\"$text\":\"from C\"},\"n\":42}}",
        "c", &json, &lsn, &err_));
    CHECK(json && strstr(json, "\"parent\":\"go-page\""), "created %s", json);
    CHECK(lsn == 2, "create lsn %llu", (unsigned long long)lsn);
    octobase_free(json, NULL);
    OK(octobase_block_update(ws, "c-para",
        "{\"props\":{\"done\":true},\"text\":{\"text\":[{\"retain\":6},{\"insert\":\"!\"}]}}",
        "c", &json, &lsn, &err_));
    CHECK(json && strstr(json, "\"done\":true") && strstr(json, "\"$text\":\"from C!\""), "updated %s", json);
    octobase_free(json, NULL);
    OK(octobase_block_create(ws, "{\"id\":\"c-tmp\",\"flavour\":\"affine:paragraph\"}", "c", NULL, NULL, &err_));
    OK(octobase_block_delete(ws, "c-tmp", 0, "c", &lsn, &err_));
    CHECK(lsn == 5, "delete lsn %llu", (unsigned long long)lsn);

    /* Query. */
    OK(octobase_query(ws, "SELECT id, prop.n FROM blocks WHERE parent = $1 ORDER BY id",
                      "[\"go-page\"]", &json, &err_));
    CHECK(json && strcmp(json,
        "{\"columns\":[\"id\",\"prop.n\"],\"rows\":[{\"id\":\"c-para\",\"prop.n\":42},"
        "{\"id\":\"go-para\",\"prop.n\":null}]}") == 0, "query = %s", json);
    octobase_free(json, NULL);

    /* The change stream saw every edit, in order. */
    int32_t rc = octobase_poll(sub, 5000, &json, &err);
    CHECK(rc == OCTOBASE_OK && json && strstr(json, "\"lsn\":1,") && strstr(json, "\"origin\":\"go\"")
          && strstr(json, "\"id\":\"go-page\",\"op\":\"created\""), "poll 1 = %d %s %s", rc, json, err);
    octobase_free(json, NULL);
    rc = octobase_poll(sub, 5000, &json, &err);
    CHECK(rc == OCTOBASE_OK && json && strstr(json, "\"lsn\":2,")
          && strstr(json, "\"id\":\"c-para\",\"op\":\"created\""), "poll 2 = %d %s", rc, json);
    octobase_free(json, NULL);
    for (int i = 3; i <= 5; i++) {
        rc = octobase_poll(sub, 5000, &json, &err);
        CHECK(rc == OCTOBASE_OK && json, "poll %d = %d", i, rc);
        octobase_free(json, NULL);
    }
    rc = octobase_poll(sub, 0, &json, &err);
    CHECK(rc == OCTOBASE_NONE && json == NULL && err == NULL, "poll with nothing new = %d", rc);

    /* Sync back: the diff the Go side lacks, and our state vector. */
    uint8_t *diff = NULL, *sv = NULL;
    size_t dlen = 0, slen = 0;
    OK(octobase_encode_state(ws, gosv, svlen, &diff, &dlen, &err_));
    CHECK(dlen > 0, "empty diff");
    write_file(argv[4], diff, dlen);
    OK(octobase_state_vector(ws, &sv, &slen, &err_));
    write_file(argv[5], sv, slen);
    OK(octobase_free(diff, &err_));
    OK(octobase_free(sv, &err_));

    /* --- errors --------------------------------------------------------- */
    /* freed and foreign buffers */
    EXPECT_ERR(OCTOBASE_ERR_UNKNOWN_BUFFER, octobase_free(diff, &err));
    char *mine = malloc(16);
    EXPECT_ERR(OCTOBASE_ERR_UNKNOWN_BUFFER, octobase_free(mine, &err));
    free(mine);
    CHECK(octobase_free(NULL, &err) == OCTOBASE_OK && err == NULL, "free(NULL)");
    /* invalid handles */
    EXPECT_ERR(OCTOBASE_ERR_INVALID_HANDLE, octobase_block_get(999999, "x", &json, &err));
    CHECK(json == NULL, "out_json set on failure");
    EXPECT_ERR(OCTOBASE_ERR_INVALID_HANDLE, octobase_block_get(0, "x", &json, &err));
    EXPECT_ERR(OCTOBASE_ERR_INVALID_HANDLE, octobase_block_get(store, "x", &json, &err));
    EXPECT_ERR(OCTOBASE_ERR_INVALID_HANDLE, octobase_workspace_open(ws, "x", &scratch, &err));
    EXPECT_ERR(OCTOBASE_ERR_INVALID_HANDLE, octobase_poll(ws, 0, &json, &err));
    /* malformed JSON */
    EXPECT_ERR(OCTOBASE_ERR_JSON, octobase_block_create(ws, "{\"flavour\":", "c", &json, NULL, &err));
    EXPECT_ERR(OCTOBASE_ERR_JSON, octobase_block_create(ws, "{\"flavour\":\"x\",\"bogus\":1}", "c", &json, NULL, &err));
    EXPECT_ERR(OCTOBASE_ERR_JSON, octobase_block_create(ws, "[1,2]", "c", &json, NULL, &err));
    EXPECT_ERR(OCTOBASE_ERR_JSON, octobase_block_update(ws, "c-para", "{\"props\":{", "c", &json, NULL, &err));
    EXPECT_ERR(OCTOBASE_ERR_JSON, octobase_query(ws, "SELECT id FROM blocks", "not json", &json, &err));
    EXPECT_ERR(OCTOBASE_ERR_JSON, octobase_store_open(NULL, "{\"memory\":", &scratch, &err));
    /* malformed updates and state vectors */
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    EXPECT_ERR(OCTOBASE_ERR_UPDATE, octobase_apply_update(ws, junk, sizeof junk, "c", &lsn, &err));
    EXPECT_ERR(OCTOBASE_ERR_UPDATE, octobase_apply_update(ws, junk, 3, "c", &lsn, &err));
    EXPECT_ERR(OCTOBASE_ERR_UPDATE, octobase_apply_update(ws, update, ulen / 2, "c", &lsn, &err));
    EXPECT_ERR(OCTOBASE_ERR_UPDATE, octobase_apply_update(ws, junk, 0, "c", &lsn, &err));
    EXPECT_ERR(OCTOBASE_ERR_UPDATE, octobase_apply_update_v2(ws, junk, sizeof junk, "c", &lsn, &err));
    EXPECT_ERR(OCTOBASE_ERR_UPDATE, octobase_encode_state(ws, junk, 2, &diff, &dlen, &err));
    CHECK(diff == NULL && dlen == 0, "out set on failure");
    /* other errors */
    EXPECT_ERR(OCTOBASE_ERR_INVALID_ARGUMENT, octobase_apply_update(ws, NULL, 10, "c", &lsn, &err));
    EXPECT_ERR(OCTOBASE_ERR_INVALID_ARGUMENT, octobase_block_get(ws, "x", NULL, &err));
    EXPECT_ERR(OCTOBASE_ERR_NOT_FOUND, octobase_block_get(ws, "nope", &json, &err));
    EXPECT_ERR(OCTOBASE_ERR_EXISTS, octobase_block_create(ws, "{\"id\":\"c-para\",\"flavour\":\"x\"}", "c", NULL, NULL, &err));
    EXPECT_ERR(OCTOBASE_ERR_QUERY, octobase_query(ws, "SELECT FROM WHERE", NULL, &json, &err));
    EXPECT_ERR(OCTOBASE_ERR_IO, octobase_store_open(argv[1], NULL, &scratch, &err)); /* locked by store */
    /* the state did not change through any of that */
    uint64_t last = 0;
    OK(octobase_last_lsn(ws, &last, &err_));
    CHECK(last == 5, "last lsn %llu after failed calls", (unsigned long long)last);

    /* Several threads at once. */
    enum { N = 4 };
    pthread_t th[N];
    struct worker w[N];
    for (int i = 0; i < N; i++) {
        w[i] = (struct worker){.store = store, .n = i};
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        CHECK(w[i].errors == 0, "worker %d: %d errors", i, w[i].errors);
    }
    OK(octobase_query(ws, "SELECT COUNT(*) FROM blocks WHERE type = 'test:thread'", NULL, &json, &err_));
    CHECK(json && strstr(json, ":100}"), "thread count = %s", json);
    octobase_free(json, NULL);

    /* Closed handles. */
    OK(octobase_subscription_close(sub, &err_));
    EXPECT_ERR(OCTOBASE_ERR_INVALID_HANDLE, octobase_poll(sub, 0, &json, &err));
    EXPECT_ERR(OCTOBASE_ERR_INVALID_HANDLE, octobase_subscription_close(sub, &err));
    int64_t ws2 = 0;
    OK(octobase_workspace_open(store, "notes", &ws2, &err_));
    OK(octobase_workspace_close(ws2, &err_));
    EXPECT_ERR(OCTOBASE_ERR_INVALID_HANDLE, octobase_block_get(ws2, "c-para", &json, &err));
    OK(octobase_store_close(store, &err_));
    EXPECT_ERR(OCTOBASE_ERR_INVALID_HANDLE, octobase_block_get(ws, "c-para", &json, &err));
    EXPECT_ERR(OCTOBASE_ERR_INVALID_HANDLE, octobase_store_close(store, &err));

    /* Reopen the store from disk: the edits were durable. */
    OK(octobase_store_open(argv[1], NULL, &store, &err_));
    OK(octobase_workspace_open(store, "notes", &ws, &err_));
    OK(octobase_block_get(ws, "c-para", &json, &err_));
    CHECK(json && strstr(json, "from C!"), "after reopen %s", json);
    octobase_free(json, NULL);
    OK(octobase_store_close(store, &err_));

    free(update);
    free(gosv);
    if (failures) {
        fprintf(stderr, "FAIL: %d checks failed\n", failures);
        return 1;
    }
    printf("PASS\n");
    return 0;
}
