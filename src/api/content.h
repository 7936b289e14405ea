/* The deployment's forbidden terms: loaded from a file at start and again on SIGHUP, read by
 * every request without blocking the reload. */
#ifndef WB_API_CONTENT_H
#define WB_API_CONTENT_H

#include "base/error.h"

#include <jansson.h>
#include <stdbool.h>

/* (Re)loads path; a missing file when optional means no rules. Keeps the previous list (and
 * returns false, after logging why) when the file cannot be read. */
bool content_load(const char *path, bool optional);
/* terms_check_goods against the current list. */
enum wb_code content_check_goods(const json_t *detail_list, struct wb_err *e);

#endif
