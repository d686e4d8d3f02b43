/* coordinator/zkd_qcnx.c -- QuorumPacket framing over a bufferevent (see
 * zkd_qcnx.h).
 *
 * The reader never copies a packet: it linearises exactly the bytes of the
 * next packet (evbuffer_pullup) once they are all there, hands them out and
 * drains them. Sizing a packet needs its fields in order: 16 bytes of
 * header, the data length, then the auth vector's count and each Id's two
 * strings; each step waits for the bytes it needs.
 * Locality: loop thread. */
#include "zkd_qcnx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kz_wire.h"

#define ZKD_QCNX_MAX_AUTH 64

struct zkd_qcnx {
    struct bufferevent *bev;
    zkd_qcnx_cb cb;
    size_t max_packet;
    bool connected;
    bool raw;
    bool closed;
    char peer[64];
};

static void zkd_qcnx_close(zkd_qcnx *q, const char *why)
{
    if (q->closed)
        return;
    q->closed = true;
    bufferevent_disable(q->bev, EV_READ | EV_WRITE);
    if (q->cb.on_close)
        q->cb.on_close(q->cb.ctx, q, why);
}

/* Size of the packet at the head of @in: > 0 complete size, 0 need more,
 * -1 malformed. */
static long zkd_qcnx_size(zkd_qcnx *q, struct evbuffer *in)
{
    size_t have = evbuffer_get_length(in);
    if (have < 20)
        return 0;
    uint8_t *h = evbuffer_pullup(in, 20);
    int32_t dlen = (int32_t)kz_load_be32(h + 12);
    if (dlen < -1 || (size_t)(dlen < 0 ? 0 : dlen) > q->max_packet)
        return -1;
    size_t need = 16 + (size_t)(dlen < 0 ? 0 : dlen) + 4;
    if (have < need)
        return 0;
    uint8_t *p = evbuffer_pullup(in, (ssize_t)need);
    int32_t nauth = (int32_t)kz_load_be32(p + need - 4);
    if (nauth < -1 || nauth > ZKD_QCNX_MAX_AUTH)
        return -1;
    for (int32_t i = 0; i < nauth; i++) {
        for (int k = 0; k < 2; k++) { /* scheme, id */
            if (have < need + 4)
                return 0;
            p = evbuffer_pullup(in, (ssize_t)(need + 4));
            int32_t sl = (int32_t)kz_load_be32(p + need);
            if (sl < -1 || sl > 4096)
                return -1;
            need += 4 + (size_t)(sl < 0 ? 0 : sl);
            if (have < need)
                return 0;
        }
    }
    return (long)need;
}

static void zkd_qcnx_read_cb(struct bufferevent *bev, void *arg)
{
    zkd_qcnx *q = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (!q->closed) {
        size_t have = evbuffer_get_length(in);
        if (have == 0)
            return;
        if (q->raw) {
            uint8_t *p = evbuffer_pullup(in, -1);
            long used = q->cb.on_raw ? q->cb.on_raw(q->cb.ctx, q, p, have) : -1;
            if (used < 0) {
                zkd_qcnx_close(q, "malformed snapshot stream");
                return;
            }
            if (q->closed)
                return;
            evbuffer_drain(in, (size_t)used);
            if (q->raw)
                return; /* waits for more */
            continue;
        }
        long n = zkd_qcnx_size(q, in);
        if (n < 0) {
            zkd_qcnx_close(q, "malformed quorum packet");
            return;
        }
        if (n == 0)
            return;
        uint8_t *p = evbuffer_pullup(in, n);
        int32_t dlen = (int32_t)kz_load_be32(p + 12);
        size_t dl = dlen < 0 ? 0 : (size_t)dlen;
        zkd_qpkt pk = {
            (int32_t)kz_load_be32(p), (int64_t)kz_load_be64(p + 4), p + 16, dl, dlen < 0,
            p + 16 + dl, (size_t)n - 16 - dl,
        };
        q->cb.on_packet(q->cb.ctx, q, &pk);
        if (q->closed)
            return;
        evbuffer_drain(in, (size_t)n);
    }
}

