/*
 * json.c: strict RFC 8259 decoder that builds Lua values in a single pass.
 *
 * The parser is an explicit state machine rather than recursive descent:
 * every open container lives on the Lua stack, so deep nesting costs checked
 * Lua stack slots, never C stack frames, whatever max_depth the caller picks.
 * For an open container the slot just below the value being parsed tells
 * what the container is: a string key means an object, a table an array.
 *
 * Every array table it builds carries the array metatable (one per Lua
 * state, in the registry; core.array_mt): so a value read from the API and
 * written back keeps its empty arrays as [] (lua/intuned/json.lua).
 *
 * Nothing here calls malloc. A Lua memory error can unwind through any API
 * call, so every temporary buffer is either on the C stack or a userdata
 * anchored in a stack slot (the "scratch"), which the collector reclaims.
 *
 * Error offsets point at the first byte that cannot be accepted (the start of
 * a bad escape or UTF-8 sequence); when the input simply ends too early they
 * point one past the last byte.
 */
#include <float.h>
#include <limits.h>
#include <locale.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "compat.h"
#include "json.h"

/* SSE2 is part of every x86-64 CPU: 16 string bytes per step. */
#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#define SIMD_STRINGS 1
#else
#define SIMD_STRINGS 0
#endif

/* For the few functions on every token's path that GCC would rather call. */
#if defined(__GNUC__)
#define HOT_INLINE inline __attribute__((always_inline))
#else
#define HOT_INLINE inline
#endif

enum { CTX_TOP, CTX_ARRAY, CTX_OBJECT };

typedef struct {
    lua_State *L;
    const char *buf;        /* start of the input, for error offsets */
    const char *end;
    intuned_json_err *err;
    int scratch_idx;        /* stack slot anchoring the scratch userdata */
    char *scratch;
    size_t scratch_cap;
    int cache_idx;          /* stack slot of the string cache's table */
    struct cache_slot *cache;
    const char *last_key;   /* the last string pushed, when cached: NULL
                               otherwise (for the key hints) */
} decoder;

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

#define IS_DIGIT(c) ((unsigned char)((c) - '0') < 10)

static const char *fail(decoder *d, const char *at, const char *fmt, ...)
{
    va_list ap;
    d->err->offset = (size_t)(at - d->buf);
    va_start(ap, fmt);
    /* A message cut to the buffer is still a message. clang-tidy 14 calls
     * ap uninitialised when it checks several files in one run (never for
     * this file alone); va_start just above initialises it. */
    /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
    (void)vsnprintf(d->err->msg, sizeof d->err->msg, fmt, ap);
    va_end(ap);
    return NULL;
}

/* Reports the byte at `at`, or the end of input; `expected` may be NULL. */
static const char *fail_at(decoder *d, const char *at, const char *expected)
{
    unsigned char c;
    const char *sep = expected ? ", expected " : "";

    if (at >= d->end)
        return fail(d, d->end, "unexpected end of input");
    c = (unsigned char)*at;
    if (c >= 0x20 && c < 0x7f)
        return fail(d, at, "unexpected character '%c'%s%s", c, sep,
                    expected ? expected : "");
    return fail(d, at, "unexpected byte 0x%02X%s%s", c, sep,
                expected ? expected : "");
}

