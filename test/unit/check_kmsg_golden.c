/* test/unit/check_kmsg_golden.c -- Kafka messages as real clients put them on
 * the wire, decoded by the kz_kmsg engine and re-encoded byte for byte: frames
 * captured from real clients talking to kafkad through a recording proxy
 * (test/fixtures/kafka/capture, made by capture.py there; listed in its
 * index.tsv): kcat 1.7.1 and confluent-kafka (librdkafka 2.0.2) and
 * kafka-python 2.0.2. Every request frame (header + body, without the int32
 * size) decodes with the header version of its API version and the request
 * schema, consuming every byte, and re-encodes to the same bytes; so does every
 * response frame (kafkad's answer) with the response schema of its request's
 * version and the matching correlation id. Then the values of each exchange:
 * client ids, topics, partitions, acks, the record batches (codec, CRC, length,
 * keys and values of the records, decompressed), offsets and errors of the
 * answers. (Bodies encoded by kafka-python's protocol classes are checked by
 * check_kmsg_kpy.c.)
 *
 * The capture's log, in offset order (capture.py): kcat produces 3 records
 * with each codec none, gzip, snappy, lz4, zstd (offsets 0-14), confluent-kafka
 * 3 more (15-17), kafka-python 3 more (18-20), all to partition 0 of the topic
 * "golden"; want_record() below describes each of them.
 * Fixtures are read from $KZ_FIXTURES or test/fixtures (run from the repo
 * root). */
#include "kmsg_golden.h"

/* ================================== 1. frames captured from real clients */

#define CAP_DIR "capture"
#define CAP_MAX 128

/* One line of capture/index.tsv: file, client, api_key, version, direction,
 * note ("codec <name>" for Produce exchanges of a compressed batch). */
typedef struct cap_row {
    char file[96];
    char client[16];
    int key, ver;
    bool req;
    char variant[16]; /* the codec of the note, "" for none */
} cap_row;

typedef struct cap_index {
    int n;
    cap_row row[CAP_MAX];
} cap_index;

/* Copies field @src into @dst (@cap bytes); false when it does not fit. */
static bool cap_copy(char *dst, size_t cap, const char *src)
{
    return (size_t)snprintf(dst, cap, "%s", src) < cap;
}

/* Reads capture/index.tsv (comments '#' and the column header skipped) into
 * @ix. Returns 0, -1 when it cannot be opened, or the number of its first
 * malformed line. Uses no Check assertion: main calls it too, outside any
 * test, for the loop bounds. */
static int cap_index_read(cap_index *ix)
{
    const char *root = getenv("KZ_FIXTURES");
    char path[512], line[512];
    snprintf(path, sizeof path, "%s/kafka/%s/index.tsv", root && *root ? root : "test/fixtures", CAP_DIR);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int bad = 0;
    ix->n = 0;
    for (int ln = 1; !bad && fgets(line, sizeof line, f); ln++) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] == '#' || strncmp(line, "file\t", 5) == 0)
            continue;
        char *fld[7], *p = line, *end;
        int nf = 0;
        while (p && nf < 7) {
            fld[nf++] = p;
            if ((p = strchr(p, '\t')) != NULL)
                *p++ = 0;
        }
        cap_row *r = &ix->row[ix->n];
        memset(r, 0, sizeof *r);
        bool ok = nf == 6 && ix->n < CAP_MAX && fld[0][0] && fld[1][0] && cap_copy(r->file, sizeof r->file, fld[0]) &&
                  cap_copy(r->client, sizeof r->client, fld[1]);
        r->key = ok ? (int)strtol(fld[2], &end, 10) : -1;
        ok = ok && *fld[2] && !*end && r->key >= 0 && r->key < KZ_KAPI_MAX;
        r->ver = ok ? (int)strtol(fld[3], &end, 10) : -1;
        ok = ok && *fld[3] && !*end && r->ver >= 0 && r->ver < 100;
        r->req = ok && strcmp(fld[4], "req") == 0;
        ok = ok && (r->req || strcmp(fld[4], "resp") == 0);
        ok = ok && (!fld[5][0] || (strncmp(fld[5], "codec ", 6) == 0 && fld[5][6] &&
                                   cap_copy(r->variant, sizeof r->variant, fld[5] + 6)));
        if (ok)
            ix->n++;
        else
            bad = ln;
    }
    fclose(f);
    return bad;
}

/* A new index read from the fixtures; the caller frees it. */
static cap_index *cap_index_load(void)
{
    cap_index *ix = calloc(1, sizeof *ix);
    ck_assert_ptr_nonnull(ix);
    int rc = cap_index_read(ix);
    ck_assert_msg(rc == 0, rc < 0 ? "cannot open %s/index.tsv (run from the repository root or set KZ_FIXTURES)"
                                  : "%s/index.tsv: line %d is malformed", CAP_DIR, rc);
    return ix;
}

