/* The merchant API, /cgi-bin/express/delivery/open_msg/ (SPEC §4): bind, query, update, carriers.
 */
#include "api/call.h"

#include "api/content.h"
#include "api/reply.h"
#include "api/waybill_view.h"
#include "base/crypto.h"
#include "base/text.h"
#include "base/log.h"
#include "carrier/recognize.h"
#include "domain/merchant.h"
#include "domain/quota.h"
#include "domain/rules.h"
#include "domain/script.h"
#include "domain/tokens.h"
#include "store/cache.h"

#include <stdlib.h>
#include <string.h>

#define OPENMSG_PREFIX "/cgi-bin/express/delivery/open_msg/"

static void follow(struct call *c);
static void query(struct call *c);
static void update(struct call *c);
static void delivery_list(struct call *c);

static const struct endpoint {
    const char *name;
    enum family family;
    void (*run)(struct call *c);
} endpoints[] = {
    {"follow_waybill", FAMILY_MESSAGE, follow},
    {"query_follow_trace", FAMILY_MESSAGE, query},
    {"update_follow_waybill_goods", FAMILY_MESSAGE, update},
    {"trace_waybill", FAMILY_QUERY, follow},
    {"query_trace", FAMILY_QUERY, query},
    {"update_waybill_goods", FAMILY_QUERY, update},
    {"get_delivery_list", FAMILY_MESSAGE, delivery_list},
};

static bool carrier_exists_cb(void *ctx, const char *delivery_id)
{
    struct call *c = ctx;
    struct carrier carrier;
    return recognize_carrier_get(c->api->store, c->api->cfg.sandbox, delivery_id, &carrier) ==
               STORE_OK &&
           carrier.enabled;
}

static bool waybill_owner_cb(void *ctx, const char *waybill_id, char owner[DELIVERY_ID_SIZE])
{
    struct call *c = ctx;
    struct waybill w;
    int rc = c->api->store->ops->waybill_get(c->api->store, waybill_id, &w);
    owner[0] = '\0';
    if (rc == STORE_OK)
        memcpy(owner, w.owner, sizeof w.owner);
    return rc != STORE_ERROR;
}

static void phone_hash(struct call *c, const char *digits, char out[HASH_SIZE])
{
    out[0] = '\0';
    if (digits[0])
        crypto_hmac_hex(out, c->api->cfg.hash_key, digits, strlen(digits));
}

/* The binding a bind would make (its token names it, once the store gave it an id). */
static bool new_binding(struct call *c, const struct follow_req *fr, struct binding *b)
{
    memset(b, 0, sizeof *b);
    text_copy(b->appid, sizeof b->appid, c->app.appid);
    text_copy(b->openid, sizeof b->openid, fr->openid);
    text_copy(b->waybill_id, sizeof b->waybill_id, fr->waybill_id);
    b->family = c->family;
    if (!tokens_new_nonce(b->token_nonce))
        return false;
    phone_hash(c, fr->receiver_phone, b->receiver_hash);
    text_copy(b->receiver_tail, sizeof b->receiver_tail, fr->receiver_tail);
    phone_hash(c, fr->sender_phone, b->sender_hash);
    text_copy(b->sender_tail, sizeof b->sender_tail, fr->sender_tail);
    text_copy(b->delivery_id, sizeof b->delivery_id, fr->delivery_id);
    text_copy(b->trans_id, sizeof b->trans_id, fr->trans_id);
    text_copy(b->order_detail_path, sizeof b->order_detail_path, fr->order_detail_path);
    int count = 0;
    b->goods_json = goods_canonical(fr->goods, &count);
    return b->goods_json != NULL;
}

/* The checks that follow the per-user quota (SPEC §2.1): decided before the unit of work that
 * counts the call, reported after it. false only when the store failed. */
static bool later_checks(struct call *c, const struct follow_req *fr, struct wb_err *later)
{
    if (goods_check_images(fr->goods, later) || content_check_goods(fr->goods, later))
        return true;
    enum recognize_result known = recognize_whether_known(c->api->store, c->api->cfg.sandbox,
                                                          fr->waybill_id, fr->delivery_id);
    if (known == RECOGNIZE_UNKNOWN)
        wb_err_set(later, WB_WAYBILL_UNKNOWN,
                   "运单不存在: no registered carrier recognises waybill_id %s", fr->waybill_id);
    return known != RECOGNIZE_FAILED;
}

