/*
 * json_string.c: JSON strings into Lua strings.
 *
 * Contract: json_push_string (json_internal.h) gets s at an opening quote,
 * checks the string against RFC 8259 and RFC 3629 (no control characters,
 * only the escapes JSON has, well-formed UTF-8 without surrogates or
 * overlong forms, \u escapes pairing their surrogates), pushes its decoded
 * bytes as one Lua string and sets d->next to the byte after the closing
 * quote. It
 * fails at the first byte it cannot accept: the backslash of a bad escape,
 * the first byte of a bad UTF-8 sequence, a control character; at the end
 * of the input when the string does not close. It reads nothing past
 * d->end. It also sets d->last_string (json_internal.h).
 *
 * The parts: byte classes and the scan for the next byte that is not plain
 * text; UTF-8 checks; escapes; the string cache; the two ways a string is
 * pushed (without an escape: straight from the input; with escapes: decoded
 * into the scratch).
 */
#include <stdint.h>
#include <string.h>

#include <lua.h>

#include "compat.h"
#include "json_internal.h"

/* SSE2 is part of every x86-64 CPU: 16 string bytes per step. */
#if defined(__SSE2__) && defined(__GNUC__) && !defined(INTUNED_NO_SSE2)
#include <emmintrin.h>
#define SIMD_STRINGS 1
#else
#define SIMD_STRINGS 0
#endif

/* Each string's bytes are looked at in a few small functions; GCC would
 * rather call them than inline them into the loop that uses them. */
#if defined(__GNUC__) && !defined(INTUNED_NO_FORCE_INLINE)
#define HOT_INLINE inline __attribute__((always_inline))
#else
#define HOT_INLINE inline
#endif
/* ---- byte classes and the scan ----------------------------------------- */

/* String byte classes, so the hot loop is one load and one compare. */
enum { SC_PLAIN, SC_QUOTE, SC_ESCAPE, SC_CTRL, SC_HIGH };

static const unsigned char str_class[256] = {
    3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,
    0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,
    4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,
    4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,
    4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,
};

/* The first byte at or after p that is not SC_PLAIN, or end. */
static HOT_INLINE const unsigned char *skip_plain(const unsigned char *p,
                                                  const unsigned char *end)
{
#if SIMD_STRINGS
    /* A byte is special when it is '"' or '\\', or below 0x20 or above
     * 0x7F: both are below 0x20 as signed bytes. */
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);

    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_cmplt_epi8(x, space),
                                 _mm_or_si128(_mm_cmpeq_epi8(x, quote),
                                              _mm_cmpeq_epi8(x, bslash)));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits != 0)
            return p + __builtin_ctz(bits);
        p += 16;
    }
#endif
#ifndef INTUNED_NO_UNROLL
    while (end - p >= 4) {
        if (str_class[p[0]] != SC_PLAIN)
            return p;
        if (str_class[p[1]] != SC_PLAIN)
            return p + 1;
        if (str_class[p[2]] != SC_PLAIN)
            return p + 2;
        if (str_class[p[3]] != SC_PLAIN)
            return p + 3;
        p += 4;
    }
#endif
    while (p < end && str_class[*p] == SC_PLAIN)
        p++;
    return p;
}

/*
 * Most strings are short and escape-free, so memchr for the quote and a look
 * back at the backslashes before it beat a byte loop.
 */
const char *json_string_end(const char *p, const char *end)
{
    for (;;) {
        const char *q = memchr(p, '"', (size_t)(end - p)), *b;
        if (q == NULL)
            return end;
        for (b = q; b > p && b[-1] == '\\'; b--)
            ;
        if (((q - b) & 1) == 0)
            return q + 1;
        p = q + 1;
    }
}

/* ---- UTF-8 --------------------------------------------------------------- */

/* Number of bytes of the well-formed UTF-8 sequence at s (RFC 3629), or 0. */
static size_t utf8_len(const unsigned char *s, const unsigned char *end)
{
    unsigned c = s[0];
    size_t avail = (size_t)(end - s);
    unsigned lo = 0x80, hi = 0xBF;

    if (c < 0xC2)           /* stray continuation byte or overlong C0/C1 */
        return 0;
    if (c < 0xE0)
        return (avail >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c < 0xF0) {
        if (c == 0xE0)
            lo = 0xA0;      /* overlong */
        else if (c == 0xED)
            hi = 0x9F;      /* UTF-16 surrogates */
        return (avail >= 3 && s[1] >= lo && s[1] <= hi
                && (s[2] & 0xC0) == 0x80) ? 3 : 0;
    }
    if (c < 0xF5) {
        if (c == 0xF0)
            lo = 0x90;      /* overlong */
        else if (c == 0xF4)
            hi = 0x8F;      /* above U+10FFFF */
        return (avail >= 4 && s[1] >= lo && s[1] <= hi
                && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80) ? 4 : 0;
    }
    return 0;
}

