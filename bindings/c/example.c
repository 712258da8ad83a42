/* The C example of docs/embedding.md, compiled and run by
 * cmd/liboctobase/c_test.go:
 *   gcc -I cmd/liboctobase example.c -L. -loctobase -o example */
#include <stdio.h>

#include "octobase.h"

int main(void) {
    char *err = NULL, *json = NULL;
    int64_t store, ws;
    if (octobase_abi_version() != OCTOBASE_ABI_VERSION) return 1;
    if (octobase_store_open(NULL, "{\"memory\": true}", &store, &err) != OCTOBASE_OK ||
        octobase_workspace_open(store, "notes", &ws, &err) != OCTOBASE_OK) {
        fprintf(stderr, "open: %s\n", err);
        octobase_free(err, NULL);
        return 1;
    }

    /* Blocks in and out as JSON; {"$text": ...} is rich text. */
    octobase_block_create(ws,
        "{\"id\":\"todo\",\"flavour\":\"affine:page\",\"props\":{\"title\":{\"$text\":\"Todo\"}}}",
        "example", NULL, NULL, NULL);
    octobase_block_create(ws,
        "{\"flavour\":\"affine:paragraph\",\"parent\":\"todo\",\"props\":{\"item\":\"milk\"}}",
        "example", NULL, NULL, NULL);

    /* OQL with parameters; rows come back as JSON. */
    if (octobase_query(ws, "SELECT prop.item FROM blocks WHERE CHILD OF $1", "[\"todo\"]",
                       &json, &err) == OCTOBASE_OK) {
        printf("%s\n", json); /* {"columns":["prop.item"],"rows":[{"prop.item":"milk"}]} */
        octobase_free(json, NULL);
    }

    /* Errors are codes plus a message the caller frees. */
    const uint8_t junk[] = {1, 2, 3};
    int32_t rc = octobase_apply_update(ws, junk, sizeof junk, "example", NULL, &err);
    printf("%d %s\n", rc, err); /* -6 (OCTOBASE_ERR_UPDATE) octobase: apply update: ... */
    octobase_free(err, NULL);

    return octobase_store_close(store, NULL) == OCTOBASE_OK ? 0 : 1;
}
