/* Field format rules. Nothing here allocates or does I/O, so all of it is fuzzed and unit-tested.
 */
#include "domain/rules.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static bool id_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

bool rules_id_ok(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= max || !id_char(s[n]))
            return false;
    return n > 0;
}

bool rules_token_shape_ok(const char *s, size_t max)
{
    return rules_id_ok(s, max);
}

bool rules_phone_normalize(const char *in, char out[32], char tail[5])
{
    size_t digits = 0;
    bool plus = false, seen = false;
    for (const char *p = in; *p; p++) {
        if (*p == ' ' || *p == '-')
            continue;
        if (*p == '+' && !seen && !plus) {
            plus = true;
            continue;
        }
        seen = true;
        if (*p < '0' || *p > '9' || digits >= 20)
            return false;
        out[digits++] = *p;
    }
    if (digits < 5)
        return false;
    out[digits] = '\0';
    memcpy(tail, out + digits - 4, 5);
    return true;
}

bool rules_test_waybill(const char *waybill_id)
{
    static const char prefix[] = "WXTESTEXPRESS";
    size_t plen = sizeof prefix - 1;
    if (strncmp(waybill_id, prefix, plen) != 0)
        return false;
    size_t n = 0;
    for (const char *p = waybill_id + plen; *p; p++, n++)
        if (*p < '0' || *p > '9')
            return false;
    return n >= 1 && n <= 51;
}

static bool ipv4_forbidden(const unsigned char a[4])
{
    return a[0] == 0 || a[0] == 10 || a[0] == 127 || (a[0] == 169 && a[1] == 254) ||
           (a[0] == 172 && (a[1] & 0xF0) == 16) || (a[0] == 192 && a[1] == 168) ||
           (a[0] == 100 && (a[1] & 0xC0) == 64) || a[0] >= 224;
}

static bool ipv6_forbidden(const unsigned char a[16])
{
    static const unsigned char zero[16], mapped[12] = {[10] = 0xff, [11] = 0xff};
    if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1))
        return true; /* :: and ::1 */
    if (memcmp(a, mapped, 12) == 0)
        return ipv4_forbidden(a + 12);
    return (a[0] & 0xFE) == 0xFC || (a[0] == 0xFE && (a[1] & 0xC0) == 0x80) || a[0] == 0xFF;
}

/* host is [start, end): a DNS name, an IPv4 literal or a bracketed IPv6 literal. */
static bool host_ok(const char *start, const char *end, const char **why)
{
    char text[256];
    size_t n = (size_t)(end - start);
    if (n == 0 || n >= sizeof text) {
        *why = n ? "its host is too long" : "it has no host";
        return false;
    }
    memcpy(text, start, n);
    text[n] = '\0';
    unsigned char addr[16];
    if (text[0] == '[') {
        if (text[n - 1] != ']') {
            *why = "its host is not a valid IPv6 literal";
            return false;
        }
        text[n - 1] = '\0';
        if (inet_pton(AF_INET6, text + 1, addr) != 1) {
            *why = "its host is not a valid IPv6 literal";
            return false;
        }
        if (ipv6_forbidden(addr)) {
            *why = "its host is a private, loopback or link-local address";
            return false;
        }
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (!isalnum((unsigned char)c) && c != '-' && c != '.') {
            *why = "its host has a character a host name cannot have";
            return false;
        }
    }
    /* a host whose last label is a number is an IPv4 address in one of the forms browsers read
     * (dotted, hex, octal, shortened: 0x7f.1, 2130706433), so it is judged as one */
    const char *last = strrchr(text, '.');
    last = last && last[1] ? last + 1 : text;
    bool numeric = isdigit((unsigned char)last[0]) != 0;
    if (numeric) {
        struct in_addr v4;
        if (inet_aton(text, &v4) == 0) {
            *why = "its host is not a valid IPv4 address";
            return false;
        }
        memcpy(addr, &v4.s_addr, 4);
        if (ipv4_forbidden(addr)) {
            *why = "its host is a private, loopback or link-local address";
            return false;
        }
    }
    return true;
}