static char *put_utf8(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* ---- escapes --------------------------------------------------------------- */

#ifndef INTUNED_NO_HEX_TABLE
/* 0x10 | the value of each hex digit; every other byte is 0. All four
 * digits of a \u escape are then checked with one test. */
static const unsigned char hex_value[256] = {
    ['0'] = 0x10, ['1'] = 0x11, ['2'] = 0x12, ['3'] = 0x13, ['4'] = 0x14,
    ['5'] = 0x15, ['6'] = 0x16, ['7'] = 0x17, ['8'] = 0x18, ['9'] = 0x19,
    ['a'] = 0x1A, ['b'] = 0x1B, ['c'] = 0x1C, ['d'] = 0x1D, ['e'] = 0x1E, ['f'] = 0x1F,
    ['A'] = 0x1A, ['B'] = 0x1B, ['C'] = 0x1C, ['D'] = 0x1D, ['E'] = 0x1E, ['F'] = 0x1F,
};

/* -1 for a non-hex digit, -2 when the input ends first. */
static long hex4(const char *s, const char *end)
{
    const unsigned char *u = (const unsigned char *)s;
    long v = 0;
    int i;

    if (end - s >= 4) {
        unsigned a = hex_value[u[0]], b = hex_value[u[1]];
        unsigned c = hex_value[u[2]], e = hex_value[u[3]];
        if (!(a & b & c & e & 0x10))
            return -1;
        return (long)((a & 0xF) << 12 | (b & 0xF) << 8 | (c & 0xF) << 4 | (e & 0xF));
    }
    for (i = 0; i < 4; i++) {
        unsigned c;
        if (s + i >= end)
            return -2;
        c = hex_value[u[i]];
        if (!(c & 0x10))
            return -1;
        v = v * 16 + (long)(c & 0xF);
    }
    return v;
}
#else
/* -1 for a non-hex digit, -2 when the input ends first. */
static long hex4(const char *s, const char *end)
{
    long v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        int c;
        if (s + i >= end)
            return -2;
        c = (unsigned char)s[i];
        if (c >= '0' && c <= '9')
            c -= '0';
        else if (c >= 'a' && c <= 'f')
            c -= 'a' - 10;
        else if (c >= 'A' && c <= 'F')
            c -= 'A' - 10;
        else
            return -1;
        v = v * 16 + c;
    }
    return v;
}
#endif

/* s is at "\u" (the escape's first code unit already read as cp, a high
 * surrogate): the second one must be a low surrogate. Writes the code point
 * at *op; returns what follows the pair. */
static const char *surrogate_pair(json_decoder *d, const char *s, long cp, char **op)
{
    long lo;

    if (d->end - s < 8 || s[6] != '\\' || s[7] != 'u')
        return json_fail(d, s, "lone surrogate");
    lo = hex4(s + 8, d->end);
    if (lo == -2)
        return json_fail(d, d->end, "unterminated string");
    if (lo == -1)
        return json_fail(d, s + 6, "invalid \\u escape");
    if (lo < 0xDC00 || lo > 0xDFFF)
        return json_fail(d, s, "lone surrogate");
    *op = put_utf8(*op, 0x10000 + ((unsigned long)(cp - 0xD800) << 10)
                        + (unsigned long)(lo - 0xDC00));
    return s + 12;
}

/*
 * Validates the escape at s (a backslash), writes what it stands for at *op
 * and returns what follows it. The output is never longer than the escape
 * (\uXXXX gives at most 3 bytes, a 12-byte surrogate pair gives 4).
 */
