/* broker/kb_api_elect.c -- ControlledShutdown (7) and ElectLeaders (43), as
 * KafkaApis and ReplicaManager of Kafka 2.8 serve them in ZooKeeper mode.
 *
 * Both become controller events (kb_ctl_controlled_shutdown,
 * kb_ctl_elect_leaders); the request is answered from their callback, which
 * runs exactly once, later, from the loop. The request's state lives in
 * req->arena; a connection that closed meanwhile leaves req->conn NULL and
 * kb_req_reply just releases the request.
 *
 * ControlledShutdown: v0 and v1 carry no broker epoch (-1, accepted). The
 * answer is the controller's: error and the partitions the broker still
 * leads. A broker that is not the controller answers NOT_CONTROLLER through
 * the same path (its controller drops the event).
 *
 * ElectLeaders: election type from v1 (v0: preferred). Null partitions mean
 * every partition of the metadata cache; then partitions that needed no
 * election are left out of the answer. Not the controller: every partition
 * NOT_CONTROLLER (the top-level error stays NONE, as in Kafka 2.8). Elected partitions
 * are then waited for (ReplicaManager's DelayedElectLeader): the answer
 * leaves once this broker's metadata cache shows each new leader, or at
 * timeout_ms after the request came in, those not there yet answering
 * REQUEST_TIMED_OUT. The partitions asked are a set (sorted by topic and
 * partition, duplicates dropped); results come grouped by topic.
 * Locality: broker loop thread only. */
#include <stdlib.h>
#include <string.h>

#include "kb_apis.h"
#include "kb_ctl.h"
#include "kz_kmsgs.h"
#include "kz_log.h"
#include "kz_time.h"

/* ------------------------------------------------- ControlledShutdown */

typedef struct kb_cs_call {
    kb_req *req;
    int16_t ver;
} kb_cs_call;

static void kb_cs_answer(void *ctx, int16_t error, const kb_ctl_tp *rem, int32_t n)
{
    kb_cs_call *call = ctx;
    kb_req *req = call->req;
    kz_ControlledShutdownResponse *r = kz_arena_alloc(&req->arena, sizeof *r);
    kz_ControlledShutdownResponseRemainingPartition *v =
        kz_arena_alloc(&req->arena, (size_t)(n > 0 ? n : 1) * sizeof *v);
    if (!r || !v) {
        kb_req_close(req, "out of memory");
        return;
    }
    r->error_code = error;
    for (int32_t i = 0; i < n; i++) {
        v[i].topic_name = kz_arena_strdup(&req->arena, kz_str_c(rem[i].topic));
        v[i].partition_index = rem[i].partition;
        if (!v[i].topic_name.s) {
            kb_req_close(req, "out of memory");
            return;
        }
    }
    r->remaining_partitions.n = n;
    r->remaining_partitions.v = v;
    kb_req_reply(req, &kz_kmsg_ControlledShutdownResponse, call->ver, r);
}

void kb_api_controlled_shutdown(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    const kz_ControlledShutdownRequest *rq = body;
    kb_cs_call *call = kz_arena_alloc(&req->arena, sizeof *call);
    if (!call) {
        kb_req_close(req, "out of memory");
        return;
    }
    call->req = req;
    call->ver = ver;
    if (!s->ctl) {
        kb_cs_answer(call, KB_CTL_E_NOT_CONTROLLER, NULL, 0);
        return;
    }
    kb_ctl_controlled_shutdown(s->ctl, rq->broker_id, ver >= 2 ? rq->broker_epoch : -1, kb_cs_answer, call);
}

/* ------------------------------------------------------ ElectLeaders */

typedef struct kb_el_call {
    kb_server *s;
    kb_req *req;
    int16_t ver;
    bool all;                 /* null partitions: every partition, "not needed" left out */
    int16_t top_error;
    int32_t n;
    kb_ctl_tp *tps;
    int16_t *err;
    const char **msg;
    int32_t *leader;          /* >= 0: elected, waiting for the metadata cache to show it */
    int64_t deadline_ms;      /* monotonic */
} kb_el_call;

