/* common/kz_time.h -- the two clocks of zkd and kafkad.
 *
 * Monotonic (CLOCK_MONOTONIC): durations, latencies, deadlines and timeouts; it never jumps
 * when the wall clock is set. Wall (CLOCK_REALTIME): what is stored or shown, such as znode
 * ctime/mtime, record and index timestamps, retention and session expiry times that ZooKeeper
 * and Kafka define in epoch milliseconds.
 * clock_gettime cannot fail for these two clocks on Linux, so the result is not checked.
 * Locality: none (any thread). */
#ifndef KZ_TIME_H
#define KZ_TIME_H

#include <stdint.h>
#include <time.h>

/* Monotonic clock in nanoseconds (arbitrary origin). */
static inline int64_t kz_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Monotonic clock in microseconds (arbitrary origin). */
static inline int64_t kz_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Monotonic clock in milliseconds (arbitrary origin). */
static inline int64_t kz_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wall clock in milliseconds since the Unix epoch (Java's System.currentTimeMillis). */
static inline int64_t kz_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
