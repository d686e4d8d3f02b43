/* broker/kb_ctl_shutdown.c -- this broker's controlled shutdown, the side of
 * the stopping broker (Kafka 2.8's KafkaServer.controlledShutdown): before
 * anything is closed it asks the controller to move its leaderships away,
 * while the loop goes on serving (listeners open, fetchers running).
 *
 *   begin: "Starting controlled shutdown"; the first attempt from the loop
 *   attempt (max.retries in all):
 *     controller id (as kb_ctl last saw /controller) -> its inter-broker
 *     endpoint (the caller's locate, from the metadata cache)
 *       none known -> the attempt failed
 *     ControlledShutdown v3 {broker id, broker epoch} over a connection of
 *     its own (opened again when the controller changed or the last attempt
 *     broke), the attempt bounded by timeout_ms, connect included
 *       error 0 and nothing remaining -> "Controlled shutdown succeeded" -> done(true)
 *       else "Remaining partitions to move: ..." / "Error from controller: ..."
 *       connection lost, timed out      -> warning -> the attempt failed
 *   a failed attempt with attempts left waits retry.backoff.ms ("Retrying
 *   controlled shutdown (N retries remaining)"); after the last one:
 *   "Proceeding to do an unclean shutdown as all the controlled shutdown
 *   attempts failed" -> done(false).
 *   abort (a second signal): done(false) at once.
 *
 * The controller this broker hosts keeps working meanwhile: when it is the
 * controller, the request goes to its own listener, as in Kafka.
 * Locality: broker loop thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "kb_client.h"
#include "kb_ctl_int.h"
#include "kz_time.h"

#define KB_CS_COMP "kafka.server.KafkaServer"
#define cs_info(s, fmt, ...) kz_info(KB_CS_COMP, "[KafkaServer id=%d] " fmt, (s)->c->cfg.broker_id, ##__VA_ARGS__)
#define cs_warn(s, fmt, ...) kz_warn(KB_CS_COMP, "[KafkaServer id=%d] " fmt, (s)->c->cfg.broker_id, ##__VA_ARGS__)

typedef struct ctl_cshut {
    kb_ctl *c;
    kb_ctl_cs_cfg cfg;
    kb_ctl_cs_locate_fn *locate;
    kb_ctl_cs_done_fn *done;
    void *ctx;
    int left;                 /* attempts not started yet */
    kb_client *cli;           /* the connection to the controller ... */
    int32_t cli_id;           /* ... it reaches (broker id, host, port) */
    char host[256];
    int32_t port;
    bool broken;              /* the last attempt lost its connection: open a new one */
    bool waiting;             /* a request is out: the timer bounds it */
    int64_t sent_ms;
    struct event *timer;      /* backoff before the next attempt, or the bound of this one */
} ctl_cshut;

/* Kafka's name of an error a controller answers with, for the log ("error <n>" for others, in @buf). */
static const char *cs_err_name(int16_t e, char *buf, size_t len)
{
    switch (e) {
    case KB_CTL_E_NONE: return "NONE";
    case KB_CTL_E_BROKER_NOT_AVAILABLE: return "BROKER_NOT_AVAILABLE";
    case KB_CTL_E_NOT_CONTROLLER: return "NOT_CONTROLLER";
    case KB_CTL_E_STALE_BROKER_EPOCH: return "STALE_BROKER_EPOCH";
    case -1: return "UNKNOWN_SERVER_ERROR";
    default: snprintf(buf, len, "error %d", e); return buf;
    }
}

static void cs_drop_client(ctl_cshut *s)
{
    kb_client *cli = s->cli;
    s->cli = NULL;
    s->waiting = false;
    kb_client_free(cli); /* a pending request completes with ECLOSED, ignored */
}

/* Releases everything; no callback. */
static void cs_release(ctl_cshut *s)
{
    cs_drop_client(s);
    if (s->timer)
        event_free(s->timer);
    s->c->cs = NULL;
    free(s);
}

static void cs_finish(ctl_cshut *s, bool ok)
{
    kb_ctl_cs_done_fn *done = s->done;
    void *ctx = s->ctx;
    if (!ok)
        cs_warn(s, "Proceeding to do an unclean shutdown as all the controlled shutdown attempts failed");
    cs_release(s);
    done(ctx, ok);
}

static void cs_arm(ctl_cshut *s, int64_t ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    evtimer_add(s->timer, &tv);
}

/* The attempt did not succeed: back off and try again, or give up. */
static void cs_failed(ctl_cshut *s)
{
    if (s->left <= 0) {
        cs_finish(s, false);
        return;
    }
    cs_arm(s, s->cfg.backoff_ms > 0 ? s->cfg.backoff_ms : 0);
}

