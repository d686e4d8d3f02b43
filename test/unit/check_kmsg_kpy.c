/* test/unit/check_kmsg_kpy.c -- message bodies encoded by kafka-python 2.0.2's
 * protocol classes (test/fixtures/kafka/msgs, made by gen.py there): decoded
 * with our schemas, values checked, re-encoded byte for byte, every proper
 * prefix refused. Fixtures are read from $KZ_FIXTURES or test/fixtures (run
 * from the repo root). */
#include "kmsg_golden.h"

/* ================================== 2. golden bytes from kafka-python 2.0.2 */

#define TS0 INT64_C(1600000000000) /* record timestamp used by gen.py */

static void g_metadata_req_v0(const void *p)
{
    const kz_MetadataRequest *m = p;
    ck_assert_int_eq(m->topics.n, 2);
    STR_IS(m->topics.v[0].name, "t1");
    STR_IS(m->topics.v[1].name, "t2");
    ck_assert(m->allow_auto_topic_creation); /* absent before v4: the default, true */
    ck_assert(!m->include_topic_authorized_operations);
}

static void g_metadata_req_v1_all(const void *p)
{
    const kz_MetadataRequest *m = p;
    ck_assert_int_eq(m->topics.n, -1); /* null: every topic */
}

static void g_metadata_req_v4(const void *p)
{
    const kz_MetadataRequest *m = p;
    ck_assert_int_eq(m->topics.n, 1);
    STR_IS(m->topics.v[0].name, "orders");
    ck_assert(!m->allow_auto_topic_creation);
}

static void g_metadata_resp_v5(const void *p)
{
    const kz_MetadataResponse *m = p;
    ck_assert_int_eq(m->throttle_time_ms, 7);
    ck_assert_int_eq(m->brokers.n, 2);
    ck_assert_int_eq(m->brokers.v[0].node_id, 1);
    STR_IS(m->brokers.v[0].host, "127.0.0.1");
    ck_assert_int_eq(m->brokers.v[0].port, 9092);
    IS_NULL(m->brokers.v[0].rack);
    ck_assert_int_eq(m->brokers.v[1].node_id, 2);
    STR_IS(m->brokers.v[1].host, "127.0.0.2");
    ck_assert_int_eq(m->brokers.v[1].port, 9093);
    STR_IS(m->brokers.v[1].rack, "r2");
    STR_IS(m->cluster_id, "kz-cluster");
    ck_assert_int_eq(m->controller_id, 2);
    ck_assert_int_eq(m->cluster_authorized_operations, INT32_MIN); /* v8-10 only: default */
    ck_assert_int_eq(m->topics.n, 2);
    const kz_MetadataResponseTopic *t = &m->topics.v[0];
    ck_assert_int_eq(t->error_code, 0);
    STR_IS(t->name, "orders");
    ck_assert(!t->is_internal);
    ck_assert_int_eq(t->topic_authorized_operations, INT32_MIN);
    ck_assert_int_eq(t->partitions.n, 2);
    const kz_MetadataResponsePartition *q = &t->partitions.v[0];
    ck_assert(q->error_code == 0 && q->partition_index == 0 && q->leader_id == 1 && q->leader_epoch == -1);
    ARR_IS(q->replica_nodes, 1, 2);
    ARR_IS(q->isr_nodes, 1, 2);
    ck_assert_int_eq(q->offline_replicas.n, 0);
    q = &t->partitions.v[1];
    ck_assert(q->error_code == 5 && q->partition_index == 1 && q->leader_id == -1);
    ARR_IS(q->replica_nodes, 2, 1);
    ARR_IS(q->isr_nodes, 2);
    ARR_IS(q->offline_replicas, 1);
    t = &m->topics.v[1];
    ck_assert_int_eq(t->error_code, 3);
    STR_IS(t->name, "missing");
    ck_assert(t->is_internal);
    ck_assert_int_eq(t->partitions.n, 0);
}

static void g_produce_req_v0(const void *p)
{
    const kz_ProduceRequest *m = p;
    IS_NULL(m->transactional_id);
    ck_assert_int_eq(m->acks, 1);
    ck_assert_int_eq(m->timeout_ms, 1000);
    ck_assert_int_eq(m->topic_data.n, 1);
    STR_IS(m->topic_data.v[0].name, "orders");
    ck_assert_int_eq(m->topic_data.v[0].partition_data.n, 1);
    const kz_PartitionProduceData *d = &m->topic_data.v[0].partition_data.v[0];
    ck_assert_int_eq(d->index, 1);
    /* One magic-0 entry: offset, size 23, crc, magic 0, attributes, key "k", value "v0-value". */
    const uint8_t *b = (const uint8_t *)d->records.mem.s;
    ck_assert_int_eq(d->records.mem.len, 12 + 23);
    ck_assert_uint_eq(kz_load_be32(b + 8), 23);
    ck_assert_uint_eq(b[16], 0);
    ck_assert_int_eq(memcmp(b + 27, "v0-value", 8), 0);
}

