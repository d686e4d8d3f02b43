/* common/kz_log.c -- see kz_log.h. */
#include "kz_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

static const char *const kz_log_names[] = { "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL" };
static kz_log_level kz_log_min = KZ_LOG_INFO;
static FILE *kz_log_sink;
static pthread_mutex_t kz_log_mu = PTHREAD_MUTEX_INITIALIZER;

void kz_log_set_level(kz_log_level lvl) { kz_log_min = lvl; }
kz_log_level kz_log_get_level(void) { return kz_log_min; }
void kz_log_set_file(FILE *f) { kz_log_sink = f; }

int kz_log_level_parse(const char *s)
{
    for (int i = 0; i <= KZ_LOG_FATAL; i++)
        if (strcasecmp(s, kz_log_names[i]) == 0)
            return i;
    return -1;
}

void kz_log_write(kz_log_level lvl, const char *component, const char *fmt, ...)
{
    if (lvl < kz_log_min)
        return;
    struct timeval tv;
    struct tm tm;
    char line[2048];
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    int n = (int)strftime(line, sizeof line, "[%Y-%m-%d %H:%M:%S", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, ",%03d] %s ", (int)(tv.tv_usec / 1000),
                  kz_log_names[lvl]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    n = m < 0 ? n : (n + m >= (int)sizeof line ? (int)sizeof line - 1 : n + m);
    pthread_mutex_lock(&kz_log_mu);
    FILE *f = kz_log_sink ? kz_log_sink : stderr;
    fprintf(f, "%.*s (%s)\n", n, line, component ? component : "main");
    fflush(f);
    pthread_mutex_unlock(&kz_log_mu);
}
