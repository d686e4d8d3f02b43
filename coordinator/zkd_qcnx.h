/* coordinator/zkd_qcnx.h -- one quorum-port connection (leader <-> learner):
 * jute QuorumPacket framing over a bufferevent.
 *
 * Packets are QuorumPacket {int type, long zxid, buffer data, vector<Id>
 * authinfo} written back to back, with no length prefix of their own; the
 * reader sizes each from its fields as they arrive and hands complete
 * packets to on_packet. A data buffer larger than the limit, a negative
 * length or an auth vector that does not parse closes the connection
 * (on_close). After a SNAP packet the stream carries a raw snapshot: the
 * owner switches the reader to raw mode, gets every byte through on_raw
 * (which says how many it consumed once the snapshot is complete) and
 * packet mode resumes with what follows.
 * Locality: loop thread. on_close runs at most once; the owner frees the
 * connection afterwards (never inside on_packet: mark and return). */
#ifndef ZKD_QCNX_H
#define ZKD_QCNX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kz_buf.h"

struct event_base;
struct bufferevent;
typedef struct zkd_qcnx zkd_qcnx;

/* Packet types (Leader.java). */
enum {
    ZKD_QP_REQUEST = 1,
    ZKD_QP_PROPOSAL = 2,
    ZKD_QP_ACK = 3,
    ZKD_QP_COMMIT = 4,
    ZKD_QP_PING = 5,
    ZKD_QP_REVALIDATE = 6,
    ZKD_QP_SYNC = 7,
    ZKD_QP_INFORM = 8,
    ZKD_QP_COMMITANDACTIVATE = 9,
    ZKD_QP_NEWLEADER = 10,
    ZKD_QP_FOLLOWERINFO = 11,
    ZKD_QP_UPTODATE = 12,
    ZKD_QP_DIFF = 13,
    ZKD_QP_TRUNC = 14,
    ZKD_QP_SNAP = 15,
    ZKD_QP_OBSERVERINFO = 16,
    ZKD_QP_LEADERINFO = 17,
    ZKD_QP_ACKEPOCH = 18,
    ZKD_QP_INFORMANDACTIVATE = 19,
};

#define ZKD_PROTOCOL_VERSION 0x10000 /* LEADERINFO / LearnerInfo */

typedef struct zkd_qpkt {
    int32_t type;
    int64_t zxid;
    const uint8_t *data; /* valid during the callback only */
    size_t len;
    bool data_null;
    const uint8_t *auth; /* the raw authinfo vector (count + Ids) */
    size_t auth_len;
} zkd_qpkt;

typedef struct zkd_qcnx_cb {
    void (*on_packet)(void *ctx, zkd_qcnx *q, const zkd_qpkt *p);
    /* Raw mode: returns bytes consumed (< len to wait for more, and then
     * the consumed bytes are dropped), or -1 for a malformed stream. Raw mode
     * ends when it returns with zkd_qcnx_set_raw(q, false) called. */
    long (*on_raw)(void *ctx, zkd_qcnx *q, const uint8_t *p, size_t len);
    void (*on_close)(void *ctx, zkd_qcnx *q, const char *why);
    void *ctx;
} zkd_qcnx_cb;

/* Wraps a connected (or connecting, @connecting) socket. NULL on failure
 * (the fd is closed). */
zkd_qcnx *zkd_qcnx_new(struct event_base *base, int fd, const zkd_qcnx_cb *cb, size_t max_packet);
/* Starts a non-blocking connect to @host:@port; events as above, on_close
 * if it fails. */
zkd_qcnx *zkd_qcnx_connect(struct event_base *base, const char *host, int port, const zkd_qcnx_cb *cb,
                           size_t max_packet);
bool zkd_qcnx_connected(const zkd_qcnx *q);
/* Read timeout: on_close("read timeout") when nothing arrives for @ms (0: none). */
void zkd_qcnx_set_timeout(zkd_qcnx *q, int64_t ms);
void zkd_qcnx_set_raw(zkd_qcnx *q, bool raw);

void zkd_qcnx_send(zkd_qcnx *q, int32_t type, int64_t zxid, const void *data, size_t len);
/* Sends a packet whose data is null (-1 length). */
void zkd_qcnx_send_null(zkd_qcnx *q, int32_t type, int64_t zxid);
/* Sends with an authinfo vector already encoded (count + Ids). */
void zkd_qcnx_send_auth(zkd_qcnx *q, int32_t type, int64_t zxid, const void *data, size_t len, const void *auth,
                        size_t auth_len);
/* Appends raw bytes to the stream (the SNAP body). */
void zkd_qcnx_write_raw(zkd_qcnx *q, const void *p, size_t len);
/* Bytes queued for sending (for backpressure decisions). */
size_t zkd_qcnx_pending(const zkd_qcnx *q);
/* Peer address "/127.0.0.2:45678". */
const char *zkd_qcnx_peer(const zkd_qcnx *q);
/* Stops reading and writing; on_close is not called. NULL-safe. */
void zkd_qcnx_free(zkd_qcnx *q);

#endif