/* The v2 batch gen.py builds: two records, base offset 0, no producer. */
static void check_batch_v2(kz_str recs)
{
    ck_assert_int_gt(recs.len, 61);
    kz_batch_hdr h;
    const uint8_t *b = (const uint8_t *)recs.s;
    ck_assert_int_eq(kz_batch_peek(b, (size_t)recs.len, (size_t)recs.len, &h), KZ_BATCH_OK);
    ck_assert_uint_eq(kz_batch_size(&h), (size_t)recs.len);
    ck_assert(kz_batch_crc_ok(b, &h));
    ck_assert_int_eq(h.magic, 2);
    ck_assert_int_eq(h.base_offset, 0);
    ck_assert_int_eq(h.count, 2);
    ck_assert_int_eq(h.last_offset_delta, 1);
    ck_assert_int_eq(h.first_ts, TS0);
    ck_assert_int_eq(h.max_ts, TS0 + 5);
    ck_assert_int_eq(h.producer_id, -1);
    ck_assert_int_eq(kz_batch_codec(&h), 0);
}

static void g_produce_req_v3(const void *p)
{
    const kz_ProduceRequest *m = p;
    IS_NULL(m->transactional_id);
    ck_assert_int_eq(m->acks, -1);
    ck_assert_int_eq(m->timeout_ms, 1500);
    ck_assert_int_eq(m->topic_data.n, 1);
    STR_IS(m->topic_data.v[0].name, "orders");
    ck_assert_int_eq(m->topic_data.v[0].partition_data.n, 1);
    ck_assert_int_eq(m->topic_data.v[0].partition_data.v[0].index, 0);
    check_batch_v2(m->topic_data.v[0].partition_data.v[0].records.mem);
}

static void g_produce_resp_v5(const void *p)
{
    const kz_ProduceResponse *m = p;
    ck_assert_int_eq(m->throttle_time_ms, 0);
    ck_assert_int_eq(m->responses.n, 1);
    STR_IS(m->responses.v[0].name, "orders");
    ck_assert_int_eq(m->responses.v[0].partition_responses.n, 2);
    const kz_PartitionProduceResponse *r = m->responses.v[0].partition_responses.v;
    ck_assert(r[0].index == 0 && r[0].error_code == 0 && r[0].base_offset == 100 && r[0].log_append_time_ms == -1 &&
              r[0].log_start_offset == 0);
    ck_assert(r[1].index == 1 && r[1].error_code == 6 && r[1].base_offset == -1 && r[1].log_append_time_ms == -1 &&
              r[1].log_start_offset == -1);
    ck_assert_int_eq(r[0].record_errors.n, 0); /* v8+ */
    IS_NULL(r[0].error_message);
}

static void g_fetch_req_v4(const void *p)
{
    const kz_FetchRequest *m = p;
    ck_assert(m->replica_id == -1 && m->max_wait_ms == 500 && m->min_bytes == 1 && m->max_bytes == 52428800);
    ck_assert_int_eq(m->isolation_level, 1);
    ck_assert(m->session_id == 0 && m->session_epoch == -1); /* v7+: defaults */
    ck_assert_int_eq(m->topics.n, 1);
    STR_IS(m->topics.v[0].topic, "orders");
    ck_assert_int_eq(m->topics.v[0].partitions.n, 2);
    const kz_FetchPartition *q = m->topics.v[0].partitions.v;
    ck_assert(q[0].partition == 0 && q[0].fetch_offset == 42 && q[0].partition_max_bytes == 1048576);
    ck_assert(q[0].current_leader_epoch == -1 && q[0].log_start_offset == -1 && q[0].last_fetched_epoch == -1);
    ck_assert(q[1].partition == 1 && q[1].fetch_offset == 7 && q[1].partition_max_bytes == 65536);
    ck_assert_int_eq(m->forgotten_topics_data.n, 0);
    STR_IS(m->rack_id, "");
    IS_NULL(m->cluster_id);
}

static void g_fetch_req_v11(const void *p)
{
    const kz_FetchRequest *m = p;
    ck_assert(m->replica_id == -1 && m->max_wait_ms == 500 && m->min_bytes == 1 && m->max_bytes == 52428800);
    ck_assert(m->isolation_level == 0 && m->session_id == 0 && m->session_epoch == -1);
    ck_assert_int_eq(m->topics.n, 1);
    STR_IS(m->topics.v[0].topic, "orders");
    ck_assert_int_eq(m->topics.v[0].partitions.n, 1);
    const kz_FetchPartition *q = m->topics.v[0].partitions.v;
    ck_assert(q->partition == 2 && q->current_leader_epoch == 5 && q->fetch_offset == 300 &&
              q->log_start_offset == 0 && q->partition_max_bytes == 1048576);
    ck_assert_int_eq(m->forgotten_topics_data.n, 0);
    STR_IS(m->rack_id, "rack-a");
}