static const char *decode_escape(json_decoder *d, const char *s, char **op)
{
    long cp;
    char *o = *op;

    if (s + 1 >= d->end)
        return json_fail(d, d->end, "unterminated string");
    switch (s[1]) {
    case 'b': *o = '\b'; break;
    case 'f': *o = '\f'; break;
    case 'n': *o = '\n'; break;
    case 'r': *o = '\r'; break;
    case 't': *o = '\t'; break;
    case '"': case '\\': case '/': *o = s[1]; break;
    case 'u':
        cp = hex4(s + 2, d->end);
        if (cp == -2)
            return json_fail(d, d->end, "unterminated string");
        if (cp < 0)
            return json_fail(d, s, "invalid \\u escape");
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return json_fail(d, s, "lone surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF)
            return surrogate_pair(d, s, cp, op);
        *op = put_utf8(o, (unsigned long)cp);
        return s + 6;
    default:
        return json_fail(d, s, "invalid escape");
    }
    *op = o + 1;
    return s + 2;
}

/* ---- the string cache ---------------------------------------------------- */

/*
 * Short strings are interned by Lua, which hashes every byte of each one
 * before it looks it up; in an API response the same keys and many of the
 * same values come back with every answer. So each Lua state keeps a small
 * direct-mapped cache of the short strings it decoded: a cheap hash of the
 * length and the first and last eight bytes picks a slot; the length, those
 * sixteen bytes and then the bytes between confirm a hit, and the string
 * comes from the slot's place in the decoder's table. A miss costs a store;
 * every answer is still checked byte for byte.
 *
 * The strings are [1..JSON_CACHE_SLOTS] of the decoder's table, the slot
 * records a userdata at [JSON_TABLE_CACHE] (json_internal.h). Lua never
 * moves a string, and the table keeps each one alive while its slot points
 * at it; a slot's address is replaced only after the table holds the new
 * string.
 */
#define CACHE_MAXLEN 40     /* Lua 5.4 interns strings up to 40 bytes */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ \
    && !defined(INTUNED_NO_SHORT_LOAD)
#define SHORT_LOAD 1
#else
#define SHORT_LOAD 0
#endif

struct json_cache_slot {
    uint64_t head, tail;    /* the first and last 8 bytes (shorter: packed
                               first byte lowest, tail 0) */
    const char *s;          /* the cached Lua string's bytes */
    size_t len;             /* 0: an empty slot (no string is cached empty) */
};

void json_string_begin(json_decoder *d)
{
#ifndef INTUNED_NO_STRING_CACHE
    lua_State *L = d->L;
    size_t size = sizeof(struct json_cache_slot) * JSON_CACHE_SLOTS;

    lua_rawgeti(L, d->table_idx, JSON_TABLE_CACHE);
    d->cache = (struct json_cache_slot *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (d->cache == NULL) {
        d->cache = (struct json_cache_slot *)lua_newuserdata(L, size);
        memset(d->cache, 0, size);
        lua_rawseti(L, d->table_idx, JSON_TABLE_CACHE);
    }
#else
    d->cache = NULL;
#endif
}

#ifndef INTUNED_NO_STRING_CACHE
/* A miss: the string becomes slot e's. -> .., string (one temporary slot) */
static NO_INLINE void cache_store(json_decoder *d, struct json_cache_slot *e,
                                  const char *s, size_t n, uint64_t head, uint64_t tail)
{
    lua_State *L = d->L;
    const char *pushed = compat_pushlstring(L, s, n);

    lua_pushvalue(L, -1);
    lua_rawseti(L, d->table_idx, (int)(e - d->cache) + 1);
    e->s = d->last_string = pushed;
    e->len = n;
    e->head = head;
    e->tail = tail;
}

/* Whether a[8, n - 8) and b[8, n - 8) are the same bytes, for 8 < n <=
 * CACHE_MAXLEN; word by word, since memcmp would be a call. */
static HOT_INLINE int same_middle(const char *a, const char *b, size_t n)
{
    size_t k;

#ifndef INTUNED_NO_WORD_COMPARE
    for (k = 8; k + 8 < n; k += 8) {
        uint64_t x, y;
        memcpy(&x, a + k, 8);
        memcpy(&y, b + k, 8);
        if (x != y)
            return 0;
    }
    return 1;
#else
    (void)k;
    return n <= 16 || memcmp(a + 8, b + 8, n - 16) == 0;
#endif
}

/* -> .., string (one temporary slot); s[0, n) is the string's body */
static HOT_INLINE void push_short(json_decoder *d, const char *s, size_t n)
{
    uint64_t head = 0, tail = 0;
    unsigned i;
    struct json_cache_slot *e;

    if (n == 0 || n > CACHE_MAXLEN) {
        d->last_string = NULL;
        lua_pushlstring(d->L, s, n);
        return;
    }
    if (n >= 8) {
        memcpy(&head, s, 8);
        memcpy(&tail, s + n - 8, 8);
    } else if (SHORT_LOAD && d->end - s >= 8) {
        /* The closing quote and more follow: one load, then keep the
         * string's n bytes, as the loop below would have packed them. */
        memcpy(&head, s, 8);
        head &= ((uint64_t)1 << (8 * n)) - 1;
    } else {
        size_t k;
        for (k = 0; k < n; k++)
            head |= (uint64_t)(unsigned char)s[k] << (8 * k);
    }
    /* Up to 16 bytes, head and tail are the whole string. */
    i = (unsigned)(((head ^ ((tail << 29) | (tail >> 35)) ^ (uint64_t)n)
                    * 0x9E3779B97F4A7C15ULL) >> (64 - JSON_CACHE_BITS));
    e = &d->cache[i];
    if (e->len == n && e->head == head && e->tail == tail
        && same_middle(e->s, s, n)) {
        d->last_string = e->s;
        lua_rawgeti(d->L, d->table_idx, (int)i + 1);
        return;
    }
    cache_store(d, e, s, n, head, tail);
}
#else
/* -> .., string; s[0, n) is the string's body */
static HOT_INLINE void push_short(json_decoder *d, const char *s, size_t n)
{
    const char *pushed = compat_pushlstring(d->L, s, n);
    d->last_string = n > 0 && n <= CACHE_MAXLEN ? pushed : NULL;
}
#endif

/* ---- pushing a string ---------------------------------------------------- */

/*
 * The rest of a string body from its first escape at p, validated and
 * decoded in one pass into the scratch. The closing quote json_string_end
 * finds bounds the output: until the parser reaches that quote it has
 * either failed or consumed at least as many bytes as it wrote (no escape
 * decodes longer than itself, and no quote an escape consumes can be the
 * one the scan stops at, which is preceded by an even run of backslashes).
 * -> .., string
 */
static const char *push_escaped(json_decoder *d, const unsigned char *start,
                                const unsigned char *p)
{
    const unsigned char *end = (const unsigned char *)d->end;
    const char *q = json_string_end((const char *)p, d->end);
    char *out = json_scratch(d, (size_t)(q - (const char *)start));
    char *o = out;

    d->last_string = NULL;
    memcpy(o, start, (size_t)(p - start));
    o += p - start;
    for (;;) {
        const unsigned char *run;
        if (p >= end)
            return json_fail(d, d->end, "unterminated string");
        switch (str_class[*p]) {
        case SC_QUOTE:
            lua_pushlstring(d->L, out, (size_t)(o - out));
            return (const char *)p + 1;
        case SC_ESCAPE:
            p = (const unsigned char *)decode_escape(d, (const char *)p, &o);
            if (p == NULL)
                return NULL;
            break;
        case SC_CTRL:
            return json_fail(d, (const char *)p, "control character in string");
        default: {
            size_t n = utf8_len(p, end);
            if (n == 0)
                return json_fail(d, (const char *)p, "invalid UTF-8");
            memcpy(o, p, n);
            o += n;
            p += n;
        }
        }
        run = p;
        p = skip_plain(p, end);
        memcpy(o, run, (size_t)(p - run));
        o += p - run;
    }
}

/* The string from p on, where p is the first byte of it that is not plain
 * ASCII: UTF-8 sequences, escapes, the end of the input. -> .., string */
static NO_INLINE void push_rest(json_decoder *d, const unsigned char *start,
                                const unsigned char *p)
{
    const unsigned char *end = (const unsigned char *)d->end;

    for (;;) {
        if (p >= end) {
            d->next = json_fail(d, d->end, "unterminated string");
            return;
        }
        switch (str_class[*p]) {
        case SC_QUOTE:
            d->next = (const char *)p + 1;
            push_short(d, (const char *)start, (size_t)(p - start));
            return;
        case SC_ESCAPE:
            d->next = push_escaped(d, start, p);
            return;
        case SC_CTRL:
            d->next = json_fail(d, (const char *)p, "control character in string");
            return;
        default: {
            size_t n = utf8_len(p, end);
            if (n == 0) {
                d->next = json_fail(d, (const char *)p, "invalid UTF-8");
                return;
            }
            p += n;
        }
        }
        p = skip_plain(p, end);
    }
}

/*
 * Most strings are plain ASCII and end at the first byte that is not: they
 * take the first return, whose last act is the Lua call that pushes the
 * string, so that the path needs no saved registers.
 */
void json_push_string(json_decoder *d, const char *s)
{
    const unsigned char *start = (const unsigned char *)s + 1;
    const unsigned char *p = skip_plain(start, (const unsigned char *)d->end);

    if (p < (const unsigned char *)d->end && *p == '"') {
        d->next = (const char *)p + 1;
        push_short(d, (const char *)start, (size_t)(p - start));
        return;
    }
    push_rest(d, start, p);
}
