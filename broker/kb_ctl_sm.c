/* broker/kb_ctl_sm.c -- transition tables and pure leader/ISR decisions of
 * the controller (see kb_ctl_sm.h for the diagrams and invariants).
 * Locality: pure, any thread. */
#include "kb_ctl_sm.h"

#include <stdio.h>
#include <string.h>

/* [from][to]: Kafka's validPreviousStates, read the other way round. */
const bool kb_ctl_part_ok[KB_PS__N][KB_PS__N] = {
    [KB_PS_NONEXISTENT][KB_PS_NEW] = true,
    [KB_PS_NEW][KB_PS_ONLINE] = true,
    [KB_PS_NEW][KB_PS_OFFLINE] = true,
    [KB_PS_ONLINE][KB_PS_ONLINE] = true,
    [KB_PS_ONLINE][KB_PS_OFFLINE] = true,
    [KB_PS_OFFLINE][KB_PS_ONLINE] = true,
    [KB_PS_OFFLINE][KB_PS_OFFLINE] = true,
    [KB_PS_OFFLINE][KB_PS_NONEXISTENT] = true,
};

const bool kb_ctl_repl_ok[KB_RS__N][KB_RS__N] = {
    [KB_RS_NONEXISTENT][KB_RS_NEW] = true,
    [KB_RS_NEW][KB_RS_ONLINE] = true,
    [KB_RS_NEW][KB_RS_OFFLINE] = true,
    [KB_RS_ONLINE][KB_RS_ONLINE] = true,
    [KB_RS_ONLINE][KB_RS_OFFLINE] = true,
    [KB_RS_OFFLINE][KB_RS_ONLINE] = true,
    [KB_RS_OFFLINE][KB_RS_OFFLINE] = true,
    [KB_RS_OFFLINE][KB_RS_DEL_STARTED] = true,
    [KB_RS_OFFLINE][KB_RS_DEL_INELIGIBLE] = true,
    [KB_RS_DEL_INELIGIBLE][KB_RS_ONLINE] = true,
    [KB_RS_DEL_INELIGIBLE][KB_RS_OFFLINE] = true,
    [KB_RS_DEL_STARTED][KB_RS_DEL_OK] = true,
    [KB_RS_DEL_STARTED][KB_RS_DEL_INELIGIBLE] = true,
    [KB_RS_DEL_OK][KB_RS_NONEXISTENT] = true,
};

static const char *const kb_ctl_pnames[KB_PS__N] = {
    [KB_PS_NONEXISTENT] = "NonExistentPartition", [KB_PS_NEW] = "NewPartition",
    [KB_PS_ONLINE] = "OnlinePartition", [KB_PS_OFFLINE] = "OfflinePartition",
};
static const char *const kb_ctl_rnames[KB_RS__N] = {
    [KB_RS_NONEXISTENT] = "NonExistentReplica", [KB_RS_NEW] = "NewReplica",
    [KB_RS_ONLINE] = "OnlineReplica", [KB_RS_OFFLINE] = "OfflineReplica",
    [KB_RS_DEL_STARTED] = "ReplicaDeletionStarted", [KB_RS_DEL_OK] = "ReplicaDeletionSuccessful",
    [KB_RS_DEL_INELIGIBLE] = "ReplicaDeletionIneligible",
};

const char *kb_ctl_pstate_name(kb_ctl_pstate s) { return s < KB_PS__N ? kb_ctl_pnames[s] : "?"; }
const char *kb_ctl_rstate_name(kb_ctl_rstate s) { return s < KB_RS__N ? kb_ctl_rnames[s] : "?"; }

