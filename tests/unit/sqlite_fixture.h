/* A SQLite store in a directory of its own, for the unit tests of the SQLite backend's
 * machinery: opened before each test, closed and removed after. */
#ifndef WAYBILLD_TESTS_SQLITE_FIXTURE_H
#define WAYBILLD_TESTS_SQLITE_FIXTURE_H

#include "store/sqlite_db.h"

#include <stdio.h>
#include <stdlib.h>

struct fixture {
    char dir[64];
    char path[128]; /* the store's database file */
    struct store *store;
};

static inline int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    snprintf(f->dir, sizeof f->dir, "/tmp/waybilld-unit-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/test.db", f->dir);
    f->store = store_open(f->path);
    return f->store ? 0 : -1;
}

static inline int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->store)
        f->store->ops->close(f->store);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

#endif