/* Whether this broker's metadata cache shows partition @i led by its new leader. */
static bool kb_el_shown(kb_server *s, const kb_el_call *call, int32_t i)
{
    const char *t = call->tps[i].topic;
    const kb_md_part *p = kb_mdc_part(s->mdc, t, (int32_t)strlen(t), call->tps[i].partition);
    return p && p->leader == call->leader[i];
}

static bool kb_el_ready(kb_server *s, void *ctx)
{
    kb_el_call *call = ctx;
    for (int32_t i = 0; i < call->n; i++)
        if (call->err[i] == 0 && !kb_el_shown(s, call, i))
            return false;
    return true;
}

/* Builds and sends the answer: one entry per topic (the partitions are sorted by topic). */
static void kb_el_reply(kb_el_call *call)
{
    kb_req *req = call->req;
    kz_arena *a = &req->arena;
    kz_ElectLeadersResponse *r = kz_arena_alloc(a, sizeof *r);
    kz_ReplicaElectionResult *tr = kz_arena_alloc(a, (size_t)(call->n > 0 ? call->n : 1) * sizeof *tr);
    kz_ElectLeadersResponsePartitionResult *pr =
        kz_arena_alloc(a, (size_t)(call->n > 0 ? call->n : 1) * sizeof *pr);
    if (!r || !tr || !pr) {
        kb_req_close(req, "out of memory");
        return;
    }
    r->error_code = call->ver >= 1 ? call->top_error : 0; /* only a bad request fails as a whole */
    int32_t nt = 0, np = 0;
    for (int32_t i = 0; i < call->n; i++) {
        if (call->all && call->err[i] == KB_CTL_E_ELECTION_NOT_NEEDED)
            continue;
        if (nt == 0 || strcmp(tr[nt - 1].topic.s, call->tps[i].topic) != 0) {
            tr[nt].topic = kz_str_c(call->tps[i].topic);
            tr[nt].partition_result.v = &pr[np];
            tr[nt].partition_result.n = 0;
            nt++;
        }
        pr[np++] = (kz_ElectLeadersResponsePartitionResult){
            .partition_id = call->tps[i].partition, .error_code = call->err[i],
            .error_message = call->msg[i] ? kz_str_c(call->msg[i]) : KZ_STR_NULL };
        tr[nt - 1].partition_result.n++;
    }
    r->replica_election_results.n = nt;
    r->replica_election_results.v = tr;
    kb_req_reply(req, &kz_kmsg_ElectLeadersResponse, call->ver, r);
}

/* End of the wait for the metadata cache: leaders not shown yet time out. */
static void kb_el_waited(kb_server *s, void *ctx, bool timed_out)
{
    kb_el_call *call = ctx;
    (void)timed_out;
    for (int32_t i = 0; i < call->n; i++)
        if (call->err[i] == 0 && !kb_el_shown(s, call, i)) {
            call->err[i] = KB_ERR_REQUEST_TIMED_OUT;
            call->msg[i] = NULL;
        }
    kb_el_reply(call);
}

static void kb_el_results(void *ctx, const kb_ctl_elect_res *res, int32_t n)
{
    kb_el_call *call = ctx;
    bool wait = false;
    for (int32_t i = 0; i < n && i < call->n; i++) {
        call->err[i] = res[i].error;
        call->msg[i] = res[i].message; /* static strings */
        call->leader[i] = res[i].leader;
        wait |= res[i].error == 0;
    }
    if (!wait) {
        kb_el_reply(call);
        return;
    }
    int64_t left = call->deadline_ms - kz_mono_ms();
    kb_server_wait_metadata(call->s, (int32_t)(left > 0 ? (left < INT32_MAX ? left : INT32_MAX) : 0), kb_el_ready,
                            kb_el_waited, call);
}

