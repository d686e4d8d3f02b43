/* test/fuzz/fuzz_fle.c -- libFuzzer harness for the leader-election
 * notification decoder (zkd_fle_decode, coordinator/zkd_fle.c).
 *
 * Input: one notification payload, copied into an exactly sized heap buffer
 * so ASan sees any read past it.
 *
 * Checks, beyond "no crash, no out-of-bounds read":
 *   1. an independent reference of ZooKeeper's WorkerReceiver rules (28 and
 *      40 bytes are the legacy forms, otherwise a version at byte 36 and, when
 *      it is > 1, a config length at byte 40 within 0..min(size, left)) agrees
 *      on acceptance;
 *   2. on success every field equals the big-endian value at its offset, the
 *      28-byte form derives peerEpoch as zxid >> 32 (arithmetic), and the
 *      config lies inside the input right after its length;
 *   3. on failure the output is zeroed (no half-decoded notification). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "kz_wire.h"
#include "zkd_fle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Java's (zxid >> 32) on a long. */
static int64_t fz_epoch(int64_t zxid) { return zxid < 0 ? ~(~zxid >> 32) : zxid >> 32; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1);
    FZ_CHECK(p != NULL, "out of memory");
    if (size)
        memcpy(p, data, size);

    /* Reference acceptance. */
    bool ok = size >= 28;
    int32_t version = 0, cl = -1;
    if (ok && size != 28 && size != 40) {
        ok = size >= 40;
        if (ok) {
            version = (int32_t)kz_load_be32(p + 36);
            if (version > 1) {
                ok = size >= 44;
                if (ok) {
                    cl = (int32_t)kz_load_be32(p + 40);
                    ok = cl >= 0 && (size_t)cl <= size - 44;
                }
            }
        }
    }

    zkd_notification n;
    memset(&n, 0xa5, sizeof n);
    int rc = zkd_fle_decode(p, size, &n);
    FZ_CHECK(rc == 0 || rc == -EBADMSG, "rc %d", rc);
    FZ_CHECK((rc == 0) == ok, "decoder says %d, reference says %d (size %zu)", rc, ok, size);
    if (rc != 0) {
        static const zkd_notification zero;
        FZ_CHECK(memcmp(&n, &zero, sizeof n) == 0, "failed decode left data behind");
    } else {
        FZ_CHECK(n.state == (int32_t)kz_load_be32(p), "state");
        FZ_CHECK(n.leader == (int64_t)kz_load_be64(p + 4), "leader");
        FZ_CHECK(n.zxid == (int64_t)kz_load_be64(p + 12), "zxid");
        FZ_CHECK(n.election_epoch == (int64_t)kz_load_be64(p + 20), "electionEpoch");
        if (size == 28)
            FZ_CHECK(n.peer_epoch == fz_epoch(n.zxid), "derived peerEpoch");
        else
            FZ_CHECK(n.peer_epoch == (int64_t)kz_load_be64(p + 28), "peerEpoch");
        FZ_CHECK(n.version == (size == 28 || size == 40 ? 0 : version), "version");
        if (n.version > 1) {
            FZ_CHECK(n.config == (const char *)p + 44 && n.config_len == cl, "config placement");
        } else {
            FZ_CHECK(n.config == NULL && n.config_len == 0, "config without version 2");
        }
    }
    free(p);
    return 0;
}
