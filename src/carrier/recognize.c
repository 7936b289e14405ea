/* Waybill recognition by owner, named carrier, waybill_pattern or the sandbox's test numbers. */
#include "carrier/recognize.h"

#include "domain/rules.h"

#include <regex.h>
#include <string.h>

static void sandbox_carrier(struct carrier *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->delivery_id, SANDBOX_CARRIER_ID, sizeof SANDBOX_CARRIER_ID);
    memcpy(out->delivery_name, SANDBOX_CARRIER_NAME, sizeof SANDBOX_CARRIER_NAME);
    out->enabled = true;
}

int recognize_carrier_get(struct store *s, bool sandbox, const char *delivery_id,
                          struct carrier *out)
{
    if (strcmp(delivery_id, SANDBOX_CARRIER_ID) == 0) {
        if (!sandbox)
            return STORE_NOT_FOUND;
        sandbox_carrier(out);
        return STORE_OK;
    }
    return s->ops->carrier_get(s, delivery_id, out);
}

struct pattern_search {
    const char *waybill_id;
    int matches;
    struct carrier found;
};

static int match_cb(void *ctx, const struct carrier *c)
{
    struct pattern_search *ps = ctx;
    if (!c->waybill_pattern[0] || !c->enabled)
        return 0;
    regex_t re;
    if (regcomp(&re, c->waybill_pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return 0;
    if (regexec(&re, ps->waybill_id, 0, NULL, 0) == 0) {
        if (ps->matches++ == 0)
            ps->found = *c;
    }
    regfree(&re);
    return 0;
}

enum recognize_result recognize_waybill(struct store *s, bool sandbox, const char *waybill_id,
                                        const char *named, struct carrier *out)
{
    memset(out, 0, sizeof *out);
    struct waybill w;
    int rc = s->ops->waybill_get(s, waybill_id, &w);
    if (rc == STORE_ERROR)
        return RECOGNIZE_FAILED;
    const char *decided = rc == STORE_OK && w.owner[0] ? w.owner : named;
    if (decided && decided[0]) {
        rc = recognize_carrier_get(s, sandbox, decided, out);
        if (rc == STORE_ERROR)
            return RECOGNIZE_FAILED;
        return RECOGNIZE_KNOWN;
    }
    if (sandbox && rules_test_waybill(waybill_id)) {
        sandbox_carrier(out);
        return RECOGNIZE_KNOWN;
    }
    struct pattern_search ps = {.waybill_id = waybill_id};
    if (s->ops->carrier_list(s, match_cb, &ps))
        return RECOGNIZE_FAILED;
    if (ps.matches == 1)
        *out = ps.found;
    return ps.matches > 0 ? RECOGNIZE_KNOWN : RECOGNIZE_UNKNOWN;
}
