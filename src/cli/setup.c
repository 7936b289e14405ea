/* Opening the data dir: the store and the keys kept beside it. */
#include "cli/setup.h"

#include "base/rand.h"
#include "base/text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads the key in path, or creates it (mode 0600) with 32 random bytes in hex. */
static int load_or_make_key(const char *path, char key[KEY_SIZE])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, key, KEY_SIZE - 1);
        close(fd);
        if (n <= 0) {
            fprintf(stderr, "waybilld: %s is empty or unreadable\n", path);
            return -1;
        }
        key[n] = '\0';
        key[strcspn(key, "\r\n")] = '\0';
        return key[0] ? 0 : -1;
    }
    if (errno != ENOENT) {
        fprintf(stderr, "waybilld: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!rand_hex(key, 32))
        return -1;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) /* another process made it first: take theirs */
            return load_or_make_key(path, key);
        fprintf(stderr, "waybilld: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t len = strlen(key);
    bool ok = write(fd, key, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    close(fd);
    if (!ok) {
        fprintf(stderr, "waybilld: cannot write %s\n", path);
        unlink(path);
        return -1;
    }
    return 0;
}

/* file is "admin" or "hash": the option is --FILE-key, the file DIR/FILE.key. */
static int take_key(const char *given, const char *env_name, const char *dir, const char *file,
                    char key[KEY_SIZE], char *source, size_t source_size)
{
    if (given && *given) {
        if (!text_copy(key, KEY_SIZE, given)) {
            fprintf(stderr, "waybilld: %s is longer than %d characters\n", env_name, KEY_SIZE - 1);
            return -1;
        }
        snprintf(source, source_size, "given (--%s-key or %s)", file, env_name);
        return 0;
    }
    char path[1100];
    snprintf(path, sizeof path, "%s/%s.key", dir, file);
    snprintf(source, source_size, "%s", path);
    return load_or_make_key(path, key);
}

static bool is_postgresql(const char *url)
{
    return url && (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0);
}

/* Several processes on several machines share a PostgreSQL store: keys generated into one
 * machine's data dir would differ from the next one's, so they must be given. The hash key is
 * required here; an admin key not given stays empty (the admin API then refuses every key), for
 * the server to refuse to start and the admin commands to go without. */
static int take_shared_keys(struct setup *s, const char *admin_key, const char *hash_key)
{
    if (!hash_key || !*hash_key) {
        fprintf(stderr, "waybilld: with PostgreSQL, --hash-key (or WAYBILLD_HASH_KEY) must be"
                        " given, the same on every process\n");
        return SETUP_USAGE;
    }
    if (!text_copy(s->hash_key, sizeof s->hash_key, hash_key) ||
        (admin_key && !text_copy(s->admin_key, sizeof s->admin_key, admin_key))) {
        fprintf(stderr, "waybilld: a key is longer than %d characters\n", KEY_SIZE - 1);
        return SETUP_USAGE;
    }
    snprintf(s->admin_key_source, sizeof s->admin_key_source, "%s",
             s->admin_key[0] ? "given (--admin-key or WAYBILLD_ADMIN_KEY)"
                             : "none: with PostgreSQL, --admin-key (or WAYBILLD_ADMIN_KEY)"
                               " must be given, the same on every process");
    return 0;
}

int setup_open(struct setup *s, const char *data_dir, const char *db_url, const char *admin_key,
               const char *hash_key)
{
    memset(s, 0, sizeof *s);
    umask(077); /* the database and the keys are for this user alone */
    if (!data_dir || !*data_dir)
        data_dir = "var";
    if (!text_copy(s->data_dir, sizeof s->data_dir, data_dir)) {
        fprintf(stderr, "waybilld: --data is too long\n");
        return -1;
    }
    if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "waybilld: cannot create %s: %s\n", data_dir, strerror(errno));
        return -1;
    }
    char hash_source[1100];
    if (is_postgresql(db_url)) {
        int rc = take_shared_keys(s, admin_key, hash_key);
        if (rc)
            return rc;
    } else if (take_key(admin_key, "WAYBILLD_ADMIN_KEY", data_dir, "admin", s->admin_key,
                        s->admin_key_source, sizeof s->admin_key_source) ||
               take_key(hash_key, "WAYBILLD_HASH_KEY", data_dir, "hash", s->hash_key, hash_source,
                        sizeof hash_source)) {
        return -1;
    }
    if (db_url && *db_url)
        snprintf(s->db_url, sizeof s->db_url, "%s", db_url);
    else
        snprintf(s->db_url, sizeof s->db_url, "%s/waybilld.db", data_dir);
    s->store = store_open(s->db_url);
    if (!s->store) {
        fprintf(stderr, "waybilld: cannot open the store %s\n", s->db_url);
        return -1;
    }
    return 0;
}

void setup_close(struct setup *s)
{
    if (s->store)
        s->store->ops->close(s->store);
    s->store = NULL;
}