/* A bind on its way through the store: what its unit of work and its reply need, on the heap so
 * that the reply can be made on a later turn of the server (http_defer) while the commit runs. */
struct bind_call {
    struct call_write write; /* first: the store's done callback is call_write_done */
    struct api *api;
    char quota_key[QUOTA_KEY_SIZE];
    struct bind_op op;
    struct wb_err later; /* a check after the per-user quota refused the call */
    enum bind_outcome outcome;
    struct binding b;
    bool created;
};

static void bind_call_free(struct bind_call *bc)
{
    binding_release(&bc->op.binding);
    binding_release(&bc->b);
    free(bc);
}

/* The reply to a finished bind: the waybill token, or e. */
static void bind_answer(const struct bind_call *bc, struct wb_err *e, struct http_reply *reply)
{
    if (bc->write.rc) {
        call_store_failed_in(e);
        return;
    }
    switch (bc->outcome) {
    case BIND_NO_USER:
        wb_err_set(e, WB_INVALID_OPENID, "openid is not a user of this mini program");
        return;
    case BIND_OTHER_APP:
        wb_err_set(e, WB_INVALID_SHOP_ARGS,
                   "openid belongs to another mini program than the access_token's");
        return;
    case BIND_USER_QUOTA:
        wb_err_set(e, WB_OUT_OF_QUOTA, "the user's daily bind quota (%lld) is used up",
                   (long long)bc->op.quota_limit);
        return;
    case BIND_COUNTED:
        *e = bc->later;
        return;
    case BIND_CAP:
        wb_err_set(e, WB_OUT_OF_QUOTA, "the user's valid bindings (%lld) are at the limit",
                   (long long)bc->op.max_bindings);
        return;
    case BIND_DONE:
        break;
    }
    /* the new binding's token, or the live one's own */
    char token[WAYBILL_TOKEN_LEN + 1];
    tokens_waybill(token, bc->api->cfg.hash_key, bc->b.id, bc->b.token_nonce,
                   bc->b.token_hash[0] != '\0');
    reply_ok_begin(reply);
    buf_puts(&reply->body, ",\"waybill_token\":");
    buf_json_string(&reply->body, token);
    reply_ok_end(reply);
}

static void bind_start_cb(void *arg, struct http_deferred *d)
{
    struct bind_call *bc = arg;
    struct store *s = bc->api->store;
    bc->write.deferred = d;
    int rc = s->ops->bind_then(s, &bc->op, &bc->outcome, &bc->b, &bc->created, call_write_done, bc);
    if (rc)
        call_write_done(bc, rc);
}

static void bind_finish_cb(void *arg, const struct http_request *req, struct http_reply *reply)
{
    struct bind_call *bc = arg;
    struct wb_err e = {0};
    bind_answer(bc, &e, reply);
    if (e.code != WB_OK)
        reply_wechat_error(reply, req, &e);
    bind_call_free(bc);
}

