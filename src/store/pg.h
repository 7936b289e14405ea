/* The PostgreSQL backend of the store (libpq): several processes may share one database. */
#ifndef WB_STORE_PG_H
#define WB_STORE_PG_H

#include "store/store.h"

/* Opens the database named by a postgresql:// (or postgres://) URL, in libpq's syntax, and
 * creates or migrates its schema (under an advisory lock, so processes starting at once take
 * turns). NULL (after logging why) on failure. The URL is kept for reconnecting; it is never
 * logged. */
struct store *pg_open(const char *url);

#endif
