/*
 * headers.h: what a response's header block becomes in its meta table:
 * retry_after and location at once (the client itself needs them), and
 * meta.headers (names lower-cased) built only when first read.
 */
#ifndef INTUNED_HEADERS_H
#define INTUNED_HEADERS_H

#include <stddef.h>
#include <lua.h>

/* Sets retry_after and location in the table at index meta (absolute) and
 * arranges for meta.headers to be built from head[0, len) when read. */
void intuned_headers_meta(lua_State *L, const char *head, size_t len, int meta);

#endif /* INTUNED_HEADERS_H */
