/* bench/tcpbw.c -- loopback TCP bandwidth, the reference for the broker's produce figures.
 *
 * Usage: tcpbw [-a ADDR] [-b BYTES] [-w WRITE_BYTES] [-t TIMEOUT_SECS]
 *
 * One process, two threads: the receiver listens on ADDR (default 127.0.0.1) on an
 * ephemeral port, the sender connects and streams BYTES (default 1 GiB) in writes of
 * WRITE_BYTES (default 1 MiB, as a producer's requests are about that size), the
 * receiver reads them with reads of the same size until it has them all. Socket
 * buffers are the kernel's defaults (autotuned), TCP_NODELAY is set as Kafka clients
 * and brokers do. The time runs from the connection being established to the
 * receiver's last byte; the figure is what one TCP connection on this loopback
 * carries on this machine in this run, with nothing parsed or stored: the ceiling for
 * a produce load over one connection.
 *
 * Output, one line on stdout:
 *   stats mode=tcpbw bytes=N secs=S mb_per_sec=M write_bytes=W cpu_s=C
 * MB = 2^20 bytes (as Kafka's perf tools count); cpu_s is the CPU time of both threads.
 *
 * Exit status: 0 done, 1 usage or set-up failure, 2 the transfer failed or took more
 * than TIMEOUT_SECS (default 120; the receiver's socket has SO_RCVTIMEO and the
 * sender's SO_SNDTIMEO, so no wait is unbounded). Binds only ADDR. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/zkb_common.h"

typedef struct tb_opts {
    const char *addr;
    long bytes, write_bytes, timeout_s;
} tb_opts;

/* The sender thread's side: its socket and what went wrong. */
typedef struct tb_sender {
    const tb_opts *o;
    int fd;
    long sent;
    int err;                 /* errno of the failure, 0 if none */
} tb_sender;

static void tb_usage(FILE *f)
{
    fprintf(f, "usage: tcpbw [-a ADDR] [-b BYTES] [-w WRITE_BYTES] [-t TIMEOUT_SECS]\n"
               "  -a  loopback address to listen on (default 127.0.0.1)\n"
               "  -b  bytes to stream (default 1073741824)\n"
               "  -w  bytes per write and per read (default 1048576)\n"
               "  -t  bound of the whole transfer in seconds (default 120)\n");
}

static void tb_set_timeout(int fd, int opt, long secs)
{
    struct timeval tv = { .tv_sec = secs };
    setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv);
}

/* Writes o->bytes of a fixed pattern in o->write_bytes writes. */
static void *tb_send_main(void *arg)
{
    tb_sender *s = arg;
    char *buf = malloc((size_t)s->o->write_bytes);
    if (!buf) {
        s->err = ENOMEM;
        return NULL;
    }
    for (long i = 0; i < s->o->write_bytes; i++)
        buf[i] = (char)('A' + i % 26);
    while (s->sent < s->o->bytes) {
        long want = s->o->bytes - s->sent;
        if (want > s->o->write_bytes)
            want = s->o->write_bytes;
        ssize_t n = send(s->fd, buf, (size_t)want, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            s->err = errno;
            break;
        }
        s->sent += n;
    }
    free(buf);
    shutdown(s->fd, SHUT_WR);
    return NULL;
}

