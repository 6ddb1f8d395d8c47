/*
 * json_size.c: the size each table is created with.
 *
 * Contract (json_internal.h): the state machine calls json_size_open as
 * each container opens and creates its table for the size it returns, and
 * json_size_close as the innermost open container closes, with its member
 * count. A size is only a hint: it never changes what is decoded, only how
 * often Lua grows a table. Growing a table rehashes every entry it holds,
 * so filling an object of 16 members that way costs more than parsing it.
 * Every guess is bounded (by the bytes left to read, or by a cap), so a
 * hostile document cannot make a decode allocate more than a bounded
 * multiple of its own size.
 *
 * Where a size comes from, first answer first:
 *   1. memory: a session remembers the member counts of its last answer,
 *      container by container in the order they opened; polling the same
 *      run gives the same shape again and again.
 *   2. scan: once per document, a quick scan counts the members of the
 *      next SIZE_WINDOW containers, in the order the parser opens them.
 *   3. key: a member's container is sized like the last one closed under
 *      the same key ("sink" and "proxy" inside each of many job runs).
 *   4. sibling: else like the last container of its kind closed at its
 *      depth (an array of similar objects).
 *
 * The working state for one decode is a userdata in the decoder's table
 * (json_internal.h), made once per Lua state: a decode never runs Lua code,
 * so no two decodes of a state use it at once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>

#include "json_internal.h"

#define SIZE_UNKNOWN (-1)

/* ---- 1. memory ------------------------------------------------------------ */

#define MEMORY_MAX 256          /* containers remembered, in opening order */
#define MEMORY_MAX_SIZE (1 << 16)

struct intuned_json_sizing {
    int n;                      /* entries of sizes from the last document */
    int sizes[MEMORY_MAX];      /* SIZE_UNKNOWN: it never closed */
};

intuned_json_sizing *intuned_json_sizing_new(void)
{
#ifndef INTUNED_NO_SIZE_MEMORY
    return (intuned_json_sizing *)calloc(1, sizeof(intuned_json_sizing));
#else
    return NULL;
#endif
}

void intuned_json_sizing_free(intuned_json_sizing *sizing)
{
    free(sizing);
}

/* ---- 2. scan ---------------------------------------------------------------- */

/*
 * The scan trusts nothing: its counts are only sizes, capped, and the parser
 * still validates every byte. It stops after SCAN_BUDGET bytes once its
 * window is full, and runs once per document: past its window the key and
 * sibling hints, learnt by then, cost less than scanning the rest.
 */
#define SIZE_WINDOW 512
#define SCAN_STACK 64
#define SCAN_BUDGET ((ptrdiff_t)64 * 1024)
#define SCAN_MAX_SIZE (1 << 16)

typedef struct {
    int sizes[SIZE_WINDOW];
    int filled;                 /* entries of sizes the scan set */
    int next;                   /* next entry a container takes */
    int scanned;
} size_window;

#ifndef INTUNED_NO_SIZE_SCAN
/* Byte classes outside strings: only structure matters to the scan. */
enum { SK_OTHER, SK_QUOTE, SK_OPEN, SK_CLOSE, SK_COMMA };

static const unsigned char scan_class[256] = {
    ['"'] = SK_QUOTE, ['{'] = SK_OPEN, ['['] = SK_OPEN,
    ['}'] = SK_CLOSE, [']'] = SK_CLOSE, [','] = SK_COMMA,
};

/* The scan's own stack of open containers: each one's window entry, or -1
 * for one past the window or too deep to follow. */
typedef struct {
    int entry[SCAN_STACK];
    int depth;
    int open;                   /* of them, those with an entry */
} scan_stack;

