/* The webhook a notification becomes (SPEC §7): its JSON body and its signature. */
#ifndef WB_DISPATCH_WEBHOOK_H
#define WB_DISPATCH_WEBHOOK_H

#include "domain/model.h"

#include <stdint.h>

/* The body for n, whose binding's waybill token is waybill_token; landing pages live under
 * public_url. The caller frees it; NULL when out of memory. The same notice gives the same body,
 * so a repeated delivery repeats it exactly. */
char *webhook_body(const struct notice *n, const char *waybill_token, const char *public_url);

#define WEBHOOK_SIGNATURE_SIZE 96
/* "t=UNIX,v1=HEX": HEX the lowercase HMAC-SHA256 under secret of UNIX "." body. */
void webhook_signature(char out[WEBHOOK_SIGNATURE_SIZE], const char *secret, int64_t unix_time,
                       const char *body);

#endif