bool kb_ctl_live_has(const kb_ctl_live *live, int32_t id)
{
    size_t lo = 0, hi = live->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (live->ids[mid] == id)
            return true;
        if (live->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool kb_ctl_ids_has(const kb_ctl_ids *ids, int32_t id)
{
    for (int32_t i = 0; i < ids->n; i++)
        if (ids->v[i] == id)
            return true;
    return false;
}

bool kb_ctl_elect_new(const kb_ctl_ids *replicas, const kb_ctl_live *live, int32_t ctl_epoch,
                      kb_ctl_lai *out)
{
    kb_ctl_lai l = { .leader = KB_CTL_NO_LEADER, .leader_epoch = 0, .ctl_epoch = ctl_epoch, .zk_version = 0 };
    for (int32_t i = 0; i < replicas->n; i++)
        if (kb_ctl_live_has(live, replicas->v[i]))
            l.isr.v[l.isr.n++] = replicas->v[i];
    if (l.isr.n == 0)
        return false;
    l.leader = l.isr.v[0];
    *out = l;
    return true;
}

bool kb_ctl_elect_offline(const kb_ctl_ids *replicas, const kb_ctl_lai *cur, const kb_ctl_live *live,
                          bool unclean, int32_t ctl_epoch, kb_ctl_lai *out, bool *unclean_used)
{
    int32_t leader = KB_CTL_NO_LEADER;
    bool dirty = false;
    for (int32_t i = 0; i < replicas->n && leader < 0; i++)
        if (kb_ctl_live_has(live, replicas->v[i]) && kb_ctl_ids_has(&cur->isr, replicas->v[i]))
            leader = replicas->v[i];
    if (leader < 0 && unclean) {
        for (int32_t i = 0; i < replicas->n && leader < 0; i++)
            if (kb_ctl_live_has(live, replicas->v[i]))
                leader = replicas->v[i];
        dirty = leader >= 0;
    }
    if (unclean_used)
        *unclean_used = dirty;
    if (leader < 0)
        return false;
    kb_ctl_lai l = { .leader = leader, .leader_epoch = cur->leader_epoch + 1, .ctl_epoch = ctl_epoch,
                     .zk_version = cur->zk_version };
    if (dirty) {
        l.isr.n = 1;
        l.isr.v[0] = leader;
    } else {
        for (int32_t i = 0; i < cur->isr.n; i++)
            if (kb_ctl_live_has(live, cur->isr.v[i]))
                l.isr.v[l.isr.n++] = cur->isr.v[i];
    }
    *out = l;
    return true;
}

bool kb_ctl_elect_preferred(const kb_ctl_ids *replicas, const kb_ctl_lai *cur, const kb_ctl_live *live,
                            int32_t ctl_epoch, kb_ctl_lai *out)
{
    if (replicas->n == 0)
        return false;
    int32_t pref = replicas->v[0];
    if (cur->leader == pref || !kb_ctl_live_has(live, pref) || !kb_ctl_ids_has(&cur->isr, pref))
        return false;
    kb_ctl_lai l = *cur;
    l.leader = pref;
    l.leader_epoch = cur->leader_epoch + 1;
    l.ctl_epoch = ctl_epoch;
    *out = l;
    return true;
}

bool kb_ctl_elect_cshut(const kb_ctl_ids *replicas, const kb_ctl_lai *cur, const kb_ctl_live *live,
                        const kb_ctl_live *shutting, int32_t ctl_epoch, kb_ctl_lai *out)
{
    int32_t leader = KB_CTL_NO_LEADER;
    for (int32_t i = 0; i < replicas->n && leader < 0; i++)
        if (kb_ctl_live_has(live, replicas->v[i]) && !kb_ctl_live_has(shutting, replicas->v[i]) &&
            kb_ctl_ids_has(&cur->isr, replicas->v[i]))
            leader = replicas->v[i];
    if (leader < 0)
        return false;
    kb_ctl_lai l = { .leader = leader, .leader_epoch = cur->leader_epoch + 1, .ctl_epoch = ctl_epoch,
                     .zk_version = cur->zk_version };
    for (int32_t i = 0; i < cur->isr.n; i++)
        if (!kb_ctl_live_has(shutting, cur->isr.v[i]))
            l.isr.v[l.isr.n++] = cur->isr.v[i];
    *out = l;
    return true;
}

bool kb_ctl_preferred_eligible(const kb_ctl_ids *replicas, const kb_ctl_lai *cur, const kb_ctl_live *live)
{
    return replicas->n > 0 && kb_ctl_live_has(live, replicas->v[0]) && kb_ctl_ids_has(&cur->isr, replicas->v[0]);
}

bool kb_ctl_imbalanced(int32_t not_led, int32_t total, int32_t percentage, double *ratio)
{
    double r = total > 0 ? (double)not_led / (double)total : 0.0;
    if (ratio)
        *ratio = r;
    return r > (double)percentage / 100.0;
}

bool kb_ctl_isr_remove(const kb_ctl_lai *cur, int32_t broker, int32_t ctl_epoch, kb_ctl_lai *out)
{
    if (!kb_ctl_ids_has(&cur->isr, broker))
        return false;
    kb_ctl_lai l = *cur;
    l.leader = cur->leader == broker ? KB_CTL_NO_LEADER : cur->leader;
    if (cur->isr.n > 1) {
        l.isr.n = 0;
        for (int32_t i = 0; i < cur->isr.n; i++)
            if (cur->isr.v[i] != broker)
                l.isr.v[l.isr.n++] = cur->isr.v[i];
    }
    l.leader_epoch = cur->leader_epoch + 1;
    l.ctl_epoch = ctl_epoch;
    *out = l;
    return true;
}

const char *kb_ctl_lai_check(const kb_ctl_lai *lai, const kb_ctl_ids *replicas)
{
    if (lai->isr.n <= 0 || lai->isr.n > KB_CTL_MAX_RF)
        return "ISR empty or too long";
    for (int32_t i = 0; i < lai->isr.n; i++) {
        if (!kb_ctl_ids_has(replicas, lai->isr.v[i]))
            return "ISR member not a replica";
        for (int32_t j = 0; j < i; j++)
            if (lai->isr.v[j] == lai->isr.v[i])
                return "duplicate ISR member";
    }
    if (lai->leader >= 0 && !kb_ctl_ids_has(&lai->isr, lai->leader))
        return "leader not in ISR";
    if (lai->leader < KB_CTL_NO_LEADER)
        return "bad leader id";
    return NULL;
}

const char *kb_ctl_ids_str(const int32_t *v, int32_t n, char *buf, size_t len)
{
    size_t off = 0;
    if (len)
        buf[0] = '\0';
    for (int32_t i = 0; i < n && off < len; i++) {
        int k = snprintf(buf + off, len - off, "%s%d", i ? "," : "", v[i]);
        if (k < 0)
            break;
        off += (size_t)k;
    }
    return buf;
}