bool rules_img_url_ok(const char *url, const char **why)
{
    size_t len = strlen(url);
    if (len == 0 || len > 1024) {
        *why = len ? "it is longer than 1024 bytes" : "it is empty";
        return false;
    }
    for (const char *p = url; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
            *why = "it contains a space or a control character";
            return false;
        }
    }
    const char *rest = url;
    const char *sep = url;
    while (isalnum((unsigned char)*sep) || *sep == '+' || *sep == '-' || *sep == '.')
        sep++;
    if (sep > url && strncmp(sep, "://", 3) == 0) {
        size_t slen = (size_t)(sep - url);
        if (!((slen == 4 && strncasecmp(url, "http", 4) == 0) ||
              (slen == 5 && strncasecmp(url, "https", 5) == 0))) {
            *why = "its scheme is not http or https";
            return false;
        }
        rest = sep + 3;
    }
    const char *auth_end = rest + strcspn(rest, "/?#");
    const char *at = memchr(rest, '@', (size_t)(auth_end - rest));
    if (at) {
        *why = "it contains credentials";
        return false;
    }
    const char *host_end = auth_end;
    if (rest < auth_end && *rest == '[') {
        const char *close = memchr(rest, ']', (size_t)(auth_end - rest));
        host_end = close ? close + 1 : auth_end;
    } else {
        const char *colon = memchr(rest, ':', (size_t)(auth_end - rest));
        if (colon)
            host_end = colon;
    }
    if (host_end < auth_end) {
        if (*host_end != ':' || host_end + 1 == auth_end || auth_end - host_end > 6) {
            *why = "its port is not valid";
            return false;
        }
        long port = 0;
        for (const char *p = host_end + 1; p < auth_end; p++) {
            if (!isdigit((unsigned char)*p)) {
                *why = "its port is not valid";
                return false;
            }
            port = port * 10 + (*p - '0');
        }
        if (port < 1 || port > 65535) {
            *why = "its port is not valid";
            return false;
        }
    }
    return host_ok(rest, host_end, why);
}

/* Reads a bound "{m}", "{m,}" or "{m,n}" at p; false when a number passes the cap. */
static bool bound_ok(const char **p)
{
    const char *q = *p + 1;
    for (int part = 0; part < 2; part++) {
        long n = 0;
        while (isdigit((unsigned char)*q)) {
            n = n * 10 + (*q++ - '0');
            if (n > 64)
                return false;
        }
        if (*q != ',')
            break;
        q++;
    }
    while (*q && *q != '}')
        q++;
    *p = *q ? q : q - 1;
    return true;
}

bool rules_pattern_ok(const char *pattern, const char **why)
{
    enum { DEPTH = 32 };
    bool group_quantified[DEPTH] = {false}; /* a group at this depth holds a quantifier */
    int depth = 0, quantifiers = 0;
    bool last_quantified = false; /* the item just before is a quantifier */
    bool last_group_had = false;  /* the item just before is a group holding one */
    for (const char *p = pattern; *p; p++) {
        char c = *p;
        bool quantifier = c == '*' || c == '+' || c == '?' || c == '{';
        if (quantifier) {
            if (c == '{' && !bound_ok(&p)) {
                *why = "a repetition bound is above 64";
                return false;
            }
            if (last_quantified || last_group_had) {
                *why = "a quantifier applies to a quantified item (nested repetition)";
                return false;
            }
            if (++quantifiers > 16) {
                *why = "it has more than 16 quantifiers";
                return false;
            }
            for (int d = 0; d <= depth && d < DEPTH; d++)
                group_quantified[d] = true;
            last_quantified = true;
            last_group_had = false;
            continue;
        }
        last_quantified = last_group_had = false;
        if (c == '\\' && p[1]) {
            p++;
        } else if (c == '[') {
            const char *q = p + 1;
            if (*q == '^')
                q++;
            if (*q == ']')
                q++;
            while (*q && *q != ']')
                q++;
            p = *q ? q : q - 1;
        } else if (c == '(') {
            if (++depth < DEPTH)
                group_quantified[depth] = false;
        } else if (c == ')' && depth > 0) {
            last_group_had = depth < DEPTH && group_quantified[depth];
            depth--;
        }
    }
    if (depth >= DEPTH) {
        *why = "its groups nest too deep";
        return false;
    }
    return true;
}
