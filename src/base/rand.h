/* Unguessable random values and their text forms. */
#ifndef WB_BASE_RAND_H
#define WB_BASE_RAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fills out with n cryptographically random bytes; false if the generator failed. */
bool rand_bytes(void *out, size_t n);
/* A random 32-bit value (for rids and jitter; not for secrets). */
uint32_t rand_u32(void);
/* Writes n random bytes as 2n lowercase hex digits plus NUL into out (size >= 2n+1). */
bool rand_hex(char *out, size_t n);
/* Writes n random bytes in base64url without padding plus NUL into out. */
bool rand_base64url(char *out, size_t n);

/* Encoders used by the above and by token derivation. out must hold 2n+1 / base64url_len(n)+1. */
void hex_encode(char *out, const unsigned char *in, size_t n);
size_t base64url_len(size_t n);
void base64url_encode(char *out, const unsigned char *in, size_t n);
/* Decodes in (base64url without padding, as base64url_encode writes it) into exactly n bytes;
 * false if it is not the text of n bytes. */
bool base64url_decode(unsigned char *out, size_t n, const char *in);

#endif
