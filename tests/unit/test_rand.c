/* Unit tests of src/base/rand.c: the encoders against known vectors, and random values' shapes. */
#include "base/rand.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static void test_hex_encode(void **state)
{
    (void)state;
    char out[16];
    static const unsigned char in[] = {0x00, 0x01, 0xab, 0xff, 0x7f};
    hex_encode(out, in, sizeof in);
    assert_string_equal(out, "0001abff7f");
    hex_encode(out, in, 0);
    assert_string_equal(out, "");
}

static void expect_b64(const char *in, const char *want)
{
    char out[64];
    size_t n = strlen(in);
    assert_int_equal(base64url_len(n), strlen(want));
    base64url_encode(out, (const unsigned char *)in, n);
    assert_string_equal(out, want);
}

static void test_base64url_rfc4648(void **state)
{
    (void)state;
    /* RFC 4648 §10, without padding */
    expect_b64("", "");
    expect_b64("f", "Zg");
    expect_b64("fo", "Zm8");
    expect_b64("foo", "Zm9v");
    expect_b64("foob", "Zm9vYg");
    expect_b64("fooba", "Zm9vYmE");
    expect_b64("foobar", "Zm9vYmFy");
}

static void test_base64url_alphabet(void **state)
{
    (void)state;
    char out[8];
    static const unsigned char in[] = {0xfb, 0xff, 0xbf};
    base64url_encode(out, in, sizeof in);
    assert_string_equal(out, "-_-_"); /* '+' and '/' of base64 become '-' and '_' */
    static const unsigned char two[] = {0xfb, 0xff};
    base64url_encode(out, two, sizeof two);
    assert_string_equal(out, "-_8");
    assert_int_equal(base64url_len(48), 64); /* a waybill token */
    assert_int_equal(base64url_len(32), 43);
}

static bool all_in(const char *s, const char *alphabet)
{
    return strspn(s, alphabet) == strlen(s);
}

static void test_rand_hex(void **state)
{
    (void)state;
    char a[65], b[65];
    assert_true(rand_hex(a, 32));
    assert_true(rand_hex(b, 32));
    assert_int_equal(strlen(a), 64);
    assert_true(all_in(a, "0123456789abcdef"));
    assert_string_not_equal(a, b);
    char big[300];
    assert_true(rand_hex(big, 128));
    assert_int_equal(strlen(big), 256);
    assert_false(rand_hex(big, 129));
}

static void test_rand_base64url(void **state)
{
    (void)state;
    char a[80], b[80];
    assert_true(rand_base64url(a, 48));
    assert_true(rand_base64url(b, 48));
    assert_int_equal(strlen(a), 64);
    assert_true(all_in(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"));
    assert_string_not_equal(a, b);
}

static void test_rand_bytes_and_u32(void **state)
{
    (void)state;
    unsigned char x[32] = {0}, zero[32] = {0};
    assert_true(rand_bytes(x, sizeof x));
    assert_memory_not_equal(x, zero, sizeof x);
    uint32_t first = rand_u32();
    bool varied = false;
    for (int i = 0; i < 16 && !varied; i++)
        varied = rand_u32() != first;
    assert_true(varied);
}

static int compare16(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

/* Small requests come from a per-thread buffer: no value comes twice, in this process or (after a
 * fork) in a child that goes on drawing from where the parent was. */
static void test_rand_bytes_never_repeat(void **state)
{
    (void)state;
    enum { N = 20000 };
    unsigned char(*values)[16] = calloc(N + 1, 16);
    assert_non_null(values);
    enum { BEFORE_FORK = N / 2 - 3 }; /* the buffer is partly served at the fork */
    for (int i = 0; i < BEFORE_FORK; i++)
        assert_true(rand_bytes(values[i], 16));
    int pipe_fd[2];
    assert_int_equal(pipe(pipe_fd), 0);
    pid_t child = fork();
    if (child == 0) {
        unsigned char v[16];
        bool ok = rand_bytes(v, sizeof v) && write(pipe_fd[1], v, sizeof v) == (ssize_t)sizeof v;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_int_equal(status, 0);
    assert_int_equal(read(pipe_fd[0], values[N], 16), 16);
    close(pipe_fd[0]);
    close(pipe_fd[1]);
    for (int i = BEFORE_FORK; i < N; i++)
        assert_true(rand_bytes(values[i], 16));
    qsort(values, N + 1, 16, compare16);
    for (int i = 0; i < N; i++)
        assert_int_not_equal(memcmp(values[i], values[i + 1], 16), 0);
    free(values);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_encode),
        cmocka_unit_test(test_base64url_rfc4648),
        cmocka_unit_test(test_base64url_alphabet),
        cmocka_unit_test(test_rand_hex),
        cmocka_unit_test(test_rand_base64url),
        cmocka_unit_test(test_rand_bytes_and_u32),
        cmocka_unit_test(test_rand_bytes_never_repeat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