/* The @i-th request (@req) or response row, NULL past the last one. */
static const cap_row *cap_nth(const cap_index *ix, bool req, int i)
{
    for (int k = 0; k < ix->n; k++)
        if (ix->row[k].req == req && i-- == 0)
            return &ix->row[k];
    return NULL;
}

/* Request (@req) or response rows, for the loop bounds (0 when the index is
 * unreadable: t01_capture_index then fails). */
static int cap_count(bool req)
{
    cap_index *ix = calloc(1, sizeof *ix);
    int n = 0;
    if (ix && cap_index_read(ix) == 0)
        while (cap_nth(ix, req, n))
            n++;
    free(ix);
    return n;
}

/* One captured frame, decoded. Strings of @msg and @hdr point into @raw. */
typedef struct cap_frame {
    blob raw;
    const kz_kmsg *m;
    int16_t ver;
    int hdr_ver;
    kz_kreq_hdr hdr;   /* responses: only corr_id */
    void *msg;
} cap_frame;

/* Decodes capture file @file: a request when @req is NULL (header version
 * from the api key and version the frame starts with), else the answer to
 * @req (the response schema of its api key and version, the same
 * correlation id). The body must end exactly at the end of the frame. */
static void cap_decode(cap_frame *f, const char *file, const cap_frame *req, kz_arena *a)
{
    memset(f, 0, sizeof *f);
    f->raw = fixture_file(CAP_DIR, file);
    kz_rd r = kz_rd_init(f->raw.p, f->raw.n);
    if (req) {
        f->m = kz_kmsg_responses[req->m->api_key];
        f->ver = req->ver;
        f->hdr_ver = kz_kresp_hdr_version(f->m, f->ver);
        ck_assert_int_eq(kz_kresp_hdr_decode(&r, f->hdr_ver, &f->hdr.corr_id), KZ_OK);
        ck_assert_msg(f->hdr.corr_id == req->hdr.corr_id, "%s: correlation id %d, request's %d", file,
                      f->hdr.corr_id, req->hdr.corr_id);
    } else {
        int16_t key, ver;
        int32_t corr;
        ck_assert_msg(kz_kreq_peek(f->raw.p, f->raw.n, &key, &ver, &corr) == 0, "%s: no request header", file);
        ck_assert_msg(key >= 0 && key < KZ_KAPI_MAX && kz_kmsg_requests[key], "%s: api key %d", file, key);
        f->m = kz_kmsg_requests[key];
        ck_assert_msg(ver >= f->m->lo && ver <= f->m->hi, "%s: %s v%d", file, f->m->name, ver);
        f->ver = ver;
        f->hdr_ver = kz_kreq_hdr_version(f->m, ver);
        ck_assert_int_eq(kz_kreq_hdr_decode(&r, f->hdr_ver, &f->hdr), KZ_OK);
        ck_assert(f->hdr.api_key == key && f->hdr.api_version == ver && f->hdr.corr_id == corr);
    }
    f->msg = malloc(f->m->size);
    ck_assert_ptr_nonnull(f->msg);
    int rc = kz_kmsg_decode(f->m, f->ver, &r, f->msg, a);
    ck_assert_msg(rc == KZ_OK, "%s: %s v%d decode rc %d at offset %zu of %zu", file, f->m->name, f->ver, rc,
                  (size_t)(r.p - f->raw.p), f->raw.n);
    ck_assert_msg(r.p == r.end, "%s: consumed %zu of %zu bytes", file, (size_t)(r.p - f->raw.p), f->raw.n);
}

/* Header + body encoded again; compared with the file byte for byte. Also
 * every proper prefix of the body fails to decode. */
static void cap_reencode(const cap_frame *f, const char *file, bool req)
{
    kz_wr w = KZ_WR_INIT;
    if (req)
        kz_kreq_hdr_encode(&w, f->hdr_ver, &f->hdr);
    else
        kz_kresp_hdr_encode(&w, f->hdr_ver, f->hdr.corr_id);
    size_t hlen = w.len;
    kz_kmsg_encode(f->m, f->ver, f->msg, &w);
    ck_assert_msg(w.err == 0, "%s: encode error %d", file, w.err);
    bytes_eq(file, w.base, w.len, f->raw.p, f->raw.n);
    prefixes_fail(f->m, f->ver, f->raw.p + hlen, f->raw.n - hlen);
    kz_wr_free(&w);
}

static void cap_frame_free(cap_frame *f)
{
    free(f->msg);
    free(f->raw.p);
    f->msg = NULL;
    f->raw.p = NULL;
}

/* The request file of a response file: <stem>_resp.bin -> <stem>_req.bin. */
static void cap_req_name(char *out, size_t cap, const char *resp)
{
    size_t n = strlen(resp);
    ck_assert_msg(n > 9 && strcmp(resp + n - 9, "_resp.bin") == 0, "%s: not a response file name", resp);
    snprintf(out, cap, "%.*s_req.bin", (int)(n - 9), resp);
}

