/* What serve and the admin commands share: the data dir, the store and the generated keys. */
#ifndef WB_CLI_SETUP_H
#define WB_CLI_SETUP_H

#include "store/store.h"

#define KEY_SIZE 129

struct setup {
    char data_dir[1024];
    char db_url[1024]; /* the SQLite path or postgresql:// URL actually opened */
    char admin_key[KEY_SIZE];
    char admin_key_source[1100]; /* "--admin-key", "WAYBILLD_ADMIN_KEY" or the key file's path */
    char hash_key[KEY_SIZE];
    struct store *store;
};

#define SETUP_USAGE 2 /* setup_open's answer to a usage error: the command exits with it */

/* Creates data_dir if needed, opens the store (db_url, or DATA_DIR/waybilld.db when NULL or ""),
 * and takes the admin and hash keys from the arguments, else from DATA_DIR/admin.key and
 * DATA_DIR/hash.key, generating those files (mode 0600) on first use. With a PostgreSQL db_url
 * the keys are never generated: without hash_key it answers SETUP_USAGE, and without admin_key
 * the admin key stays "" (a server must then refuse to start; the admin commands need none).
 * Prints why on failure and returns -1 or SETUP_USAGE; 0 on success. */
int setup_open(struct setup *s, const char *data_dir, const char *db_url, const char *admin_key,
               const char *hash_key);
void setup_close(struct setup *s);

#endif
