/* Which carrier a waybill belongs to (SPEC §5.1, §4.2), and the sandbox's built-in carrier. */
#ifndef WB_CARRIER_RECOGNIZE_H
#define WB_CARRIER_RECOGNIZE_H

#include "domain/model.h"
#include "store/store.h"

#define SANDBOX_CARRIER_ID "WXTEST"
#define SANDBOX_CARRIER_NAME "Sandbox Express"

enum recognize_result {
    RECOGNIZE_UNKNOWN = 0, /* no carrier or sandbox rule recognises it */
    RECOGNIZE_KNOWN = 1,   /* recognised; out holds the carrier when one is known ("" if not) */
    RECOGNIZE_FAILED = -1, /* the store failed */
};

/* Recognises waybill_id: its owner, the carrier named at bind (named, may be ""), the one
 * registered carrier whose waybill_pattern matches, or in sandbox mode a test waybill. When
 * several patterns match and nothing else decides, the waybill is known but its carrier is not. */
enum recognize_result recognize_waybill(struct store *s, bool sandbox, const char *waybill_id,
                                        const char *named, struct carrier *out);

/* Only whether waybill_id is known, whichever carrier knows it: the waybill is read only when its
 * number and named alone do not make it known (an owner only ever makes a waybill known). */
enum recognize_result recognize_whether_known(struct store *s, bool sandbox, const char *waybill_id,
                                              const char *named);

/* The same for a waybill already read (w; NULL when it has no row yet). */
enum recognize_result recognize_known(struct store *s, bool sandbox, const struct waybill *w,
                                      const char *waybill_id, const char *named,
                                      struct carrier *out);

/* Looks a carrier up by delivery_id, including the sandbox carrier in sandbox mode. */
int recognize_carrier_get(struct store *s, bool sandbox, const char *delivery_id,
                          struct carrier *out);

#endif