/* The client id each client sends in its request headers (kafka-python's
 * KafkaProducer numbers its own). */
static const struct {
    const char *client, *client_id, *producer_id;
} CAP_CLIENTS[] = {
    { "kcat", "rdkafka", "rdkafka" },
    { "confluent", "rdkafka", "rdkafka" },
    { "kafkapython", "kafka-python-2.0.2", "kafka-python-producer-1" },
};

START_TEST(t02_capture_requests)
{
    cap_index *ix = cap_index_load();
    const cap_row *row = cap_nth(ix, true, _i);
    ck_assert_ptr_nonnull(row);
    kz_arena a = KZ_ARENA_INIT;
    cap_frame f;
    cap_decode(&f, row->file, NULL, &a);
    ck_assert_msg(f.m->api_key == row->key && f.ver == row->ver, "%s: %s v%d, index says key %d v%d", row->file,
                  f.m->name, f.ver, row->key, row->ver);
    const char *want_id = NULL;
    for (size_t i = 0; i < N_(CAP_CLIENTS); i++)
        if (strcmp(row->client, CAP_CLIENTS[i].client) == 0)
            want_id = row->key == 0 ? CAP_CLIENTS[i].producer_id : CAP_CLIENTS[i].client_id;
    ck_assert_msg(want_id != NULL, "%s: unknown client %s", row->file, row->client);
    STR_IS(f.hdr.client_id, want_id);
    cap_reencode(&f, row->file, true);
    cap_frame_free(&f);
    kz_arena_reset(&a);
    free(ix);
}
END_TEST

START_TEST(t03_capture_responses)
{
    cap_index *ix = cap_index_load();
    const cap_row *row = cap_nth(ix, false, _i);
    ck_assert_ptr_nonnull(row);
    char reqf[128];
    cap_req_name(reqf, sizeof reqf, row->file);
    kz_arena a = KZ_ARENA_INIT;
    cap_frame q, s;
    cap_decode(&q, reqf, NULL, &a);
    cap_decode(&s, row->file, &q, &a);
    ck_assert(s.m->api_key == row->key && s.ver == row->ver);
    cap_reencode(&s, row->file, false);
    cap_frame_free(&s);
    cap_frame_free(&q);
    kz_arena_reset(&a);
    free(ix);
}
END_TEST

/* ---- the values of each exchange ---- */

#define CAP_TOPIC "golden"
#define CAP_RECORDS 3        /* records per produce */
#define CAP_KCAT_END 15      /* 5 codecs x 3 records */
#define CAP_LOG_END 21       /* + confluent-kafka's 3 + kafka-python's 3 */
#define CAP_BIG "abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd" /* "abcd" x 16 */

static const char *const CODEC_NAMES[] = { "none", "gzip", "snappy", "lz4", "zstd" };

/* Key, value and codec of the record at offset @off of "golden"-0 in the
 * capture (see the file comment). */
static void want_record(int64_t off, char *key, char *val, size_t cap, int *codec)
{
    ck_assert(off >= 0 && off < CAP_LOG_END);
    int j = (int)(off % CAP_RECORDS);
    if (off < CAP_KCAT_END) {
        *codec = (int)(off / CAP_RECORDS);
        snprintf(key, cap, "k%d", j);
        snprintf(val, cap, "%s-%d-%s", CODEC_NAMES[*codec], j, CAP_BIG);
    } else if (off < CAP_KCAT_END + CAP_RECORDS) {
        *codec = KZ_CODEC_NONE;
        snprintf(key, cap, "ck%d", j);
        snprintf(val, cap, "confluent-%d", j);
    } else {
        *codec = KZ_CODEC_NONE;
        snprintf(key, cap, "pk%d", j);
        snprintf(val, cap, "kafka-python-%d", j);
    }
}

/* Checks a record set: whole v2 batches with good CRCs, filling @recs
 * exactly, holding the @n records of the capture's log from offset @first
 * (batch offsets in the set start at @base: 0 for a producer's batch,
 * @first for the log's), each in a batch of its codec. */
