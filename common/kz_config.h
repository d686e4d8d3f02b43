/* common/kz_config.h -- java.util.Properties parser and typed configuration key tables.
 *
 * Two layers:
 *   1. kz_props_parse(): a faithful reader of the .properties syntax of Properties.load():
 *      natural lines end in \n, \r or \r\n; leading blanks (space, \t, \f) are skipped; a line
 *      whose first non-blank is '#' or '!' is a comment; an odd number of trailing backslashes
 *      continues the logical line on the next natural line (whose leading blanks are dropped);
 *      the key ends at the first unescaped '=', ':' or blank, blanks around one separator are
 *      skipped; escapes \t \n \r \f \uXXXX (emitted as UTF-8) and "\x" = x for any other x.
 *      Values keep their trailing blanks, as Java does. Bytes >= 0x80 are passed through
 *      unchanged (files are taken as UTF-8, where Java's load(InputStream) reads Latin-1).
 *   2. kz_cfg_load(): a table of kz_cfg_key (nginx ngx_command_t style) maps each key to a typed
 *      field of a caller struct at a byte offset, with a default and a check. Keys and values are
 *      trimmed (Java String.trim()) before typing, as ZooKeeper and Kafka do. Duplicate keys:
 *      the last one wins. Invalid values fail the load with a one-line message naming the key.
 *
 * No state beyond the caller's objects; safe to use from any thread. */
#ifndef KZ_CONFIG_H
#define KZ_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- layer 1: .properties syntax ---- */

/* Called once per key/value pair in file order. @key and @value are NUL-terminated, unescaped,
 * untrimmed, and valid only during the call. @lineno is the 1-based line the pair starts on.
 * Return 0 to go on; any other value stops the parse and is returned by kz_props_parse. */
typedef int kz_props_fn(void *ctx, const char *key, const char *value, int lineno);

/* Parse @len bytes of @text. Returns 0 on success, -1 on a syntax error (malformed \uXXXX,
 * NUL byte, out of memory) with a message in @err, or the first non-zero return of @fn (then
 * @err is left to @fn's context to fill). */
int kz_props_parse(const char *text, size_t len, kz_props_fn *fn, void *ctx,
                   char *err, size_t errlen);

/* Read the file at @path and parse it as kz_props_parse does. -1 with @err on I/O errors
 * ("cannot read <path>: <strerror>") or syntax errors (prefixed with the path). */
int kz_props_parse_file(const char *path, kz_props_fn *fn, void *ctx, char *err, size_t errlen);

/* ---- layer 2: typed key tables ---- */

typedef enum {
    KZ_CFG_STR,     /* char *, malloc'd; freed by kz_cfg_free; NULL when unset */
    KZ_CFG_I32,     /* int32_t, decimal as Integer.parseInt (optional sign, no spaces) */
    KZ_CFG_I64,     /* int64_t, decimal as Long.parseLong */
    KZ_CFG_BOOL,    /* bool, "true"/"false" in any case; anything else is an error */
    KZ_CFG_CUSTOM,  /* the key's parse callback stores into the field */
    KZ_CFG_IGNORE   /* a known key whose value is accepted and dropped (no field) */
} kz_cfg_type;

typedef struct kz_cfg_key kz_cfg_key;

/* Validate the field of @k after a value was stored (@raw = the trimmed text it came from),
 * and once more at the end of the load, with @raw NULL, for keys that got no value at all
 * (neither in the file nor from a default). Returns NULL if acceptable, else a short reason
 * ("must be > 0") that the loader puts into "invalid value '<raw>' for <key>: <reason>".
 * Checks other than kz_cfg_required accept @raw == NULL. */
typedef const char *kz_cfg_check_fn(const kz_cfg_key *k, const void *field, const char *raw);

/* KZ_CFG_CUSTOM: parse trimmed @value into @field (which may already hold an earlier value:
 * release it). Returns NULL on success or a short reason on error. */
typedef const char *kz_cfg_parse_fn(const kz_cfg_key *k, void *field, const char *value);

struct kz_cfg_key {
    const char *name;        /* exact key, e.g. "tickTime" */
    kz_cfg_type type;
    size_t off;              /* offsetof(struct, field); unused for KZ_CFG_IGNORE */
    const char *def;         /* default, parsed like a file value; NULL = none */
    kz_cfg_check_fn *check;  /* optional */
    kz_cfg_parse_fn *parse;  /* KZ_CFG_CUSTOM only */
};

/* Keys not in the table. @key/@value are trimmed; @src is the file path (or the source name
 * given to kz_cfg_load_mem) and @lineno the line. Return 0 to accept (the callback decides
 * whether to store, warn or ignore), or -1 with a one-line message in @err to fail the load.
 * A NULL callback logs "Unknown key 'k' in <src> ignored" as a warning. */
typedef int kz_cfg_unknown_fn(void *ctx, const char *key, const char *value, const char *src,
                              int lineno, char *err, size_t errlen);

/* Load the properties file @path into @obj through @keys[0..nkeys). @obj's KZ_CFG_STR fields
 * must be NULL (e.g. a zeroed struct) on entry. Defaults are applied first, then file values
 * in file order (last wins), each checked as it is stored; then required checks run.
 * Returns 0, or -1 with a one-line message in @err, e.g.
 *   "invalid value 'abc' for tickTime: not an integer (zoo.cfg:3)".
 * Either way the caller releases @obj's strings with kz_cfg_free(). */
int kz_cfg_load(const kz_cfg_key *keys, size_t nkeys, void *obj, const char *path,
                kz_cfg_unknown_fn *unknown, void *ctx, char *err, size_t errlen);

/* As kz_cfg_load, from @len bytes of @text; @src names the source in messages. */
int kz_cfg_load_mem(const kz_cfg_key *keys, size_t nkeys, void *obj, const char *text,
                    size_t len, const char *src, kz_cfg_unknown_fn *unknown, void *ctx,
                    char *err, size_t errlen);

/* Free every KZ_CFG_STR field of @obj named by @keys and set it to NULL. Safe to call twice
 * and with several keys sharing one field. */
void kz_cfg_free(const kz_cfg_key *keys, size_t nkeys, void *obj);

/* Integer value of an I32/I64/BOOL field (for check callbacks); 0 for other types. */
int64_t kz_cfg_int(const kz_cfg_key *k, const void *field);

/* Trim Java-style (every byte <= ' ' at both ends) in place; returns @s. */
char *kz_cfg_trim(char *s);

/* Strict decimal parsers (optional sign, digits only) shared with custom parsers: 0 on success,
 * -1 if not a number, -2 if out of range. */
int kz_cfg_parse_i64(const char *s, int64_t *out);
int kz_cfg_parse_i32(const char *s, int32_t *out);

/* Stock checks. */
kz_cfg_check_fn kz_cfg_required;  /* a value must be present (STR: also non-empty) */
kz_cfg_check_fn kz_cfg_ge0;       /* >= 0 */
kz_cfg_check_fn kz_cfg_gt0;       /* > 0 */
kz_cfg_check_fn kz_cfg_ge_m1;     /* >= -1 (-1 usually means "derive") */
kz_cfg_check_fn kz_cfg_port;      /* 1..65535 */
kz_cfg_check_fn kz_cfg_port0;     /* 0..65535, 0 = unset */

#endif
