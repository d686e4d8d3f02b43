/* broker/kb_main.c -- kafkad: the Kafka broker program.
 *
 *   kafkad [--override key=value]... server.properties
 *
 * Loads the configuration (a stock Kafka 2.x server.properties; unknown keys
 * warn, invalid values exit 1 with one line), then runs the broker on one
 * libevent loop until SIGTERM/SIGINT or a fatal start-up error.
 * Exit status: 0 after an orderly shutdown, 1 on configuration or start-up
 * errors, 2 on usage errors. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "kb_config.h"
#include "kb_server.h"
#include "kz_log.h"

/* Sanitizer builds: libzookeeper_mt 3.8 leaks its own bookkeeping of
 * requests still pending at zookeeper_close (kz_zkc releases our side of
 * them). Only allocations made inside that library are exempt from the leak
 * report; the hook is unused in other builds. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libzookeeper_mt.so\n"; }

static void kb_usage(FILE *f)
{
    fprintf(f, "USAGE: kafkad [--override property=value]* server.properties\n"
               "Starts a Kafka broker that reads a Kafka 2.x server.properties file.\n"
               "  --override property=value  set a property, overriding the file\n"
               "  --help                     print this help\n"
               "  --version                  print the Kafka version this broker speaks\n");
}

/* The file with the overrides appended: later lines win in the loader. */
static char *kb_main_read_config(const char *path, char **overrides, int n, size_t *len, char *err,
                                 size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t cap = 0, used = 0;
    for (;;) {
        if (cap - used < 4096) {
            cap = cap ? cap * 2 : 8192;
            char *t = realloc(text, cap);
            if (!t) {
                free(text);
                fclose(f);
                snprintf(err, errlen, "out of memory");
                return NULL;
            }
            text = t;
        }
        size_t got = fread(text + used, 1, cap - used, f);
        used += got;
        if (got == 0)
            break;
    }
    fclose(f);
    for (int i = 0; i < n; i++) {
        size_t l = strlen(overrides[i]);
        char *t = realloc(text, used + l + 2);
        if (!t) {
            free(text);
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
        text = t;
        text[used++] = '\n';
        memcpy(text + used, overrides[i], l);
        used += l;
    }
    *len = used;
    return text;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    char **overrides = calloc((size_t)argc, sizeof *overrides);
    int nover = 0;
    if (!overrides)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            kb_usage(stdout);
            free(overrides);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("2.8.2 (kafkad)\n");
            free(overrides);
            return 0;
        } else if (strcmp(argv[i], "--override") == 0) {
            if (i + 1 >= argc || !strchr(argv[i + 1], '=')) {
                fprintf(stderr, "kafkad: --override needs property=value\n");
                free(overrides);
                return 2;
            }
            overrides[nover++] = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "kafkad: unknown option %s\n", argv[i]);
            kb_usage(stderr);
            free(overrides);
            return 2;
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, "kafkad: only one configuration file may be given\n");
            free(overrides);
            return 2;
        }
    }
    if (!path) {
        kb_usage(stderr);
        free(overrides);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    char err[1024];
    size_t len = 0;
    char *text = kb_main_read_config(path, overrides, nover, &len, err, sizeof err);
    free(overrides);
    kb_config *cfg = calloc(1, sizeof *cfg);
    if (!text || !cfg || kb_config_load_mem(cfg, text, len, path, err, sizeof err) != 0) {
        fprintf(stderr, "kafkad: %s\n", text ? err : err);
        free(text);
        if (cfg) {
            kb_config_free(cfg);
            free(cfg);
        }
        return 1;
    }
    free(text);
    if (cfg->broker_id < 0) {
        fprintf(stderr, "kafkad: broker.id must be set (automatic broker id generation is not supported)\n");
        kb_config_free(cfg);
        free(cfg);
        return 1;
    }
    evthread_use_pthreads();
    struct event_base *base = event_base_new();
    if (!base) {
        fprintf(stderr, "kafkad: cannot create the event loop\n");
        return 1;
    }
    kz_info("kafka.server.KafkaServer", "[KafkaServer id=%d] starting", cfg->broker_id);
    kb_server *s = kb_server_new(base, cfg, err, sizeof err);
    if (!s) {
        fprintf(stderr, "kafkad: %s\n", err);
        kb_config_free(cfg);
        free(cfg);
        event_base_free(base);
        return 1;
    }
    int rc = 1;
    if (kb_server_start(s) == 0) {
        event_base_dispatch(base);
        rc = s->exit_code;
    }
    kz_info("kafka.server.KafkaServer", "[KafkaServer id=%d] shut down completed", cfg->broker_id);
    kb_server_free(s);
    kb_config_free(cfg);
    free(cfg);
    event_base_free(base);
    return rc;
}