static void g_fetch_resp_v4(const void *p)
{
    const kz_FetchResponse *m = p;
    ck_assert_int_eq(m->throttle_time_ms, 0);
    ck_assert(m->error_code == 0 && m->session_id == 0);
    ck_assert_int_eq(m->responses.n, 1);
    STR_IS(m->responses.v[0].topic, "orders");
    ck_assert_int_eq(m->responses.v[0].partition_responses.n, 2);
    const kz_FetchablePartitionResponse *r = m->responses.v[0].partition_responses.v;
    ck_assert(r[0].partition == 0 && r[0].error_code == 0 && r[0].high_watermark == 120 &&
              r[0].last_stable_offset == 100);
    ck_assert(r[0].log_start_offset == -1 && r[0].preferred_read_replica == -1);
    ck_assert_int_eq(r[0].aborted_transactions.n, 1);
    ck_assert(r[0].aborted_transactions.v[0].producer_id == 9000 && r[0].aborted_transactions.v[0].first_offset == 90);
    check_batch_v2(r[0].record_set.mem);
    ck_assert(r[1].partition == 1 && r[1].error_code == 1 && r[1].high_watermark == -1);
    ck_assert_int_eq(r[1].aborted_transactions.n, -1);
    ck_assert_int_eq(r[1].record_set.mem.len, 0);
}

static void g_list_offsets_req_v0(const void *p)
{
    const kz_ListOffsetsRequest *m = p;
    ck_assert(m->replica_id == -1 && m->isolation_level == 0);
    ck_assert_int_eq(m->topics.n, 1);
    STR_IS(m->topics.v[0].name, "orders");
    ck_assert_int_eq(m->topics.v[0].partitions.n, 1);
    const kz_ListOffsetsPartition *q = m->topics.v[0].partitions.v;
    ck_assert(q->partition_index == 0 && q->timestamp == -1 && q->max_num_offsets == 1);
}

static void g_list_offsets_req_v1(const void *p)
{
    const kz_ListOffsetsRequest *m = p;
    ck_assert_int_eq(m->replica_id, -1);
    ck_assert_int_eq(m->topics.v[0].partitions.n, 2);
    const kz_ListOffsetsPartition *q = m->topics.v[0].partitions.v;
    ck_assert(q[0].partition_index == 0 && q[0].timestamp == -1 && q[1].partition_index == 1 && q[1].timestamp == -2);
    ck_assert_int_eq(q[0].max_num_offsets, 1); /* v0 only: the default */
}

static void g_list_offsets_resp_v0(const void *p)
{
    const kz_ListOffsetsResponse *m = p;
    ck_assert_int_eq(m->topics.n, 1);
    STR_IS(m->topics.v[0].name, "orders");
    const kz_ListOffsetsPartitionResponse *r = m->topics.v[0].partitions.v;
    ck_assert_int_eq(m->topics.v[0].partitions.n, 1);
    ck_assert(r->partition_index == 0 && r->error_code == 0);
    ARR_IS(r->old_style_offsets, 120, 0);
    ck_assert(r->timestamp == -1 && r->offset == -1);
}

static void g_list_offsets_resp_v1(const void *p)
{
    const kz_ListOffsetsResponse *m = p;
    const kz_ListOffsetsPartitionResponse *r = m->topics.v[0].partitions.v;
    ck_assert(r->partition_index == 0 && r->error_code == 0 && r->timestamp == TS0 && r->offset == 120);
    ck_assert_int_eq(r->old_style_offsets.n, 0);
}

static void g_offset_commit_req_v2(const void *p)
{
    const kz_OffsetCommitRequest *m = p;
    STR_IS(m->group_id, "g1");
    ck_assert_int_eq(m->generation_id, 3);
    STR_IS(m->member_id, "m-1");
    IS_NULL(m->group_instance_id);
    ck_assert_int_eq(m->retention_time_ms, -1);
    ck_assert_int_eq(m->topics.n, 1);
    STR_IS(m->topics.v[0].name, "orders");
    const kz_OffsetCommitRequestPartition *q = m->topics.v[0].partitions.v;
    ck_assert_int_eq(m->topics.v[0].partitions.n, 2);
    ck_assert(q[0].partition_index == 0 && q[0].committed_offset == 120 && q[0].commit_timestamp == -1);
    STR_IS(q[0].committed_metadata, "meta");
    ck_assert(q[1].partition_index == 1 && q[1].committed_offset == 7 && q[1].committed_leader_epoch == -1);
    IS_NULL(q[1].committed_metadata);
}

static void g_offset_fetch_req_v1(const void *p)
{
    const kz_OffsetFetchRequest *m = p;
    STR_IS(m->group_id, "g1");
    ck_assert_int_eq(m->topics.n, 1);
    STR_IS(m->topics.v[0].name, "orders");
    ARR_IS(m->topics.v[0].partition_indexes, 0, 1);
    ck_assert(!m->require_stable);
}

