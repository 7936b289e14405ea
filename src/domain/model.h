/* The service's records as plain values: apps, users, carriers, bindings, waybills. */
#ifndef WB_DOMAIN_MODEL_H
#define WB_DOMAIN_MODEL_H

#include "domain/status.h"

#include <stdbool.h>
#include <stdint.h>

#define APPID_SIZE 33        /* "wx" + 16 hex, room for imported ids */
#define NAME_SIZE 257        /* 64 characters of up to 4 bytes */
#define OPENID_SIZE 65       /* 1–64 of [A-Za-z0-9_-] */
#define WAYBILL_ID_SIZE 65   /* 1–64 of [A-Za-z0-9_-] */
#define DELIVERY_ID_SIZE 33  /* 1–32 of [A-Za-z0-9_-] */
#define URL_SIZE 1025        /* 1024 bytes */
#define PATH_SIZE 1025       /* 256 characters of up to 4 bytes */
#define TRANS_ID_SIZE 257    /* 64 characters of up to 4 bytes */
#define HASH_SIZE 65         /* lowercase hex SHA-256 / HMAC-SHA256 */
#define SECRET_HASH_SIZE 128 /* crypto_secret_hash's form */
#define PUSH_SECRET_SIZE 65
#define PATTERN_SIZE 257
#define PHONE_TAIL_SIZE 5
#define WAYBILL_TOKEN_LEN 64 /* base64url characters */

/* "Not overridden": the deployment's default applies. */
#define LIMIT_DEFAULT (-1)

enum family { FAMILY_MESSAGE = 0, FAMILY_QUERY = 1 };

struct app {
    char appid[APPID_SIZE];
    char name[NAME_SIZE];
    char secret_hash[SECRET_HASH_SIZE];
    char push_secret[PUSH_SECRET_SIZE]; /* kept usable: it keys the webhook signatures */
    char push_url[URL_SIZE];            /* "" when none */
    bool released;
    int64_t pay_tx_90d;
    bool enabled;
    int64_t daily_quota;            /* per family; LIMIT_DEFAULT when not overridden */
    int64_t user_daily_quota;       /* message family */
    int64_t user_daily_quota_query; /* query family */
    int64_t max_bindings;
    int64_t max_updates;
    int64_t created_at;
};

struct user {
    char appid[APPID_SIZE];
    char openid[OPENID_SIZE];
    char phone_hash[HASH_SIZE]; /* "" when unknown */
    char phone_tail[PHONE_TAIL_SIZE];
    int64_t created_at;
};

struct carrier {
    char delivery_id[DELIVERY_ID_SIZE];
    char delivery_name[NAME_SIZE];
    char waybill_pattern[PATTERN_SIZE]; /* POSIX ERE, "" for none */
    char key_hash[HASH_SIZE];
    bool enabled;
    int64_t created_at;
};

struct waybill {
    char waybill_id[WAYBILL_ID_SIZE];
    char owner[DELIVERY_ID_SIZE]; /* the first carrier that reported it, "" while none */
    int status;                   /* SPEC §5.2 */
    int64_t last_event_at;        /* service clock when its last event arrived, 0 if none */
    int64_t final_at;             /* when it reached 4, 5 or 6; 0 before */
    int64_t created_at;
    struct status_state marks; /* the events that decide its status */
    int64_t script_start;      /* sandbox test waybills: when their script began, else 0 */
};

struct binding {
    int64_t id;
    char appid[APPID_SIZE];
    char openid[OPENID_SIZE];
    char waybill_id[WAYBILL_ID_SIZE];
    enum family family;
    char token_hash[HASH_SIZE];  /* a token's from before tokens named bindings; "" since */
    char token_nonce[HASH_SIZE]; /* the waybill token is derived from it and the hash key */
    char receiver_hash[HASH_SIZE];
    char receiver_tail[PHONE_TAIL_SIZE];
    char sender_hash[HASH_SIZE]; /* "" when not given */
    char sender_tail[PHONE_TAIL_SIZE];
    char delivery_id[DELIVERY_ID_SIZE]; /* named at bind, "" when not */
    char *goods_json;                   /* owned: the canonical detail_list array */
    char trans_id[TRANS_ID_SIZE];
    char order_detail_path[PATH_SIZE];
    int64_t updates;
    bool mismatched;
    int64_t created_at;
    int64_t expires_at;
    int64_t purged_at; /* 0 while the binding is kept */
};

#define NOTICE_ID_SIZE 33 /* "evt_" + 24 hex */
#define NOTICE_TYPE_SIZE 24
#define GOODS_ITEM_SIZE 4096 /* one goods item as JSON: 1024 bytes of URL may escape to 2048 */

enum notice_state { NOTICE_PENDING = 0, NOTICE_DELIVERED = 1, NOTICE_DEAD = 2 };

/* A notification (SPEC §7): what a binding was told at a key node, and how its delivery goes. */
struct notice {
    int64_t seq;             /* creation order, the lists' cursor */
    char id[NOTICE_ID_SIZE]; /* the event_id */
    int64_t binding_id;
    char appid[APPID_SIZE];
    char openid[OPENID_SIZE];
    char waybill_id[WAYBILL_ID_SIZE];
    char type[NOTICE_TYPE_SIZE];
    int64_t sequence; /* grows per binding */
    int status;
    char delivery_id[DELIVERY_ID_SIZE]; /* "" while unknown */
    char delivery_name[NAME_SIZE];
    char goods[GOODS_ITEM_SIZE]; /* the first goods item at creation, as JSON */
    int goods_count;
    char order_detail_path[PATH_SIZE];
    int64_t action_time;
    int64_t created_at;
    enum notice_state state;
    int attempts;
    int64_t next_attempt_at; /* service clock */
    int64_t delivered_at;    /* 0 until delivered */
    char last_error[128];
    /* joined for delivery */
    char token_nonce[HASH_SIZE];
    bool token_legacy; /* the binding's token is one from before tokens named bindings */
    char push_url[URL_SIZE];
    char push_secret[PUSH_SECRET_SIZE];
};

const char *notice_state_name(enum notice_state state);

/* Frees what a binding owns; the struct itself is the caller's. */
void binding_release(struct binding *b);

#endif