static void check_recs(const char *what, kz_str recs, int64_t base, int64_t first, int n)
{
    ck_assert_msg(recs.len > 0, "%s: no records", what);
    const uint8_t *p = (const uint8_t *)recs.s;
    size_t at = 0;
    while (at < (size_t)recs.len) { /* batch framing: the set is whole batches */
        kz_batch_hdr h;
        ck_assert_msg(kz_batch_peek(p + at, (size_t)recs.len - at, 0, &h) == KZ_BATCH_OK, "%s: batch at %zu", what, at);
        ck_assert_int_eq(h.magic, 2);
        ck_assert(kz_batch_crc_ok(p + at, &h));
        ck_assert_int_eq(h.count, h.last_offset_delta + 1);
        at += kz_batch_size(&h);
    }
    ck_assert_uint_eq(at, (size_t)recs.len);

    kz_wr scratch = KZ_WR_INIT;
    kz_rec_iter it;
    kz_record rec;
    kz_rec_iter_init(&it, p, (size_t)recs.len, &scratch, 0, KZ_RI_CHECK_CRC);
    int i = 0;
    while (kz_rec_iter_next(&it, &rec)) {
        ck_assert_msg(i < n, "%s: more than %d records", what, n);
        char key[96], val[96];
        int codec;
        want_record(first + i, key, val, sizeof key, &codec);
        ck_assert_int_eq(rec.offset, base + i);
        ck_assert_msg(kz_batch_codec(&it.batch) == codec, "%s: record %d in a batch of codec %d, want %s", what, i,
                      kz_batch_codec(&it.batch), CODEC_NAMES[codec]);
        STR_IS(rec.key, key);
        STR_IS(rec.value, val);
        ck_assert_int_eq(rec.header_count, 0);
        ck_assert_int_gt(rec.timestamp, INT64_C(1600000000000));
        i++;
    }
    ck_assert_msg(it.err == KZ_REC_NONE && !it.partial, "%s: iteration error %d", what, it.err);
    ck_assert_msg(i == n, "%s: %d records, want %d", what, i, n);
    kz_wr_free(&scratch);
}

/* What an exchange must hold beyond its bytes (unused members are 0). */
typedef struct cap_want cap_want;
typedef void cap_check_fn(const cap_want *w, const cap_frame *q, const cap_frame *s);
struct cap_want {
    const char *stem;    /* <client>_<Api>_v<N>[_<codec>] */
    cap_check_fn *check;
    int64_t offset;      /* Produce: base offset answered; Fetch: offset asked; ListOffsets: offset answered */
    int count;           /* Produce/Fetch: records; Metadata: topics asked (-1 all, 0 all in v0) */
    int16_t acks;        /* Produce */
    bool flag;           /* Metadata: allow_auto_topic_creation; DescribeConfigs: include_synonyms */
    const char *names[2]; /* CreateTopics/DeleteTopics: the topics; ApiVersions v3: software name, version */
};

/* v3: the client's software name and version (w->names). */
static void chk_api_versions(const cap_want *w, const cap_frame *q, const cap_frame *s)
{
    const kz_ApiVersionsRequest *rq = q->msg;
    if (q->ver >= 3) {
        STR_IS(rq->client_software_name, w->names[0]);
        STR_IS(rq->client_software_version, w->names[1]);
    } else {
        ck_assert_ptr_null(w->names[0]);
    }
    const kz_ApiVersionsResponse *rs = s->msg;
    ck_assert_int_eq(rs->error_code, 0);
    ck_assert_int_eq(rs->throttle_time_ms, 0);
    ck_assert_int_ge(rs->api_keys.n, 8);
    /* What kafkad advertises is what its schema table decodes. */
    int seen = 0, prev = -1;
    for (int32_t i = 0; i < rs->api_keys.n; i++) {
        const kz_ApiVersion *v = &rs->api_keys.v[i];
        ck_assert_int_gt(v->api_key, prev);
        prev = v->api_key;
        ck_assert_ptr_nonnull(kz_kmsg_requests[v->api_key]);
        ck_assert_int_eq(v->min_version, kz_kmsg_requests[v->api_key]->lo);
        ck_assert_int_eq(v->max_version, kz_kmsg_requests[v->api_key]->hi);
        if (v->api_key == 0 || v->api_key == 1 || v->api_key == 2 || v->api_key == 3 || v->api_key == 18)
            seen++;
    }
    ck_assert_int_eq(seen, 5);
    ck_assert_int_eq(rs->supported_features.n, 0);
    ck_assert_int_eq(rs->finalized_features_epoch, -1);
}

/* The one broker (id 1, the proxy's address on 127.X.Y.2:9092), controller
 * 1, and "golden" with its partition 0 on broker 1. */
