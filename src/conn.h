/*
 * conn.h: the guard against stale bytes on kept-alive connections.
 *
 * libcurl up to 7.x reuses an idle connection that has unread bytes waiting
 * (a stray response from a broken server or middlebox), and the next
 * request then reads those bytes as its answer. A connection registry,
 * filled by the open/close socket callbacks of every handle that shares a
 * connection cache, lets the pre-request callback look at the connection a
 * transfer is about to send on: an idle HTTP/1 connection that polls
 * readable is refused, libcurl drops it (an aborted transfer closes its
 * connection), and the transfer is started again on a fresh one.
 *
 * HTTP/2 connections are left alone: frames arrive on them at any time,
 * and they carry several transfers at once.
 */
#ifndef INTUNED_CONN_H
#define INTUNED_CONN_H

#include <curl/curl.h>

typedef struct intuned_conns intuned_conns;

/* What one transfer holds of the connection it sends on. */
typedef struct {
    int fd;           /* -1: none (not connected yet, or released) */
    unsigned long id; /* the registry entry's serial, against fd reuse */
} intuned_conn_use;

/* A registry for one connection cache (a session's handle or a batch's
 * multi handle). NULL when memory ran out. */
intuned_conns *intuned_conns_new(void);
/* Frees the registry; call it after every handle and multi handle whose
 * connections it tracks has been cleaned up (they close their sockets
 * through it). NULL is ignored. */
void intuned_conns_free(intuned_conns *c);
/* Creates the handle's sockets through the registry. */
CURLcode intuned_conns_attach(intuned_conns *c, CURL *curl);

/*
 * Called from the pre-request callback with the connection's local address.
 * Returns 1 when the transfer must not send: the connection was reused,
 * speaks HTTP/1 and has bytes waiting. Otherwise 0, and *use records the
 * connection until intuned_conns_release.
 */
int intuned_conns_acquire(intuned_conns *c, CURL *curl, const char *local_ip,
                          int local_port, intuned_conn_use *use);
/* After the transfer ended (curl is the handle that ran it). */
void intuned_conns_release(intuned_conns *c, CURL *curl, intuned_conn_use *use);

#endif /* INTUNED_CONN_H */