static void cs_on_resp(void *ctx, int err, const void *resp)
{
    if (err == KB_CLIENT_ECLOSED)
        return; /* our own kb_client_free: @ctx may be gone */
    ctl_cshut *s = ctx;
    s->waiting = false;
    evtimer_del(s->timer);
    if (err) {
        cs_warn(s, "Error during controlled shutdown, possibly because leader movement took longer than the "
                "configured controller.socket.timeout.ms and/or request.timeout.ms: %s",
                err == KB_CLIENT_EDISCONNECTED ? "connection to the controller failed" : "bad response");
        s->broken = true;
        cs_failed(s);
        return;
    }
    const kz_ControlledShutdownResponse *r = resp;
    int64_t took = kz_mono_ms() - s->sent_ms;
    if (r->error_code == 0 && r->remaining_partitions.n <= 0) {
        cs_info(s, "Controlled shutdown request returned successfully after %lldms", (long long)took);
        cs_info(s, "Controlled shutdown succeeded");
        cs_finish(s, true);
        return;
    }
    size_t cap = 32;
    for (int32_t i = 0; i < r->remaining_partitions.n; i++)
        cap += (size_t)(r->remaining_partitions.v[i].topic_name.len > 0 ? r->remaining_partitions.v[i].topic_name.len
                                                                        : 0) + 14;
    char *list = malloc(cap);
    if (list) {
        size_t off = 0;
        list[0] = '\0';
        for (int32_t i = 0; i < r->remaining_partitions.n && off < cap; i++) {
            const kz_ControlledShutdownResponseRemainingPartition *rp = &r->remaining_partitions.v[i];
            off += (size_t)snprintf(list + off, cap - off, "%s%.*s-%d", i ? "," : "",
                                    rp->topic_name.len > 0 ? (int)rp->topic_name.len : 0,
                                    rp->topic_name.s ? rp->topic_name.s : "", rp->partition_index);
        }
    }
    cs_info(s, "Remaining partitions to move: %s", list ? list : "?");
    char eb[32];
    cs_info(s, "Error from controller: %s", cs_err_name(r->error_code, eb, sizeof eb));
    free(list);
    cs_failed(s);
}

/* One attempt: find the controller, (re)connect, send. */
static void cs_attempt(ctl_cshut *s)
{
    s->left--;
    int32_t id = s->c->controller_id;
    char host[256];
    int32_t port = -1;
    if (id < 0) {
        cs_info(s, "No controller registered while processing controlled shutdown");
        cs_failed(s);
        return;
    }
    if (s->locate(s->ctx, id, host, sizeof host, &port) != 0 || port <= 0) {
        cs_info(s, "Broker registration for controller %d is not available in the metadata cache", id);
        cs_failed(s);
        return;
    }
    if (s->cli && (s->broken || s->cli_id != id || s->port != port || strcmp(s->host, host) != 0))
        cs_drop_client(s);
    if (!s->cli) {
        char cid[32];
        snprintf(cid, sizeof cid, "%d", s->c->cfg.broker_id);
        kb_client_cfg cc = { .host = host, .port = port, .client_id = cid,
                             .max_frame = s->c->cfg.max_frame_bytes > 0 ? s->c->cfg.max_frame_bytes : 100 << 20,
                             .backoff_ms = 100, .backoff_max_ms = 1000, .request_timeout_ms = s->cfg.timeout_ms,
                             .max_inflight = 1, .resend = false };
        s->cli = kb_client_new(s->c->base, NULL, &cc);
        if (!s->cli) {
            cs_warn(s, "Out of memory connecting to controller %d", id);
            cs_failed(s);
            return;
        }
        s->cli_id = id;
        s->port = port;
        snprintf(s->host, sizeof s->host, "%s", host);
        s->broken = false;
    }
    kz_ControlledShutdownRequest rq = { .broker_id = s->c->cfg.broker_id, .broker_epoch = s->cfg.broker_epoch };
    s->sent_ms = kz_mono_ms();
    if (kb_client_send(s->cli, &kz_kmsg_ControlledShutdownRequest, &kz_kmsg_ControlledShutdownResponse, 3, &rq,
                       cs_on_resp, s) != KB_CLIENT_OK) {
        cs_warn(s, "Cannot send the controlled shutdown request to controller %d", id);
        s->broken = true;
        cs_failed(s);
        return;
    }
    s->waiting = true;
    cs_arm(s, s->cfg.timeout_ms > 0 ? s->cfg.timeout_ms : 30000);
}

/* The timer: the backoff is over, or the attempt in flight took too long. */
static void cs_on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ctl_cshut *s = arg;
    if (s->waiting) {
        cs_warn(s, "Error during controlled shutdown, possibly because leader movement took longer than the "
                "configured controller.socket.timeout.ms and/or request.timeout.ms: no answer within %d ms",
                s->cfg.timeout_ms);
        s->broken = true;
        cs_drop_client(s);
        cs_failed(s);
        return;
    }
    if (s->left < s->cfg.max_retries) /* not the first attempt */
        cs_info(s, "Retrying controlled shutdown (%d retries remaining)", s->left);
    if (s->left <= 0) {
        cs_finish(s, false);
        return;
    }
    cs_attempt(s);
}

int kb_ctl_shutdown_begin(kb_ctl *c, const kb_ctl_cs_cfg *cfg, kb_ctl_cs_locate_fn *locate,
                          kb_ctl_cs_done_fn *done, void *ctx)
{
    if (c->cs)
        return -1;
    ctl_cshut *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->c = c;
    s->cfg = *cfg;
    s->locate = locate;
    s->done = done;
    s->ctx = ctx;
    s->left = cfg->max_retries;
    s->cli_id = -1;
    s->timer = evtimer_new(c->base, cs_on_timer, s);
    if (!s->timer) {
        free(s);
        return -1;
    }
    c->cs = s;
    cs_info(s, "Starting controlled shutdown");
    cs_arm(s, 0); /* the first attempt, from the loop */
    return 0;
}

bool kb_ctl_shutdown_running(const kb_ctl *c) { return c->cs != NULL; }

void kb_ctl_shutdown_abort(kb_ctl *c)
{
    ctl_cshut *s = c->cs;
    if (!s)
        return;
    kb_ctl_cs_done_fn *done = s->done;
    void *ctx = s->ctx;
    cs_warn(s, "Controlled shutdown interrupted: shutting down now");
    cs_release(s);
    done(ctx, false);
}

void ctl_shutdown_free(kb_ctl *c)
{
    if (c->cs)
        cs_release(c->cs);
}
