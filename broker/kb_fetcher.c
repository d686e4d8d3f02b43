/* broker/kb_fetcher.c -- follower replica fetchers (see kb_fetcher.h). */
#include "kb_fetcher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "kb_apis.h"
#include "kb_client.h"
#include "kb_log.h"
#include "kb_rm_int.h"
#include "kb_server.h"
#include "kz_batch.h"
#include "kz_kmsgs.h"
#include "kz_log.h"
#include "kz_time.h"
#include "kz_vec.h"

#define KB_RF_LOG "kafka.server.ReplicaFetcherThread"
#define KB_RFM_LOG "kafka.server.ReplicaFetcherManager"

/* Versions a 2.8 follower sends (inter.broker.protocol.version 2.8). */
#define KB_RF_FETCH_VERSION 12
#define KB_RF_EPOCH_VERSION 3
#define KB_RF_LIST_VERSION 5

typedef enum fp_state { FP_TRUNCATE, FP_FETCH, FP_RESET_LATEST, FP_RESET_EARLIEST } fp_state;

/* One partition of a fetcher. */
typedef struct kb_fpart {
    kb_part *p;
    fp_state state;
    bool in_req;        /* part of the request in flight; re-adding clears it */
    int64_t ready_ms;   /* paused until (kz_mono_ms); 0: ready */
} kb_fpart;

typedef enum rq_kind { RQ_FETCH, RQ_EPOCH, RQ_LIST } rq_kind;

typedef struct kb_fetcher kb_fetcher;
struct kb_fetcher {
    kb_fetchers *mgr;
    int32_t leader, id;
    char *host;
    int32_t port;
    kb_client *cli;
    kb_fpart *parts;
    int32_t n;
    size_t cap;
    int32_t rr;          /* where the next fetch request starts: no partition starves */
    bool inflight;
    rq_kind kind;        /* of the request in flight */
    struct event *wake;  /* pump on a later turn, or when the first pause ends */
    kb_fetcher *next;
};

struct kb_fetchers {
    kb_server *s;
    kb_rm *rm;
    kb_fetcher *list;
    bool closing;
    kz_arena arena;      /* requests are built here and encoded at once */
};

static void fetcher_pump(kb_fetcher *f);

/* ---- lifecycle ---- */

kb_fetchers *kb_fetchers_new(kb_server *s, kb_rm *rm)
{
    kb_fetchers *m = calloc(1, sizeof *m);
    if (m) {
        m->s = s;
        m->rm = rm;
    }
    return m;
}

static void fetcher_free(kb_fetcher *f)
{
    kb_fetchers *m = f->mgr;
    for (kb_fetcher **pp = &m->list; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    for (int32_t i = 0; i < f->n; i++)
        f->parts[i].p->fetcher = NULL;
    kz_info(KB_RF_LOG, "[ReplicaFetcher replicaId=%d, leaderId=%d, fetcherId=%d] Shutdown completed",
            m->s->broker_id, f->leader, f->id);
    kb_client_free(f->cli); /* deferred when inside its completion */
    if (f->wake)
        event_free(f->wake);
    free(f->parts);
    free(f->host);
    free(f);
}

void kb_fetchers_free(kb_fetchers *m)
{
    if (!m)
        return;
    m->closing = true; /* completions run by kb_client_free return at once */
    while (m->list)
        fetcher_free(m->list);
    kz_arena_reset(&m->arena);
    free(m);
}

int kb_fetchers_count(const kb_fetchers *m, int *nconn)
{
    int parts = 0, conns = 0;
    for (const kb_fetcher *f = m->list; f; f = f->next) {
        parts += f->n;
        conns++;
    }
    if (nconn)
        *nconn = conns;
    return parts;
}

static void fetcher_on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    fetcher_pump(arg);
}

static void fetcher_kick(kb_fetcher *f)
{
    event_active(f->wake, EV_TIMEOUT, 0);
}

