/* coordinator/zkd_main.c -- `zkd CONFIG`: a ZooKeeper 3.8 compatible server.
 *
 * Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 1 for bad usage or
 * configuration, 2 when the server cannot start or fails while running. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kz_log.h"
#include "zkd_config.h"
#include "zkd_server.h"

static void zkd_usage(FILE *f)
{
    fprintf(f, "Usage: zkd CONFIG\n"
               "Runs a ZooKeeper server configured by CONFIG (zookeeper.properties / zoo.cfg).\n"
               "Environment: ZKD_LOG_LEVEL=TRACE|DEBUG|INFO|WARN|ERROR (default INFO).\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        zkd_usage(stdout);
        return 0;
    }
    if (argc != 2) {
        zkd_usage(stderr);
        return 1;
    }
    const char *lvl = getenv("ZKD_LOG_LEVEL");
    if (lvl && kz_log_level_parse(lvl) >= 0)
        kz_log_set_level((kz_log_level)kz_log_level_parse(lvl));
    zkd_config cfg;
    char err[512];
    if (zkd_config_load(&cfg, argv[1], err, sizeof err) != 0) {
        fprintf(stderr, "zkd: %s\n", err);
        return 1;
    }
    zkd_server srv;
    int rc = zkd_server_init(&srv, &cfg) == 0 ? zkd_server_run(&srv) : -1;
    zkd_server_fini(&srv);
    zkd_config_free(&cfg);
    return rc == 0 ? 0 : 2;
}