static void zkd_qcnx_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    zkd_qcnx *q = arg;
    if (what & BEV_EVENT_CONNECTED) {
        q->connected = true;
        int one = 1;
        setsockopt(bufferevent_getfd(q->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT)
        zkd_qcnx_close(q, "read timeout");
    else if (what & BEV_EVENT_EOF)
        zkd_qcnx_close(q, "connection closed by peer");
    else if (what & BEV_EVENT_ERROR)
        zkd_qcnx_close(q, strerror(EVUTIL_SOCKET_ERROR()));
}

static zkd_qcnx *zkd_qcnx_alloc(struct event_base *base, int fd, const zkd_qcnx_cb *cb, size_t max_packet)
{
    zkd_qcnx *q = calloc(1, sizeof *q);
    if (!q) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    q->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!q->bev) {
        if (fd >= 0)
            close(fd);
        free(q);
        return NULL;
    }
    q->cb = *cb;
    q->max_packet = max_packet;
    bufferevent_setcb(q->bev, zkd_qcnx_read_cb, NULL, zkd_qcnx_event_cb, q);
    bufferevent_enable(q->bev, EV_READ | EV_WRITE);
    return q;
}

zkd_qcnx *zkd_qcnx_new(struct event_base *base, int fd, const zkd_qcnx_cb *cb, size_t max_packet)
{
    evutil_make_socket_nonblocking(fd);
    zkd_qcnx *q = zkd_qcnx_alloc(base, fd, cb, max_packet);
    if (!q)
        return NULL;
    q->connected = true;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char ip[48] = "?";
    int port = 0;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
            port = ntohs(in->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
            port = ntohs(in6->sin6_port);
        }
    }
    snprintf(q->peer, sizeof q->peer, "/%s:%d", ip, port);
    return q;
}

zkd_qcnx *zkd_qcnx_connect(struct event_base *base, const char *host, int port, const zkd_qcnx_cb *cb,
                           size_t max_packet)
{
    zkd_qcnx *q = zkd_qcnx_alloc(base, -1, cb, max_packet);
    if (!q)
        return NULL;
    snprintf(q->peer, sizeof q->peer, "/%s:%d", host, port);
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    char spec[300];
    snprintf(spec, sizeof spec, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sl) != 0 ||
        bufferevent_socket_connect(q->bev, (struct sockaddr *)&ss, sl) != 0) {
        bufferevent_free(q->bev);
        free(q);
        return NULL;
    }
    return q;
}

bool zkd_qcnx_connected(const zkd_qcnx *q) { return q->connected; }

void zkd_qcnx_set_timeout(zkd_qcnx *q, int64_t ms)
{
    if (ms <= 0) {
        bufferevent_set_timeouts(q->bev, NULL, NULL);
        return;
    }
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
    bufferevent_set_timeouts(q->bev, &tv, NULL);
}

void zkd_qcnx_set_raw(zkd_qcnx *q, bool raw) { q->raw = raw; }

void zkd_qcnx_send_auth(zkd_qcnx *q, int32_t type, int64_t zxid, const void *data, size_t len, const void *auth,
                        size_t auth_len)
{
    if (q->closed)
        return;
    uint8_t h[16];
    kz_store_be32(h, (uint32_t)type);
    kz_store_be64(h + 4, (uint64_t)zxid);
    kz_store_be32(h + 12, data ? (uint32_t)len : 0xffffffffu);
    struct evbuffer *out = bufferevent_get_output(q->bev);
    evbuffer_add(out, h, 16);
    if (data && len)
        evbuffer_add(out, data, len);
    if (auth && auth_len) {
        evbuffer_add(out, auth, auth_len);
    } else {
        uint8_t none[4] = { 0, 0, 0, 0 };
        evbuffer_add(out, none, 4);
    }
}

void zkd_qcnx_send(zkd_qcnx *q, int32_t type, int64_t zxid, const void *data, size_t len)
{
    static const uint8_t empty[1];
    zkd_qcnx_send_auth(q, type, zxid, data ? data : empty, data ? len : 0, NULL, 0);
}

void zkd_qcnx_send_null(zkd_qcnx *q, int32_t type, int64_t zxid)
{
    zkd_qcnx_send_auth(q, type, zxid, NULL, 0, NULL, 0);
}

void zkd_qcnx_write_raw(zkd_qcnx *q, const void *p, size_t len)
{
    if (!q->closed && len)
        evbuffer_add(bufferevent_get_output(q->bev), p, len);
}

size_t zkd_qcnx_pending(const zkd_qcnx *q) { return evbuffer_get_length(bufferevent_get_output(q->bev)); }

const char *zkd_qcnx_peer(const zkd_qcnx *q) { return q->peer; }

void zkd_qcnx_free(zkd_qcnx *q)
{
    if (!q)
        return;
    bufferevent_free(q->bev);
    free(q);
}
