/* broker/kb_dyncfg.h -- topic configuration overrides, as Kafka's
 * DynamicConfigManager keeps them: the effective config of each topic this
 * broker hosts is server.properties with /config/topics/<T> on top.
 *
 * A topic's overrides are read when its first partition arrives here
 * (LeaderAndIsr), and again whenever a /config/changes/config_change_<seq>
 * notification names "topics/<T>" (AlterConfigs, kafka-configs). The logs of
 * the topic get the new segment, retention and flush settings at once; the
 * produce path reads max.message.bytes, min.insync.replicas and
 * message.timestamp.type from here.
 * Locality: broker loop thread only; ZooKeeper answers come through kz_zkc. */
#ifndef KB_DYNCFG_H
#define KB_DYNCFG_H

#include <stdint.h>

#include "kb_topic_config.h"

typedef struct kb_server kb_server;
typedef struct kb_dyncfg kb_dyncfg;

kb_dyncfg *kb_dyncfg_new(kb_server *s);
void kb_dyncfg_free(kb_dyncfg *d);

/* Watches /config/changes (call once the ZooKeeper session is up, and again
 * after a new session: watches do not survive one). */
void kb_dyncfg_start(kb_dyncfg *d);

/* Reads @topic's overrides unless already known. */
void kb_dyncfg_load_topic(kb_dyncfg *d, const char *topic);

/* The effective config of @topic (@len bytes); the broker defaults for a
 * topic whose overrides are not (yet) known. Never NULL. Valid until the next
 * change of that topic's config. */
const kb_topic_cfg *kb_dyncfg_topic(const kb_dyncfg *d, const char *topic, int32_t len);

#endif