static void chk_metadata(const cap_want *w, const cap_frame *q, const cap_frame *s)
{
    const kz_MetadataRequest *rq = q->msg;
    ck_assert_int_eq(rq->topics.n, w->count);
    if (w->count == 1)
        STR_IS(rq->topics.v[0].name, CAP_TOPIC);
    ck_assert(rq->allow_auto_topic_creation == w->flag);
    const kz_MetadataResponse *rs = s->msg;
    ck_assert_int_eq(rs->brokers.n, 1);
    ck_assert_int_eq(rs->brokers.v[0].node_id, 1);
    ck_assert_int_eq(rs->brokers.v[0].port, 9092);
    kz_str h = rs->brokers.v[0].host;
    ck_assert_msg(h.len >= 9 && memcmp(h.s, "127.", 4) == 0 && memcmp(h.s + h.len - 2, ".2", 2) == 0,
                  "broker host %.*s", h.len > 0 ? (int)h.len : 0, h.len > 0 ? h.s : "");
    IS_NULL(rs->brokers.v[0].rack);
    if (s->ver >= 1)
        ck_assert_int_eq(rs->controller_id, 1);
    if (s->ver >= 2)
        ck_assert_int_eq(rs->cluster_id.len, 22); /* base64 of a UUID */
    int found = 0;
    for (int32_t i = 0; i < rs->topics.n; i++) {
        const kz_MetadataResponseTopic *t = &rs->topics.v[i];
        ck_assert_int_eq(t->error_code, 0);
        if (!str_is(t->name, CAP_TOPIC))
            continue;
        found++;
        ck_assert(!t->is_internal);
        ck_assert_int_eq(t->partitions.n, 1);
        const kz_MetadataResponsePartition *p = t->partitions.v;
        ck_assert(p->error_code == 0 && p->partition_index == 0 && p->leader_id == 1);
        ARR_IS(p->replica_nodes, 1);
        ARR_IS(p->isr_nodes, 1);
        ck_assert_int_eq(p->offline_replicas.n, 0);
    }
    ck_assert_int_eq(found, 1);
    if (w->count == 1)
        ck_assert_int_eq(rs->topics.n, 1);
}

static void chk_produce(const cap_want *w, const cap_frame *q, const cap_frame *s)
{
    const kz_ProduceRequest *rq = q->msg;
    IS_NULL(rq->transactional_id);
    ck_assert_int_eq(rq->acks, w->acks);
    ck_assert_int_eq(rq->timeout_ms, 30000);
    ck_assert_int_eq(rq->topic_data.n, 1);
    STR_IS(rq->topic_data.v[0].name, CAP_TOPIC);
    ck_assert_int_eq(rq->topic_data.v[0].partition_data.n, 1);
    const kz_PartitionProduceData *d = rq->topic_data.v[0].partition_data.v;
    ck_assert_int_eq(d->index, 0);
    kz_batch_hdr h; /* one batch, exactly as long as the record set */
    ck_assert_int_eq(kz_batch_peek((const uint8_t *)d->records.mem.s, (size_t)d->records.mem.len, 0, &h), KZ_BATCH_OK);
    ck_assert_int_eq((int64_t)kz_batch_size(&h), d->records.mem.len);
    ck_assert(h.base_offset == 0 && h.count == w->count && h.producer_id == -1);
    check_recs(w->stem, d->records.mem, 0, w->offset, w->count);

    const kz_ProduceResponse *rs = s->msg;
    ck_assert_int_eq(rs->throttle_time_ms, 0);
    ck_assert_int_eq(rs->responses.n, 1);
    STR_IS(rs->responses.v[0].name, CAP_TOPIC);
    ck_assert_int_eq(rs->responses.v[0].partition_responses.n, 1);
    const kz_PartitionProduceResponse *r = rs->responses.v[0].partition_responses.v;
    ck_assert(r->index == 0 && r->error_code == 0 && r->base_offset == w->offset);
    ck_assert(r->log_append_time_ms == -1 && r->log_start_offset == 0);
}

/* Fetch of "golden"-0 from w->offset: the answer holds the w->count records
 * from there, up to the high watermark. */
static void chk_fetch(const cap_want *w, const cap_frame *q, const cap_frame *s)
{
    const kz_FetchRequest *rq = q->msg;
    ck_assert(rq->replica_id == -1 && rq->min_bytes == 1 && rq->max_bytes == 52428800);
    ck_assert_int_eq(rq->topics.n, 1);
    STR_IS(rq->topics.v[0].topic, CAP_TOPIC);
    ck_assert_int_eq(rq->topics.v[0].partitions.n, 1);
    const kz_FetchPartition *p = rq->topics.v[0].partitions.v;
    ck_assert(p->partition == 0 && p->fetch_offset == w->offset && p->partition_max_bytes == 1048576);
    ck_assert_int_eq(rq->forgotten_topics_data.n, 0);

    const kz_FetchResponse *rs = s->msg;
    ck_assert(rs->throttle_time_ms == 0 && rs->error_code == 0);
    ck_assert_int_eq(rs->responses.n, 1);
    STR_IS(rs->responses.v[0].topic, CAP_TOPIC);
    ck_assert_int_eq(rs->responses.v[0].partition_responses.n, 1);
    const kz_FetchablePartitionResponse *r = rs->responses.v[0].partition_responses.v;
    ck_assert(r->partition == 0 && r->error_code == 0);
    ck_assert_int_eq(r->high_watermark, w->offset + w->count);
    ck_assert_int_eq(r->last_stable_offset, w->offset + w->count);
    ck_assert_int_eq(r->log_start_offset, s->ver >= 5 ? 0 : -1);
    ck_assert_int_le(r->aborted_transactions.n, 0);
    check_recs(w->stem, r->record_set.mem, w->offset, w->offset, w->count);
}

