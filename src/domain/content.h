/* Content supervision (SPEC §6.4): goods text against the operator's forbidden terms. */
#ifndef WB_DOMAIN_CONTENT_H
#define WB_DOMAIN_CONTENT_H

#include "base/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* An immutable list of terms. */
struct terms;

/* Parses text (one term a line; blank lines and lines starting with '#' are skipped; "\r\n" ends
 * are accepted). NULL when out of memory. */
struct terms *terms_parse(const char *text, size_t len);
void terms_free(struct terms *t);
size_t terms_count(const struct terms *t);
/* True when text contains a term as a substring, ASCII letters compared case-insensitively. */
bool terms_match(const struct terms *t, const char *text);

/* 87014 when a goods_name or goods_desc of detail_list (already checked by goods_check_fields)
 * contains a term; the detail names the field, never the term. t may be NULL (no rules). */
enum wb_code terms_check_goods(const struct terms *t, const json_t *detail_list, struct wb_err *e);

#endif