int main(int argc, char **argv)
{
    tb_opts o = { "127.0.0.1", 1L << 30, 1L << 20, 120 };
    int opt, rc = 1, lfd = -1, cfd = -1;
    char *buf = NULL;
    tb_sender s = { &o, -1, 0, 0 };
    bool started = false;
    pthread_t th;
    while ((opt = getopt(argc, argv, "a:b:w:t:h")) != -1) {
        switch (opt) {
        case 'a': o.addr = optarg; break;
        case 'b':
            if (!zkb_parse_long(optarg, 1, 1L << 40, &o.bytes)) goto usage;
            break;
        case 'w':
            if (!zkb_parse_long(optarg, 1, 64L << 20, &o.write_bytes)) goto usage;
            break;
        case 't':
            if (!zkb_parse_long(optarg, 1, 86400, &o.timeout_s)) goto usage;
            break;
        case 'h': tb_usage(stdout); return 0;
        default: goto usage;
        }
    }
    if (optind != argc)
        goto usage;

    struct sockaddr_in sa = { .sin_family = AF_INET };
    if (inet_pton(AF_INET, o.addr, &sa.sin_addr) != 1) {
        fprintf(stderr, "tcpbw: -a %s is not an IPv4 address\n", o.addr);
        return 1;
    }
    socklen_t sl = sizeof sa;
    if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 || bind(lfd, (struct sockaddr *)&sa, sl) != 0 ||
        listen(lfd, 1) != 0 || getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0) {
        fprintf(stderr, "tcpbw: listen on %s: %s\n", o.addr, strerror(errno));
        goto out;
    }
    int one = 1;
    if ((s.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        fprintf(stderr, "tcpbw: socket: %s\n", strerror(errno));
        goto out;
    }
    setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    tb_set_timeout(s.fd, SO_SNDTIMEO, o.timeout_s);
    /* loopback connect completes against the backlog, before accept() */
    if (connect(s.fd, (struct sockaddr *)&sa, sizeof sa) != 0 || (cfd = accept(lfd, NULL, NULL)) < 0) {
        fprintf(stderr, "tcpbw: connect %s: %s\n", o.addr, strerror(errno));
        goto out;
    }
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    tb_set_timeout(cfd, SO_RCVTIMEO, o.timeout_s);
    if (!(buf = malloc((size_t)o.write_bytes))) {
        fprintf(stderr, "tcpbw: out of memory\n");
        goto out;
    }

    rc = 2;
    double cpu0 = zkb_cpu_secs();
    int64_t t0 = zkb_now_ns(), deadline = t0 + o.timeout_s * 1000000000LL;
    if (pthread_create(&th, NULL, tb_send_main, &s) != 0) {
        fprintf(stderr, "tcpbw: pthread_create failed\n");
        goto out;
    }
    started = true;
    long got = 0;
    while (got < o.bytes) {
        ssize_t n = recv(cfd, buf, (size_t)o.write_bytes, 0);
        if (n > 0) {
            got += n;
            if (zkb_now_ns() < deadline)
                continue;
            fprintf(stderr, "tcpbw: %ld of %ld bytes after %ld s\n", got, o.bytes, o.timeout_s);
            goto out;
        }
        if (n < 0 && errno == EINTR && zkb_now_ns() < deadline)
            continue;
        fprintf(stderr, "tcpbw: receive after %ld of %ld bytes: %s\n", got, o.bytes,
                n == 0 ? "connection closed" : errno == EAGAIN ? "timed out" : strerror(errno));
        goto out;
    }
    int64_t t1 = zkb_now_ns();
    pthread_join(th, NULL);
    started = false;
    if (s.err) {
        fprintf(stderr, "tcpbw: send: %s\n", strerror(s.err));
        goto out;
    }
    double secs = (double)(t1 - t0) / 1e9;
    printf("stats mode=tcpbw bytes=%ld secs=%.3f mb_per_sec=%.2f write_bytes=%ld cpu_s=%.3f\n", got, secs,
           (double)got / secs / (1024.0 * 1024.0), o.write_bytes, zkb_cpu_secs() - cpu0);
    fflush(stdout);
    rc = 0;
out:
    if (started) { /* the receiver failed: unblock the sender, then wait for it */
        shutdown(s.fd, SHUT_RDWR);
        if (cfd >= 0)
            shutdown(cfd, SHUT_RDWR);
        pthread_join(th, NULL);
    }
    free(buf);
    if (s.fd >= 0)
        close(s.fd);
    if (cfd >= 0)
        close(cfd);
    if (lfd >= 0)
        close(lfd);
    return rc;
usage:
    tb_usage(stderr);
    return 1;
}