static void chk_list_offsets(const cap_want *w, const cap_frame *q, const cap_frame *s)
{
    const kz_ListOffsetsRequest *rq = q->msg;
    ck_assert_int_eq(rq->replica_id, -1);
    ck_assert_int_eq(rq->topics.n, 1);
    STR_IS(rq->topics.v[0].name, CAP_TOPIC);
    ck_assert_int_eq(rq->topics.v[0].partitions.n, 1);
    ck_assert(rq->topics.v[0].partitions.v[0].partition_index == 0 && rq->topics.v[0].partitions.v[0].timestamp == -2);
    const kz_ListOffsetsResponse *rs = s->msg;
    ck_assert_int_eq(rs->topics.n, 1);
    STR_IS(rs->topics.v[0].name, CAP_TOPIC);
    ck_assert_int_eq(rs->topics.v[0].partitions.n, 1);
    const kz_ListOffsetsPartitionResponse *r = rs->topics.v[0].partitions.v;
    ck_assert(r->partition_index == 0 && r->error_code == 0 && r->timestamp == -1 && r->offset == w->offset);
}

/* kafkad has no group coordinator in this capture: COORDINATOR_NOT_AVAILABLE. */
static void chk_find_coordinator(const cap_want *w, const cap_frame *q, const cap_frame *s)
{
    (void)w;
    const kz_FindCoordinatorRequest *rq = q->msg;
    STR_IS(rq->key, "golden-group");
    ck_assert_int_eq(rq->key_type, 0);
    const kz_FindCoordinatorResponse *rs = s->msg;
    ck_assert_int_eq(rs->error_code, 15);
    ck_assert(rs->node_id == -1 && rs->port == -1);
    STR_IS(rs->host, "");
}

/* confluent-kafka: golden (1 partition, retention.ms=86400000) and
 * golden-del (2 partitions); kafka-python: golden-kp. All created. */
static void chk_create_topics(const cap_want *w, const cap_frame *q, const cap_frame *s)
{
    const kz_CreateTopicsRequest *rq = q->msg;
    int n = w->names[1] ? 2 : 1;
    ck_assert_int_eq(rq->topics.n, n);
    ck_assert_int_eq(rq->timeout_ms, 20000);
    ck_assert(!rq->validate_only);
    for (int i = 0; i < n; i++) {
        const kz_CreatableTopic *t = &rq->topics.v[i];
        STR_IS(t->name, w->names[i]);
        ck_assert_int_eq(t->num_partitions, i == 0 ? 1 : 2);
        ck_assert_int_eq(t->replication_factor, 1);
        ck_assert_int_eq(t->assignments.n, 0);
        if (str_is(t->name, CAP_TOPIC)) {
            ck_assert_int_eq(t->configs.n, 1);
            STR_IS(t->configs.v[0].name, "retention.ms");
            STR_IS(t->configs.v[0].value, "86400000");
        } else {
            ck_assert_int_eq(t->configs.n, 0);
        }
    }
    const kz_CreateTopicsResponse *rs = s->msg;
    ck_assert_int_eq(rs->topics.n, n);
    for (int i = 0; i < n; i++) {
        STR_IS(rs->topics.v[i].name, w->names[i]);
        ck_assert_int_eq(rs->topics.v[i].error_code, 0);
        IS_NULL(rs->topics.v[i].error_message);
    }
}

static void chk_delete_topics(const cap_want *w, const cap_frame *q, const cap_frame *s)
{
    const kz_DeleteTopicsRequest *rq = q->msg;
    ck_assert_int_eq(rq->topic_names.n, 1);
    STR_IS(rq->topic_names.v[0], w->names[0]);
    ck_assert_int_eq(rq->timeout_ms, 20000);
    const kz_DeleteTopicsResponse *rs = s->msg;
    ck_assert_int_eq(rs->responses.n, 1);
    STR_IS(rs->responses.v[0].name, w->names[0]);
    ck_assert_int_eq(rs->responses.v[0].error_code, 0);
}

/* Every config of "golden": its override retention.ms (DYNAMIC_TOPIC_CONFIG,
 * 1), file.delete.delay.ms from the broker's log.segment.delete.delay.ms
 * (STATIC_BROKER_CONFIG, 4), cleanup.policy at its default (5). Synonyms
 * when asked for: the source itself, and for file.delete.delay.ms also the
 * default it overrides. */
