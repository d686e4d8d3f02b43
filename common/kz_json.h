/* common/kz_json.h -- thin helpers over jansson for znode payloads.
 *
 * Writing: znode JSON is compact (no blanks) with keys in the order the JVM
 * writer produced them. Kafka encodes Scala and Java maps with Jackson, so
 * its key order is the iteration order of the map it built, and that order is
 * a pure function of the keys and of their insertion order:
 *   KZ_JSON_ORDER_INSERT         the order given (Scala Map1..Map4, case classes)
 *   KZ_JSON_ORDER_SCALA_MUTABLE  scala.collection.mutable.HashMap (Scala 2.12)
 *   KZ_JSON_ORDER_SCALA_IMMUTABLE scala.collection.immutable.Map (Scala 2.12:
 *                                insertion order up to 4 keys, hash trie above)
 *   KZ_JSON_ORDER_JAVA_CHM       java.util.Properties of Java 9+ (a
 *                                ConcurrentHashMap with 16 initial bins)
 * The three hash orders are simulated exactly (bucket index, chaining, resize
 * and its reordering), so our bytes equal Kafka's for the znodes captured in
 * ../shared/ref/kafka/zk-*.txt (see check_kbzk). kz_json_dump writes objects
 * in jansson's insertion order, which the builders set.
 *
 * Reading: kz_jrd is a sticky-error reader in the spirit of kz_rd: call the
 * typed getters for every field, then test r.err once; the first problem
 * is kept as a one-line message. Readers accept any key order and ignore
 * unknown keys, as Kafka's do. Strings returned are borrowed from the
 * document; kz_jrd_dup copies one into an arena.
 * Locality: none (no state beyond the caller's objects). */
#ifndef KZ_JSON_H
#define KZ_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kz_buf.h"

/* ------------------------------------------------------------- writing */

typedef enum {
    KZ_JSON_ORDER_INSERT,
    KZ_JSON_ORDER_SCALA_MUTABLE,
    KZ_JSON_ORDER_SCALA_IMMUTABLE,
    KZ_JSON_ORDER_JAVA_CHM,
} kz_json_order;

/* Java's String.hashCode of the UTF-8 string @s (computed over its UTF-16
 * code units, as the JVM does; invalid UTF-8 bytes count as Latin-1). */
int32_t kz_json_java_hash(const char *s);

/* Fills @perm[0..n) with the indexes of @keys (distinct) in the order the map
 * kind @how would iterate them after inserting keys[0], keys[1], ... Returns
 * 0 or KZ_ENOMEM. */
int kz_json_order_keys(kz_json_order how, const char *const *keys, size_t n, size_t *perm);

/* A new object holding keys[i] -> vals[i] in the order of @how. Takes the
 * references of every vals[i], also on failure (NULL entries make it fail).
 * NULL when out of memory or on a NULL value. */
json_t *kz_json_object_ordered(kz_json_order how, const char *const *keys, json_t *const *vals,
                               size_t n);

/* Compact text of @v (objects in insertion order, no blanks, '/' and
 * non-ASCII unescaped as Jackson writes them), malloc'd and NUL-terminated;
 * its length in *len if @len. NULL when out of memory. */
char *kz_json_dump(const json_t *v, size_t *len);

/* ------------------------------------------------------------- reading */

/* Parses @len bytes holding one JSON object or array (trailing blanks only).
 * NULL with a one-line message in @err on invalid JSON or on NULL data. */
json_t *kz_json_parse(const void *data, size_t len, char *err, size_t errlen);

typedef struct kz_jrd {
    int err;       /* 0, or KZ_ECORRUPT after the first problem */
    char msg[192]; /* that problem, e.g. "key 'leader' is not an integer" */
} kz_jrd;

#define KZ_JRD_INIT ((kz_jrd){ 0, { 0 } })

/* Records a problem (only the first is kept). */
void kz_jrd_fail(kz_jrd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The value of @key in @obj, or NULL if absent or JSON null. Sets the error
 * when @obj is not an object, or when the value is missing and @required. */
json_t *kz_jrd_get(kz_jrd *r, const json_t *obj, const char *key, bool required);

/* An integer within int32 (int64 for the 64-bit form). Absent or null:
 * an error, or @def for the _or forms. Floats, strings and booleans are
 * errors, as Jackson's Int decoder rejects them. */
int32_t kz_jrd_i32(kz_jrd *r, const json_t *obj, const char *key);
int32_t kz_jrd_i32_or(kz_jrd *r, const json_t *obj, const char *key, int32_t def);
int64_t kz_jrd_i64_or(kz_jrd *r, const json_t *obj, const char *key, int64_t def);
/* @v itself as an int32 (@what names it in the message). */
int32_t kz_jrd_as_i32(kz_jrd *r, const json_t *v, const char *what);

/* A decimal integer written as a JSON string ("timestamp":"1600000000000",
 * "block_start":"2000"); a JSON integer is accepted too. Absent or null:
 * @def (an error when @required). */
int64_t kz_jrd_numstr(kz_jrd *r, const json_t *obj, const char *key, bool required, int64_t def);

/* A string (borrowed from the document). Absent or null: NULL, an error
 * when @required. */
const char *kz_jrd_str(kz_jrd *r, const json_t *obj, const char *key, bool required);

/* An object / array. Absent or null: NULL, an error when @required. */
json_t *kz_jrd_obj(kz_jrd *r, const json_t *obj, const char *key, bool required);
json_t *kz_jrd_arr(kz_jrd *r, const json_t *obj, const char *key, bool required);

/* The int32 elements of array @arr, copied into @a (count in *n). NULL with
 * *n = 0 for an empty array, and on error. */
int32_t *kz_jrd_i32s(kz_jrd *r, const json_t *arr, kz_arena *a, int32_t *n, const char *what);

/* @s copied into @a (NUL-terminated); NULL stays NULL. Out of memory is an
 * error. */
const char *kz_jrd_dup(kz_jrd *r, kz_arena *a, const char *s);

#endif
