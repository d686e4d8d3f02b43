/* broker/kb_api_fetch.c -- Fetch (1) and ListOffsets (2).
 *
 * Fetch reads whole batches from the log up to the partition's limit and the
 * response's max_bytes (the first partition with data may exceed them by one
 * batch, v3+, so a consumer always progresses), never past the high
 * watermark for consumers. Record bytes are not copied: the response refers
 * to the segment file and the network layer sends them with sendfile(2).
 * Fetch v0-v3 clients get message sets down-converted to the magic they read.
 *
 * Long poll: when fewer than min_bytes are available and max_wait_ms > 0,
 * the request waits (a timer, no blocking) and is re-evaluated after every
 * append or role change of a partition it asks for, then answered with what
 * there is at the deadline.
 * Fetches from followers (replica id >= 0) read up to the log end offset and
 * report the follower's position to the replica manager first (ISR, high
 * watermark; kb_isr.c), so the high watermark they carry back is current.
 * A v12 fetch whose last fetched epoch ends below its fetch offset here gets
 * the diverging epoch (KIP-595) instead of records.
 * Fetch sessions (KIP-227) are not kept: responses carry session id 0, which
 * clients take as "no session" and keep sending full fetches.
 * Locality: broker loop thread only. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "kb_apis.h"
#include "kb_log.h"
#include "kb_replica_mgr.h"
#include "kz_kmsgs.h"
#include "kz_log.h"
#include "kz_records.h"

struct kb_delayed_fetch {
    kb_server *s;
    kb_req *req;
    const kz_FetchRequest *rq;
    int16_t ver;
    struct event *timer;
    kz_arena scratch;      /* each attempt's response; reset between attempts */
    struct kb_delayed_fetch *next;
};
typedef struct kb_delayed_fetch kb_delayed_fetch;

/* Converts a v2 log range to the magic a Fetch v0-v3 client reads. */
static int kb_fetch_down_convert(kz_arena *a, int16_t ver, kz_krecs *rs)
{
    int magic = ver <= 1 ? 0 : 1;
    uint8_t *raw = kz_arena_alloc(a, (size_t)rs->flen);
    if (!raw || pread(rs->fd, raw, (size_t)rs->flen, rs->foff) != rs->flen)
        return -1;
    kz_wr out = KZ_WR_INIT;
    int rc = kz_records_down_convert(raw, (size_t)rs->flen, magic, 0, &out);
    uint8_t *mem = rc == 0 ? kz_arena_alloc(a, out.len ? out.len : 1) : NULL;
    if (mem)
        memcpy(mem, out.base, out.len);
    rs->mem = (kz_str){ (const char *)mem, (int32_t)out.len };
    rs->flen = 0;
    kz_wr_free(&out);
    return mem ? 0 : -1;
}

/* Builds the whole response; returns the record bytes it holds and whether
 * any partition failed (a failed partition answers at once). */