static void g_offset_fetch_req_v3_all(const void *p)
{
    const kz_OffsetFetchRequest *m = p;
    STR_IS(m->group_id, "g1");
    ck_assert_int_eq(m->topics.n, -1);
}

static void g_offset_fetch_resp_v3(const void *p)
{
    const kz_OffsetFetchResponse *m = p;
    ck_assert(m->throttle_time_ms == 0 && m->error_code == 0);
    ck_assert_int_eq(m->topics.n, 1);
    const kz_OffsetFetchResponsePartition *r = m->topics.v[0].partitions.v;
    ck_assert_int_eq(m->topics.v[0].partitions.n, 2);
    ck_assert(r[0].partition_index == 0 && r[0].committed_offset == 120 && r[0].error_code == 0);
    ck_assert_int_eq(r[0].committed_leader_epoch, -1);
    STR_IS(r[0].metadata, "meta");
    ck_assert(r[1].partition_index == 1 && r[1].committed_offset == -1);
    STR_IS(r[1].metadata, "");
}

static void g_find_coordinator_req_v1(const void *p)
{
    const kz_FindCoordinatorRequest *m = p;
    STR_IS(m->key, "g1");
    ck_assert_int_eq(m->key_type, 0);
}

/* The JoinGroup metadata blob of gen.py: version 0, topics orders+audit, no user data. */
static void check_subscription(kz_str bl)
{
    kz_arena a = KZ_ARENA_INIT;
    kz_rd r = kz_rd_init(bl.s, (size_t)bl.len);
    ck_assert_int_eq(kz_rd_i16(&r), 0);
    kz_ConsumerProtocolSubscription s;
    ck_assert_int_eq(kz_kmsg_decode(&kz_kmsg_ConsumerProtocolSubscription, 0, &r, &s, &a), KZ_OK);
    ck_assert_uint_eq(kz_rd_left(&r), 0);
    ck_assert_int_eq(s.topics.n, 2);
    STR_IS(s.topics.v[0], "orders");
    STR_IS(s.topics.v[1], "audit");
    ck_assert_int_eq(s.user_data.len, 0);
    ck_assert_int_eq(s.owned_partitions.n, 0);
    kz_arena_reset(&a);
}

static void g_join_group_req_v2(const void *p)
{
    const kz_JoinGroupRequest *m = p;
    STR_IS(m->group_id, "g1");
    ck_assert(m->session_timeout_ms == 10000 && m->rebalance_timeout_ms == 300000);
    STR_IS(m->member_id, "");
    IS_NULL(m->group_instance_id);
    STR_IS(m->protocol_type, "consumer");
    ck_assert_int_eq(m->protocols.n, 2);
    STR_IS(m->protocols.v[0].name, "range");
    STR_IS(m->protocols.v[1].name, "roundrobin");
    check_subscription(m->protocols.v[0].metadata);
    check_subscription(m->protocols.v[1].metadata);
}

static void g_join_group_resp_v2(const void *p)
{
    const kz_JoinGroupResponse *m = p;
    ck_assert(m->throttle_time_ms == 0 && m->error_code == 0 && m->generation_id == 1);
    IS_NULL(m->protocol_type);
    STR_IS(m->protocol_name, "range");
    STR_IS(m->leader, "m-1");
    STR_IS(m->member_id, "m-1");
    ck_assert_int_eq(m->members.n, 1);
    STR_IS(m->members.v[0].member_id, "m-1");
    IS_NULL(m->members.v[0].group_instance_id);
    check_subscription(m->members.v[0].metadata);
}

static void g_heartbeat_req_v1(const void *p)
{
    const kz_HeartbeatRequest *m = p;
    STR_IS(m->group_id, "g1");
    ck_assert_int_eq(m->generation_id, 1);
    STR_IS(m->member_id, "m-1");
    IS_NULL(m->group_instance_id);
}

static void g_leave_group_req_v1(const void *p)
{
    const kz_LeaveGroupRequest *m = p;
    STR_IS(m->group_id, "g1");
    STR_IS(m->member_id, "m-1");
    ck_assert_int_eq(m->members.n, 0);
}

/* The SyncGroup assignment blob: version 0, orders [0,2], audit [1], user data "ud". */
static void check_assignment(kz_str bl)
{
    kz_arena a = KZ_ARENA_INIT;
    kz_rd r = kz_rd_init(bl.s, (size_t)bl.len);
    ck_assert_int_eq(kz_rd_i16(&r), 0);
    kz_ConsumerProtocolAssignment s;
    ck_assert_int_eq(kz_kmsg_decode(&kz_kmsg_ConsumerProtocolAssignment, 0, &r, &s, &a), KZ_OK);
    ck_assert_uint_eq(kz_rd_left(&r), 0);
    ck_assert_int_eq(s.assigned_partitions.n, 2);
    STR_IS(s.assigned_partitions.v[0].topic, "orders");
    ARR_IS(s.assigned_partitions.v[0].partitions, 0, 2);
    STR_IS(s.assigned_partitions.v[1].topic, "audit");
    ARR_IS(s.assigned_partitions.v[1].partitions, 1);
    STR_IS(s.user_data, "ud");
    kz_arena_reset(&a);
}