static void follow(struct call *c)
{
    struct merchant_lookup lookup = {c, carrier_exists_cb, waybill_owner_cb};
    struct follow_req fr;
    if (merchant_follow_parse(c->body, &lookup, &fr, &c->err))
        return;
    struct bind_call *bc = calloc(1, sizeof *bc);
    if (!bc) {
        wb_err_set(&c->err, WB_SYSTEM, "out of memory");
        return;
    }
    bc->api = c->api;
    if (!later_checks(c, &fr, &bc->later)) {
        call_store_failed(c);
        bind_call_free(bc);
        return;
    }
    quota_key_user(bc->quota_key, fr.openid, c->family);
    bc->op = (struct bind_op){
        .now = c->now,
        .register_unknown = c->api->cfg.sandbox, /* the user is checked in the unit */
        .quota_key = bc->quota_key,
        .quota_day = c->day,
        .quota_limit = c->family == FAMILY_QUERY
                           ? quota_limit(c->app.user_daily_quota_query, QUOTA_USER_DAILY_QUERY)
                           : quota_limit(c->app.user_daily_quota, QUOTA_USER_DAILY),
        .count_only = bc->later.code != WB_OK,
        .max_bindings =
            c->family == FAMILY_MESSAGE ? quota_limit(c->app.max_bindings, QUOTA_MAX_BINDINGS) : -1,
        .lifetime = {c->api->cfg.expire_unbound_s, c->api->cfg.expire_stalled_s,
                     c->api->cfg.expire_final_s},
    };
    if (c->api->cfg.sandbox && rules_test_waybill(fr.waybill_id))
        bc->op.script_next_at = script_first_at(fr.waybill_id, c->now);
    if (!new_binding(c, &fr, &bc->op.binding)) {
        wb_err_set(&c->err, WB_SYSTEM, "out of memory or randomness");
        bind_call_free(bc);
        return;
    }
    /* where the store commits on its own thread, the worker thread moves on meanwhile */
    struct store *s = c->api->store;
    if (s->ops->bind_then && http_defer(c->req, bind_start_cb, bind_finish_cb, bc))
        return;
    bc->write.rc = s->ops->bind(s, &bc->op, &bc->outcome, &bc->b, &bc->created);
    bind_answer(bc, &c->err, c->reply);
    bind_call_free(bc);
}

/* token → openid → purged: the checks of every call that carries a waybill_token. */
static bool load_binding(struct call *c, const struct token_req *tr, struct binding *b)
{
    int rc = waybill_view_binding(c->api->store, c->api->cfg.hash_key, tr->waybill_token, b);
    if (rc == STORE_OK && strcmp(b->appid, c->app.appid) != 0)
        rc = STORE_NOT_FOUND;
    if (rc == STORE_NOT_FOUND) {
        wb_err_set(&c->err, WB_INVALID_WAYBILL_TOKEN,
                   "waybill_token is unknown or belongs to another mini program");
        return false;
    }
    if (rc) {
        call_store_failed(c);
        return false;
    }
    if (tr->openid[0] && strcmp(tr->openid, b->openid) != 0) {
        wb_err_set(&c->err, WB_INVALID_SHOP_ARGS, "openid is not the user of this waybill_token");
        return false;
    }
    if (b->purged_at) {
        wb_err_set(&c->err, WB_WAYBILL_PURGED, "the binding was purged after its retention");
        return false;
    }
    return true;
}

static void query(struct call *c)
{
    struct token_req tr;
    struct binding b = {0};
    struct waybill_view v = {0};
    if (merchant_token_parse(c->body, false, &tr, &c->err))
        goto out;
    /* the binding, its waybill and the trace: one snapshot */
    store_snapshot_begin(c->api->store);
    bool loaded = load_binding(c, &tr, &b);
    int rc = loaded ? waybill_view_load(c->api->store, c->api->cfg.sandbox, &b, &v) : STORE_OK;
    store_snapshot_end(c->api->store);
    if (!loaded)
        goto out;
    if (rc) {
        call_store_failed(c);
        goto out;
    }
    reply_ok_begin(c->reply);
    waybill_view_json(&v, &c->reply->body);
    reply_ok_end(c->reply);
out:
    waybill_view_release(&v);
    binding_release(&b);
}

/* A goods update on its way through the store, answered later like a bind. */
struct update_call {
    struct call_write write; /* first: the store's done callback is call_write_done */
    struct api *api;
    int64_t binding_id;
    char *goods; /* canonical JSON, owned */
    int64_t max;
};

static void update_call_free(struct update_call *uc)
{
    if (uc)
        free(uc->goods);
    free(uc);
}

static void update_answer(const struct update_call *uc, struct wb_err *e, struct http_reply *reply)
{
    if (uc->write.rc == STORE_LIMIT)
        wb_err_set(e, WB_MAX_MODIFY, "达到修改次数上限 (%lld updates per binding)",
                   (long long)uc->max);
    else if (uc->write.rc)
        call_store_failed_in(e);
    else {
        reply_ok_begin(reply);
        reply_ok_end(reply);
    }
}