/* Kafka's fetcher id: abs(31 * topic.hashCode + partition) % num.replica.fetchers. */
static int32_t fetcher_id_for(const kb_part *p, int32_t nfetchers)
{
    if (nfetchers <= 1)
        return 0;
    int32_t h = 0;
    for (const unsigned char *c = (const unsigned char *)p->topic; *c; c++)
        h = (int32_t)(31u * (uint32_t)h + *c); /* String.hashCode of ASCII names */
    int32_t v = (int32_t)(31u * (uint32_t)h + (uint32_t)p->index);
    int64_t a = v < 0 ? -(int64_t)v : v;
    return (int32_t)(a % nfetchers);
}

static kb_fetcher *fetcher_get(kb_fetchers *m, int32_t leader, int32_t id, const char *host, int32_t port)
{
    for (kb_fetcher *f = m->list; f; f = f->next)
        if (f->leader == leader && f->id == id && f->port == port && strcmp(f->host, host) == 0)
            return f;
    const kb_config *cfg = m->s->cfg;
    kb_fetcher *f = calloc(1, sizeof *f);
    if (!f || !(f->host = strdup(host)))
        goto fail;
    f->mgr = m;
    f->leader = leader;
    f->id = id;
    f->port = port;
    char cid[64];
    snprintf(cid, sizeof cid, "broker-%d-fetcher-%d", m->s->broker_id, id); /* Kafka's client id */
    kb_client_cfg cc = {
        .host = host, .port = port, .client_id = cid, .max_frame = 128 * 1024 * 1024,
        .backoff_ms = 100, .backoff_max_ms = 1000,
        .request_timeout_ms = cfg->replica_socket_timeout_ms + cfg->replica_fetch_wait_max_ms,
        .max_inflight = 1, .resend = false,
    };
    if (!(f->cli = kb_client_new(m->s->base, NULL, &cc)) ||
        !(f->wake = event_new(m->s->base, -1, 0, fetcher_on_wake, f)))
        goto fail;
    f->next = m->list;
    m->list = f;
    kz_info(KB_RF_LOG, "[ReplicaFetcher replicaId=%d, leaderId=%d, fetcherId=%d] Starting", m->s->broker_id,
            leader, id);
    return f;
fail:
    if (f) {
        kb_client_free(f->cli);
        free(f->host);
        free(f);
    }
    return NULL;
}

static kb_fpart *fetcher_part(kb_fetcher *f, const kb_part *p)
{
    for (int32_t i = 0; i < f->n; i++)
        if (f->parts[i].p == p)
            return &f->parts[i];
    return NULL;
}

void kb_fetchers_remove(kb_fetchers *m, kb_part *p)
{
    kb_fetcher *f = p->fetcher;
    if (!f)
        return;
    kb_fpart *fp = fetcher_part(f, p);
    if (fp)
        *fp = f->parts[--f->n];
    p->fetcher = NULL;
    kz_info(KB_RFM_LOG, "[ReplicaFetcherManager on broker %d] Removed fetcher for partitions %s-%d",
            m->s->broker_id, p->topic, p->index);
    if (f->n == 0 && !f->inflight)
        fetcher_free(f);
}

int kb_fetchers_add(kb_fetchers *m, kb_part *p, int32_t leader, const char *host, int32_t port)
{
    kb_fetcher *f = fetcher_get(m, leader, fetcher_id_for(p, m->s->cfg->num_replica_fetchers), host, port);
    if (!f)
        return KZ_ENOMEM;
    if (p->fetcher && p->fetcher != f)
        kb_fetchers_remove(m, p);
    kb_fpart *fp = fetcher_part(f, p);
    if (!fp) {
        if (KZ_VEC_RESERVE(f->parts, f->cap, (size_t)f->n + 1, 16) != 0) {
            if (f->n == 0 && !f->inflight)
                fetcher_free(f);
            return KZ_ENOMEM;
        }
        fp = &f->parts[f->n++];
    }
    *fp = (kb_fpart){ .p = p, .state = FP_TRUNCATE };
    p->fetcher = f;
    kz_info(KB_RFM_LOG, "[ReplicaFetcherManager on broker %d] Added fetcher to broker %d for partitions "
            "%s-%d (leader epoch %d, log end offset %lld)", m->s->broker_id, leader, p->topic, p->index,
            p->leader_epoch, (long long)kb_part_leo(p));
    fetcher_kick(f); /* on a later turn: a LeaderAndIsr adds all its partitions first */
    return 0;
}

