/* The current forbidden-terms list behind a read-write lock: requests read, SIGHUP swaps. */
#include "api/content.h"

#include "base/log.h"
#include "domain/content.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TERMS_FILE_MAX (16u << 20)

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct terms *current;

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = malloc(TERMS_FILE_MAX);
    *len = text ? fread(text, 1, TERMS_FILE_MAX, f) : 0;
    bool failed = !text || ferror(f) || !feof(f);
    fclose(f);
    if (failed) {
        free(text);
        errno = EFBIG;
        return NULL;
    }
    return text;
}

bool content_load(const char *path, bool optional)
{
    size_t len = 0;
    char *text = read_file(path, &len);
    struct terms *fresh = NULL;
    if (!text && optional && errno == ENOENT) {
        fresh = terms_parse("", 0);
    } else if (!text) {
        log_msg("error", "forbidden terms: cannot read %s: %s%s", path, strerror(errno),
                current ? "; keeping the previous list" : "");
        return false;
    } else {
        fresh = terms_parse(text, len);
    }
    free(text);
    if (!fresh) {
        log_msg("error", "forbidden terms: out of memory; keeping the previous list");
        return false;
    }
    log_msg("info", "forbidden terms: %zu loaded from %s", terms_count(fresh), path);
    pthread_rwlock_wrlock(&lock);
    struct terms *old = current;
    current = fresh;
    pthread_rwlock_unlock(&lock);
    terms_free(old);
    return true;
}

enum wb_code content_check_goods(const json_t *detail_list, struct wb_err *e)
{
    pthread_rwlock_rdlock(&lock);
    enum wb_code code = terms_check_goods(current, detail_list, e);
    pthread_rwlock_unlock(&lock);
    return code;
}
