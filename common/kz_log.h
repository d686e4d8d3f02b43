/* common/kz_log.h -- log4j-style log lines shared by every program.
 *
 * Line format (ZooKeeper's and Kafka's log4j pattern, so operators' greps work):
 *   [2026-11-21 10:00:00,123] INFO message (component)
 * Thread-safe: one write(2)-sized line per call, serialised by a mutex.
 * The sink and level are the only process-wide state (set once at start-up). */
#ifndef KZ_LOG_H
#define KZ_LOG_H

#include <stdio.h>

typedef enum {
    KZ_LOG_TRACE, KZ_LOG_DEBUG, KZ_LOG_INFO, KZ_LOG_WARN, KZ_LOG_ERROR, KZ_LOG_FATAL
} kz_log_level;

/* Lines below @lvl are dropped. Default: INFO. */
void kz_log_set_level(kz_log_level lvl);
kz_log_level kz_log_get_level(void);
/* Parse "TRACE".."FATAL" (case-insensitive); -1 if unknown. */
int kz_log_level_parse(const char *s);
/* Send lines to @f (not closed by us). Default: stderr. */
void kz_log_set_file(FILE *f);

void kz_log_write(kz_log_level lvl, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define kz_log_enabled(lvl) ((lvl) >= kz_log_get_level())
#define kz_debug(comp, ...) do { if (kz_log_enabled(KZ_LOG_DEBUG)) kz_log_write(KZ_LOG_DEBUG, comp, __VA_ARGS__); } while (0)
#define kz_info(comp, ...)  kz_log_write(KZ_LOG_INFO,  comp, __VA_ARGS__)
#define kz_warn(comp, ...)  kz_log_write(KZ_LOG_WARN,  comp, __VA_ARGS__)
#define kz_error(comp, ...) kz_log_write(KZ_LOG_ERROR, comp, __VA_ARGS__)

#endif
