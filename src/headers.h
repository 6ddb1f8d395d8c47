/*
 * headers.h: what a response's header block becomes in its meta table:
 * retry_after and location at once (the client itself needs them), and
 * meta.headers (names lower-cased) built only when first read; and, for
 * blocks read outside libcurl, the status and framing.
 */
#ifndef INTUNED_HEADERS_H
#define INTUNED_HEADERS_H

#include <stddef.h>
#include <lua.h>

/* Sets retry_after and location in the table at index meta (absolute) and
 * arranges for meta.headers to be built from head[0, len) when read. */
void intuned_headers_meta(lua_State *L, const char *head, size_t len, int meta);

/* What an HTTP/1.x header block says about its answer's framing. */
typedef struct {
    int status;                 /* the status line's code */
    int keep;                   /* HTTP/1.1 and no "Connection: close" */
    int chunked;                /* Transfer-Encoding names chunked */
    double length;              /* Content-Length's leading digits; < 0: none */
    const char *type;           /* Content-Type's value (trimmed) in the */
    size_t type_len;            /* block, or NULL */
} intuned_head;

/* Reads head[0, len) (never past it) into *h; 0 when its status line is
 * not "HTTP/d.d ddd". The first of repeated framing headers counts. */
int intuned_headers_parse(const char *head, size_t len, intuned_head *h);

#endif /* INTUNED_HEADERS_H */
