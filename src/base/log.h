/* Log lines on stderr, as text or JSON. Never pass secrets or tokens. */
#ifndef WB_BASE_LOG_H
#define WB_BASE_LOG_H

#include <stdbool.h>
#include <stdint.h>

void log_set_json(bool json);
/* A service message, e.g. start-up and failures; level is "info", "warn" or "error". */
void log_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The access-log line of one request (SPEC §9.1). errcode is the reply's, or 0 when it had none. */
struct log_access {
    const char *rid;
    const char *method;
    const char *path; /* without the query string */
    unsigned status;
    int errcode;
    int64_t duration_us;
};
void log_access(const struct log_access *a);

/* From start to stop, access lines gather for a few milliseconds and are written many at a time
 * by a thread of their own (stop writes what is left); otherwise each is written at once. */
void log_gather_start(void);
void log_gather_stop(void);

#endif