/* p is just past an opening bracket. */
static void scan_open(size_window *w, scan_stack *st, const char *p, const char *end)
{
    int idx = -1;

    if (w->filled < SIZE_WINDOW) {
        if (st->depth < SCAN_STACK) {
            while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
                p++;
            idx = w->filled;
            w->sizes[idx] = (p < end && (*p == '}' || *p == ']')) ? 0 : 1;
            st->open++;
        } else {
            w->sizes[w->filled] = SIZE_UNKNOWN;
        }
        w->filled++;
    }
    if (st->depth < SCAN_STACK)
        st->entry[st->depth] = idx;
    st->depth++;
}

/* p is at the '{' or '[' the parser is about to open. */
static void scan_sizes(size_window *w, const char *p, const char *end)
{
    scan_stack st;
    const char *budget_end = (end - p > SCAN_BUDGET) ? p + SCAN_BUDGET : end;
    int *top;

    st.depth = st.open = 0;
    w->filled = w->next = 0;
    for (;;) {
        while (p < end && scan_class[(unsigned char)*p] == SK_OTHER)
            p++;
        if (p >= end)
            break;
        switch (scan_class[(unsigned char)*p++]) {
        case SK_QUOTE:
            p = json_string_end(p, end);
            continue;
        case SK_OPEN:
            if (p > budget_end)
                break;
            scan_open(w, &st, p, end);
            continue;
        case SK_CLOSE:
            if (st.depth == 0)
                break;      /* closes a container opened before the scan */
            st.depth--;
            if (st.depth < SCAN_STACK && st.entry[st.depth] >= 0)
                st.open--;
            if ((w->filled == SIZE_WINDOW && st.open == 0) || p > budget_end)
                break;
            continue;
        default:            /* SK_COMMA */
            top = (st.depth > 0 && st.depth <= SCAN_STACK) ? &st.entry[st.depth - 1] : NULL;
            if (top != NULL && *top >= 0 && w->sizes[*top] < SCAN_MAX_SIZE)
                w->sizes[*top]++;
            continue;
        }
        break;
    }
    /* Containers the scan did not see close have no reliable size. */
    while (st.depth > 0) {
        st.depth--;
        if (st.depth < SCAN_STACK && st.entry[st.depth] >= 0)
            w->sizes[st.entry[st.depth]] = SIZE_UNKNOWN;
    }
}
#endif

/* ---- 3. key and 4. sibling hints ------------------------------------------ */

/*
 * Keys are interned strings, so the string's address names the key; a slot
 * holds one key. Only the last size is kept, so a wrong guess costs at most
 * what that container already cost, and HINT_MAX bounds a single guess.
 */
#define KEY_HINTS 64
#define KEY_SLOT(k) (((uintptr_t)(k) >> 4) & (KEY_HINTS - 1))
#define HINT_LEVELS 32          /* depths with sibling hints */
#define HINT_MAX 4096

typedef struct {
    const char *key;
    int size;
} key_hint;

/* ---- the working state and the interface --------------------------------- */

/* What is known of an open container (for the HINT_LEVELS outermost). */
typedef struct {
    const char *key;            /* the member's key it is the value of */
    int entry;                  /* its entry in the memory, or -1 */
    int is_array;
} open_container;

struct json_sizer {
    intuned_json_sizing *memory;
    int opened;                 /* containers opened so far */
    int depth;                  /* containers open now */
    open_container open[HINT_LEVELS];
    size_window window;
    key_hint keys[KEY_HINTS];
    int sibling[2][HINT_LEVELS]; /* [is_array][depth] */
};