/* ---- local effects ---- */

static void fp_pause(kb_fetcher *f, kb_fpart *fp)
{
    fp->ready_ms = kz_mono_ms() + f->mgr->s->cfg->replica_fetch_backoff_ms;
}

/* Truncates the follower's log to @offset (no-op at or above its LEO). */
static void fp_truncate(kb_fetcher *f, kb_fpart *fp, int64_t offset, const char *why)
{
    kb_part *p = fp->p;
    int64_t leo = kb_part_leo(p);
    if (offset >= leo)
        return;
    kz_info(KB_RF_LOG, "[ReplicaFetcher replicaId=%d, leaderId=%d, fetcherId=%d] Truncating partition %s-%d "
            "with log end offset %lld to offset %lld (%s)", f->mgr->s->broker_id, f->leader, f->id, p->topic,
            p->index, (long long)leo, (long long)offset, why);
    int rc = kb_log_truncate_to(p->log, offset);
    if (rc != 0) {
        kz_error(KB_RF_LOG, "Error truncating %s-%d to %lld: %s", p->topic, p->index, (long long)offset,
                 kb_log_strerror(rc));
        fp_pause(f, fp);
        return;
    }
    if (p->hw > kb_part_leo(p)) {
        p->hw = kb_part_leo(p);
        kb_log_set_high_watermark(p->log, p->hw);
    }
}

/* ---- requests ---- */

/* Ready partitions in @st, starting at the rotation point; fills @out (room for f->n). */
static int32_t fetcher_ready(kb_fetcher *f, fp_state st, int64_t now, int32_t *out)
{
    int32_t k = 0;
    for (int32_t j = 0; j < f->n; j++) {
        int32_t i = (f->rr + j) % f->n;
        kb_fpart *fp = &f->parts[i];
        if (fp->state == st && fp->ready_ms <= now)
            out[k++] = i;
    }
    return k;
}

/* Groups partitions @idx[0..n) by topic: *@ntopics runs, each listing its positions in
 * @order (room for n). Returns the run starts (n + 1 entries, arena) or NULL. */
static int32_t *group_by_topic(kb_fetcher *f, kz_arena *a, const int32_t *idx, int32_t n, int32_t *order,
                               int32_t *ntopics)
{
    int32_t *starts = kz_arena_alloc(a, (size_t)(n + 1) * sizeof *starts);
    bool *used = kz_arena_alloc(a, (size_t)(n ? n : 1) * sizeof *used);
    if (!starts || !used)
        return NULL;
    memset(used, 0, (size_t)n * sizeof *used);
    int32_t k = 0, t = 0;
    for (int32_t i = 0; i < n; i++) {
        if (used[i])
            continue;
        starts[t++] = k;
        const char *name = f->parts[idx[i]].p->topic;
        for (int32_t j = i; j < n; j++)
            if (!used[j] && strcmp(f->parts[idx[j]].p->topic, name) == 0) {
                used[j] = true;
                order[k++] = idx[j];
            }
    }
    starts[t] = k;
    *ntopics = t;
    return starts;
}

static void fetcher_on_response(void *ctx, int err, const void *resp);

