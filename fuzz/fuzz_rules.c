/* libFuzzer target: arbitrary strings through the field rules and the waybill token's text, each
 * checked against a reference. */
#include "base/rand.h"
#include "base/utf8.h"
#include "domain/rules.h"
#include "domain/tokens.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (ok)
        return;
    fprintf(stderr, "invariant broken: %s\n", what);
    abort();
}

/* jansson's own UTF-8 validation is the reference for well-formedness. */
static void fuzz_utf8(const char *s, size_t len)
{
    long n = utf8_count(s, len);
    json_t *ref = json_stringn(s, len);
    check((n >= 0) == (ref != NULL), "utf8_count disagrees with jansson on well-formedness");
    json_decref(ref);
    if (n >= 0) {
        long starts = 0;
        for (size_t i = 0; i < len; i++)
            starts += ((unsigned char)s[i] & 0xC0) != 0x80;
        check(n == starts, "utf8_count is not the number of lead bytes");
    }
    bool control = false;
    for (size_t i = 0; i < len && !control; i++)
        control = (unsigned char)s[i] < 0x20;
    check(utf8_has_control(s, len) == control, "utf8_has_control");
}

static bool id_reference(const char *s, size_t max)
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    size_t n = strlen(s);
    return n >= 1 && n <= max && strspn(s, set) == n;
}

static void fuzz_ids(const char *s)
{
    check(rules_id_ok(s, 64) == id_reference(s, 64), "rules_id_ok(64)");
    check(rules_id_ok(s, 32) == id_reference(s, 32), "rules_id_ok(32)");
    check(rules_token_shape_ok(s, 64) == id_reference(s, 64), "rules_token_shape_ok");
    size_t n = strlen(s);
    bool test = n >= 14 && n <= 13 + 51 && strncmp(s, "WXTESTEXPRESS", 13) == 0 &&
                strspn(s + 13, "0123456789") == n - 13;
    check(rules_test_waybill(s) == test, "rules_test_waybill");
}

/* A waybill token's text: base64url_decode takes exactly what base64url_encode writes, and
 * tokens_waybill_open names a binding only for a token sealed under its key. */
static void fuzz_token_text(const char *s)
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(s);
    if (n > 4096)
        return;
    size_t bytes = n * 6 / 8;
    unsigned char raw[3072];
    char again[4097];
    bool decoded = base64url_decode(raw, bytes, s);
    if (decoded) {
        base64url_encode(again, raw, bytes);
        check(strcmp(again, s) == 0, "base64url_decode took text base64url_encode does not write");
    }
    check(base64url_decode(raw, 48, s) == (n == 64 && strspn(s, set) == 64),
          "base64url_decode of 48 bytes disagrees with the reference");
    struct waybill_token_ref ref;
    tokens_waybill_open(&ref, "fuzz-key", s);
    if (ref.binding_id) {
        char token[65];
        tokens_waybill(token, "fuzz-key", ref.binding_id, "00", false);
        check(strncmp(token, s, 21) == 0, "a token named a binding its sealed id does not");
    }
}

/* SPEC §4.1: remove spaces and '-', then an optional '+' and 5–20 digits. */
static void fuzz_phone(const char *s)
{
    char stripped[64];
    size_t n = 0;
    bool fits = true;
    for (const char *p = s; *p; p++) {
        if (*p == ' ' || *p == '-')
            continue;
        if (n + 1 >= sizeof stripped) {
            fits = false;
            break;
        }
        stripped[n++] = *p;
    }
    stripped[n] = '\0';
    const char *digits = stripped[0] == '+' ? stripped + 1 : stripped;
    size_t dn = strlen(digits);
    bool want = fits && dn >= 5 && dn <= 20 && strspn(digits, "0123456789") == dn;

    char out[32], tail[5];
    memset(out, 'X', sizeof out);
    memset(tail, 'X', sizeof tail);
    bool got = rules_phone_normalize(s, out, tail);
    check(got == want, "rules_phone_normalize disagrees with the reference");
    if (got) {
        check(strcmp(out, digits) == 0, "normalised digits");
        check(strcmp(tail, digits + dn - 4) == 0, "phone tail");
    }
}

static void fuzz_url(const char *s)
{
    const char *why = NULL;
    bool ok = rules_img_url_ok(s, &why);
    size_t n = strlen(s);
    if (!ok) {
        check(why != NULL && why[0] != '\0', "a rejected URL without a reason");
        return;
    }
    check(n >= 1 && n <= 1024, "accepted URL length");
    for (size_t i = 0; i < n; i++)
        check((unsigned char)s[i] > 0x20 && s[i] != 0x7f, "accepted a space or control");
    /* the authority: after "scheme://" when that comes before any '/', '?' or '#' (a "://" later
     * belongs to the path or query of a scheme-less host/path) */
    const char *sep = strstr(s, "://");
    const char *auth = sep && sep < s + strcspn(s, "/?#") ? sep + 3 : s;
    size_t alen = strcspn(auth, "/?#");
    check(alen > 0, "accepted an empty host");
    check(memchr(auth, '@', alen) == NULL, "accepted credentials");
    /* a port, when there is one, is 1–65535 */
    const char *colon = auth[0] == '[' ? memchr(auth, ']', alen) : auth;
    colon = colon ? memchr(colon, ':', alen - (size_t)(colon - auth)) : NULL;
    if (colon) {
        long port = strtol(colon + 1, NULL, 10);
        check(port >= 1 && port <= 65535, "accepted a port outside 1-65535");
    }
}

/* A scheme-less host[/path] is taken as https: both spellings get the same answer. */
static void fuzz_url_scheme_less(const char *s)
{
    size_t n = strlen(s);
    if (strstr(s, "://") || n + 8 > 1024)
        return;
    char *with = malloc(n + 9);
    if (!with)
        return;
    memcpy(with, "https://", 8);
    memcpy(with + 8, s, n + 1);
    const char *why = NULL;
    check(rules_img_url_ok(s, &why) == rules_img_url_ok(with, &why),
          "host/path and https://host/path disagree");
    free(with);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_utf8((const char *)data, size);
    /* the string rules take NUL-terminated text, as the JSON layer hands it over */
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    fuzz_ids(s);
    fuzz_token_text(s);
    fuzz_phone(s);
    fuzz_url(s);
    fuzz_url_scheme_less(s);
    free(s);
    return 0;
}
