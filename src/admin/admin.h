/* The admin service (SPEC §9.2, §9.3): apps, users and carriers, written once for the HTTP admin
 * API and the `waybilld app|user|carrier` commands alike.
 *
 * Every operation works on a struct store and answers either a new JSON value (the reply body; the
 * caller frees it with json_decref) or NULL with a struct admin_err that says which HTTP status and
 * errcode the failure maps to. Bodies are JSON objects as an HTTP client would send them, so the
 * command line builds the same objects from its flags and gets the same validation. The functions
 * are thread-safe; their read-modify-write steps are serialised within the process. */
#ifndef WB_ADMIN_ADMIN_H
#define WB_ADMIN_ADMIN_H

#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Lists: ?limit= defaults to 100 and may not exceed 1000. */
#define ADMIN_LIST_DEFAULT 100
#define ADMIN_LIST_MAX 1000

/* What the operations need besides the store. Borrowed; must outlive the calls. */
struct admin_ctx {
    struct store *store;
    const char *hash_key; /* keys the phone hashes of users */
    int64_t max_updates;  /* the deployment's default of max_updates */
    int day_offset_s;     /* usage counts the day that starts at 00:00 at this UTC offset */
};

/* A failure and its reply. errcode is 47001 for bad input (HTTP 400), -1 for a store failure
 * (HTTP 500), and equal to the HTTP status otherwise (401, 404, 405, 409, 413). */
struct admin_err {
    unsigned status;
    int errcode;
    char msg[256];
};

/* Sets e to status (errcode derived as above) and a printf-style message; returns NULL so that
 * operations can `return admin_fail(...)`. */