static void g_sync_group_req_v1(const void *p)
{
    const kz_SyncGroupRequest *m = p;
    STR_IS(m->group_id, "g1");
    ck_assert_int_eq(m->generation_id, 1);
    STR_IS(m->member_id, "m-1");
    ck_assert_int_eq(m->assignments.n, 1);
    STR_IS(m->assignments.v[0].member_id, "m-1");
    check_assignment(m->assignments.v[0].assignment);
    IS_NULL(m->protocol_type);
    IS_NULL(m->protocol_name);
}

static void g_sync_group_resp_v1(const void *p)
{
    const kz_SyncGroupResponse *m = p;
    ck_assert(m->throttle_time_ms == 0 && m->error_code == 0);
    check_assignment(m->assignment);
}

static void g_describe_groups_req_v0(const void *p)
{
    const kz_DescribeGroupsRequest *m = p;
    ck_assert_int_eq(m->groups.n, 2);
    STR_IS(m->groups.v[0], "g1");
    STR_IS(m->groups.v[1], "g2");
    ck_assert(!m->include_authorized_operations);
}

static void g_describe_groups_resp_v1(const void *p)
{
    const kz_DescribeGroupsResponse *m = p;
    ck_assert_int_eq(m->throttle_time_ms, 0);
    ck_assert_int_eq(m->groups.n, 1);
    const kz_DescribedGroup *g = m->groups.v;
    ck_assert_int_eq(g->error_code, 0);
    STR_IS(g->group_id, "g1");
    STR_IS(g->group_state, "Stable");
    STR_IS(g->protocol_type, "consumer");
    STR_IS(g->protocol_data, "range");
    ck_assert_int_eq(g->authorized_operations, INT32_MIN);
    ck_assert_int_eq(g->members.n, 1);
    STR_IS(g->members.v[0].member_id, "m-1");
    STR_IS(g->members.v[0].client_id, "client-1");
    STR_IS(g->members.v[0].client_host, "/127.0.0.1");
    check_subscription(g->members.v[0].member_metadata);
    check_assignment(g->members.v[0].member_assignment);
}

static void g_list_groups_resp_v1(const void *p)
{
    const kz_ListGroupsResponse *m = p;
    ck_assert(m->throttle_time_ms == 0 && m->error_code == 0);
    ck_assert_int_eq(m->groups.n, 2);
    STR_IS(m->groups.v[0].group_id, "g1");
    STR_IS(m->groups.v[0].protocol_type, "consumer");
    STR_IS(m->groups.v[1].group_id, "g2");
    STR_IS(m->groups.v[1].protocol_type, "");
    STR_IS(m->groups.v[0].group_state, ""); /* v4+ */
}

static void g_sasl_handshake_req_v1(const void *p) { STR_IS(((const kz_SaslHandshakeRequest *)p)->mechanism, "PLAIN"); }

static void g_sasl_handshake_resp_v1(const void *p)
{
    const kz_SaslHandshakeResponse *m = p;
    ck_assert_int_eq(m->error_code, 0);
    ck_assert_int_eq(m->mechanisms.n, 2);
    STR_IS(m->mechanisms.v[0], "PLAIN");
    STR_IS(m->mechanisms.v[1], "SCRAM-SHA-256");
}

static void g_api_versions_req_v0(const void *p)
{
    const kz_ApiVersionsRequest *m = p;
    STR_IS(m->client_software_name, ""); /* v3+ */
    STR_IS(m->client_software_version, "");
}

static void g_api_versions_resp_v1(const void *p)
{
    const kz_ApiVersionsResponse *m = p;
    ck_assert(m->error_code == 0 && m->throttle_time_ms == 0);
    ck_assert_int_eq(m->api_keys.n, 3);
    const kz_ApiVersion *v = m->api_keys.v;
    ck_assert(v[0].api_key == 0 && v[0].min_version == 0 && v[0].max_version == 9);
    ck_assert(v[1].api_key == 1 && v[1].min_version == 0 && v[1].max_version == 12);
    ck_assert(v[2].api_key == 18 && v[2].min_version == 0 && v[2].max_version == 3);
    ck_assert_int_eq(m->finalized_features_epoch, -1);
    ck_assert_int_eq(m->supported_features.n, 0);
}