static kz_FetchResponse *kb_fetch_build(kb_server *s, kz_arena *a, const kz_FetchRequest *rq, int16_t ver,
                                        int64_t *bytes, bool *errors)
{
    kz_FetchResponse *r = kz_arena_alloc(a, sizeof *r);
    if (!r)
        return NULL;
    int64_t left = ver >= 3 && rq->max_bytes > 0 ? rq->max_bytes : INT32_MAX;
    bool follower = rq->replica_id >= 0;
    *bytes = 0;
    *errors = false;
    r->responses.n = rq->topics.n > 0 ? rq->topics.n : 0;
    r->responses.v = kz_arena_alloc(a, (size_t)(r->responses.n ? r->responses.n : 1) * sizeof *r->responses.v);
    if (!r->responses.v)
        return NULL;
    for (int32_t t = 0; t < r->responses.n; t++) {
        const kz_FetchTopic *ft = &rq->topics.v[t];
        kz_FetchableTopicResponse *tr = &r->responses.v[t];
        tr->topic = ft->topic;
        tr->partition_responses.n = ft->partitions.n > 0 ? ft->partitions.n : 0;
        tr->partition_responses.v = kz_arena_alloc(
            a, (size_t)(tr->partition_responses.n ? tr->partition_responses.n : 1) * sizeof *tr->partition_responses.v);
        if (!tr->partition_responses.v)
            return NULL;
        for (int32_t i = 0; i < tr->partition_responses.n; i++) {
            const kz_FetchPartition *fp = &ft->partitions.v[i];
            kz_FetchablePartitionResponse *o = &tr->partition_responses.v[i];
            memset(o, 0, sizeof *o);
            o->partition = fp->partition;
            o->high_watermark = -1;
            o->last_stable_offset = -1;
            o->log_start_offset = -1;
            o->preferred_read_replica = -1;
            o->aborted_transactions.n = ver >= 4 ? 0 : -1;
            o->record_set.mem = (kz_str){ "", 0 };
            o->diverging_epoch.epoch = -1;
            o->diverging_epoch.end_offset = -1;
            o->current_leader.leader_id = -1;
            o->current_leader.leader_epoch = -1;
            o->snapshot_id.end_offset = -1;
            o->snapshot_id.epoch = -1;
            kb_part *p = kb_rm_get(s->rm, ft->topic.s, ft->topic.len, fp->partition);
            if (!p || !p->is_leader) {
                o->error_code = p || kb_mdc_part(s->mdc, ft->topic.s, ft->topic.len, fp->partition)
                                    ? KB_ERR_NOT_LEADER_OR_FOLLOWER : KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                *errors = true;
                continue;
            }
            if (ver >= 9 && fp->current_leader_epoch >= 0 && fp->current_leader_epoch != p->leader_epoch) {
                o->error_code = fp->current_leader_epoch < p->leader_epoch ? KB_ERR_FENCED_LEADER_EPOCH
                                                                           : KB_ERR_UNKNOWN_LEADER_EPOCH;
                *errors = true;
                continue;
            }
            int64_t leo = kb_part_leo(p);
            o->high_watermark = p->hw;
            o->last_stable_offset = p->hw;
            o->log_start_offset = kb_part_log_start(p);
            if (fp->fetch_offset < o->log_start_offset || fp->fetch_offset > leo) {
                o->error_code = KB_ERR_OFFSET_OUT_OF_RANGE;
                *errors = true;
                continue;
            }
            if (ver >= 12 && fp->last_fetched_epoch >= 0) {
                /* KIP-595 truncation on fetch: the fetcher's last epoch ends earlier here (or is
                 * unknown), so its log diverges: tell it where, with no records. */
                int32_t e;
                int64_t end;
                kb_log_end_offset_for_epoch(p->log, fp->last_fetched_epoch, &e, &end);
                if (e < fp->last_fetched_epoch || end < fp->fetch_offset) {
                    o->diverging_epoch.epoch = e;
                    o->diverging_epoch.end_offset = end;
                    continue;
                }
            }
            if (follower) {
                /* the follower has everything below its fetch offset: ISR and high watermark */
                kb_rm_follower_fetch(s->rm, p, rq->replica_id, fp->fetch_offset);
                o->high_watermark = o->last_stable_offset = p->hw;
            }
            int64_t max = fp->partition_max_bytes < left ? fp->partition_max_bytes : left;
            if (max <= 0 && !(ver >= 3 && *bytes == 0))
                continue;
            kb_log_read_info ri;
            int rc = kb_log_read(p->log, fp->fetch_offset, (int32_t)(max > 0 ? max : 0),
                                 follower ? leo : p->hw, ver >= 3 && *bytes == 0, &ri);
            if (rc == KB_LOG_EOFFSET) {
                o->error_code = KB_ERR_OFFSET_OUT_OF_RANGE;
                *errors = true;
                continue;
            }
            if (rc != 0) {
                o->error_code = KB_ERR_KAFKA_STORAGE_ERROR;
                *errors = true;
                continue;
            }
            if (ri.len <= 0)
                continue;
            o->record_set.fd = ri.fd;
            o->record_set.foff = ri.pos;
            o->record_set.flen = ri.len;
            if (ver < 4 && kb_fetch_down_convert(a, ver, &o->record_set) != 0) {
                o->error_code = KB_ERR_UNKNOWN_SERVER_ERROR;
                o->record_set.flen = 0;
                o->record_set.mem = (kz_str){ "", 0 };
                *errors = true;
                continue;
            }
            *bytes += ri.len;
            left -= ri.len;
        }
    }
    return r;
}

