/* broker/kb_metadata_cache.h -- what this broker knows of the cluster: live
 * brokers with their endpoints, and every partition's leader, epoch, ISR and
 * replicas, as the controller last told it through UpdateMetadata. Brokers
 * never read partition state from ZooKeeper to answer clients (NOTES.md 12).
 *
 * Partitions whose leader is -2 (LeaderDuringDelete) are dropped: their topic
 * is being deleted. A topic with no partitions left disappears.
 * Locality: broker loop thread only. */
#ifndef KB_METADATA_CACHE_H
#define KB_METADATA_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "kz_kmsgs.h"

typedef struct kb_md_ep {
    char *listener;      /* "PLAINTEXT" */
    char *host;
    int32_t port;
    int16_t security;    /* 0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL */
} kb_md_ep;

typedef struct kb_md_broker {
    int32_t id;
    char *rack;          /* NULL when none */
    int nep;
    kb_md_ep *eps;
} kb_md_broker;

typedef struct kb_md_ids {
    int32_t n;
    int32_t *v;
} kb_md_ids;

typedef struct kb_md_part {
    bool present;        /* false for a hole in the partition numbers */
    int32_t leader, leader_epoch, zk_version, controller_epoch;
    kb_md_ids replicas, isr, offline;
} kb_md_part;

typedef struct kb_md_topic kb_md_topic;
struct kb_md_topic {
    char *name;
    kz_uuid id;
    int32_t nparts;      /* highest partition index + 1 */
    kb_md_part *parts;
    kb_md_topic *hnext;  /* hash chain */
};

typedef struct kb_mdc kb_mdc;

kb_mdc *kb_mdc_new(void);
void kb_mdc_free(kb_mdc *c);

/* Applies an UpdateMetadata request of version @ver: replaces the live
 * brokers, upserts the partition states. Returns 0 or KZ_ENOMEM. */
int kb_mdc_update(kb_mdc *c, const kz_UpdateMetadataRequest *req, int16_t ver);

void kb_mdc_set_controller(kb_mdc *c, int32_t id);
int32_t kb_mdc_controller(const kb_mdc *c);

const kb_md_topic *kb_mdc_topic(const kb_mdc *c, const char *name, int32_t len);
/* The partition, or NULL when unknown. */
const kb_md_part *kb_mdc_part(const kb_mdc *c, const char *topic, int32_t len, int32_t partition);
int kb_mdc_topic_count(const kb_mdc *c);
const kb_md_topic *kb_mdc_topic_at(const kb_mdc *c, int i);   /* sorted by name */

int kb_mdc_broker_count(const kb_mdc *c);
const kb_md_broker *kb_mdc_broker_at(const kb_mdc *c, int i); /* sorted by id */
const kb_md_broker *kb_mdc_broker(const kb_mdc *c, int32_t id);
bool kb_mdc_alive(const kb_mdc *c, int32_t id);
/* The endpoint of broker @b for listener @listener, or NULL. */
const kb_md_ep *kb_mdc_endpoint(const kb_md_broker *b, const char *listener);

/* Bumped by every update: waiters compare it to notice changes. */
uint64_t kb_mdc_generation(const kb_mdc *c);

#endif