static const char *skip_ws(const char *p, const char *end)
{
    /* Compact documents have no whitespace between tokens at all. */
    if (p < end && (unsigned char)*p > ' ')
        return p;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/*
 * The scratch only ever grows by replacing the userdata in its slot, so no
 * pointer into an older scratch is used after the call.
 * Stack: unchanged (uses one temporary slot).
 */
static char *scratch_get(decoder *d, size_t n)
{
    if (n > d->scratch_cap) {
        size_t cap = d->scratch_cap ? d->scratch_cap : 256;
        while (cap < n && cap <= (size_t)-1 / 2)
            cap *= 2;
        if (cap < n)
            cap = n;
        d->scratch = (char *)lua_newuserdata(d->L, cap);
        lua_replace(d->L, d->scratch_idx);
        d->scratch_cap = cap;
    }
    return d->scratch;
}

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

/* 0x10 | the value of each hex digit; every other byte is 0. */
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

#if !SIMD_STRINGS
/* Any byte that is '"', '\\', < 0x20 or >= 0x80 in an 8-byte word. */
static int has_special(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');

    return ((x | ((x - ones * 0x20) & ~x) | ((q - ones) & ~q)
             | ((b - ones) & ~b)) & highs) != 0;
}
#endif

/* The first byte at or after p that is not SC_PLAIN, or end. */
static inline const unsigned char *skip_plain(const unsigned char *p,
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
#else
    /* Long runs go 8 bytes per step; keys and short values, the most
     * common strings in API responses, take the unrolled table loop. */
    while (end - p >= 16) {
        uint64_t x;
        memcpy(&x, p, 8);
        if (has_special(x))
            break;
        p += 8;
    }
#endif
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
    while (p < end && str_class[*p] == SC_PLAIN)
        p++;
    return p;
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

/*
 * Validates the escape at s (a backslash), writes what it stands for at *op
 * and returns what follows it. The output is never longer than the escape
 * (\uXXXX gives at most 3 bytes, a 12-byte surrogate pair gives 4).
 */
static const char *decode_escape(decoder *d, const char *s, char **op)
{
    long cp, lo;
    char *o = *op;

    if (s + 1 >= d->end)
        return fail(d, d->end, "unterminated string");
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
            return fail(d, d->end, "unterminated string");
        if (cp < 0)
            return fail(d, s, "invalid \\u escape");
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return fail(d, s, "lone surrogate");
        if (cp < 0xD800 || cp > 0xDBFF) {
            *op = put_utf8(o, (unsigned long)cp);
            return s + 6;
        }
        if (d->end - s < 8 || s[6] != '\\' || s[7] != 'u')
            return fail(d, s, "lone surrogate");
        lo = hex4(s + 8, d->end);
        if (lo == -2)
            return fail(d, d->end, "unterminated string");
        if (lo == -1)
            return fail(d, s + 6, "invalid \\u escape");
        if (lo < 0xDC00 || lo > 0xDFFF)
            return fail(d, s, "lone surrogate");
        *op = put_utf8(o, 0x10000 + ((unsigned long)(cp - 0xD800) << 10)
                          + (unsigned long)(lo - 0xDC00));
        return s + 12;
    default:
        return fail(d, s, "invalid escape");
    }
    *op = o + 1;
    return s + 2;
}

/*
 * Short strings are interned by Lua, which hashes every byte of each one
 * before it looks it up: in an API response, where the same keys and many of
 * the same values come back with every answer, that hashing was a third of
 * what decoding cost. So each Lua state keeps a small direct-mapped cache of
 * the short strings it decoded: a cheap hash of the length and the first and
 * last eight bytes picks a slot; the length, those sixteen bytes and then the
 * bytes between confirm a hit, and the string comes from the slot's place in
 * the cache table. A miss costs a store; every answer is still checked byte
 * for byte.
 *
 * The cache is a table in the registry: [1..CACHE_SLOTS] hold the strings,
 * [0] a userdata with their lengths, first and last bytes and addresses. Lua never moves a string,
 * and the table keeps each one alive while its slot points at it; a slot's
 * address is replaced only after the table holds the new string.
 *
 * [ARRAY_MT] of the same table is the array mark: the metatable of every
 * array the decoder builds (core.array_mt). It has no fields, so a marked
 * table behaves like any other; only its identity means "JSON array". It
 * lives here, in the table every decode fetches anyway, because a registry
 * lookup of its own cost a decode of the job run body 0.3% more
 * instructions, as much as marking its arrays.
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LITTLE_ENDIAN_WORDS 1
#else
#define LITTLE_ENDIAN_WORDS 0
#endif

#define CACHE_BITS 10
#define CACHE_SLOTS (1 << CACHE_BITS)
#define CACHE_MAXLEN 40     /* Lua 5.4 interns strings up to 40 bytes */
#define ARRAY_MT (CACHE_SLOTS + 1)  /* in the array part, after the slots */

struct cache_slot {
    uint64_t head, tail;    /* the first and last 8 bytes (shorter: packed
                               first byte lowest, tail 0) */
    const char *s;          /* the cached Lua string's bytes */
    size_t len;             /* 0: an empty slot (no string is cached empty) */
};

static const char cache_key = 'c'; /* its address names the cache */

/* -> .., cache table; returns its slots. */
static inline struct cache_slot *cache_push(lua_State *L)
{
    struct cache_slot *slots;

    lua_pushlightuserdata(L, (void *)&cache_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    if (lua_istable(L, -1)) {
        lua_rawgeti(L, -1, 0);
        slots = (struct cache_slot *)lua_touserdata(L, -1);
        lua_pop(L, 1);
        if (slots != NULL)
            return slots;
    }
    lua_pop(L, 1);
    lua_createtable(L, ARRAY_MT, 1);
    slots = (struct cache_slot *)lua_newuserdata(L, sizeof(struct cache_slot) * CACHE_SLOTS);
    memset(slots, 0, sizeof(struct cache_slot) * CACHE_SLOTS);
    lua_rawseti(L, -2, 0);
    lua_newtable(L);
    lua_rawseti(L, -2, ARRAY_MT);
    lua_pushlightuserdata(L, (void *)&cache_key);
    lua_pushvalue(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
    return slots;
}

void intuned_json_push_array_mt(lua_State *L)
{
    (void)cache_push(L);
    lua_rawgeti(L, -1, ARRAY_MT);
    lua_remove(L, -2);
}

/* -> .., string (uses one temporary slot); s[0, n) is the string's body */
static HOT_INLINE void push_short(decoder *d, const char *s, size_t n)
{
    lua_State *L = d->L;
    uint64_t head = 0, tail = 0;
    unsigned i;
    struct cache_slot *e;
    const char *pushed;

    if (n == 0 || n > CACHE_MAXLEN) {
        lua_pushlstring(L, s, n);
        return;
    }
    if (n >= 8) {
        memcpy(&head, s, 8);
        memcpy(&tail, s + n - 8, 8);
    } else if (LITTLE_ENDIAN_WORDS && d->end - s >= 8) {
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
                    * 0x9E3779B97F4A7C15ULL) >> (64 - CACHE_BITS));
    e = &d->cache[i];
    if (e->len == n && e->head == head && e->tail == tail
        && (n <= 16 || memcmp(e->s + 8, s + 8, n - 16) == 0)) {
        lua_rawgeti(L, d->cache_idx, (int)i + 1);
        d->last_key = e->s;
        return;
    }
    pushed = compat_pushlstring(L, s, n);
    lua_pushvalue(L, -1);
    lua_rawseti(L, d->cache_idx, (int)i + 1);
    e->s = d->last_key = pushed;
    e->len = n;
    e->head = head;
    e->tail = tail;
}

static const char *scan_string(const char *p, const char *end);

/*
 * The rest of a string body from its first escape at p, validated and
 * decoded in one pass into the scratch. The closing quote the size scan
 * finds bounds the output: until the parser reaches that quote it has either
 * failed or consumed at least as many bytes as it wrote (no escape decodes
 * longer than itself, and no quote an escape consumes can be the one the
 * scan stops at, which is preceded by an even run of backslashes).
 * -> .., string
 */
static const char *push_escaped(decoder *d, const unsigned char *start,
                                const unsigned char *p)
{
    const unsigned char *end = (const unsigned char *)d->end;
    const char *q = scan_string((const char *)p, d->end);
    char *out = scratch_get(d, (size_t)(q - (const char *)start));
    char *o = out;

    memcpy(o, start, (size_t)(p - start));
    o += p - start;
    for (;;) {
        if (p >= end)
            return fail(d, d->end, "unterminated string");
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
            return fail(d, (const char *)p, "control character in string");
        default: {
            size_t n = utf8_len(p, end);
            if (n == 0)
                return fail(d, (const char *)p, "invalid UTF-8");
            memcpy(o, p, n);
            o += n;
            p += n;
        }
        }
        {
            const unsigned char *run = p;
            p = skip_plain(p, end);
            memcpy(o, run, (size_t)(p - run));
            o += p - run;
        }
    }
}

/* s points at the opening quote. -> .., string */
static HOT_INLINE const char *push_string(decoder *d, const char *s)
{
    const unsigned char *p = (const unsigned char *)s + 1;
    const unsigned char *start = p, *end = (const unsigned char *)d->end;

    d->last_key = NULL;
    for (;;) {
        p = skip_plain(p, end);
        if (p >= end)
            return fail(d, d->end, "unterminated string");
        switch (str_class[*p]) {
        case SC_QUOTE:
            push_short(d, (const char *)start, (size_t)(p - start));
            return (const char *)p + 1;
        case SC_ESCAPE:
            return push_escaped(d, start, p);
        case SC_CTRL:
            return fail(d, (const char *)p, "control character in string");
        default: {
            size_t n = utf8_len(p, end);
            if (n == 0)
                return fail(d, (const char *)p, "invalid UTF-8");
            p += n;
        }
        }
    }
}

#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
#define FAST_FLOATS 1
/* Exactly representable, so one IEEE multiply or divide rounds correctly. */
static const double pow10_exact[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};
#else
#define FAST_FLOATS 0
#endif

/*
 * strtod honours LC_NUMERIC, which Lua code can change with os.setlocale, so
 * the validated text is copied with '.' replaced by the locale's separator.
 * Out-of-range magnitudes follow strtod: 1e400 becomes inf, 1e-400 becomes 0.
 */
static lua_Number slow_number(decoder *d, const char *s, size_t n)
{
    char small[64], *b, *o;
    const char *dp = localeconv()->decimal_point;
    size_t dl = (dp && dp[0]) ? strlen(dp) : 0, i;

    if (dl == 0) {
        dp = ".";
        dl = 1;
    }
    b = (n + dl + 1 <= sizeof small) ? small : scratch_get(d, n + dl + 1);
    for (o = b, i = 0; i < n; i++) {
        if (s[i] == '.') {
            memcpy(o, dp, dl);
            o += dl;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return (lua_Number)strtod(b, NULL);
}

/*
 * s points at '-' or a digit. A literal without fraction or exponent is an
 * integer when it fits lua_Integer, so "-0" is integer 0 there, while "-0.0"
 * keeps its sign. Without integer support "-0" is -0.0, as strtod gives.
 * -> .., number
 */
static const char *push_number(decoder *d, const char *s)
{
    const char *p = s, *end = d->end;
    uint64_t m = 0;             /* first 19 significant digits */
    int sig = 0, many = 0, is_float = 0, neg = 0, big_exp = 0;
    long long frac = 0, ex = 0;

    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (p < end && *p == '0') {
        p++;
        if (p < end && IS_DIGIT(*p))
            return fail(d, p, "leading zeros not allowed");
    } else if (p < end && IS_DIGIT(*p)) {
        do {
            if (sig < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                sig++;
            } else {
                many = 1;
            }
            p++;
        } while (p < end && IS_DIGIT(*p));
    } else {
        return fail(d, p, "invalid number");
    }
    if (p < end && *p == '.') {
        is_float = 1;
        p++;
        if (p >= end || !IS_DIGIT(*p))
            return fail(d, p, "invalid number");
        do {
            if (m == 0 && *p == '0') {
                frac++;         /* leading zeros only shift the exponent */
            } else if (sig < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                sig++;
                frac++;
            } else {
                many = 1;
            }
            p++;
        } while (p < end && IS_DIGIT(*p));
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg = 0;
        is_float = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = (*p++ == '-');
        if (p >= end || !IS_DIGIT(*p))
            return fail(d, p, "invalid number");
        do {
            if (ex < 100000000)
                ex = ex * 10 + (*p - '0');
            else
                big_exp = 1;
            p++;
        } while (p < end && IS_DIGIT(*p));
        if (eneg)
            ex = -ex;
    }

    if (!is_float && !many) {
#if COMPAT_HAS_INTEGERS
        if (!neg && m <= (uint64_t)LUA_MAXINTEGER) {
            lua_pushinteger(d->L, (lua_Integer)m);
            return p;
        }
        if (neg && m <= (uint64_t)LUA_MAXINTEGER + 1) {
            lua_pushinteger(d->L, m == (uint64_t)LUA_MAXINTEGER + 1
                                  ? LUA_MININTEGER : -(lua_Integer)m);
            return p;
        }
#endif
        /* Converting a uint64_t to double rounds correctly, like strtod. */
        lua_pushnumber(d->L, neg ? -(lua_Number)m : (lua_Number)m);
        return p;
    }
#if FAST_FLOATS
    if (!many && !big_exp && m <= ((uint64_t)1 << 53)) {
        long long e10 = ex - frac;
        if (e10 >= -22 && e10 <= 22) {
            double v = (double)m;
            v = e10 < 0 ? v / pow10_exact[-e10] : v * pow10_exact[e10];
            lua_pushnumber(d->L, (lua_Number)(neg ? -v : v));
            return p;
        }
    }
#endif
    lua_pushnumber(d->L, slow_number(d, s, (size_t)(p - s)));
    return p;
}

/* Reports where p stops matching the literal word lit. */
static const char *fail_literal(decoder *d, const char *p, const char *lit)
{
    while (p < d->end && *p == *lit) {
        p++;
        lit++;
    }
    return fail_at(d, p, NULL);
}

/*
 * Sibling containers in API responses usually share a shape, so a new table
 * is presized like the last one closed at the same depth. Only the previous
 * sibling's size is used, so a wrong guess costs at most what that sibling
 * already cost, and the cap bounds a single guess.
 */
#define HINT_LEVELS 32
#define HINT_MAX 4096

/*
 * A container that is a member's value is presized like the last one closed
 * under the same key, which fits documents whose objects at one depth differ
 * ("sink" and "proxy" inside each of many job runs) where the sibling hint
 * does not. Keys are interned, so the string's address names the key; a
 * slot holds one key, and the same bound as the sibling hint applies.
 */
#define KEY_HINTS 64
#define KEY_SLOT(k) (((uintptr_t)(k) >> 4) & (KEY_HINTS - 1))

typedef struct {
    const char *key;
    int size;
} key_hint;

/*
 * Growing a Lua table rehashes every entry it holds, and filling an object
 * of 16 members that way costs more than parsing it. So before tables are
 * built, a quick scan counts the members of the next SIZE_WINDOW containers
 * (in the order the parser will open them) and each table is created at its
 * final size. The scan trusts nothing: its counts are only sizes, capped,
 * and the parser still validates every byte. It stops after SCAN_BUDGET
 * bytes once its window is full, and runs once per document: past its
 * window the key and sibling hints above, learnt by then, cost less than
 * scanning the rest (a 1 MiB array of job runs decodes in 7% fewer
 * instructions than with a scan per window).
 */
#define SIZE_WINDOW 512
#define SIZE_STACK 64
#define SCAN_BUDGET ((ptrdiff_t)64 * 1024)
#define SIZE_MAX_HINT (1 << 16)
#define SIZE_UNKNOWN (-1)

typedef struct {
    int sizes[SIZE_WINDOW];
    int filled;             /* entries of sizes set by the last scan */
    int next;               /* next entry the parser takes */
} size_window;

/* Byte classes outside strings: only structure matters to the scan. */
enum { SK_OTHER, SK_QUOTE, SK_OPEN, SK_CLOSE, SK_COMMA };

static const unsigned char scan_class[256] = {
    ['"'] = SK_QUOTE, ['{'] = SK_OPEN, ['['] = SK_OPEN,
    ['}'] = SK_CLOSE, [']'] = SK_CLOSE, [','] = SK_COMMA,
};

/*
 * p is just past an opening quote; returns just past the closing one. Most
 * strings are short and escape-free, so memchr for the quote and a look back
 * at the backslashes before it beat a byte loop.
 */
static const char *scan_string(const char *p, const char *end)
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

/* p is at the '{' or '[' the parser is about to open. */
static void scan_sizes(size_window *w, const char *p, const char *end)
{
    int stack[SIZE_STACK];
    int depth = 0, filled = 0, open = 0;
    const char *budget_end = (end - p > SCAN_BUDGET) ? p + SCAN_BUDGET : end;

    for (;;) {
        while (p < end && scan_class[(unsigned char)*p] == SK_OTHER)
            p++;
        if (p >= end)
            break;
        switch (scan_class[(unsigned char)*p++]) {
        case SK_OTHER:
            continue;
        case SK_QUOTE:
            p = scan_string(p, end);
            continue;
        case SK_OPEN: {
            int idx = -1;
            if (p > budget_end)
                break;
            if (filled < SIZE_WINDOW) {
                if (depth < SIZE_STACK) {
                    const char *q = p;
                    while (q < end && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t'))
                        q++;
                    idx = filled;
                    w->sizes[idx] = (q < end && (*q == '}' || *q == ']')) ? 0 : 1;
                    open++;
                } else {
                    w->sizes[filled] = SIZE_UNKNOWN;
                }
                filled++;
            }
            if (depth < SIZE_STACK)
                stack[depth] = idx;
            depth++;
            continue;
        }
        case SK_CLOSE:
            if (depth == 0)
                break;      /* closes a container opened before the scan */
            depth--;
            if (depth < SIZE_STACK && stack[depth] >= 0)
                open--;
            if ((filled == SIZE_WINDOW && open == 0) || p > budget_end)
                break;
            continue;
        case SK_COMMA:
            if (depth > 0 && depth <= SIZE_STACK && stack[depth - 1] >= 0
                && w->sizes[stack[depth - 1]] < SIZE_MAX_HINT)
                w->sizes[stack[depth - 1]]++;
            continue;
        }
        break;
    }
    /* Containers the scan did not see close have no reliable size. */
    while (depth > 0) {
        depth--;
        if (depth < SIZE_STACK && stack[depth] >= 0)
            w->sizes[stack[depth]] = SIZE_UNKNOWN;
    }
    w->filled = filled;
    w->next = 0;
}

#define LITERAL(p, end, lit) \
    ((end) - (p) >= (ptrdiff_t)sizeof(lit) - 1 \
     && memcmp((p), (lit), sizeof(lit) - 1) == 0)

int intuned_json_decode(lua_State *L, const char *buf, size_t len,
                        const intuned_json_opts *opts, intuned_json_err *err)
{
    decoder d;
    const char *p = buf, *end = buf + len;
    int base = lua_gettop(L);
    int max_depth = (opts && opts->max_depth > 0) ? opts->max_depth
                                                  : INTUNED_JSON_MAX_DEPTH;
    int keep_nulls = opts ? opts->keep_object_nulls : 0;
    intuned_json_shape *shape = opts ? opts->shape : NULL;
    int depth = 0, ctx = CTX_TOP;
    lua_Integer count = 0;      /* entries so far in the innermost container */
    lua_Integer saved[HINT_LEVELS];     /* count of each shallow ancestor */
    int hint_array[HINT_LEVELS] = {0}, hint_object[HINT_LEVELS] = {0};
    int size, closed_n;
    const char *key;            /* of the member a closed container ends */
    int opened = 0;             /* containers opened so far */
    int cur = -1;               /* shape entry of the innermost container */
    int saved_cur[HINT_LEVELS]; /* the same for each shallow ancestor */
    int saved_ctx[HINT_LEVELS]; /* and what it is (object, array, top) */
    const char *saved_key[HINT_LEVELS]; /* and the key of its open member */
    size_window win;
    int scanned = 0;
    int array_mt_idx;           /* stack slot of the array metatable */
    key_hint khint[KEY_HINTS];

    d.L = L;
    d.buf = buf;
    d.end = end;
    d.err = err;
    d.scratch_idx = base + 1;
    d.scratch = NULL;
    d.scratch_cap = 0;
    d.last_key = NULL;
    err->offset = 0;
    err->msg[0] = '\0';
    win.filled = win.next = 0;
    memset(khint, 0, sizeof khint);

    /* Room for the scratch, cache and array mark slots, one value and a
     * temporary. */
    if (!lua_checkstack(L, 5)) {
        fail(&d, p, "Lua stack exhausted");
        return 0;
    }
    lua_pushnil(L);
    d.cache = cache_push(L);
    d.cache_idx = base + 2;
    lua_rawgeti(L, d.cache_idx, ARRAY_MT);
    array_mt_idx = base + 3;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
        fail(&d, p, "byte order mark not allowed");
        goto failed;
    }
    p = skip_ws(p, end);
    if (p == end) {
        fail(&d, p, "empty input");
        goto failed;
    }

value:  /* p is at the first byte of a value, after whitespace */
    if (p >= end) {
        fail_at(&d, p, NULL);
        goto failed;
    }
    switch (*p) {
    case '{':
    case '[':
        /* Table, key and value of the new level, plus a temporary. */
        if (depth >= max_depth || !lua_checkstack(L, 4)) {
            fail(&d, p, "nesting too deep");
            goto failed;
        }
        if (depth < HINT_LEVELS) {
            saved[depth] = count;
            saved_cur[depth] = cur;
            saved_ctx[depth] = ctx;
            saved_key[depth] = ctx == CTX_OBJECT ? d.last_key : NULL;
        }
        depth++;
        count = 0;
        cur = -1;
        size = SIZE_UNKNOWN;
        if (shape != NULL && opened < INTUNED_JSON_SHAPE_MAX) {
            /* Once a scan ran, its window gives the sizes in order. */
            /* A guess: never more members than the bytes left can hold,
             * and never more than the last document really had. */
            if (win.filled == 0 && opened < shape->n
                && shape->sizes[opened] <= (end - p) / 2 + 1)
                size = shape->sizes[opened];
            shape->sizes[opened] = SIZE_UNKNOWN; /* until it closes */
            if (depth <= HINT_LEVELS)
                cur = opened;
        }
        opened++;
        if (size < 0) {
            if (win.next == win.filled && !scanned) {
                scan_sizes(&win, p, end);
                scanned = 1;
            }
            if (win.next < win.filled)
                size = win.sizes[win.next++];
        }
        if (size < 0 && ctx == CTX_OBJECT && d.last_key != NULL) {
            /* The member's key was the last string pushed. */
            const key_hint *h = &khint[KEY_SLOT(d.last_key)];
            if (h->key == d.last_key && h->size <= (end - p) / 2 + 1)
                size = h->size;
        }
        if (*p == '[') {
            if (size < 0)
                size = depth < HINT_LEVELS ? hint_array[depth] : 0;
            lua_createtable(L, size, 0);
            lua_pushvalue(L, array_mt_idx);
            lua_setmetatable(L, -2);
            ctx = CTX_ARRAY;
            p = skip_ws(p + 1, end);
            if (p < end && *p == ']') {
                p++;
                goto closed;
            }
            goto value;
        }
        if (size < 0)
            size = depth < HINT_LEVELS ? hint_object[depth] : 0;
        lua_createtable(L, 0, size);
        ctx = CTX_OBJECT;
        p = skip_ws(p + 1, end);
        if (p < end && *p == '}') {
            p++;
            goto closed;
        }
        goto key;
    case '"':
        p = push_string(&d, p);
        break;
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        p = push_number(&d, p);
        break;
    case 't':
        if (!LITERAL(p, end, "true")) {
            fail_literal(&d, p, "true");
            goto failed;
        }
        lua_pushboolean(L, 1);
        p += 4;
        break;
    case 'f':
        if (!LITERAL(p, end, "false")) {
            fail_literal(&d, p, "false");
            goto failed;
        }
        lua_pushboolean(L, 0);
        p += 5;
        break;
    case 'n':
        if (!LITERAL(p, end, "null")) {
            fail_literal(&d, p, "null");
            goto failed;
        }
        /* rawset with nil leaves the member absent, and a duplicate key
         * still follows "last wins" by erasing the earlier value. */
        if (ctx == CTX_OBJECT && !keep_nulls)
            lua_pushnil(L);
        else
            lua_pushlightuserdata(L, NULL);
        p += 4;
        break;
    default:
        fail_at(&d, p, "a value");
        goto failed;
    }
    if (p == NULL)
        goto failed;

stored: /* a complete value is on top; attach it to its container */
    if (ctx == CTX_TOP)
        goto done;
    p = skip_ws(p, end);
    if (ctx == CTX_ARRAY) {
        lua_rawseti(L, -2, ++count);    /* .., array, value -> .., array */
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            goto value;
        }
        if (p < end && *p == ']') {
            p++;
            goto closed;
        }
        fail_at(&d, p, "',' or ']'");
        goto failed;
    }
    lua_rawset(L, -3);          /* .., object, key, value -> .., object */
    count++;
    if (p < end && *p == ',') {
        p = skip_ws(p + 1, end);
        goto key;
    }
    if (p < end && *p == '}') {
        p++;
        goto closed;
    }
    fail_at(&d, p, "',' or '}'");
    goto failed;

key:    /* p is where a member's key should start, after whitespace */
    if (p >= end || *p != '"') {
        fail_at(&d, p, "a string key");
        goto failed;
    }
    p = push_string(&d, p);     /* .., object -> .., object, key */
    if (p == NULL)
        goto failed;
    p = skip_ws(p, end);
    if (p >= end || *p != ':') {
        fail_at(&d, p, "':'");
        goto failed;
    }
    p = skip_ws(p + 1, end);
    goto value;

closed: /* the container on top is complete: .., parent, [key,] table */
    closed_n = count < HINT_MAX ? (int)count : HINT_MAX;
    if (depth < HINT_LEVELS) {
        int n = closed_n;
        if (ctx == CTX_ARRAY)
            hint_array[depth] = n;
        else
            hint_object[depth] = n;
    }
    if (cur >= 0)
        shape->sizes[cur] = count < SIZE_MAX_HINT ? (int)count : SIZE_MAX_HINT;
    depth--;
    cur = depth < HINT_LEVELS ? saved_cur[depth] : -1;
    if (depth == 0) {
        ctx = CTX_TOP;
        goto stored;
    }
    if (depth < HINT_LEVELS) {
        ctx = saved_ctx[depth];
        key = saved_key[depth];
        count = saved[depth];
    } else if (lua_type(L, -2) == LUA_TSTRING) {
        ctx = CTX_OBJECT;
        key = lua_tostring(L, -2);
        count = 0;                  /* only a size hint there */
    } else {
        ctx = CTX_ARRAY;
        key = NULL;
        /* No element is nil (null is a sentinel), so the length is exact. */
        count = (lua_Integer)compat_rawlen(L, -2);
    }
    if (key != NULL) {
        key_hint *h = &khint[KEY_SLOT(key)];
        h->key = key;
        h->size = closed_n;
    }
    goto stored;

done:
    p = skip_ws(p, end);
    if (p != end) {
        fail(&d, p, "trailing garbage");
        goto failed;
    }
    lua_replace(L, d.scratch_idx);  /* .., scratch, cache, value */
    lua_settop(L, base + 1);        /* -> .., value */
    if (shape != NULL)
        shape->n = opened < INTUNED_JSON_SHAPE_MAX ? opened : INTUNED_JSON_SHAPE_MAX;
    return 1;

failed:
    if (shape != NULL)
        shape->n = 0;
    lua_settop(L, base);
    return 0;
}

static void read_opts(lua_State *L, int idx, intuned_json_opts *opts)
{
    lua_getfield(L, idx, "keep_nulls");
    if (!lua_isnil(L, -1)) {
        if (!lua_isboolean(L, -1))
            luaL_argerror(L, idx, "keep_nulls must be a boolean");
        opts->keep_object_nulls = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);

    lua_getfield(L, idx, "max_depth");
    if (!lua_isnil(L, -1)) {
        lua_Number n = lua_tonumber(L, -1);
        if (lua_type(L, -1) != LUA_TNUMBER || !(n >= 1 && n <= INT_MAX)
            || (lua_Number)(int)n != n)
            luaL_argerror(L, idx, "max_depth must be a positive integer");
        opts->max_depth = (int)n;
    }
    lua_pop(L, 1);
}

int intuned_json_lua_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    intuned_json_opts opts = {0, 0, NULL};
    intuned_json_err err;
    char msg[INTUNED_JSON_ERRLEN + 48];

    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        read_opts(L, 2, &opts);
    }
    if (intuned_json_decode(L, s, len, &opts, &err))
        return 1;
    /* Positions are 1-based for Lua users, like string.find. */
    (void)snprintf(msg, sizeof msg, "%s at byte %lu", err.msg,
                   (unsigned long)err.offset + 1);
    lua_pushnil(L);
    lua_pushstring(L, msg);
    lua_pushinteger(L, (lua_Integer)err.offset + 1);
    return 3;
}
