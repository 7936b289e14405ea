/* Formats of the merchant API's fields (SPEC §4.1, §6.3): pure predicates and normalisers. */
#ifndef WB_DOMAIN_RULES_H
#define WB_DOMAIN_RULES_H

#include <stdbool.h>
#include <stddef.h>

/* 1..max characters of [A-Za-z0-9_-]: the shape of openids, waybill ids and delivery ids. */
bool rules_id_ok(const char *s, size_t max);
/* Removes spaces and '-', then requires an optional '+' and 5–20 digits. On success out holds the
 * digits (without '+') and tail their last 4. */
bool rules_phone_normalize(const char *in, char out[32], char tail[5]);
/* SPEC §6.3. On failure, why names the problem for the reply's detail. */
bool rules_img_url_ok(const char *url, const char **why);
/* A carrier's waybill_pattern is cheap enough to compile and run: at most 16 quantifiers, bounds
 * of at most 64, no quantifier on a quantified item or on a group holding one. Regex engines
 * expand repetitions, so `a{1,32767}` or nested `(a+)+` can take gigabytes. On failure, why
 * names the problem. Whether it is a valid POSIX ERE is regcomp's to say. */
bool rules_pattern_ok(const char *pattern, const char **why);
/* A sandbox test waybill: "WXTESTEXPRESS" followed by 1 to 51 digits. */
bool rules_test_waybill(const char *waybill_id);
/* An access token's or waybill token's alphabet and length (base64url, 1..max). */
bool rules_token_shape_ok(const char *s, size_t max);

#endif