static int kb_el_cmp(const void *a, const void *b)
{
    const kb_ctl_tp *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* The partitions asked, NUL-terminated names in the arena; -1 when out of memory. */
static int kb_el_collect(kb_server *s, kb_el_call *call, const kz_ElectLeadersRequest *rq)
{
    kz_arena *a = &call->req->arena;
    int64_t cap = 0;
    if (call->all) {
        for (int i = 0; i < kb_mdc_topic_count(s->mdc); i++)
            cap += kb_mdc_topic_at(s->mdc, i)->nparts;
    } else {
        for (int32_t t = 0; t < rq->topic_partitions.n; t++)
            cap += rq->topic_partitions.v[t].partition_id.n > 0 ? rq->topic_partitions.v[t].partition_id.n : 0;
    }
    size_t m = (size_t)(cap > 0 ? cap : 1);
    call->tps = kz_arena_alloc(a, m * sizeof *call->tps);
    call->err = kz_arena_alloc(a, m * sizeof *call->err);
    call->msg = kz_arena_alloc(a, m * sizeof *call->msg);
    call->leader = kz_arena_alloc(a, m * sizeof *call->leader);
    if (!call->tps || !call->err || !call->msg || !call->leader)
        return -1;
    if (call->all) {
        for (int i = 0; i < kb_mdc_topic_count(s->mdc); i++) {
            const kb_md_topic *t = kb_mdc_topic_at(s->mdc, i);
            kz_str name = kz_arena_strdup(a, kz_str_c(t->name));
            if (!name.s)
                return -1;
            for (int32_t p = 0; p < t->nparts; p++)
                if (t->parts[p].present)
                    call->tps[call->n++] = (kb_ctl_tp){ name.s, p };
        }
    } else {
        for (int32_t t = 0; t < rq->topic_partitions.n; t++) {
            const kz_ElectLeadersRequestTopicPartitions *tp = &rq->topic_partitions.v[t];
            kz_str name = kz_arena_strdup(a, tp->topic.len >= 0 ? tp->topic : KZ_STR_LIT(""));
            if (!name.s)
                return -1;
            for (int32_t k = 0; k < tp->partition_id.n; k++)
                call->tps[call->n++] = (kb_ctl_tp){ name.s, tp->partition_id.v[k] };
        }
    }
    /* a set, in (topic, partition) order */
    if (call->n > 1)
        qsort(call->tps, (size_t)call->n, sizeof *call->tps, kb_el_cmp);
    int32_t k = 0;
    for (int32_t i = 0; i < call->n; i++)
        if (k == 0 || kb_el_cmp(&call->tps[k - 1], &call->tps[i]) != 0)
            call->tps[k++] = call->tps[i];
    call->n = k;
    for (int32_t i = 0; i < call->n; i++) {
        call->err[i] = 0;
        call->msg[i] = NULL;
        call->leader[i] = -1;
    }
    return 0;
}

void kb_api_elect_leaders(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    const kz_ElectLeadersRequest *rq = body;
    kb_el_call *call = kz_arena_alloc(&req->arena, sizeof *call);
    if (!call) {
        kb_req_close(req, "out of memory");
        return;
    }
    memset(call, 0, sizeof *call);
    call->s = s;
    call->req = req;
    call->ver = ver;
    call->all = rq->topic_partitions.n < 0;
    call->deadline_ms = kz_mono_ms() + (rq->timeout_ms > 0 ? rq->timeout_ms : 0);
    if (kb_el_collect(s, call, rq) != 0) {
        kb_req_close(req, "out of memory");
        return;
    }
    int type = ver >= 1 ? rq->election_type : KB_CTL_ELECT_PREFERRED;
    int16_t err = 0;
    if (type != KB_CTL_ELECT_PREFERRED && type != KB_CTL_ELECT_UNCLEAN)
        err = KB_ERR_INVALID_REQUEST;
    else if (!s->ctl || !kb_ctl_is_active(s->ctl))
        err = KB_CTL_E_NOT_CONTROLLER;
    if (err) {
        call->top_error = err == KB_ERR_INVALID_REQUEST ? err : 0; /* NOT_CONTROLLER: per partition */
        for (int32_t i = 0; i < call->n; i++)
            call->err[i] = err;
        kb_el_reply(call);
        return;
    }
    kb_ctl_elect_leaders(s->ctl, type, call->tps, call->n, kb_el_results, call);
}
