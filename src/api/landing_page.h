/* The landing page's HTML (SPEC §7): the page of a waybill view, the 404 and error pages, the
 * Content-Security-Policy that admits their one stylesheet, and the escaping they rely on. */
#ifndef WB_API_LANDING_PAGE_H
#define WB_API_LANDING_PAGE_H

#include "api/waybill_view.h"
#include "base/buf.h"

#include <stdbool.h>
#include <stdint.h>

/* The Content-Security-Policy of every landing reply: default-src 'none', images from http(s)
 * URLs, and the pages' inline stylesheet by its SHA-256 hash (no 'unsafe-inline', no scripts).
 * A static string, computed once; thread-safe. */
const char *landing_page_csp(void);

/* Appends s with & < > " ' escaped, so that it is text in element content and in quoted
 * attribute values; bytes that are not UTF-8 and control characters other than tab and newline
 * become U+FFFD. False when out overflowed or ran out of memory. */
bool html_escape(struct buf *out, const char *s);

/* Appends s percent-encoded: every byte but A–Z a–z 0–9 - . _ ~ (for a query-string value). */
bool url_encode(struct buf *out, const char *s);

/* Unix time t at the UTC offset offset_s, e.g. "2026-11-29 14:03 (UTC+08:00)", and as an HTML
 * datetime, e.g. "2026-11-29T14:03+08:00". */
#define LANDING_TIME_SIZE 64
void landing_time_text(char out[LANDING_TIME_SIZE], int64_t t, int offset_s);
void landing_time_iso(char out[LANDING_TIME_SIZE], int64_t t, int offset_s);

/* The status's words for people, e.g. 3 → "Out for delivery"; "Unknown" outside 0–6. */
const char *landing_status_words(int status);

/* The link back into the mini program: weixin://dl/business/?appid=APPID&path=PATH with PATH
 * percent-encoded, or without the path parameter (the home page) when path is "". Appended raw
 * (not yet HTML-escaped). */
bool landing_back_link(struct buf *out, const char *appid, const char *path);

/* The page of a waybill view for the binding's app appid, times at offset_s. */
bool landing_page_render(struct buf *out, const struct waybill_view *v, const char *appid,
                         int offset_s);
/* The page of an unknown, malformed or purged token: the same page for each, revealing nothing. */
bool landing_page_not_found(struct buf *out);
/* The page of a failure on the service's side; rid identifies the request in the server's log. */
bool landing_page_error(struct buf *out, const char *rid);

#endif