static void g_create_topics_req_v2(const void *p)
{
    const kz_CreateTopicsRequest *m = p;
    ck_assert_int_eq(m->timeout_ms, 30000);
    ck_assert(m->validate_only);
    ck_assert_int_eq(m->topics.n, 2);
    const kz_CreatableTopic *t = m->topics.v;
    STR_IS(t[0].name, "orders");
    ck_assert(t[0].num_partitions == 6 && t[0].replication_factor == 3);
    ck_assert_int_eq(t[0].assignments.n, 0);
    ck_assert_int_eq(t[0].configs.n, 2);
    STR_IS(t[0].configs.v[0].name, "cleanup.policy");
    STR_IS(t[0].configs.v[0].value, "compact");
    STR_IS(t[0].configs.v[1].name, "retention.ms");
    IS_NULL(t[0].configs.v[1].value);
    STR_IS(t[1].name, "manual");
    ck_assert(t[1].num_partitions == -1 && t[1].replication_factor == -1);
    ck_assert_int_eq(t[1].assignments.n, 2);
    ck_assert_int_eq(t[1].assignments.v[0].partition_index, 0);
    ARR_IS(t[1].assignments.v[0].broker_ids, 1, 2);
    ck_assert_int_eq(t[1].assignments.v[1].partition_index, 1);
    ARR_IS(t[1].assignments.v[1].broker_ids, 2, 3);
    ck_assert_int_eq(t[1].configs.n, 0);
}

static void g_create_topics_resp_v2(const void *p)
{
    const kz_CreateTopicsResponse *m = p;
    ck_assert_int_eq(m->throttle_time_ms, 0);
    ck_assert_int_eq(m->topics.n, 2);
    const kz_CreatableTopicResult *t = m->topics.v;
    STR_IS(t[0].name, "orders");
    ck_assert_int_eq(t[0].error_code, 0);
    IS_NULL(t[0].error_message);
    ck_assert(t[0].num_partitions == -1 && t[0].replication_factor == -1 && t[0].topic_config_error_code == 0);
    ck_assert_int_eq(t[0].configs.n, -1); /* v5+, nullable: null */
    STR_IS(t[1].name, "manual");
    ck_assert_int_eq(t[1].error_code, 36);
    STR_IS(t[1].error_message, "Topic 'manual' already exists.");
}

static void g_delete_topics_req_v1(const void *p)
{
    const kz_DeleteTopicsRequest *m = p;
    ck_assert_int_eq(m->topic_names.n, 2);
    STR_IS(m->topic_names.v[0], "a");
    STR_IS(m->topic_names.v[1], "b");
    ck_assert_int_eq(m->timeout_ms, 1000);
    ck_assert_int_eq(m->topics.n, 0);
}

static void g_describe_configs_req_v1(const void *p)
{
    const kz_DescribeConfigsRequest *m = p;
    ck_assert(m->include_synonyms && !m->include_documentation);
    ck_assert_int_eq(m->resources.n, 2);
    const kz_DescribeConfigsResource *r = m->resources.v;
    ck_assert_int_eq(r[0].resource_type, 2);
    STR_IS(r[0].resource_name, "orders");
    ck_assert_int_eq(r[0].configuration_keys.n, 1);
    STR_IS(r[0].configuration_keys.v[0], "retention.ms");
    ck_assert_int_eq(r[1].resource_type, 4);
    STR_IS(r[1].resource_name, "1");
    ck_assert_int_eq(r[1].configuration_keys.n, -1);
}

static void g_describe_configs_resp_v0(const void *p)
{
    const kz_DescribeConfigsResponse *m = p;
    ck_assert_int_eq(m->throttle_time_ms, 0);
    ck_assert_int_eq(m->results.n, 1);
    const kz_DescribeConfigsResult *r = m->results.v;
    ck_assert(r->error_code == 0 && r->resource_type == 2);
    IS_NULL(r->error_message);
    STR_IS(r->resource_name, "orders");
    ck_assert_int_eq(r->configs.n, 2);
    const kz_DescribeConfigsResourceResult *c = r->configs.v;
    STR_IS(c[0].name, "retention.ms");
    STR_IS(c[0].value, "1000");
    ck_assert(!c[0].read_only && !c[0].is_default && !c[0].is_sensitive);
    ck_assert_int_eq(c[0].config_source, -1); /* v1+: the default */
    ck_assert_int_eq(c[0].synonyms.n, 0);
    IS_NULL(c[0].documentation);
    STR_IS(c[1].name, "sasl.jaas.config");
    IS_NULL(c[1].value);
    ck_assert(c[1].read_only && c[1].is_default && c[1].is_sensitive);
}

static void g_alter_configs_req_v0(const void *p)
{
    const kz_AlterConfigsRequest *m = p;
    ck_assert(!m->validate_only);
    ck_assert_int_eq(m->resources.n, 1);
    ck_assert_int_eq(m->resources.v[0].resource_type, 2);
    STR_IS(m->resources.v[0].resource_name, "orders");
    ck_assert_int_eq(m->resources.v[0].configs.n, 1);
    STR_IS(m->resources.v[0].configs.v[0].name, "retention.ms");
    STR_IS(m->resources.v[0].configs.v[0].value, "2000");
}