static bool fetcher_send_fetch(kb_fetcher *f, const int32_t *idx, int32_t n)
{
    kb_fetchers *m = f->mgr;
    const kb_config *cfg = m->s->cfg;
    kz_arena *a = &m->arena;
    int32_t *order = kz_arena_alloc(a, (size_t)n * sizeof *order), nt;
    int32_t *starts = order ? group_by_topic(f, a, idx, n, order, &nt) : NULL;
    kz_FetchRequest *rq = kz_arena_alloc(a, sizeof *rq);
    kz_FetchTopic *topics = starts ? kz_arena_alloc(a, (size_t)nt * sizeof *topics) : NULL;
    kz_FetchPartition *parts = kz_arena_alloc(a, (size_t)n * sizeof *parts);
    if (!rq || !topics || !parts)
        return false;
    memset(rq, 0, sizeof *rq);
    rq->cluster_id = KZ_STR_NULL;
    rq->replica_id = m->s->broker_id;
    rq->max_wait_ms = cfg->replica_fetch_wait_max_ms;
    rq->min_bytes = cfg->replica_fetch_min_bytes;
    rq->max_bytes = cfg->replica_fetch_response_max_bytes;
    rq->isolation_level = 0;
    rq->session_id = 0;
    rq->session_epoch = -1; /* no fetch session: full fetches */
    rq->rack_id = (kz_str){ "", 0 };
    rq->topics.n = nt;
    rq->topics.v = topics;
    for (int32_t t = 0; t < nt; t++) {
        topics[t].partitions.v = &parts[starts[t]];
        topics[t].partitions.n = starts[t + 1] - starts[t];
        for (int32_t k = starts[t]; k < starts[t + 1]; k++) {
            kb_part *p = f->parts[order[k]].p;
            topics[t].topic = (kz_str){ p->topic, (int32_t)strlen(p->topic) };
            parts[k] = (kz_FetchPartition){
                .partition = p->index, .current_leader_epoch = p->leader_epoch,
                .fetch_offset = kb_part_leo(p), .last_fetched_epoch = -1,
                .log_start_offset = kb_part_log_start(p), .partition_max_bytes = cfg->replica_fetch_max_bytes,
            };
        }
    }
    return kb_client_send(f->cli, &kz_kmsg_FetchRequest, &kz_kmsg_FetchResponse, KB_RF_FETCH_VERSION, rq,
                          fetcher_on_response, f) == KB_CLIENT_OK;
}

static bool fetcher_send_epochs(kb_fetcher *f, const int32_t *idx, int32_t n)
{
    kb_fetchers *m = f->mgr;
    kz_arena *a = &m->arena;
    int32_t *order = kz_arena_alloc(a, (size_t)n * sizeof *order), nt;
    int32_t *starts = order ? group_by_topic(f, a, idx, n, order, &nt) : NULL;
    kz_OffsetForLeaderEpochRequest *rq = kz_arena_alloc(a, sizeof *rq);
    kz_OffsetForLeaderTopic *topics = starts ? kz_arena_alloc(a, (size_t)nt * sizeof *topics) : NULL;
    kz_OffsetForLeaderPartition *parts = kz_arena_alloc(a, (size_t)n * sizeof *parts);
    if (!rq || !topics || !parts)
        return false;
    rq->replica_id = m->s->broker_id;
    rq->topics.n = nt;
    rq->topics.v = topics;
    for (int32_t t = 0; t < nt; t++) {
        topics[t].partitions.v = &parts[starts[t]];
        topics[t].partitions.n = starts[t + 1] - starts[t];
        for (int32_t k = starts[t]; k < starts[t + 1]; k++) {
            kb_part *p = f->parts[order[k]].p;
            topics[t].topic = (kz_str){ p->topic, (int32_t)strlen(p->topic) };
            parts[k] = (kz_OffsetForLeaderPartition){ .partition = p->index,
                                                      .current_leader_epoch = p->leader_epoch,
                                                      .leader_epoch = kb_log_latest_epoch(p->log) };
        }
    }
    return kb_client_send(f->cli, &kz_kmsg_OffsetForLeaderEpochRequest, &kz_kmsg_OffsetForLeaderEpochResponse,
                          KB_RF_EPOCH_VERSION, rq, fetcher_on_response, f) == KB_CLIENT_OK;
}

