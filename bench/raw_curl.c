/*
 * raw_curl.c: the limit the benchmark compares against. One libcurl easy
 * handle reused for every request, the same x-api-key and Accept headers as
 * intuned, the body appended to one reused buffer, no decoding and no Lua.
 *
 * usage: raw_curl URL API_KEY COUNT [CA_FILE [HEADER_LINE...]]
 * Extra header lines (e.g. the User-Agent and Accept-Encoding lines intuned
 * sends) are added after the two above; CA_FILE may be "" over HTTP.
 * Makes one warm-up request (connect, TLS handshake), then COUNT timed
 * requests on the kept-alive connection, and prints
 *   "<requests per second> <body bytes of the last response> <new connections>"
 * Exits non-zero when any response is not a 200.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} buffer;

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    buffer *b = ud;
    size_t n = size * nmemb;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 16384;
        char *grown;
        while (cap - b->len < n)
            cap *= 2;
        grown = realloc(b->data, cap);
        if (grown == NULL)
            return 0;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return n;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fetch(CURL *c, buffer *body)
{
    long status = 0;
    CURLcode rc;
    body->len = 0;
    rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        fprintf(stderr, "raw_curl: %s\n", curl_easy_strerror(rc));
        return 0;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        fprintf(stderr, "raw_curl: status %ld\n", status);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    struct curl_slist *headers = NULL;
    buffer body = {NULL, 0, 0};
    char key_line[512];
    long i, count, connects = 0;
    int arg;
    double t0, t1;
    CURL *c;
    int ok = 1;

    if (argc < 4) {
        fprintf(stderr, "usage: raw_curl URL API_KEY COUNT [CA_FILE]\n");
        return 2;
    }
    count = strtol(argv[3], NULL, 10);
    snprintf(key_line, sizeof key_line, "x-api-key: %s", argv[2]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    c = curl_easy_init();
    headers = curl_slist_append(headers, key_line);
    headers = curl_slist_append(headers, "Accept: application/json");
    for (arg = 5; arg < argc && headers != NULL; arg++)
        headers = curl_slist_append(headers, argv[arg]);
    if (c == NULL || headers == NULL) {
        fprintf(stderr, "raw_curl: out of memory\n");
        return 1;
    }
    curl_easy_setopt(c, CURLOPT_URL, argv[1]);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, (void *)&body);
    if (argc > 4 && argv[4][0] != '\0')
        curl_easy_setopt(c, CURLOPT_CAINFO, argv[4]);

    ok = fetch(c, &body);
    t0 = now();
    for (i = 0; ok && i < count; i++)
        ok = fetch(c, &body);
    t1 = now();
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
    if (ok)
        printf("%.1f %lu %ld\n", t1 > t0 ? (double)count / (t1 - t0) : 0.0,
               (unsigned long)body.len, connects);

    free(body.data);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    curl_global_cleanup();
    return ok ? 0 : 1;
}
