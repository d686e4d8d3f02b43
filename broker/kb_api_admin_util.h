/* broker/kb_api_admin_util.h -- pure functions of the admin request handlers
 * (kb_api_admin.c, kb_api_configs.c): duplicate names in a request, Java's
 * Integer.parseInt for broker ids, Kafka's renderings of a config resource and
 * of a Scala Set in error messages, and the IncrementalAlterConfigs merge of
 * SET / DELETE / APPEND / SUBTRACT operations into a topic's overrides
 * (ZkAdminManager.prepareIncrementalConfigs of Kafka 2.8).
 *
 * Nothing here does I/O or touches broker state; results go to the caller's
 * arena. Locality: none. */
#ifndef KB_API_ADMIN_UTIL_H
#define KB_API_ADMIN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kb_topic_config.h"
#include "kz_buf.h"

/* ConfigResource.Type ids. */
enum {
    KB_RES_UNKNOWN = 0,
    KB_RES_TOPIC = 2,
    KB_RES_BROKER = 4,
    KB_RES_BROKER_LOGGER = 8,
};

/* AlterConfigOp.OpType ids of IncrementalAlterConfigs. */
enum {
    KB_CFG_OP_SET = 0,
    KB_CFG_OP_DELETE = 1,
    KB_CFG_OP_APPEND = 2,
    KB_CFG_OP_SUBTRACT = 3,
};

/* A copy of @s in @a as a C string, NULL when @s is null or out of memory.
 * An embedded NUL byte becomes '?': such a name can then never match a known
 * config or pass the topic name check, and messages stay printable. */
const char *kb_adm_cstr(kz_arena *a, kz_str s);

/* An error message formatted into @a (an error_message field); KZ_STR_NULL
 * when out of memory. */
kz_str kb_adm_msgf(kz_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Marks of kb_adm_mark_dups. */
enum { KB_ADM_UNIQUE = 0, KB_ADM_DUP_FIRST = 1, KB_ADM_DUP_REPEAT = 2 };

/* For every element i of the array at @base (@n elements of @stride bytes,
 * each holding a kz_str at offset @name_off) sets @dup[i] to KB_ADM_UNIQUE
 * when its name occurs once, KB_ADM_DUP_FIRST for the first occurrence of a
 * repeated name and KB_ADM_DUP_REPEAT for the later ones. Null names (len <
 * 0) are always unique. O(n log n), so a request naming a topic a million
 * times costs no more than sorting it. Returns 0 or KZ_ENOMEM (then @dup is
 * untouched). */
int kb_adm_mark_dups(const void *base, int32_t n, size_t stride, size_t name_off, uint8_t *dup);

/* Java's Integer.parseInt: optional '+' or '-', then decimal digits, within
 * int32. Returns 0 with *@out, or -1 (null, empty, other characters,
 * overflow). */
int kb_adm_parse_int(kz_str s, int32_t *out);

/* ConfigResource.Type name of @type: "TOPIC", "BROKER", "BROKER_LOGGER", or
 * "UNKNOWN" for any other id. */
const char *kb_adm_resource_type_name(int8_t type);

/* ConfigResource.toString: "ConfigResource(type=TOPIC, name='t')" into @buf
 * (truncated to @n bytes, NUL-terminated). Returns @buf. */
const char *kb_adm_resource_str(char *buf, size_t n, int8_t type, kz_str name);

/* Scala's Set(...).toString of @names[0..@n) in the order given ("Set(a,
 * b)"), written into @buf (truncated, NUL-terminated). Returns @buf. */
const char *kb_adm_set_str(char *buf, size_t n, const char *const *names, size_t count);

/* OpType.toString of an operation id: "SET", "DELETE", "APPEND", "SUBTRACT"
 * (NULL for any other id). */
const char *kb_adm_op_name(int8_t op);

/* One IncrementalAlterConfigs operation. @value may be NULL for DELETE. */
typedef struct kb_adm_op {
    const char *name;
    int8_t op;
    const char *value;
} kb_adm_op;

/* What a config name is, for APPEND and SUBTRACT: returns 1 for a LIST
 * config (with its Kafka default text in *@def, "" for an empty list), 0 for
 * any other known config, -1 for an unknown name. */
typedef int kb_adm_kind_fn(void *ctx, const char *name, const char **def);

/* kb_adm_kind_fn over the topic config table (kb_topic_config.h); @ctx unused. */
int kb_adm_topic_kind(void *ctx, const char *name, const char **def);

/* Applies @ops in order to the override set @cur[0..@n) (as read from
 * /config/topics/<t>) and returns the new set in *@out / *@nout (arena
 * memory; names and values may point into @cur and @ops):
 *   SET       name = value (replacing an existing override in place, else
 *             appended);
 *   DELETE    the override goes (absent is fine);
 *   APPEND    LIST configs only: the current value (the override, else the
 *             config's default) split on ',' followed by the new elements;
 *   SUBTRACT  LIST configs only: the current elements minus the given ones,
 *             each given element removing one occurrence (Scala's diff).
 * List elements are joined with ','. Empty elements are dropped when
 * splitting, so appending to an empty list gives "x" rather than ",x".
 * Errors (Kafka's wording in @msg): INVALID_REQUEST (42) "Config value append
 * is not allowed for config key: x" (or "subtract") for a config that is not
 * a list, INVALID_CONFIG (40) "Unknown topic config name: x" for APPEND or
 * SUBTRACT of an unknown name, INVALID_REQUEST for an unknown operation id.
 * A NULL value of SET/APPEND/SUBTRACT is INVALID_REQUEST too (the handler
 * checks that first, with Kafka's message). Returns 0, an error code, or -1
 * when out of memory. */
int16_t kb_adm_apply_ops(kz_arena *a, const kb_cfg_pair *cur, size_t n, const kb_adm_op *ops,
                         size_t nops, kb_adm_kind_fn *kind, void *kctx, kb_cfg_pair **out,
                         size_t *nout, char *msg, size_t msglen);

#endif