static bool fetcher_send_list(kb_fetcher *f, const int32_t *idx, int32_t n)
{
    kb_fetchers *m = f->mgr;
    kz_arena *a = &m->arena;
    int32_t *order = kz_arena_alloc(a, (size_t)n * sizeof *order), nt;
    int32_t *starts = order ? group_by_topic(f, a, idx, n, order, &nt) : NULL;
    kz_ListOffsetsRequest *rq = kz_arena_alloc(a, sizeof *rq);
    kz_ListOffsetsTopic *topics = starts ? kz_arena_alloc(a, (size_t)nt * sizeof *topics) : NULL;
    kz_ListOffsetsPartition *parts = kz_arena_alloc(a, (size_t)n * sizeof *parts);
    if (!rq || !topics || !parts)
        return false;
    memset(rq, 0, sizeof *rq);
    rq->replica_id = m->s->broker_id;
    rq->isolation_level = 0;
    rq->topics.n = nt;
    rq->topics.v = topics;
    for (int32_t t = 0; t < nt; t++) {
        topics[t].partitions.v = &parts[starts[t]];
        topics[t].partitions.n = starts[t + 1] - starts[t];
        for (int32_t k = starts[t]; k < starts[t + 1]; k++) {
            kb_fpart *fp = &f->parts[order[k]];
            kb_part *p = fp->p;
            topics[t].name = (kz_str){ p->topic, (int32_t)strlen(p->topic) };
            parts[k] = (kz_ListOffsetsPartition){
                .partition_index = p->index, .current_leader_epoch = p->leader_epoch,
                .timestamp = fp->state == FP_RESET_LATEST ? -1 : -2, .max_num_offsets = 1,
            };
        }
    }
    return kb_client_send(f->cli, &kz_kmsg_ListOffsetsRequest, &kz_kmsg_ListOffsetsResponse, KB_RF_LIST_VERSION,
                          rq, fetcher_on_response, f) == KB_CLIENT_OK;
}

/* Sends the next request when none is in flight: truncation first, then offset resets, then
 * fetches; with every partition paused, sleeps until the first pause ends. */
static void fetcher_pump(kb_fetcher *f)
{
    kb_fetchers *m = f->mgr;
    if (f->inflight || m->closing || f->n == 0)
        return;
    int64_t now = kz_mono_ms();
    int32_t *idx = kz_arena_alloc(&m->arena, (size_t)f->n * sizeof *idx); /* with the request, rewound below */
    if (!idx)
        return;
    /* Logs without any epoch truncate to the high watermark, as Kafka does; no request. */
    for (int32_t i = 0; i < f->n; i++) {
        kb_fpart *fp = &f->parts[i];
        if (fp->state == FP_TRUNCATE && fp->ready_ms <= now && kb_log_latest_epoch(fp->p->log) < 0) {
            fp_truncate(f, fp, fp->p->hw, "no leader epoch in the local log: to the high watermark");
            fp->state = FP_FETCH;
        }
    }
    int32_t n;
    bool sent = false;
    if ((n = fetcher_ready(f, FP_TRUNCATE, now, idx)) > 0) {
        f->kind = RQ_EPOCH;
        sent = fetcher_send_epochs(f, idx, n);
    } else {
        n = fetcher_ready(f, FP_RESET_LATEST, now, idx);
        n += fetcher_ready(f, FP_RESET_EARLIEST, now, idx + n);
        if (n > 0) {
            f->kind = RQ_LIST;
            sent = fetcher_send_list(f, idx, n);
        } else if ((n = fetcher_ready(f, FP_FETCH, now, idx)) > 0) {
            f->kind = RQ_FETCH;
            sent = fetcher_send_fetch(f, idx, n);
            f->rr = (f->rr + 1) % f->n;
        }
    }
    if (sent) {
        f->inflight = true;
        for (int32_t i = 0; i < n; i++)
            f->parts[idx[i]].in_req = true;
    } else {
        /* nothing ready (or the send failed): wake at the first end of a pause */
        int64_t first = INT64_MAX;
        for (int32_t i = 0; i < f->n; i++)
            if (f->parts[i].ready_ms > now && f->parts[i].ready_ms < first)
                first = f->parts[i].ready_ms;
        int64_t ms = n > 0 ? f->mgr->s->cfg->replica_fetch_backoff_ms : first == INT64_MAX ? -1 : first - now;
        if (ms >= 0) {
            struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
            event_add(f->wake, &tv);
        }
    }
    kz_arena_rewind(&m->arena);
}

