/* Unit tests of src/base/log.c: one line per call, text or JSON, whatever the path holds. */
#include "base/log.h"

#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define RID "6929a8c0-0123abcd-89ef4567"

/* Runs the logging in fn with stderr sent to a file, and returns what was written (caller frees).
 */
static char *capture(void (*fn)(const void *arg), const void *arg)
{
    fflush(stderr);
    FILE *f = tmpfile();
    assert_non_null(f);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
    fn(arg);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    /* the writes went to the descriptor, so the FILE's own position knows nothing of them */
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *out = calloc(1, (size_t)n + 1);
    assert_non_null(out);
    assert_int_equal(fread(out, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return out;
}

static void access_fn(const void *arg)
{
    log_access(arg);
}

static void msg_fn(const void *arg)
{
    log_msg("info", "%s", (const char *)arg);
}

/* Exactly one line, ending in '\n'. */
static void assert_one_line(const char *out)
{
    size_t n = strlen(out);
    assert_true(n > 0);
    assert_int_equal(out[n - 1], '\n');
    assert_ptr_equal(strchr(out, '\n'), out + n - 1);
}

static json_t *parse_line(const char *out)
{
    json_error_t jerr;
    json_t *v = json_loads(out, 0, &jerr);
    if (!json_is_object(v))
        fail_msg("not a JSON object (%s): %.200s", jerr.text, out);
    return v;
}

/* One line holding one JSON object; prints what is wrong otherwise. Frees nothing, fails nothing,
 * so the caller can free before asserting. */
static bool is_json_line(const char *out)
{
    size_t n = strlen(out);
    if (n == 0 || out[n - 1] != '\n' || strchr(out, '\n') != out + n - 1) {
        print_error("not exactly one line: %.200s\n", out);
        return false;
    }
    json_error_t jerr;
    json_t *v = json_loads(out, 0, &jerr);
    bool ok = json_is_object(v);
    if (!ok)
        print_error("not a JSON object (%s): %.200s\n", jerr.text, out);
    json_decref(v);
    return ok;
}

static void test_access_text(void **state)
{
    (void)state;
    log_set_json(false);
    struct log_access a = {RID, "POST", "/cgi-bin/express/delivery/open_msg/follow_waybill",
                           200, 47001,  1500};
    char *out = capture(access_fn, &a);
    assert_one_line(out);
    assert_non_null(strstr(out, RID " POST /cgi-bin/express/delivery/open_msg/follow_waybill 200 "
                                    "47001 1.500ms"));
    free(out);
}

static void test_access_text_hostile_path(void **state)
{
    (void)state;
    log_set_json(false);
    /* spaces, newlines and controls in a decoded path cannot forge a second line or field */
    struct log_access a = {RID, "GET", "/a b\nGET /forged 200 0 0ms\r\x01", 404, 0, 10};
    char *out = capture(access_fn, &a);
    assert_one_line(out);
    assert_non_null(strstr(out, "/a?b?GET?/forged?200?0?0ms?? 404 0 0.010ms\n"));
    free(out);
}

static void test_access_json(void **state)
{
    (void)state;
    log_set_json(true);
    struct log_access a = {RID, "POST", "/p\"q\\r\n\x01\xe4\xb8\xad", 200, 9300513, 2500};
    char *out = capture(access_fn, &a);
    assert_one_line(out);
    json_t *v = parse_line(out);
    assert_string_equal(json_string_value(json_object_get(v, "rid")), RID);
    assert_string_equal(json_string_value(json_object_get(v, "method")), "POST");
    assert_string_equal(json_string_value(json_object_get(v, "path")),
                        "/p\"q\\r\n\x01\xe4\xb8\xad");
    assert_int_equal(json_integer_value(json_object_get(v, "status")), 200);
    assert_int_equal(json_integer_value(json_object_get(v, "errcode")), 9300513);
    assert_true(json_real_value(json_object_get(v, "duration_ms")) == 2.5);
    const char *time = json_string_value(json_object_get(v, "time"));
    assert_non_null(time);
    assert_int_equal(strlen(time), 24); /* 2025-11-29T01:20:00.000Z */
    assert_int_equal(time[23], 'Z');
    json_decref(v);
    free(out);
    log_set_json(false);
}

static void test_access_json_long_path(void **state)
{
    (void)state;
    log_set_json(true);
    /* a long request path still gives one valid JSON line (shortened, as the text form is) */
    char *path = malloc(6001);
    assert_non_null(path);
    path[0] = '/';
    memset(path + 1, 'a', 5999);
    path[6000] = '\0';
    struct log_access a = {RID, "GET", path, 404, 0, 10};
    char *out = capture(access_fn, &a);
    free(path);
    log_set_json(false);
    bool ok = is_json_line(out);
    free(out);
    assert_true(ok);
}

static void test_access_json_invalid_utf8_path(void **state)
{
    (void)state;
    log_set_json(true);
    /* a percent-decoded path may hold any bytes; the line must stay valid JSON (UTF-8) */
    struct log_access a = {RID, "GET", "/x\xff\xc0\x80y", 404, 0, 10};
    char *out = capture(access_fn, &a);
    log_set_json(false);
    bool ok = is_json_line(out);
    free(out);
    assert_true(ok);
}

static void test_msg(void **state)
{
    (void)state;
    log_set_json(false);
    char *out = capture(msg_fn, "listening on 127.0.0.1:8080");
    assert_one_line(out);
    assert_non_null(strstr(out, " info listening on 127.0.0.1:8080\n"));
    free(out);
    log_set_json(true);
    out = capture(msg_fn, "store \"var/waybilld.db\"\tready");
    assert_one_line(out);
    json_t *v = parse_line(out);
    assert_string_equal(json_string_value(json_object_get(v, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(v, "msg")),
                        "store \"var/waybilld.db\"\tready");
    json_decref(v);
    free(out);
    log_set_json(false);
}

/* Reads the pipe after a while (stderr stalls meanwhile), then to its end, into a buffer. */
struct slow_reader {
    int fd;
    char *out;
    size_t len, cap;
};

static void *read_slowly(void *arg)
{
    struct slow_reader *r = arg;
    usleep(300000);
    for (;;) {
        if (r->cap - r->len < 65536) {
            r->cap = r->cap * 2 + 65536;
            r->out = realloc(r->out, r->cap);
            if (!r->out)
                return NULL;
        }
        ssize_t n = read(r->fd, r->out + r->len, r->cap - r->len - 1);
        if (n <= 0)
            break;
        r->len += (size_t)n;
    }
    r->out[r->len] = '\0';
    return NULL;
}

/* More access lines than the flusher may hold while stderr stalls: all of them come out, in the
 * order they were logged. */
static void test_gathered_lines_keep_their_order(void **state)
{
    (void)state;
    int pipe_fd[2];
    assert_int_equal(pipe(pipe_fd), 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(pipe_fd[1], STDERR_FILENO) >= 0);
    close(pipe_fd[1]);
    struct slow_reader r = {.fd = pipe_fd[0]};
    pthread_t reader;
    assert_int_equal(pthread_create(&reader, NULL, read_slowly, &r), 0);
    enum { LINES = 60000 }; /* ≈ 6 MiB: more than the 4 MiB the flusher holds */
    char path[64];
    log_gather_start();
    for (int i = 0; i < LINES; i++) {
        snprintf(path, sizeof path, "/order/%06d/padding-padding-padding-padding", i);
        log_access(&(struct log_access){RID, "GET", path, 200, 0, 1});
    }
    log_gather_stop();
    assert_true(dup2(saved, STDERR_FILENO) >= 0); /* the reader sees the end of the pipe */
    close(saved);
    pthread_join(reader, NULL);
    close(pipe_fd[0]);
    assert_non_null(r.out);
    int next = 0;
    const char *end = r.out + r.len; /* memmem, not strstr: linear also under ASan */
    for (const char *p = r.out; (p = memmem(p, (size_t)(end - p), "/order/", 7)); p += 7)
        assert_int_equal((int)strtol(p + 7, NULL, 10), next++);
    assert_int_equal(next, LINES);
    free(r.out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_access_text),
        cmocka_unit_test(test_access_text_hostile_path),
        cmocka_unit_test(test_access_json),
        cmocka_unit_test(test_access_json_long_path),
        cmocka_unit_test(test_access_json_invalid_utf8_path),
        cmocka_unit_test(test_msg),
        cmocka_unit_test(test_gathered_lines_keep_their_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
