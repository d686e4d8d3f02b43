/* test/fuzz/fuzz_txn.c -- libFuzzer harness for txn application
 * (zkd_dt_apply, coordinator/zkd_datatree.c) and, on the trees it builds,
 * for the snapshot writer and reader (coordinator/zkd_snap.c).
 *
 * Input: byte 0 is a flag byte (bit 0: snapshot round trip at the end),
 * then a sequence of serialized txns (TxnHeader + body, the bytes of a
 * txn-log entry), each preceded by a big-endian u16 length (a length past
 * the end takes what is left). At most FZ_MAX_TXNS are applied, in order,
 * to one fresh tree.
 *
 * Checks after every txn: zkd_dt_apply returns 0, KZ_ECORRUPT or KZ_ENOMEM;
 * the tree passes fz_dt_check with strict ACL reference counting (a tree
 * built only by txns uses exactly the ACL lists it caches); the last zxid
 * never goes down; each watch event names a node that exists (created, data
 * changed) or no longer exists (deleted) when it fires.
 * With the flag, a tree that still has its system nodes is written with
 * zkd_snap_write and read back with zkd_snap_read into a fresh tree: the two
 * must be equal node by node (data, stat, ACL by value and by index,
 * sessions). */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "kz_buf.h"
#include "kz_log.h"
#include "zkd_datatree.h"
#include "zkd_proto.h"
#include "zkd_snap.h"

#define FZ_MAX_TXNS 256

/* Scratch directory for snapshots, made once per process. */
static char fz_dir[512];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_cleanup(void) { fz_rm_rf(fz_dir); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    kz_log_set_level(KZ_LOG_FATAL); /* snapshot outcomes are logged at INFO/ERROR */
    fz_make_tmpdir(fz_dir, sizeof fz_dir, "fuzz-txn");
    atexit(fz_cleanup);
    return 0;
}

typedef struct fz_hook_ctx {
    zkd_datatree *dt;
    uint32_t events;
} fz_hook_ctx;

static void fz_hook(void *ctx, int event, const char *path, uint32_t len)
{
    fz_hook_ctx *h = ctx;
    FZ_CHECK(path != NULL && len > 0, "event %d without a path", event);
    uint32_t sum = 0;
    for (uint32_t i = 0; i < len; i++) /* the path bytes are readable */
        sum += (uint8_t)path[i];
    (void)sum;
    zkd_node *n = zkd_dt_get(h->dt, path, len);
    switch (event) {
    case ZKD_EV_CREATED:
    case ZKD_EV_DATA_CHANGED:
        FZ_CHECK(n != NULL, "event %d for missing node %.*s", event, (int)len, path);
        break;
    case ZKD_EV_DELETED:
        FZ_CHECK(n == NULL, "delete event for node %.*s still in the tree", (int)len, path);
        break;
    default:
        FZ_CHECK(0, "unexpected event %d", event);
    }
    h->events++;
}

static void fz_snapshot_roundtrip(const zkd_datatree *dt)
{
    if (!fz_dt_system_intact(dt))
        return;
    char path[600];
    fz_empty_dir(fz_dir);
    int rc = zkd_snap_write(dt, fz_dir, 1);
    FZ_CHECK(rc == 0, "zkd_snap_write: %d", rc);
    snprintf(path, sizeof path, "%s/snapshot.1", fz_dir);
    zkd_datatree *back = zkd_dt_new();
    FZ_CHECK(back != NULL, "out of memory");
    int64_t z = zkd_snap_read(back, path);
    FZ_CHECK(z == 1, "zkd_snap_read of our own snapshot: %" PRId64, z);
    fz_dt_check(back, FZ_DT_STRICT_ACL);
    fz_dt_equal(dt, back, FZ_EQ_ACL_INDEX | FZ_EQ_SESSIONS);
    fz_dt_equal(back, dt, FZ_EQ_ACL_INDEX | FZ_EQ_SESSIONS);
    zkd_dt_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    kz_rd r = kz_rd_init(data + 1, size - 1);
    zkd_datatree *dt = zkd_dt_new();
    FZ_CHECK(dt != NULL, "out of memory");
    fz_hook_ctx hc = { dt, 0 };
    zkd_dt_hooks hooks = { fz_hook, &hc };
    zkd_dt_set_hooks(dt, &hooks);
    fz_dt_check(dt, FZ_DT_STRICT_ACL);

    for (int i = 0; i < FZ_MAX_TXNS && kz_rd_left(&r) >= 2; i++) {
        size_t len = (size_t)(uint16_t)kz_rd_i16(&r);
        if (len > kz_rd_left(&r))
            len = kz_rd_left(&r);
        /* An exactly sized copy: reads past the txn trip ASan. */
        uint8_t *txn = malloc(len ? len : 1);
        FZ_CHECK(txn != NULL, "out of memory");
        memcpy(txn, kz_rd_take(&r, len), len);
        int64_t before = zkd_dt_last_zxid(dt);
        zkd_apply_result res;
        kz_arena a = KZ_ARENA_INIT;
        int rc = zkd_dt_apply(dt, txn, len, &res, &a);
        FZ_CHECK(rc == 0 || rc == KZ_ECORRUPT || rc == KZ_ENOMEM, "zkd_dt_apply rc %d", rc);
        FZ_CHECK(zkd_dt_last_zxid(dt) >= before, "last zxid went back");
        if (rc == 0) {
            zkd_TxnHeader h;
            FZ_CHECK(zkd_txn_header(txn, len, &h) == 0, "applied txn without a header");
            FZ_CHECK(zkd_dt_last_zxid(dt) == (h.zxid > before ? h.zxid : before), "last zxid not the header's");
            FZ_CHECK(res.nmulti >= 0 && (res.nmulti == 0 || res.multi != NULL), "multi results");
            for (int32_t k = 0; k < res.nmulti; k++) /* result strings live in the arena */
                if (res.multi[k].path.len > 0)
                    FZ_CHECK(res.multi[k].path.s[0] == '/', "multi result path");
            if (res.r.path.len > 0)
                FZ_CHECK(res.r.path.s[0] == '/', "result path");
        }
        kz_arena_reset(&a);
        free(txn);
        fz_dt_check(dt, FZ_DT_STRICT_ACL);
    }
    if (flags & 1)
        fz_snapshot_roundtrip(dt);
    zkd_dt_free(dt);
    return 0;
}