/* ---- responses ---- */

/* The fetcher's partition for (@topic, @partition) if it was in the request in flight. */
static kb_fpart *fetcher_resp_part(kb_fetcher *f, kz_str topic, int32_t partition)
{
    kb_part *p = kb_rm_get(f->mgr->rm, topic.s, topic.len, partition);
    if (!p || p->fetcher != f)
        return NULL;
    kb_fpart *fp = fetcher_part(f, p);
    if (!fp || !fp->in_req)
        return NULL;
    fp->in_req = false;
    return fp;
}

static const char *fetcher_errname(int16_t e)
{
    switch (e) {
    case 1: return "OFFSET_OUT_OF_RANGE";
    case 3: return "UNKNOWN_TOPIC_OR_PARTITION";
    case 6: return "NOT_LEADER_OR_FOLLOWER";
    case 56: return "KAFKA_STORAGE_ERROR";
    case 74: return "FENCED_LEADER_EPOCH";
    case 75: return "UNKNOWN_LEADER_EPOCH";
    default: return "error";
    }
}

static void fp_error(kb_fetcher *f, kb_fpart *fp, int16_t err, const char *what)
{
    kz_info(KB_RF_LOG, "[ReplicaFetcher replicaId=%d, leaderId=%d, fetcherId=%d] Retrying %s for %s-%d "
            "at leader epoch %d after error %s (%d)", f->mgr->s->broker_id, f->leader, f->id, what,
            fp->p->topic, fp->p->index, fp->p->leader_epoch, fetcher_errname(err), err);
    fp_pause(f, fp);
}

/* Appends the whole, intact batches of @recs; returns false when the partition must pause. */
static bool fp_append(kb_fetcher *f, kb_fpart *fp, kz_str recs)
{
    kb_part *p = fp->p;
    const uint8_t *b = (const uint8_t *)recs.s;
    size_t len = recs.len > 0 ? (size_t)recs.len : 0, whole = 0;
    kz_batch_hdr h;
    while (whole < len && kz_batch_peek(b + whole, len - whole, 0, &h) == KZ_BATCH_OK) {
        if (h.magic != 2 || !kz_batch_crc_ok(b + whole, &h)) {
            kz_error(KB_RF_LOG, "[ReplicaFetcher replicaId=%d, leaderId=%d, fetcherId=%d] Found invalid "
                     "batch at offset %lld of %s-%d from the leader", f->mgr->s->broker_id, f->leader, f->id,
                     (long long)h.base_offset, p->topic, p->index);
            break;
        }
        whole += kz_batch_size(&h);
    }
    if (whole == 0)
        return whole == len; /* nothing, or nothing usable: pause only on a bad first batch */
    kb_log_append_info info;
    int rc = kb_log_append_as_follower(p->log, b, whole, kz_wall_ms(), &info);
    if (rc == KB_LOG_EORDER) {
        fp->state = FP_TRUNCATE; /* our log and the leader's disagree: find out where */
        return true;
    }
    if (rc != 0) {
        kz_error(KB_RF_LOG, "[ReplicaFetcher replicaId=%d, leaderId=%d, fetcherId=%d] Error appending to "
                 "%s-%d as follower: %s", f->mgr->s->broker_id, f->leader, f->id, p->topic, p->index,
                 kb_log_strerror(rc));
        return false;
    }
    return true;
}

