/* Waybill recognition by owner, named carrier, waybill_pattern or the sandbox's test numbers. */
#include "carrier/recognize.h"

#include "domain/rules.h"
#include "store/cache.h"

#include <regex.h>
#include <string.h>

static void sandbox_carrier(struct carrier *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->delivery_id, SANDBOX_CARRIER_ID, sizeof SANDBOX_CARRIER_ID);
    memcpy(out->delivery_name, SANDBOX_CARRIER_NAME, sizeof SANDBOX_CARRIER_NAME);
    out->enabled = true;
}

struct by_id {
    const char *delivery_id;
    struct carrier *out;
    bool found;
};

static int by_id_cb(void *ctx, const struct carrier_entry *e)
{
    struct by_id *q = ctx;
    if (strcmp(e->carrier.delivery_id, q->delivery_id) != 0)
        return 0;
    *q->out = e->carrier;
    q->found = true;
    return 1;
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
    struct by_id q = {delivery_id, out, false};
    if (cache_carriers_each(s, by_id_cb, &q))
        return STORE_ERROR;
    return q.found ? STORE_OK : STORE_NOT_FOUND;
}

struct pattern_search {
    const char *waybill_id;
    int matches;
    struct carrier found;
};

static int match_cb(void *ctx, const struct carrier_entry *e)
{
    struct pattern_search *ps = ctx;
    if (!e->has_pattern || !e->carrier.enabled)
        return 0;
    if (regexec(&e->pattern, ps->waybill_id, 0, NULL, 0) == 0 && ps->matches++ == 0)
        ps->found = e->carrier;
    return 0;
}

enum recognize_result recognize_known(struct store *s, bool sandbox, const struct waybill *w,
                                      const char *waybill_id, const char *named,
                                      struct carrier *out)
{
    memset(out, 0, sizeof *out);
    const char *decided = w && w->owner[0] ? w->owner : named;
    if (decided && decided[0]) {
        if (recognize_carrier_get(s, sandbox, decided, out) == STORE_ERROR)
            return RECOGNIZE_FAILED;
        return RECOGNIZE_KNOWN;
    }
    if (sandbox && rules_test_waybill(waybill_id)) {
        sandbox_carrier(out);
        return RECOGNIZE_KNOWN;
    }
    struct pattern_search ps = {.waybill_id = waybill_id};
    if (cache_carriers_each(s, match_cb, &ps))
        return RECOGNIZE_FAILED;
    if (ps.matches == 1)
        *out = ps.found;
    return ps.matches > 0 ? RECOGNIZE_KNOWN : RECOGNIZE_UNKNOWN;
}

enum recognize_result recognize_waybill(struct store *s, bool sandbox, const char *waybill_id,
                                        const char *named, struct carrier *out)
{
    struct waybill w;
    int rc = s->ops->waybill_get(s, waybill_id, &w);
    if (rc == STORE_ERROR)
        return RECOGNIZE_FAILED;
    return recognize_known(s, sandbox, rc == STORE_OK ? &w : NULL, waybill_id, named, out);
}

enum recognize_result recognize_whether_known(struct store *s, bool sandbox, const char *waybill_id,
                                              const char *named)
{
    struct carrier carrier;
    enum recognize_result known = recognize_known(s, sandbox, NULL, waybill_id, named, &carrier);
    return known == RECOGNIZE_UNKNOWN ? recognize_waybill(s, sandbox, waybill_id, named, &carrier)
                                      : known;
}