static void update_start_cb(void *arg, struct http_deferred *d)
{
    struct update_call *uc = arg;
    struct store *s = uc->api->store;
    uc->write.deferred = d;
    int rc = s->ops->binding_update_goods_then(s, uc->binding_id, uc->goods, uc->max,
                                               call_write_done, uc);
    if (rc)
        call_write_done(uc, rc);
}

static void update_finish_cb(void *arg, const struct http_request *req, struct http_reply *reply)
{
    struct update_call *uc = arg;
    struct wb_err e = {0};
    update_answer(uc, &e, reply);
    if (e.code != WB_OK)
        reply_wechat_error(reply, req, &e);
    update_call_free(uc);
}

static void update(struct call *c)
{
    struct token_req tr;
    struct binding b = {0};
    struct update_call *uc = NULL;
    if (merchant_token_parse(c->body, true, &tr, &c->err) || !load_binding(c, &tr, &b) ||
        goods_check_fields(tr.goods_info, &c->err))
        goto out;
    const json_t *list = json_object_get(tr.goods_info, "detail_list");
    if (goods_check_images(list, &c->err) || content_check_goods(list, &c->err))
        goto out;
    int count = 0;
    if (!(uc = calloc(1, sizeof *uc)) || !(uc->goods = goods_canonical(list, &count))) {
        wb_err_set(&c->err, WB_SYSTEM, "out of memory");
        goto out;
    }
    uc->api = c->api;
    uc->binding_id = b.id;
    uc->max = quota_limit(c->app.max_updates, c->api->cfg.max_updates);
    /* where the store commits on its own thread, the worker thread moves on meanwhile */
    struct store *s = c->api->store;
    if (s->ops->binding_update_goods_then &&
        http_defer(c->req, update_start_cb, update_finish_cb, uc)) {
        uc = NULL;
        goto out;
    }
    uc->write.rc = s->ops->binding_update_goods(s, uc->binding_id, uc->goods, uc->max);
    update_answer(uc, &c->err, c->reply);
out:
    update_call_free(uc);
    binding_release(&b);
}

struct list_state {
    struct buf *body;
    int count;
};

static void list_one(struct list_state *ls, const char *id, const char *name)
{
    buf_puts(ls->body, ls->count++ ? ",{\"delivery_id\":" : "{\"delivery_id\":");
    buf_json_string(ls->body, id);
    buf_puts(ls->body, ",\"delivery_name\":");
    buf_json_string(ls->body, name);
    buf_puts(ls->body, "}");
}

static int list_cb(void *ctx, const struct carrier_entry *e)
{
    if (e->carrier.enabled)
        list_one(ctx, e->carrier.delivery_id, e->carrier.delivery_name);
    return 0;
}

static void delivery_list(struct call *c)
{
    reply_ok_begin(c->reply);
    struct list_state ls = {&c->reply->body, 0};
    buf_puts(ls.body, ",\"delivery_list\":[");
    if (cache_carriers_each(c->api->store, list_cb, &ls)) {
        call_store_failed(c);
        return;
    }
    if (c->api->cfg.sandbox)
        list_one(&ls, SANDBOX_CARRIER_ID, SANDBOX_CARRIER_NAME);
    buf_printf(ls.body, "],\"count\":%d", ls.count);
    reply_ok_end(c->reply);
}

void openmsg_handle(void *ctx, const struct http_request *req, struct http_reply *reply)
{
    struct call c = {.api = ctx, .req = req, .reply = reply};
    const struct endpoint *ep = NULL;
    const char *name = req->path + strlen(OPENMSG_PREFIX);
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++)
        if (strcmp(name, endpoints[i].name) == 0)
            ep = &endpoints[i];
    reply->endpoint = ep ? ep->name : "unknown";
    if (!ep)
        wb_err_set(&c.err, WB_INVALID_URL, "no such API: %s", req->path);
    else if (strcmp(req->method, "POST") != 0)
        wb_err_set(&c.err, WB_REQUIRE_POST, "%s takes POST with a JSON body", ep->name);
    else {
        c.family = ep->family;
        if (call_begin(&c, ep->run == delivery_list))
            ep->run(&c);
    }
    call_end(&c);
}
