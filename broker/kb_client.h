/* broker/kb_client.h -- one outbound Kafka connection on the libevent loop
 * (the controller's channel to a broker; later replica fetchers).
 *
 * Requests are queued with their schemas and a completion (fn, ctx); each is
 * encoded at once into a frame:
 *   int32 size | request header (v0/v1/v2 by kz_kreq_hdr_version) | body
 * and written when the connection is up and fewer than max_inflight requests
 * are unanswered. Responses come back in request order (NOTES.md 1): the
 * response header's correlation id must equal the oldest unanswered
 * request's, else the connection is dropped as out of sync. The body is
 * decoded with the response schema at the request's version and handed to
 * the completion, valid during the call only.
 *
 * Connection life:
 *
 *     IDLE --send/connect--> CONNECTING --connected--> UP
 *       ^                        |                      |
 *       |                     failed                dropped (EOF, error,
 *       |                        v                  bad frame, timeout)
 *       +--- (nothing queued) BACKOFF <-----------------+
 *                                 | timer: reconnect (delay doubles from
 *                                 v   backoff_ms up to backoff_max_ms)
 *                             CONNECTING
 *
 * When a connection drops, requests written but unanswered are either
 * re-sent in order on the next connection with new correlation ids (resend,
 * as Kafka's ControllerChannelManager retries until the broker answers), or
 * completed with KB_CLIENT_EDISCONNECTED together with every queued request.
 * A response frame larger than max_frame, or shorter than its header, drops
 * the connection. A request unanswered for request_timeout_ms drops it too.
 *
 * Locality: loop thread only. Completions run from the loop, never from
 * inside kb_client_send. A completion may send more requests, and may call
 * kb_client_free (the free is deferred until the completion returns).
 * kb_client_free completes every pending request with KB_CLIENT_ECLOSED. */
#ifndef KB_CLIENT_H
#define KB_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kz_kmsg.h"

struct event_base;
struct evdns_base;
typedef struct kb_client kb_client;

enum {
    KB_CLIENT_OK = 0,
    KB_CLIENT_EDISCONNECTED = -1,  /* connection lost and resend is off */
    KB_CLIENT_ECLOSED = -2,        /* kb_client_free while pending */
    KB_CLIENT_EDECODE = -3,        /* the response body did not decode */
    KB_CLIENT_ENOMEM = -4,
    KB_CLIENT_EINVAL = -5,         /* bad arguments (version out of the schema's range) */
};

typedef enum kb_client_state {
    KB_CLIENT_IDLE, KB_CLIENT_CONNECTING, KB_CLIENT_UP, KB_CLIENT_BACKOFF,
} kb_client_state;

typedef struct kb_client_cfg {
    const char *host;              /* numeric address, or a name (resolved with @dns if given) */
    int port;
    const char *client_id;         /* request header client id; NULL sends null */
    int32_t max_frame;             /* largest response accepted (bytes after the size) */
    int32_t backoff_ms;            /* first reconnect delay; 0 -> 50 */
    int32_t backoff_max_ms;        /* cap; 0 -> 1000 */
    int32_t request_timeout_ms;    /* 0: none */
    int32_t max_inflight;          /* written but unanswered at most; 0: unlimited */
    bool resend;                   /* re-send unanswered requests after a reconnect */
} kb_client_cfg;

/* @err is KB_CLIENT_OK with @resp the decoded response struct (of the schema
 * given at send; valid during the call), or a negative KB_CLIENT_E* with
 * @resp NULL. */
typedef void kb_client_done_fn(void *ctx, int err, const void *resp);

/* Connection state observer: called on every transition into UP and out of
 * it (to BACKOFF or IDLE). */
typedef void kb_client_state_fn(void *ctx, kb_client_state st);

/* @base (and @dns, may be NULL) are borrowed. Copies @cfg's strings. Does not
 * connect yet. Returns NULL when out of memory. */
kb_client *kb_client_new(struct event_base *base, struct evdns_base *dns, const kb_client_cfg *cfg);
void kb_client_set_state_cb(kb_client *c, kb_client_state_fn *fn, void *ctx);

/* Starts connecting now (otherwise the first send does). */
void kb_client_connect(kb_client *c);

/* Queues request @body of schema @req at version @ver; the response is
 * decoded with @resp. The body is encoded before the call returns (the
 * caller keeps ownership of @body). Returns KB_CLIENT_OK (then @done will run
 * exactly once), KB_CLIENT_EINVAL or KB_CLIENT_ENOMEM (then it will not). */
int kb_client_send(kb_client *c, const kz_kmsg *req, const kz_kmsg *resp, int16_t ver,
                   const void *body, kb_client_done_fn *done, void *ctx);

kb_client_state kb_client_get_state(const kb_client *c);
/* Requests whose completion has not run yet. */
size_t kb_client_pending(const kb_client *c);
/* Times the connection came UP (tests, metrics). */
uint64_t kb_client_connects(const kb_client *c);

/* Completes pending requests with KB_CLIENT_ECLOSED, closes, frees.
 * NULL-safe; deferred when called from a completion. */
void kb_client_free(kb_client *c);

#endif
