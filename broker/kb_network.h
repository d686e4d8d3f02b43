/* broker/kb_network.h -- Kafka listeners and client connections.
 *
 * A connection reads one frame (int32 size + request) at a time: once a whole
 * frame is buffered the connection is muted (no more reads) and the request
 * handed to the dispatcher; when the request is answered (or finished with
 * no answer, acks=0) the next buffered frame is taken before reading from the
 * socket again. So responses leave in request order and a slow consumer of
 * responses exerts backpressure on its own requests only (STYLE.md H9).
 *
 * Parking: a handler whose request only waits for others (a Produce with
 * acks=-1 waiting for the ISR) may park it with kb_req_park: the connection
 * then takes the next frames while it waits, up to KB_NET_MAX_PARKED parked
 * requests. Answers still leave in request order: one given before an
 * earlier request's is held (with its file segments) until that one's is
 * written. So a producer with several requests in flight has them appended
 * and replicated together instead of one round trip each.
 * Frames larger than socket.request.max.bytes, or negative sizes, close the
 * connection.
 *
 * Responses are written through kz_kmsg_encode_holes: records that refer to
 * log files become evbuffer file segments, sent with sendfile(2) on
 * plaintext sockets.
 * Locality: broker loop thread only. */
#ifndef KB_NETWORK_H
#define KB_NETWORK_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "kz_buf.h"
#include "kz_kmsg.h"

typedef struct kb_net kb_net;
typedef struct kb_conn kb_conn;

/* One request, from its frame to its answer. The frame, the decoded body and
 * the response struct all live until kb_req_reply/kb_req_finish. */
typedef struct kb_req {
    kb_conn *conn;          /* NULL once the connection closed: the answer is dropped */
    struct kb_req *qnext;   /* the connection's requests, oldest first */
    struct evbuffer *held;  /* an answer waiting for earlier ones */
    bool parked, answered;
    kz_kreq_hdr hdr;
    int hdr_ver;
    uint8_t *frame;         /* the request bytes after the size (owned) */
    size_t frame_len;
    kz_rd body;             /* cursor positioned after the header */
    kz_arena arena;         /* decoded request, response structs, scratch */
    int64_t recv_us;        /* when the frame was complete (monotonic) */
    char peer[64];          /* "host:port" of the client */
    const char *listener;   /* name of the listener it came in on ("PLAINTEXT") */
} kb_req;

/* Called with every complete frame. The callee owns @req until it calls
 * kb_req_reply or kb_req_finish (possibly later, from a timer or callback). */
typedef void kb_net_req_fn(void *ctx, kb_req *req);

typedef struct kb_net_cfg {
    int32_t max_request_bytes;  /* socket.request.max.bytes */
    int32_t send_buffer;        /* socket.send.buffer.bytes, -1 = OS default */
    int32_t recv_buffer;        /* socket.receive.buffer.bytes */
    int64_t idle_ms;            /* connections.max.idle.ms, 0 = never */
} kb_net_cfg;

kb_net *kb_net_new(struct event_base *base, const kb_net_cfg *cfg, kb_net_req_fn *fn, void *ctx);
/* Listens on @host:@port (empty host: all addresses) for listener @name.
 * Returns 0, or -errno with a message in @err. The port actually bound is
 * returned in @bound (useful with port 0). */
int kb_net_listen(kb_net *n, const char *name, const char *host, int port, int *bound,
                  char *err, size_t errlen);
/* Stops accepting and closes every connection (pending requests see conn = NULL). */
void kb_net_close_all(kb_net *n);
void kb_net_free(kb_net *n);
int kb_net_conn_count(const kb_net *n);

/* Encodes @resp with @schema at the request's version behind a response
 * header, queues it, and finishes the request. */
void kb_req_reply(kb_req *req, const kz_kmsg *schema, int16_t ver, const void *resp);
/* Requests parked at most per connection. */
#define KB_NET_MAX_PARKED 16

/* Lets the connection take further requests while @req waits for its
 * answer (see Parking above); no-op when the connection is gone or has
 * KB_NET_MAX_PARKED parked already. */
void kb_req_park(kb_req *req);

/* Finishes a request that gets no answer (Produce acks=0). */
void kb_req_finish(kb_req *req);
/* Finishes the request and closes its connection (malformed input). */
void kb_req_close(kb_req *req, const char *why);

#endif