static void fp_on_fetch(kb_fetcher *f, kb_fpart *fp, const kz_FetchablePartitionResponse *o)
{
    kb_part *p = fp->p;
    if (fp->state != FP_FETCH)
        return;
    if (o->error_code == 1) { /* OFFSET_OUT_OF_RANGE */
        fp->state = FP_RESET_LATEST;
        return;
    }
    if (o->error_code != 0) {
        fp_error(f, fp, o->error_code, "fetch");
        return;
    }
    if (!fp_append(f, fp, o->record_set.mem)) {
        fp_pause(f, fp);
        return;
    }
    int64_t leo = kb_part_leo(p);
    int64_t hw = o->high_watermark < leo ? o->high_watermark : leo;
    if (hw >= 0 && hw != p->hw) {
        p->hw = hw;
        kb_log_set_high_watermark(p->log, hw);
    }
    if (o->log_start_offset > kb_part_log_start(p) && o->log_start_offset <= p->hw)
        kb_log_delete_records_before(p->log, o->log_start_offset);
}

kb_trunc kb_fetcher_truncation(int32_t leader_epoch, int64_t leader_end, int32_t mine_epoch, int64_t mine_end,
                               int64_t leo, int64_t hw)
{
    if (leader_end < 0) /* the leader knows nothing of our epoch: keep what is committed */
        return (kb_trunc){ hw < leo ? hw : leo, true };
    if (leader_epoch < 0) /* an answer without epoch: the leader's end bounds us */
        return (kb_trunc){ leader_end < leo ? leader_end : leo, true };
    if (mine_end >= 0 && mine_epoch == leader_epoch) /* both know the epoch: the smaller end */
        return (kb_trunc){ leader_end < mine_end ? leader_end : mine_end, true };
    if (mine_end >= 0) /* we lack the leader's epoch: cut to our end of the one below, ask again */
        return (kb_trunc){ mine_end < leo ? mine_end : leo, false };
    return (kb_trunc){ leader_end < leo ? leader_end : leo, true };
}

static void fp_on_epoch(kb_fetcher *f, kb_fpart *fp, const kz_OffsetForLeaderEpochResponseEpochEndOffset *o)
{
    kb_part *p = fp->p;
    if (fp->state != FP_TRUNCATE)
        return;
    if (o->error_code != 0) {
        fp_error(f, fp, o->error_code, "leader epoch request");
        return;
    }
    int32_t mine_epoch = -1;
    int64_t mine_end = -1;
    if (o->leader_epoch >= 0)
        kb_log_end_offset_for_epoch(p->log, o->leader_epoch, &mine_epoch, &mine_end);
    kb_trunc t = kb_fetcher_truncation(o->leader_epoch, o->end_offset, mine_epoch, mine_end, kb_part_leo(p), p->hw);
    char why[160];
    snprintf(why, sizeof why, "the leader's end offset for epoch %d is %lld, ours %lld%s", o->leader_epoch,
             (long long)o->end_offset, (long long)mine_end, t.done ? "" : "; asking again");
    fp_truncate(f, fp, t.offset, why);
    if (t.done && fp->state == FP_TRUNCATE)
        fp->state = FP_FETCH;
}