void *admin_fail(struct admin_err *e, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True when authorization is "Bearer KEY" with KEY equal to admin_key (compared in constant
 * time). False when either is NULL or empty. */
bool admin_key_ok(const char *authorization, const char *admin_key);

/* Parses a list's ?limit= (NULL: the default) into 1..ADMIN_LIST_MAX; false and e (400) when it is
 * not such a number. */
bool admin_parse_limit(const char *text, int *limit, struct admin_err *e);

/* --- apps ------------------------------------------------------------------------------------
 *
 * An app as replied: {"appid","name","released","pay_tx_90d","enabled","eligible","push_url"
 * (string or null),"daily_quota","user_daily_quota","user_daily_quota_query","max_bindings",
 * "max_updates" (the overrides: an integer, or null when the default applies),"created_at"}.
 * admin_app_get and admin_app_patch add "limits" (the five limits in effect: the override, else
 * the default of domain/quota.h, for max_updates c->max_updates) and "usage". Never a secret, a
 * secret hash or the push_secret. */

/* "usage" holds today's counts (the day of clock_now() at day_offset_s) of the counters named in
 * domain/quota.h: {"message_calls","query_calls"} (quota_key_app of each family) and
 * {"token_calls","stable_token_calls"} (quota_key_token). */

/* body: {"name" (required, 1–64 characters), and optionally any field that PATCH takes}.
 * → {"appid","secret","push_secret", then the app's settings as listed} (201). The secret is
 * stored only as its slow hash; this reply is the one time it is seen. */
json_t *admin_app_create(const struct admin_ctx *c, const json_t *body, struct admin_err *e);
json_t *admin_app_get(const struct admin_ctx *c, const char *appid, struct admin_err *e);
/* → {"apps":[app…],"next":APPID|null}: apps after the cursor `after` (NULL or "" for the first
 * page), in the store's appid order. */
json_t *admin_app_list(const struct admin_ctx *c, const char *after, int limit,
                       struct admin_err *e);
/* body: any of name, released, pay_tx_90d, enabled, push_url, daily_quota, user_daily_quota,
 * user_daily_quota_query, max_bindings, max_updates; null restores the default (false, 0, true,
 * none, and the deployment's limits). Unknown fields are refused (400), so that a misspelt
 * setting is not silently ignored. → the app as admin_app_get replies it. */
json_t *admin_app_patch(const struct admin_ctx *c, const char *appid, const json_t *body,
                        struct admin_err *e);
/* A new secret, resp. push_secret; the old one stops working. → {"appid","secret"} or
 * {"appid","push_secret"}. */
json_t *admin_app_reset_secret(const struct admin_ctx *c, const char *appid, struct admin_err *e);
json_t *admin_app_reset_push_secret(const struct admin_ctx *c, const char *appid,
                                    struct admin_err *e);

/* --- users ----------------------------------------------------------------------------------- */

/* body: {"openid"?,"phone"?}. The openid is minted (28 characters of [A-Za-z0-9_-]) when absent;
 * it is unique across apps (409 when taken). The phone is kept as its keyed hash and last 4
 * digits. → {"appid","openid","phone_tail"|null,"created_at"} (201). */
json_t *admin_user_create(const struct admin_ctx *c, const char *appid, const json_t *body,
                          struct admin_err *e);
/* 404 unless openid is a user of appid. */
json_t *admin_user_get(const struct admin_ctx *c, const char *appid, const char *openid,
                       struct admin_err *e);

/* --- carriers ---------------------------------------------------------------------------------
 *
 * A carrier as replied: {"delivery_id","delivery_name","waybill_pattern"|null,"enabled",
 * "created_at"}, never its key. */

/* body: {"delivery_id" (1–32 of [A-Za-z0-9_-]),"delivery_name" (1–64 characters),
 * "waybill_pattern"? (a POSIX extended regular expression, at most 256 bytes),"enabled"?}.
 * → the carrier plus "carrier_key" (201), the one time the key is seen; it is stored as its
 * SHA-256. */
json_t *admin_carrier_create(const struct admin_ctx *c, const json_t *body, struct admin_err *e);
json_t *admin_carrier_get(const struct admin_ctx *c, const char *delivery_id, struct admin_err *e);
/* → {"carriers":[carrier…],"next":DELIVERY_ID|null}, in delivery_id order (byte-wise). */
json_t *admin_carrier_list(const struct admin_ctx *c, const char *after, int limit,
                           struct admin_err *e);
/* body: any of delivery_name, waybill_pattern (null: none), enabled (null: true). */
json_t *admin_carrier_patch(const struct admin_ctx *c, const char *delivery_id, const json_t *body,
                            struct admin_err *e);
/* A new carrier key; the old one stops working. → {"delivery_id","carrier_key"}. */
json_t *admin_carrier_reset_key(const struct admin_ctx *c, const char *delivery_id,
                                struct admin_err *e);

/* --- waybills -------------------------------------------------------------------------------- */

/* → {"waybill_id","status","owner"|null,"delivery_name"|null,"created_at","last_event_at"|null,
 * "final_at"|null,"bindings" (how many, of any app, purged ones included),"path_item_num",
 * "trace":[{"event_id","carrier","action_time","action_type","status","action_msg",
 * "receiver_phone_tail"|absent}…] (oldest first)}; 404 for a waybill never bound nor reported. */
json_t *admin_waybill_get(const struct admin_ctx *c, const char *waybill_id, struct admin_err *e);

/* --- notifications ---------------------------------------------------------------------------
 *
 * A notification as replied: {"id" (its event_id),"appid","openid","waybill_id","type","sequence",
 * "status","state":"pending|delivered|dead","attempts","created_at","next_attempt_at",
 * "delivered_at"|null,"last_error"|null}. */

/* → {"notifications":[…] newest first,"next":CURSOR|null}. */
json_t *admin_notices_list(const struct admin_ctx *c, const struct notice_filter *f,
                           const char *after, int limit, struct admin_err *e);
/* Queues a delivered or dead notification again, same event_id (409 while pending). */
json_t *admin_notice_redeliver(const struct admin_ctx *c, const char *id, struct admin_err *e);

/* --- helpers shared by the files of src/admin, not for callers ------------------------------
 *
 * Field readers: v is the field's value (never NULL; json null is handled as documented). Each
 * returns false and sets e (400, naming key) when v is not acceptable. */

/* true/false; null gives null_value. */
bool admin_field_bool(const char *key, const json_t *v, bool null_value, bool *out,
                      struct admin_err *e);
/* A non-negative integer; null gives null_value. */
bool admin_field_count(const char *key, const json_t *v, int64_t null_value, int64_t *out,
                       struct admin_err *e);
/* A string of 1..max_chars code points that fits in size bytes, valid UTF-8 without control
 * characters, copied into out; null is refused. */
bool admin_field_text(const char *key, const json_t *v, long max_chars, char *out, size_t size,
                      struct admin_err *e);
/* body NULL counts as {}; anything else but an object is refused. */
bool admin_body_ok(const json_t *body, struct admin_err *e);
/* Maps a failed store call to 404 (what is named by id was not found), 409 (exists already) or
 * 500; returns NULL. */
void *admin_store_fail(struct admin_err *e, int rc, const char *what, const char *id);
/* Serialises read-modify-write steps within the process. */
void admin_lock(void);
void admin_unlock(void);

#endif
