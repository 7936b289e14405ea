/* Forbidden-term matching: substrings, ASCII case folded, everything else byte for byte. */
#include "domain/content.h"

#include <stdlib.h>
#include <string.h>

struct terms {
    size_t count;
    char **items; /* each NUL-terminated, ASCII letters lowered */
    char *storage;
};

static char fold(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

struct terms *terms_parse(const char *text, size_t len)
{
    struct terms *t = calloc(1, sizeof *t);
    if (!t || !(t->storage = malloc(len + 1)) ||
        !(t->items = calloc(len / 2 + 1, sizeof *t->items))) {
        terms_free(t);
        return NULL;
    }
    for (size_t i = 0; i < len; i++)
        t->storage[i] = fold(text[i]);
    t->storage[len] = '\0';
    char *line = t->storage, *end = t->storage + len;
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        char *stop = nl ? nl : end;
        *stop = '\0';
        if (stop > line && stop[-1] == '\r')
            stop[-1] = '\0';
        if (line[0] && line[0] != '#' && strlen(line) > 0)
            t->items[t->count++] = line;
        line = stop + 1;
    }
    return t;
}

void terms_free(struct terms *t)
{
    if (!t)
        return;
    free(t->items);
    free(t->storage);
    free(t);
}

size_t terms_count(const struct terms *t)
{
    return t ? t->count : 0;
}

static bool contains_folded(const char *text, const char *term)
{
    for (; *text; text++) {
        size_t i = 0;
        while (term[i] && text[i] && fold(text[i]) == term[i])
            i++;
        if (!term[i])
            return true;
    }
    return false;
}

bool terms_match(const struct terms *t, const char *text)
{
    for (size_t i = 0; t && i < t->count; i++)
        if (contains_folded(text, t->items[i]))
            return true;
    return false;
}

enum wb_code terms_check_goods(const struct terms *t, const json_t *detail_list, struct wb_err *e)
{
    static const char *const fields[] = {"goods_name", "goods_desc"};
    size_t i;
    const json_t *item;
    json_array_foreach(detail_list, i, item)
    {
        for (size_t f = 0; f < 2; f++) {
            const char *text = json_string_value(json_object_get(item, fields[f]));
            if (text && terms_match(t, text))
                return wb_err_set(e, WB_RISKY_CONTENT,
                                  "goods_info.detail_list[%zu].%s contains content that is not "
                                  "allowed",
                                  i, fields[f]);
        }
    }
    return WB_OK;
}
