/* broker/kb_apis.c -- API table and request dispatch (see kb_apis.h). */
#include "kb_apis.h"

#include <ctype.h>
#include <string.h>

#include "kz_kmsgs.h"
#include "kz_log.h"

#define KB_API_LOG "kafka.server.KafkaApis"

/* The served APIs. Ranges come from the request schemas. */
static kb_api_fn *const kb_api_table[KZ_KAPI_MAX] = {
    [0] = kb_api_produce,
    [1] = kb_api_fetch,
    [2] = kb_api_list_offsets,
    [3] = kb_api_metadata,
    [4] = kb_api_leader_and_isr,
    [5] = kb_api_stop_replica,
    [6] = kb_api_update_metadata,
    [7] = kb_api_controlled_shutdown,
    [10] = kb_api_find_coordinator,
    [18] = kb_api_api_versions,
    [19] = kb_api_create_topics,
    [20] = kb_api_delete_topics,
    [21] = kb_api_delete_records,
    [23] = kb_api_offsets_for_leader_epoch,
    [32] = kb_api_describe_configs,
    [33] = kb_api_alter_configs,
    [35] = kb_api_describe_log_dirs,
    [37] = kb_api_create_partitions,
    [43] = kb_api_elect_leaders,
    [44] = kb_api_incremental_alter_configs,
    [60] = kb_api_describe_cluster,
};

int kb_apis_versions(kz_ApiVersionsResponse *out, kz_arena *a)
{
    int n = 0;
    for (int k = 0; k < KZ_KAPI_MAX; k++)
        n += kb_api_table[k] && kz_kmsg_requests[k];
    out->api_keys.v = kz_arena_alloc(a, (size_t)n * sizeof *out->api_keys.v);
    if (!out->api_keys.v)
        return KZ_ENOMEM;
    out->api_keys.n = 0;
    for (int k = 0; k < KZ_KAPI_MAX; k++) {
        const kz_kmsg *m = kz_kmsg_requests[k];
        if (!kb_api_table[k] || !m)
            continue;
        kz_ApiVersion *v = &out->api_keys.v[out->api_keys.n++];
        v->api_key = (int16_t)k;
        v->min_version = m->lo;
        v->max_version = m->hi;
    }
    return 0;
}

/* KIP-511: an ApiVersions request of a version we do not know gets the v0
 * response with UNSUPPORTED_VERSION and our ApiVersions range. */
static void kb_apis_reply_unsupported_api_versions(kb_req *req, int32_t corr)
{
    kz_ApiVersionsResponse *r = kz_arena_alloc(&req->arena, sizeof *r);
    kz_ApiVersion *v = kz_arena_alloc(&req->arena, sizeof *v);
    if (!r || !v) {
        kb_req_close(req, "out of memory");
        return;
    }
    req->hdr.corr_id = corr;
    r->error_code = KB_ERR_UNSUPPORTED_VERSION;
    r->finalized_features_epoch = -1;
    v->api_key = 18;
    v->min_version = kz_kmsg_ApiVersionsRequest.lo;
    v->max_version = kz_kmsg_ApiVersionsRequest.hi;
    r->api_keys.n = 1;
    r->api_keys.v = v;
    kb_req_reply(req, &kz_kmsg_ApiVersionsResponse, 0, r);
}

void kb_apis_dispatch(void *ctx, kb_req *req)
{
    kb_server *s = ctx;
    int16_t key, ver;
    int32_t corr;
    if (kz_kreq_peek(req->frame, req->frame_len, &key, &ver, &corr) != 0) {
        kb_req_close(req, "request shorter than its header");
        return;
    }
    const kz_kmsg *schema = key >= 0 && key < KZ_KAPI_MAX ? kz_kmsg_requests[key] : NULL;
    kb_api_fn *fn = schema ? kb_api_table[key] : NULL;
    if (!fn) {
        kz_info(KB_API_LOG, "Closing connection from %s: unsupported API key %d", req->peer, key);
        kb_req_close(req, "unsupported API key");
        return;
    }
    if (ver < schema->lo || ver > schema->hi) {
        if (key == 18) {
            kb_apis_reply_unsupported_api_versions(req, corr);
            return;
        }
        kz_info(KB_API_LOG, "Closing connection from %s: %s version %d is not supported (%d-%d)",
                req->peer, schema->name, ver, schema->lo, schema->hi);
        kb_req_close(req, "unsupported API version");
        return;
    }
    req->hdr_ver = kz_kreq_hdr_version(schema, ver);
    kz_rd r = kz_rd_init(req->frame, req->frame_len);
    void *body = kz_arena_alloc(&req->arena, schema->size);
    if (kz_kreq_hdr_decode(&r, req->hdr_ver, &req->hdr) != 0 || !body ||
        kz_kmsg_decode(schema, ver, &r, body, &req->arena) != 0) {
        kz_warn(KB_API_LOG, "Closing connection from %s: malformed %s v%d request (correlation id %d)",
                req->peer, schema->name, ver, corr);
        kb_req_close(req, "malformed request");
        return;
    }
    req->body = r;
    fn(s, req, body, ver);
}

void kb_api_api_versions(kb_server *s, kb_req *req, const void *body, int16_t ver)
{
    (void)s;
    const kz_ApiVersionsRequest *rq = body;
    kz_ApiVersionsResponse *r = kz_arena_alloc(&req->arena, sizeof *r);
    if (!r || kb_apis_versions(r, &req->arena) != 0) {
        kb_req_close(req, "out of memory");
        return;
    }
    r->finalized_features_epoch = -1;
    /* v3 validates the client software name and version (KIP-511). */
    if (ver >= 3) {
        /* [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])? */
        const kz_str *fs[2] = { &rq->client_software_name, &rq->client_software_version };
        for (int i = 0; i < 2; i++) {
            const kz_str *f = fs[i];
            bool valid = f->len > 0 && isalnum((unsigned char)f->s[0]) &&
                         isalnum((unsigned char)f->s[f->len - 1]);
            for (int32_t j = 0; valid && j < f->len; j++)
                valid = isalnum((unsigned char)f->s[j]) || f->s[j] == '.' || f->s[j] == '-';
            if (!valid) {
                r->error_code = KB_ERR_INVALID_REQUEST;
                r->api_keys.n = 0;
                break;
            }
        }
    }
    kb_req_reply(req, &kz_kmsg_ApiVersionsResponse, ver, r);
}