json_sizer *json_size_begin(json_decoder *d, intuned_json_sizing *sizing)
{
    lua_State *L = d->L;
    json_sizer *z;

    lua_rawgeti(L, d->table_idx, JSON_TABLE_SIZER);
    z = (json_sizer *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (z == NULL) {
        z = (json_sizer *)lua_newuserdata(L, sizeof *z);
        lua_rawseti(L, d->table_idx, JSON_TABLE_SIZER);
    }
    z->memory = sizing;
    z->opened = z->depth = 0;
    z->window.filled = z->window.next = z->window.scanned = 0;
    memset(z->keys, 0, sizeof z->keys);
    memset(z->sibling, 0, sizeof z->sibling);
    return z;
}

/* 1: the remembered size of the container that opens now, or SIZE_UNKNOWN;
 * *entry is where its size is to be remembered, or -1. */
static int from_memory(json_sizer *z, ptrdiff_t room, int *entry)
{
    intuned_json_sizing *m = z->memory;
    int size = SIZE_UNKNOWN;

    *entry = -1;
    if (m == NULL || z->opened >= MEMORY_MAX)
        return SIZE_UNKNOWN;
    /* Once a scan ran, its window gives the sizes in order. Never more
     * members than the bytes left can hold. */
    if (z->window.filled == 0 && z->opened < m->n && m->sizes[z->opened] <= room)
        size = m->sizes[z->opened];
    m->sizes[z->opened] = SIZE_UNKNOWN; /* until it closes */
    if (z->depth < HINT_LEVELS)
        *entry = z->opened;
    return size;
}

/* 2: the next size of the scan's window, scanning the first time. */
static int from_scan(json_sizer *z, const char *p, const char *end)
{
    size_window *w = &z->window;

#ifndef INTUNED_NO_SIZE_SCAN
    if (w->next == w->filled && !w->scanned) {
        scan_sizes(w, p, end);
        w->scanned = 1;
    }
#else
    (void)p;
    (void)end;
#endif
    return w->next < w->filled ? w->sizes[w->next++] : SIZE_UNKNOWN;
}

/* 3 */
static int from_key(const json_sizer *z, const char *key, ptrdiff_t room)
{
#ifndef INTUNED_NO_KEY_HINTS
    const key_hint *h = &z->keys[KEY_SLOT(key)];
    if (key != NULL && h->key == key && h->size <= room)
        return h->size;
#else
    (void)z;
    (void)key;
    (void)room;
#endif
    return SIZE_UNKNOWN;
}

/* 4 */
static int from_sibling(const json_sizer *z, int is_array)
{
#ifndef INTUNED_NO_SIBLING_HINTS
    if (z->depth < HINT_LEVELS)
        return z->sibling[is_array][z->depth];
#else
    (void)z;
    (void)is_array;
#endif
    return 0;
}

int json_size_open(json_sizer *z, int is_array, const char *key,
                   const char *p, const char *end)
{
    ptrdiff_t room = (end - p) / 2 + 1; /* most members the rest can hold */
    int entry;
    int size = from_memory(z, room, &entry);

    z->opened++;
    if (size < 0)
        size = from_scan(z, p, end);
    if (size < 0)
        size = from_key(z, key, room);
    if (size < 0)
        size = from_sibling(z, is_array);
    if (z->depth < HINT_LEVELS) {
        open_container *o = &z->open[z->depth];
        o->key = key;
        o->entry = entry;
        o->is_array = is_array;
    }
    z->depth++;
    return size;
}

void json_size_close(json_sizer *z, lua_Integer n)
{
    const open_container *o;
    int hint = n < HINT_MAX ? (int)n : HINT_MAX;

    z->depth--;
    if (z->depth >= HINT_LEVELS)
        return;
    o = &z->open[z->depth];
    z->sibling[o->is_array][z->depth] = hint;
    if (o->key != NULL) {
        key_hint *h = &z->keys[KEY_SLOT(o->key)];
        h->key = o->key;
        h->size = hint;
    }
    if (o->entry >= 0)
        z->memory->sizes[o->entry] = n < MEMORY_MAX_SIZE ? (int)n : MEMORY_MAX_SIZE;
}

void json_size_end(json_sizer *z, int ok)
{
    if (z != NULL && z->memory != NULL)
        z->memory->n = !ok ? 0 : z->opened < MEMORY_MAX ? z->opened : MEMORY_MAX;
}
