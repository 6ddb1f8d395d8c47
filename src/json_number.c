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
 * of the literal: strtod's, or for an integer literal of up to 19 digits
 * the conversion of its value. Out-of-range magnitudes follow strtod: 1e400
 * becomes inf, 1e-400 becomes 0.
 */
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>

#include "compat.h"
#include "json_internal.h"

/*
 * strtod honours LC_NUMERIC, which Lua code can change with os.setlocale, so
 * the validated text is copied with '.' replaced by the locale's separator.
 */
static lua_Number to_double(json_decoder *d, const char *s, size_t n)
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
    uint64_t m;         /* the integer part's first 19 digits */
    int neg, is_float;
    int many;           /* the integer part has more than 19 digits */
    const char *bad;    /* where the grammar broke, and why */
    const char *why;
} literal;

/* Digits of the integer part at p; p is at a digit, not at '0'. */
static const char *int_digits(literal *n, const char *p, const char *end)
{
    int sig = 0;

    do {
        if (sig < 19) {
            n->m = n->m * 10 + (uint64_t)(*p - '0');
            sig++;
        } else {
            n->many = 1;
        }
        p++;
    } while (p < end && JSON_IS_DIGIT(*p));
    return p;
}

/* The digits at p (a digit) of a fraction or an exponent. */
static const char *digits(const char *p, const char *end)
{
    do
        p++;
    while (p < end && JSON_IS_DIGIT(*p));
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

    n->neg = *p == '-';
    p += n->neg;
    if (p < end && *p == '0') {
        p++;
        if (p < end && JSON_IS_DIGIT(*p))
            return broken(n, p, "leading zeros not allowed");
    } else if (p < end && JSON_IS_DIGIT(*p)) {
        p = int_digits(n, p, end);
    } else {
        return broken(n, p, "invalid number");
    }
    if (p < end && *p == '.') {
        n->is_float = 1;
        p++;
        if (p >= end || !JSON_IS_DIGIT(*p))
            return broken(n, p, "invalid number");
        p = digits(p, end);
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        n->is_float = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !JSON_IS_DIGIT(*p))
            return broken(n, p, "invalid number");
        p = digits(p, end);
    }
    return p;
}

/* -> .., number; d->next: the byte after it, or NULL */
void json_push_number(json_decoder *d, const char *s)
{
    literal n = {0, 0, 0, 0, NULL, NULL};
    const char *p = scan_literal(s, d->end, &n);

    d->next = p;
    if (p == NULL) {
        json_fail(d, n.bad, "%s", n.why);
        return;
    }
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
    lua_pushnumber(d->L, to_double(d, s, (size_t)(p - s)));
}