static void g_create_partitions_req_v1(const void *p)
{
    const kz_CreatePartitionsRequest *m = p;
    ck_assert(m->timeout_ms == 5000 && !m->validate_only);
    ck_assert_int_eq(m->topics.n, 2);
    const kz_CreatePartitionsTopic *t = m->topics.v;
    STR_IS(t[0].name, "orders");
    ck_assert_int_eq(t[0].count, 8);
    ck_assert_int_eq(t[0].assignments.n, 2);
    ARR_IS(t[0].assignments.v[0].broker_ids, 1, 2);
    ARR_IS(t[0].assignments.v[1].broker_ids, 2, 3);
    STR_IS(t[1].name, "audit");
    ck_assert_int_eq(t[1].count, 4);
    ck_assert_int_eq(t[1].assignments.n, -1);
}

static void g_delete_groups_req_v1(const void *p)
{
    const kz_DeleteGroupsRequest *m = p;
    ck_assert_int_eq(m->groups_names.n, 2);
    STR_IS(m->groups_names.v[0], "g1");
    STR_IS(m->groups_names.v[1], "g2");
}

static void g_delete_groups_resp_v1(const void *p)
{
    const kz_DeleteGroupsResponse *m = p;
    ck_assert_int_eq(m->throttle_time_ms, 0);
    ck_assert_int_eq(m->results.n, 2);
    STR_IS(m->results.v[0].group_id, "g1");
    ck_assert_int_eq(m->results.v[0].error_code, 0);
    STR_IS(m->results.v[1].group_id, "g2");
    ck_assert_int_eq(m->results.v[1].error_code, 69);
}

static void g_consumer_subscription_v0(const void *p)
{
    const kz_ConsumerProtocolSubscription *m = p;
    ck_assert_int_eq(m->topics.n, 2);
    STR_IS(m->topics.v[0], "orders");
    STR_IS(m->topics.v[1], "audit");
    ck_assert_int_eq(m->user_data.len, 0);
}

static void g_consumer_assignment_v0(const void *p)
{
    const kz_ConsumerProtocolAssignment *m = p;
    ck_assert_int_eq(m->assigned_partitions.n, 2);
    ARR_IS(m->assigned_partitions.v[0].partitions, 0, 2);
    ARR_IS(m->assigned_partitions.v[1].partitions, 1);
    STR_IS(m->user_data, "ud");
}

typedef void golden_fn(const void *msg);
typedef struct golden {
    const char *file;
    const kz_kmsg *m;
    int16_t ver;
    bool versioned; /* the blob starts with an int16 version (consumer protocol) */
    golden_fn *check;
} golden;

