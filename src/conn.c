/*
 * conn.c: the connection registry behind the stale-bytes guard (conn.h).
 *
 * The registry only learns of sockets through libcurl's open and close
 * socket callbacks, which run inside libcurl: nothing here touches Lua.
 * Entries are found by the local address the pre-request callback reports,
 * since libcurl 7.88 names the connection a transfer got no other way.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "conn.h"

#ifndef INET6_ADDRSTRLEN
#define INET6_ADDRSTRLEN 46
#endif

typedef struct {
    int fd;
    unsigned long id;
    int users;       /* transfers on it now: more than one only with HTTP/2 */
    int h2;          /* a transfer on it spoke HTTP/2 (or later) */
    int port;        /* local port, 0 until looked up */
    char ip[INET6_ADDRSTRLEN];
} entry;

struct intuned_conns {
    entry *entries;
    int n;
    int cap;
    unsigned long serial;
};

intuned_conns *intuned_conns_new(void)
{
    return calloc(1, sizeof(intuned_conns));
}

void intuned_conns_free(intuned_conns *c)
{
    if (c == NULL)
        return;
    free(c->entries);
    free(c);
}

/* Returns 0 when memory ran out. */
static int add(intuned_conns *c, int fd)
{
    entry *e;
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 4;
        entry *grown = realloc(c->entries, (size_t)cap * sizeof *grown);
        if (grown == NULL)
            return 0;
        c->entries = grown;
        c->cap = cap;
    }
    e = &c->entries[c->n++];
    memset(e, 0, sizeof *e);
    e->fd = fd;
    e->id = ++c->serial;
    return 1;
}

static entry *by_fd(intuned_conns *c, int fd)
{
    int i;
    for (i = 0; i < c->n; i++)
        if (c->entries[i].fd == fd)
            return &c->entries[i];
    return NULL;
}

static curl_socket_t on_open(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    intuned_conns *c = ud;
    int type = a->socktype;
    int fd;
#ifdef SOCK_CLOEXEC
    type |= SOCK_CLOEXEC;
#endif
    fd = socket(a->family, type, a->protocol);
    if (fd < 0 || purpose != CURLSOCKTYPE_IPCXN)
        return fd < 0 ? CURL_SOCKET_BAD : fd;
    /* An unregistered connection could not be checked: refuse it rather
     * than weaken the guard (this only happens when memory ran out). */
    if (!add(c, fd)) {
        close(fd);
        return CURL_SOCKET_BAD;
    }
    return fd;
}

static int on_close(void *ud, curl_socket_t fd)
{
    intuned_conns *c = ud;
    entry *e = by_fd(c, (int)fd);
    if (e != NULL)
        *e = c->entries[--c->n];
    return close(fd);
}

/*
 * Built with INTUNED_NO_STRAY_GUARD (only `make bench` does, to put the
 * guard's cost beside the client without it), the registry stays empty and
 * no connection is ever checked.
 */
CURLcode intuned_conns_attach(intuned_conns *c, CURL *curl)
{
#ifdef INTUNED_NO_STRAY_GUARD
    (void)c;
    (void)curl;
    return CURLE_OK;
#else
    CURLcode rc = curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, on_open);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, (void *)c);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_CLOSESOCKETFUNCTION, on_close);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_CLOSESOCKETDATA, (void *)c);
    return rc;
#endif
}

/* Fills in the entry's local address once; 0 when the socket has none. */
static int local_address(entry *e)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    const void *addr;
    if (e->port != 0)
        return 1;
    if (getsockname(e->fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        addr = &in->sin_addr;
        e->port = ntohs(in->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        addr = &in6->sin6_addr;
        e->port = ntohs(in6->sin6_port);
    } else {
        return 0;
    }
    if (inet_ntop(ss.ss_family, addr, e->ip, sizeof e->ip) == NULL)
        e->ip[0] = '\0';
    return e->port != 0;
}

static entry *by_address(intuned_conns *c, const char *ip, int port)
{
    int i;
    for (i = 0; i < c->n; i++) {
        entry *e = &c->entries[i];
        if (local_address(e) && e->port == port && (ip == NULL || strcmp(e->ip, ip) == 0))
            return e;
    }
    return NULL;
}

static int readable(int fd)
{
    struct pollfd p;
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    return poll(&p, 1, 0) > 0 && p.revents != 0;
}

int intuned_conns_acquire(intuned_conns *c, CURL *curl, const char *local_ip,
                          int local_port, intuned_conn_use *use)
{
    long made = 0;
    entry *e;
    use->fd = -1;
    if (c == NULL || (e = by_address(c, local_ip, local_port)) == NULL)
        return 0;
    /* A connection made for this very transfer has had no idle time. */
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &made);
    if (made == 0 && e->users == 0 && !e->h2 && readable(e->fd))
        return 1;
    e->users++;
    use->fd = e->fd;
    use->id = e->id;
    return 0;
}

void intuned_conns_release(intuned_conns *c, CURL *curl, intuned_conn_use *use)
{
    entry *e;
    if (c == NULL || use->fd < 0)
        return;
    e = by_fd(c, use->fd);
    use->fd = -1;
    if (e == NULL || e->id != use->id)
        return; /* closed meanwhile (its number may belong to a new socket) */
    if (e->users > 0)
        e->users--;
    {
        long version = 0;
        curl_easy_getinfo(curl, CURLINFO_HTTP_VERSION, &version);
        if (version >= CURL_HTTP_VERSION_2_0)
            e->h2 = 1;
    }
}