static void fp_on_list(kb_fetcher *f, kb_fpart *fp, const kz_ListOffsetsPartitionResponse *o)
{
    kb_part *p = fp->p;
    if (fp->state != FP_RESET_LATEST && fp->state != FP_RESET_EARLIEST)
        return;
    if (o->error_code != 0 || o->offset < 0) {
        fp_error(f, fp, o->error_code, "offset reset");
        return;
    }
    int64_t leo = kb_part_leo(p);
    if (fp->state == FP_RESET_LATEST) {
        if (o->offset < leo) {
            kz_warn(KB_RF_LOG, "[ReplicaFetcher replicaId=%d, leaderId=%d, fetcherId=%d] Reset fetch offset for "
                    "partition %s-%d from %lld to current leader %d's latest offset %lld", f->mgr->s->broker_id,
                    f->leader, f->id, p->topic, p->index, (long long)leo, f->leader, (long long)o->offset);
            fp_truncate(f, fp, o->offset, "the leader's log end offset");
            fp->state = FP_FETCH;
        } else {
            fp->state = FP_RESET_EARLIEST;
        }
        return;
    }
    if (o->offset > leo) {
        kz_info(KB_RF_LOG, "[ReplicaFetcher replicaId=%d, leaderId=%d, fetcherId=%d] Reset fetch offset for "
                "partition %s-%d from %lld to current leader %d's start offset %lld", f->mgr->s->broker_id,
                f->leader, f->id, p->topic, p->index, (long long)leo, f->leader, (long long)o->offset);
        if (kb_log_truncate_fully(p->log, o->offset) != 0) {
            fp_pause(f, fp);
            return;
        }
        p->hw = o->offset;
        kb_log_set_high_watermark(p->log, p->hw);
    }
    fp->state = FP_FETCH;
}

static void fetcher_on_response(void *ctx, int err, const void *resp)
{
    kb_fetcher *f = ctx;
    if (f->mgr->closing)
        return;
    f->inflight = false;
    if (err != KB_CLIENT_OK) {
        kz_info(KB_RF_LOG, "[ReplicaFetcher replicaId=%d, leaderId=%d, fetcherId=%d] Error sending fetch "
                "request to node %d (%s:%d): connection lost; retrying after %d ms", f->mgr->s->broker_id,
                f->leader, f->id, f->leader, f->host, f->port, f->mgr->s->cfg->replica_fetch_backoff_ms);
        for (int32_t i = 0; i < f->n; i++)
            if (f->parts[i].in_req) {
                f->parts[i].in_req = false;
                fp_pause(f, &f->parts[i]);
            }
    } else if (f->kind == RQ_FETCH) {
        const kz_FetchResponse *r = resp;
        for (int32_t t = 0; t < r->responses.n; t++)
            for (int32_t i = 0; i < r->responses.v[t].partition_responses.n; i++) {
                const kz_FetchablePartitionResponse *o = &r->responses.v[t].partition_responses.v[i];
                kb_fpart *fp = fetcher_resp_part(f, r->responses.v[t].topic, o->partition);
                if (fp)
                    fp_on_fetch(f, fp, o);
            }
    } else if (f->kind == RQ_EPOCH) {
        const kz_OffsetForLeaderEpochResponse *r = resp;
        for (int32_t t = 0; t < r->topics.n; t++)
            for (int32_t i = 0; i < r->topics.v[t].partitions.n; i++) {
                const kz_OffsetForLeaderEpochResponseEpochEndOffset *o = &r->topics.v[t].partitions.v[i];
                kb_fpart *fp = fetcher_resp_part(f, r->topics.v[t].topic, o->partition);
                if (fp)
                    fp_on_epoch(f, fp, o);
            }
    } else {
        const kz_ListOffsetsResponse *r = resp;
        for (int32_t t = 0; t < r->topics.n; t++)
            for (int32_t i = 0; i < r->topics.v[t].partitions.n; i++) {
                const kz_ListOffsetsPartitionResponse *o = &r->topics.v[t].partitions.v[i];
                kb_fpart *fp = fetcher_resp_part(f, r->topics.v[t].name, o->partition_index);
                if (fp)
                    fp_on_list(f, fp, o);
            }
    }
    /* partitions the answer left out are asked again */
    for (int32_t i = 0; i < f->n; i++)
        f->parts[i].in_req = false;
    if (f->n == 0) {
        fetcher_free(f);
        return;
    }
    fetcher_pump(f);
}