static void kb_fetch_unlink(kb_server *s, kb_delayed_fetch *d)
{
    for (kb_delayed_fetch **pp = &s->fetch_waiting; *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    if (d->timer)
        event_free(d->timer);
    kz_arena_reset(&d->scratch);
    free(d);
}

/* Tries to answer @req; @final answers whatever there is. The response is built in @a: the
 * request's own arena for the first attempt, a delayed fetch's scratch arena (emptied
 * first) for the later ones. Returns true when answered. */
static bool kb_fetch_try(kb_server *s, kb_req *req, const kz_FetchRequest *rq, int16_t ver, bool final,
                         kz_arena *a)
{
    int64_t bytes;
    bool errors;
    if (a != &req->arena)
        kz_arena_rewind(a);
    kz_FetchResponse *r = kb_fetch_build(s, a, rq, ver, &bytes, &errors);
    if (!r) {
        kb_req_close(req, "out of memory");
        return true;
    }
    if (!final && !errors && bytes < rq->min_bytes && rq->max_wait_ms > 0)
        return false;
    kb_req_reply(req, &kz_kmsg_FetchResponse, ver, r);
    return true;
}

static void kb_fetch_on_timeout(evutil_socket_t fd, short what, void *arg)
{
    kb_delayed_fetch *d = arg;
    (void)fd;
    (void)what;
    kb_server *s = d->s;
    kb_fetch_try(s, d->req, d->rq, d->ver, true, &d->scratch);
    kb_fetch_unlink(s, d);
}

void kb_fetch_check_delayed(kb_server *s, kb_part *p)
{
    kb_delayed_fetch *d = s->fetch_waiting, *next;
    for (; d; d = next) {
        next = d->next;
        bool mine = false;
        for (int32_t t = 0; t < d->rq->topics.n && !mine; t++) {
            const kz_FetchTopic *ft = &d->rq->topics.v[t];
            if ((int32_t)strlen(p->topic) != ft->topic.len || memcmp(p->topic, ft->topic.s, (size_t)ft->topic.len))
                continue;
            for (int32_t i = 0; i < ft->partitions.n && !mine; i++)
                mine = ft->partitions.v[i].partition == p->index;
        }
        if (mine && kb_fetch_try(s, d->req, d->rq, d->ver, false, &d->scratch))
            kb_fetch_unlink(s, d);
    }
}

void kb_api_fetch(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    const kz_FetchRequest *rq = body;
    if (kb_fetch_try(s, req, rq, ver, rq->max_wait_ms <= 0, &req->arena))
        return;
    /* Waiting: later attempts build their responses in d->scratch, emptied each time; the
     * decoded request stays in req->arena until the answer. */
    kb_delayed_fetch *d = calloc(1, sizeof *d);
    if (d)
        d->timer = evtimer_new(s->base, kb_fetch_on_timeout, d);
    if (!d || !d->timer) {
        free(d);
        kb_fetch_try(s, req, rq, ver, true, &req->arena);
        return;
    }
    d->s = s;
    d->req = req;
    d->rq = rq;
    d->ver = ver;
    int32_t w = rq->max_wait_ms;
    struct timeval tv = { w / 1000, (w % 1000) * 1000 };
    evtimer_add(d->timer, &tv);
    d->next = s->fetch_waiting;
    s->fetch_waiting = d;
}

/* ---- ListOffsets ---- */

void kb_api_list_offsets(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    const kz_ListOffsetsRequest *rq = body;
    kz_ListOffsetsResponse *r = kz_arena_alloc(&req->arena, sizeof *r);
    if (!r)
        goto oom;
    r->topics.n = rq->topics.n > 0 ? rq->topics.n : 0;
    r->topics.v = kz_arena_alloc(&req->arena, (size_t)(r->topics.n ? r->topics.n : 1) * sizeof *r->topics.v);
    if (!r->topics.v)
        goto oom;
    for (int32_t t = 0; t < r->topics.n; t++) {
        const kz_ListOffsetsTopic *lt = &rq->topics.v[t];
        kz_ListOffsetsTopicResponse *tr = &r->topics.v[t];
        tr->name = lt->name;
        tr->partitions.n = lt->partitions.n > 0 ? lt->partitions.n : 0;
        tr->partitions.v = kz_arena_alloc(&req->arena, (size_t)(tr->partitions.n ? tr->partitions.n : 1) * sizeof *tr->partitions.v);
        if (!tr->partitions.v)
            goto oom;
        for (int32_t i = 0; i < tr->partitions.n; i++) {
            const kz_ListOffsetsPartition *lp = &lt->partitions.v[i];
            kz_ListOffsetsPartitionResponse *o = &tr->partitions.v[i];
            o->partition_index = lp->partition_index;
            o->timestamp = -1;
            o->offset = -1;
            o->leader_epoch = -1;
            o->old_style_offsets.n = 0;
            kb_part *p = kb_rm_get(s->rm, lt->name.s, lt->name.len, lp->partition_index);
            if (!p || !p->is_leader) {
                o->error_code = p || kb_mdc_part(s->mdc, lt->name.s, lt->name.len, lp->partition_index)
                                    ? KB_ERR_NOT_LEADER_OR_FOLLOWER : KB_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            if (ver >= 4 && lp->current_leader_epoch >= 0 && lp->current_leader_epoch != p->leader_epoch) {
                o->error_code = lp->current_leader_epoch < p->leader_epoch ? KB_ERR_FENCED_LEADER_EPOCH
                                                                           : KB_ERR_UNKNOWN_LEADER_EPOCH;
                continue;
            }
            /* Consumers (replica id -1) see offsets up to the high watermark only. */
            int64_t end = rq->replica_id >= 0 ? kb_part_leo(p) : p->hw;
            int64_t off = -1, ts = -1;
            if (lp->timestamp == -1) {          /* LATEST */
                off = end;
            } else if (lp->timestamp == -2) {   /* EARLIEST */
                off = kb_part_log_start(p);
            } else {
                if (kb_log_offset_for_time(p->log, lp->timestamp, &off, &ts) != 0)
                    off = -1;
                if (off >= end) {
                    off = -1;
                    ts = -1;
                }
            }
            o->offset = off;
            o->timestamp = ts;
            o->leader_epoch = off >= 0 ? p->leader_epoch : -1;
            if (ver == 0) {
                int64_t *v = kz_arena_alloc(&req->arena, sizeof *v);
                if (!v)
                    goto oom;
                *v = off;
                o->old_style_offsets.v = v;
                o->old_style_offsets.n = off >= 0 ? 1 : 0;
            }
        }
    }
    kb_req_reply(req, &kz_kmsg_ListOffsetsResponse, ver, r);
    return;
oom:
    kb_req_close(req, "out of memory");
}

/* Shutdown: forget waiting fetches (their connections are closed already). */
void kb_fetch_drop_all(kb_server *s)
{
    while (s->fetch_waiting) {
        kb_delayed_fetch *d = s->fetch_waiting;
        kb_req_finish(d->req);
        kb_fetch_unlink(s, d);
    }
}
