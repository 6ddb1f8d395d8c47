/*
 * json_number.c: JSON numbers into Lua numbers.
 *
 * Contract: json_push_number (json_internal.h) gets s at '-' or a digit,
 * checks the RFC 8259 grammar, pushes one number and sets d->next to the
 * byte after it, or fails at the first byte that breaks the grammar. It reads nothing
 * past d->end, and leaves what follows the number (a separator or garbage)
 * to the state machine.
 *
 * A literal without fraction or exponent is an integer when it fits
 * lua_Integer, so "-0" is integer 0 there, while "-0.0" keeps its sign.
 * Without integer support (5.1, 5.2, LuaJIT) every number is a double, and
 * "-0" is -0.0 as strtod gives. Every double is the correctly rounded value
 * of the literal: from the digits directly when that is exact, else from
 * strtod. Out-of-range magnitudes follow strtod: 1e400 becomes inf, 1e-400
 * becomes 0.
 */
#include <float.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>

#include "compat.h"
#include "json_internal.h"

/*
 * Where C's doubles are IEEE doubles evaluated in their own precision, a
 * literal of at most 2^53 significant value and a power of ten up to 22 is
 * one multiply or divide, correctly rounded; strtod (which must also copy
 * the text, below) is many times slower, and API answers are full of such
 * numbers.
 */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0 && !defined(INTUNED_NO_FAST_FLOATS)
#define FAST_FLOATS 1
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
 */
static lua_Number slow_number(json_decoder *d, const char *s, size_t n)
{
    char small[64], *b, *o;
    const char *dp = localeconv()->decimal_point;
    size_t dl = (dp && dp[0]) ? strlen(dp) : 0, i;

    if (dl == 0) {
        dp = ".";
        dl = 1;
    }
    b = (n + dl + 1 <= sizeof small) ? small : json_scratch(d, n + dl + 1);
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

/* What the grammar check learnt of a literal, for the conversion. */
typedef struct {
    uint64_t m;         /* the first 19 significant digits */
    long long e10;      /* the value is m * 10^e10 (while !many, !big_exp) */
    int neg, is_float;
    int many;           /* more than 19 significant digits */
    int big_exp;        /* an exponent too large to keep */
    const char *bad;    /* where the grammar broke, and why */
    const char *why;
} literal;

/* Digits of the integer part at p; p is at a digit, not at '0'. */
static const char *int_digits(literal *n, const char *p, const char *end, int *sig)
{
    do {
        if (*sig < 19) {
            n->m = n->m * 10 + (uint64_t)(*p - '0');
            (*sig)++;
        } else {
            n->many = 1;
        }
        p++;
    } while (p < end && JSON_IS_DIGIT(*p));
    return p;
}

/* Digits of the fraction at p (a digit). */
static const char *frac_digits(literal *n, const char *p, const char *end, int *sig)
{
    do {
        if (n->m == 0 && *p == '0') {
            n->e10--;           /* leading zeros only shift the exponent */
        } else if (*sig < 19) {
            n->m = n->m * 10 + (uint64_t)(*p - '0');
            (*sig)++;
            n->e10--;
        } else {
            n->many = 1;
        }
        p++;
    } while (p < end && JSON_IS_DIGIT(*p));
    return p;
}

/* The exponent's digits at p (a digit); eneg: it had a '-'. */
static const char *exp_digits(literal *n, const char *p, const char *end, int eneg)
{
    long long ex = 0;

    do {
        if (ex < 100000000)
            ex = ex * 10 + (*p - '0');
        else
            n->big_exp = 1;
        p++;
    } while (p < end && JSON_IS_DIGIT(*p));
    n->e10 += eneg ? -ex : ex;
    return p;
}

/* Fills in the failure of *n; returns NULL. */
static const char *broken(literal *n, const char *at, const char *why)
{
    n->bad = at;
    n->why = why;
    return NULL;
}

/* Checks the grammar from s, filling in *n: the byte after the literal, or
 * NULL. */
static const char *scan_literal(const char *s, const char *end, literal *n)
{
    const char *p = s;
    int sig = 0;

    n->neg = *p == '-';
    p += n->neg;
    if (p < end && *p == '0') {
        p++;
        if (p < end && JSON_IS_DIGIT(*p))
            return broken(n, p, "leading zeros not allowed");
    } else if (p < end && JSON_IS_DIGIT(*p)) {
        p = int_digits(n, p, end, &sig);
    } else {
        return broken(n, p, "invalid number");
    }
    if (p < end && *p == '.') {
        n->is_float = 1;
        p++;
        if (p >= end || !JSON_IS_DIGIT(*p))
            return broken(n, p, "invalid number");
        p = frac_digits(n, p, end, &sig);
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg = 0;
        n->is_float = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = (*p++ == '-');
        if (p >= end || !JSON_IS_DIGIT(*p))
            return broken(n, p, "invalid number");
        p = exp_digits(n, p, end, eneg);
    }
    return p;
}

/* The rare paths, out of the common ones' way. */
static NO_INLINE void fail_number(json_decoder *d, const char *at, const char *why)
{
    d->next = json_fail(d, at, "%s", why);
}

/* -> .., the number s[0, n) (validated) */
static NO_INLINE void push_slow(json_decoder *d, const char *s, size_t n)
{
    lua_pushnumber(d->L, slow_number(d, s, n));
}

/* Each path ends with the Lua call that pushes the number, so that the
 * common ones need no saved registers. */
void json_push_number(json_decoder *d, const char *s)
{
    literal n = {0, 0, 0, 0, 0, 0, NULL, NULL};
    const char *p = scan_literal(s, d->end, &n);

    if (p == NULL) {
        fail_number(d, n.bad, n.why);
        return;
    }
    d->next = p;
    if (!n.is_float && !n.many) {
#if COMPAT_HAS_INTEGERS
        if (!n.neg && n.m <= (uint64_t)LUA_MAXINTEGER) {
            lua_pushinteger(d->L, (lua_Integer)n.m);
            return;
        }
        if (n.neg && n.m <= (uint64_t)LUA_MAXINTEGER + 1) {
            lua_pushinteger(d->L, n.m == (uint64_t)LUA_MAXINTEGER + 1
                                  ? LUA_MININTEGER : -(lua_Integer)n.m);
            return;
        }
#endif
        /* Converting a uint64_t to double rounds correctly, like strtod. */
        lua_pushnumber(d->L, n.neg ? -(lua_Number)n.m : (lua_Number)n.m);
        return;
    }
#if FAST_FLOATS
    if (!n.many && !n.big_exp && n.m <= ((uint64_t)1 << 53)
        && n.e10 >= -22 && n.e10 <= 22) {
        double v = (double)n.m;
        v = n.e10 < 0 ? v / pow10_exact[-n.e10] : v * pow10_exact[n.e10];
        lua_pushnumber(d->L, (lua_Number)(n.neg ? -v : v));
        return;
    }
#endif
    push_slow(d, s, (size_t)(p - s));
}