static void chk_describe_configs(const cap_want *w, const cap_frame *q, const cap_frame *s)
{
    const kz_DescribeConfigsRequest *rq = q->msg;
    ck_assert_int_eq(rq->resources.n, 1);
    ck_assert_int_eq(rq->resources.v[0].resource_type, 2);
    STR_IS(rq->resources.v[0].resource_name, CAP_TOPIC);
    ck_assert_int_eq(rq->resources.v[0].configuration_keys.n, -1);
    ck_assert(rq->include_synonyms == w->flag);
    const kz_DescribeConfigsResponse *rs = s->msg;
    ck_assert_int_eq(rs->results.n, 1);
    const kz_DescribeConfigsResult *r = rs->results.v;
    ck_assert(r->error_code == 0 && r->resource_type == 2);
    IS_NULL(r->error_message);
    STR_IS(r->resource_name, CAP_TOPIC);
    ck_assert_int_ge(r->configs.n, 20);
    static const struct {
        const char *name, *value;
        int8_t source;
        int nsyn;
    } want[] = { { "retention.ms", "86400000", 1, 1 }, { "file.delete.delay.ms", "1000", 4, 2 },
                 { "cleanup.policy", "delete", 5, 1 } };
    for (size_t k = 0; k < N_(want); k++) {
        int found = 0;
        for (int32_t i = 0; i < r->configs.n; i++) {
            const kz_DescribeConfigsResourceResult *c = &r->configs.v[i];
            if (!str_is(c->name, want[k].name))
                continue;
            found++;
            STR_IS(c->value, want[k].value);
            ck_assert(!c->read_only && !c->is_sensitive);
            ck_assert_int_eq(c->config_source, want[k].source);
            ck_assert_int_eq(c->synonyms.n, w->flag ? want[k].nsyn : 0);
            if (w->flag)
                ck_assert_int_eq(c->synonyms.v[0].source, want[k].source);
        }
        ck_assert_msg(found == 1, "config %s found %d times", want[k].name, found);
    }
}

static const cap_want CAP_WANT[] = {
    { "confluent_ApiVersions_v3", chk_api_versions, 0, 0, 0, false, { "confluent-kafka-python", "1.7.0-rdkafka-2.0.2" } },
    { "confluent_CreateTopics_v4", chk_create_topics, 0, 0, 0, false, { CAP_TOPIC, "golden-del" } },
    { "confluent_DeleteTopics_v1", chk_delete_topics, 0, 0, 0, false, { "golden-del", NULL } },
    { "confluent_DescribeConfigs_v1", chk_describe_configs, 0, 0, 0, true, { NULL, NULL } },
    { "confluent_Fetch_v11", chk_fetch, CAP_KCAT_END, CAP_RECORDS, 0, false, { NULL, NULL } },
    { "confluent_FindCoordinator_v2", chk_find_coordinator, 0, 0, 0, false, { NULL, NULL } },
    { "confluent_Metadata_v4", chk_metadata, 0, 1, 0, true, { NULL, NULL } },
    { "confluent_Produce_v7", chk_produce, CAP_KCAT_END, CAP_RECORDS, -1, false, { NULL, NULL } },
    { "kafkapython_ApiVersions_v0", chk_api_versions, 0, 0, 0, false, { NULL, NULL } },
    { "kafkapython_CreateTopics_v3", chk_create_topics, 0, 0, 0, false, { "golden-kp", NULL } },
    { "kafkapython_DeleteTopics_v3", chk_delete_topics, 0, 0, 0, false, { "golden-kp", NULL } },
    { "kafkapython_DescribeConfigs_v2", chk_describe_configs, 0, 0, 0, false, { NULL, NULL } },
    { "kafkapython_Fetch_v4", chk_fetch, CAP_KCAT_END + CAP_RECORDS, CAP_RECORDS, 0, false, { NULL, NULL } },
    { "kafkapython_Metadata_v0", chk_metadata, 0, 0, 0, true, { NULL, NULL } },
    { "kafkapython_Metadata_v1", chk_metadata, 0, 1, 0, true, { NULL, NULL } },
    { "kafkapython_Metadata_v5", chk_metadata, 0, -1, 0, false, { NULL, NULL } },
    { "kafkapython_Produce_v7", chk_produce, CAP_KCAT_END + CAP_RECORDS, CAP_RECORDS, 1, false, { NULL, NULL } },
    { "kcat_ApiVersions_v3", chk_api_versions, 0, 0, 0, false, { "librdkafka", "2.0.2" } },
    { "kcat_Fetch_v11", chk_fetch, 0, CAP_KCAT_END, 0, false, { NULL, NULL } },
    { "kcat_ListOffsets_v2", chk_list_offsets, 0, 0, 0, false, { NULL, NULL } },
    { "kcat_Metadata_v4", chk_metadata, 0, 1, 0, true, { NULL, NULL } },
    { "kcat_Produce_v7", chk_produce, 0, CAP_RECORDS, -1, false, { NULL, NULL } },
    { "kcat_Produce_v7_gzip", chk_produce, 3, CAP_RECORDS, -1, false, { NULL, NULL } },
    { "kcat_Produce_v7_snappy", chk_produce, 6, CAP_RECORDS, -1, false, { NULL, NULL } },
    { "kcat_Produce_v7_lz4", chk_produce, 9, CAP_RECORDS, -1, false, { NULL, NULL } },
    { "kcat_Produce_v7_zstd", chk_produce, 12, CAP_RECORDS, -1, false, { NULL, NULL } },
};