static const golden GOLDEN[] = {
    { "metadata_req_v0", &kz_kmsg_MetadataRequest, 0, false, g_metadata_req_v0 },
    { "metadata_req_v1", &kz_kmsg_MetadataRequest, 1, false, g_metadata_req_v0 },
    { "metadata_req_v1_all", &kz_kmsg_MetadataRequest, 1, false, g_metadata_req_v1_all },
    { "metadata_req_v4", &kz_kmsg_MetadataRequest, 4, false, g_metadata_req_v4 },
    { "metadata_resp_v5", &kz_kmsg_MetadataResponse, 5, false, g_metadata_resp_v5 },
    { "produce_req_v0", &kz_kmsg_ProduceRequest, 0, false, g_produce_req_v0 },
    { "produce_req_v3", &kz_kmsg_ProduceRequest, 3, false, g_produce_req_v3 },
    { "produce_resp_v5", &kz_kmsg_ProduceResponse, 5, false, g_produce_resp_v5 },
    { "fetch_req_v4", &kz_kmsg_FetchRequest, 4, false, g_fetch_req_v4 },
    { "fetch_req_v11", &kz_kmsg_FetchRequest, 11, false, g_fetch_req_v11 },
    { "fetch_resp_v4", &kz_kmsg_FetchResponse, 4, false, g_fetch_resp_v4 },
    { "list_offsets_req_v0", &kz_kmsg_ListOffsetsRequest, 0, false, g_list_offsets_req_v0 },
    { "list_offsets_req_v1", &kz_kmsg_ListOffsetsRequest, 1, false, g_list_offsets_req_v1 },
    { "list_offsets_resp_v0", &kz_kmsg_ListOffsetsResponse, 0, false, g_list_offsets_resp_v0 },
    { "list_offsets_resp_v1", &kz_kmsg_ListOffsetsResponse, 1, false, g_list_offsets_resp_v1 },
    { "offset_commit_req_v2", &kz_kmsg_OffsetCommitRequest, 2, false, g_offset_commit_req_v2 },
    { "offset_fetch_req_v1", &kz_kmsg_OffsetFetchRequest, 1, false, g_offset_fetch_req_v1 },
    { "offset_fetch_req_v3_all", &kz_kmsg_OffsetFetchRequest, 3, false, g_offset_fetch_req_v3_all },
    { "offset_fetch_resp_v3", &kz_kmsg_OffsetFetchResponse, 3, false, g_offset_fetch_resp_v3 },
    { "find_coordinator_req_v1", &kz_kmsg_FindCoordinatorRequest, 1, false, g_find_coordinator_req_v1 },
    { "join_group_req_v2", &kz_kmsg_JoinGroupRequest, 2, false, g_join_group_req_v2 },
    { "join_group_resp_v2", &kz_kmsg_JoinGroupResponse, 2, false, g_join_group_resp_v2 },
    { "heartbeat_req_v1", &kz_kmsg_HeartbeatRequest, 1, false, g_heartbeat_req_v1 },
    { "leave_group_req_v1", &kz_kmsg_LeaveGroupRequest, 1, false, g_leave_group_req_v1 },
    { "sync_group_req_v1", &kz_kmsg_SyncGroupRequest, 1, false, g_sync_group_req_v1 },
    { "sync_group_resp_v1", &kz_kmsg_SyncGroupResponse, 1, false, g_sync_group_resp_v1 },
    { "describe_groups_req_v0", &kz_kmsg_DescribeGroupsRequest, 0, false, g_describe_groups_req_v0 },
    { "describe_groups_resp_v1", &kz_kmsg_DescribeGroupsResponse, 1, false, g_describe_groups_resp_v1 },
    { "list_groups_resp_v1", &kz_kmsg_ListGroupsResponse, 1, false, g_list_groups_resp_v1 },
    { "sasl_handshake_req_v1", &kz_kmsg_SaslHandshakeRequest, 1, false, g_sasl_handshake_req_v1 },
    { "sasl_handshake_resp_v1", &kz_kmsg_SaslHandshakeResponse, 1, false, g_sasl_handshake_resp_v1 },
    { "api_versions_req_v0", &kz_kmsg_ApiVersionsRequest, 0, false, g_api_versions_req_v0 },
    { "api_versions_resp_v1", &kz_kmsg_ApiVersionsResponse, 1, false, g_api_versions_resp_v1 },
    { "create_topics_req_v2", &kz_kmsg_CreateTopicsRequest, 2, false, g_create_topics_req_v2 },
    { "create_topics_resp_v2", &kz_kmsg_CreateTopicsResponse, 2, false, g_create_topics_resp_v2 },
    { "delete_topics_req_v1", &kz_kmsg_DeleteTopicsRequest, 1, false, g_delete_topics_req_v1 },
    { "describe_configs_req_v1", &kz_kmsg_DescribeConfigsRequest, 1, false, g_describe_configs_req_v1 },
    { "describe_configs_resp_v0", &kz_kmsg_DescribeConfigsResponse, 0, false, g_describe_configs_resp_v0 },
    { "alter_configs_req_v0", &kz_kmsg_AlterConfigsRequest, 0, false, g_alter_configs_req_v0 },
    { "create_partitions_req_v1", &kz_kmsg_CreatePartitionsRequest, 1, false, g_create_partitions_req_v1 },
    { "delete_groups_req_v1", &kz_kmsg_DeleteGroupsRequest, 1, false, g_delete_groups_req_v1 },
    { "delete_groups_resp_v1", &kz_kmsg_DeleteGroupsResponse, 1, false, g_delete_groups_resp_v1 },
    { "consumer_subscription_v0", &kz_kmsg_ConsumerProtocolSubscription, 0, true, g_consumer_subscription_v0 },
    { "consumer_assignment_v0", &kz_kmsg_ConsumerProtocolAssignment, 0, true, g_consumer_assignment_v0 },
};

START_TEST(t05_golden_kafka_python)
{
    const golden *g = &GOLDEN[_i];
    blob b = fixture_load(g->file);
    size_t skip = 0;
    if (g->versioned) {
        ck_assert_uint_ge(b.n, 2);
        ck_assert_int_eq((int16_t)kz_load_be16(b.p), g->ver);
        skip = 2;
    }
    kz_arena a = KZ_ARENA_INIT;
    decoded d = dec_all(g->m, g->ver, b.p + skip, b.n - skip, &a);
    g->check(d.msg);
    kz_wr w = enc(g->m, g->ver, d.msg);
    bytes_eq(g->file, w.base, w.len, b.p + skip, b.n - skip);
    prefixes_fail(g->m, g->ver, b.p + skip, b.n - skip);
    kz_wr_free(&w);
    decoded_free(&d);
    kz_arena_reset(&a);
    free(b.p);
}
END_TEST

/* ============================================================== suite */

static Suite *kmsg_kpy_suite(void)
{
    Suite *s = suite_create("kmsg_kpy");
    TCase *tc = tcase_create("kafka_python");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, t05_golden_kafka_python, 0, (int)N_(GOLDEN));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(kmsg_kpy_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