/* The index: every file is named after its row (<client>_<Api>_v<N>
 * [_<codec>]_<req|resp>.bin), small, and paired (each request has its
 * answer and the reverse); the three clients and the five codecs are there;
 * every exchange has its value checks in CAP_WANT and the reverse. */
START_TEST(t01_capture_index)
{
    cap_index *ix = cap_index_load();
    ck_assert_int_ge(ix->n, 40);
    bool clients[N_(CAP_CLIENTS)] = { false }, checked[N_(CAP_WANT)] = { false };
    int codecs = 0;
    for (int i = 0; i < ix->n; i++) {
        const cap_row *r = &ix->row[i];
        ck_assert_msg(r->key < KZ_KAPI_MAX && kz_kmsg_requests[r->key], "%s: api key %d", r->file, r->key);
        const char *api = kz_kmsg_requests[r->key]->name;
        char want[128];
        snprintf(want, sizeof want, "%s_%.*s_v%d%s%s_%s.bin", r->client, (int)(strlen(api) - strlen("Request")), api,
                 r->ver, r->variant[0] ? "_" : "", r->variant, r->req ? "req" : "resp");
        ck_assert_msg(strcmp(r->file, want) == 0, "index row %s should be named %s", r->file, want);
        for (size_t c = 0; c < N_(CAP_CLIENTS); c++)
            clients[c] |= strcmp(r->client, CAP_CLIENTS[c].client) == 0;
        if (r->variant[0]) {
            ck_assert_int_eq(r->key, 0);
            for (int c = 1; c < (int)N_(CODEC_NAMES); c++)
                if (strcmp(r->variant, CODEC_NAMES[c]) == 0 && r->req)
                    codecs |= 1 << c;
        }
        blob b = fixture_file(CAP_DIR, r->file);
        ck_assert_msg(b.n >= 4 && b.n <= 4096, "%s: %zu bytes", r->file, b.n);
        free(b.p);
        /* the other half of the exchange, next to it */
        const cap_row *o = r->req ? (i + 1 < ix->n ? r + 1 : NULL) : (i > 0 ? r - 1 : NULL);
        size_t stem = strlen(r->file) - (r->req ? strlen("_req.bin") : strlen("_resp.bin"));
        ck_assert_msg(o && o->req != r->req && strncmp(o->file, r->file, stem) == 0 &&
                      strcmp(o->file + stem, r->req ? "_resp.bin" : "_req.bin") == 0,
                      "%s: not paired", r->file);
        size_t k = 0; /* its value checks */
        while (k < N_(CAP_WANT) && !(strlen(CAP_WANT[k].stem) == stem && strncmp(CAP_WANT[k].stem, r->file, stem) == 0))
            k++;
        ck_assert_msg(k < N_(CAP_WANT) && (!r->req || !checked[k]), "%.*s: no or two exchanges for CAP_WANT",
                      (int)stem, r->file);
        checked[k] = true;
    }
    for (size_t c = 0; c < N_(CAP_CLIENTS); c++)
        ck_assert_msg(clients[c], "no frame of %s", CAP_CLIENTS[c].client);
    ck_assert_int_eq(codecs, 0x1e); /* gzip, snappy, lz4, zstd */
    for (size_t k = 0; k < N_(CAP_WANT); k++)
        ck_assert_msg(checked[k], "%s: not in index.tsv", CAP_WANT[k].stem);
    free(ix);
}
END_TEST

START_TEST(t04_capture_values)
{
    const cap_want *w = &CAP_WANT[_i];
    char qf[128], sf[128];
    snprintf(qf, sizeof qf, "%s_req.bin", w->stem);
    snprintf(sf, sizeof sf, "%s_resp.bin", w->stem);
    kz_arena a = KZ_ARENA_INIT;
    cap_frame q, s;
    cap_decode(&q, qf, NULL, &a);
    cap_decode(&s, sf, &q, &a);
    w->check(w, &q, &s);
    cap_frame_free(&s);
    cap_frame_free(&q);
    kz_arena_reset(&a);
}
END_TEST

/* ============================================================== suite */

static Suite *kmsg_golden_suite(void)
{
    Suite *s = suite_create("kmsg_golden");
    TCase *tc = tcase_create("captured");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t01_capture_index);
    tcase_add_loop_test(tc, t02_capture_requests, 0, cap_count(true));
    tcase_add_loop_test(tc, t03_capture_responses, 0, cap_count(false));
    tcase_add_loop_test(tc, t04_capture_values, 0, (int)N_(CAP_WANT));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(kmsg_golden_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
