/* broker/kb_checkpoint.h -- Kafka's offset checkpoint files.
 *
 * Offset checkpoint format (CheckpointFile.scala / OffsetCheckpointFile.scala), text, "\n" ends
 * every line:
 *     0                      format version
 *     <count>                number of entries
 *     <topic> <partition> <offset>      x count, single spaces
 * Used for recovery-point-offset-checkpoint, log-start-offset-checkpoint,
 * replication-offset-checkpoint and cleaner-offset-checkpoint in every log dir.
 * Reading follows Kafka's reader: an empty file (or one holding only the version line) has no
 * entries; the version must be 0; each entry line splits on runs of whitespace into exactly three
 * items (a leading blank gives an empty first item, trailing blanks are dropped, as Java's
 * String.split does); partition and offset are decimal with an optional sign; the count must equal
 * the number of entry lines. Anything else is -EBADMSG.
 *
 * Writing replaces the file durably with kz_fs_write_durable ("<path>.tmp", fsync, rename,
 * fsync of the directory), so a crash leaves the old or the new file, never a mix.
 * Locality: plain functions; the broker calls them on its loop thread. */
#ifndef KB_CHECKPOINT_H
#define KB_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

typedef struct kb_ckpt_entry {
    char *topic; /* malloc'd, NUL-terminated */
    int32_t partition;
    int64_t offset;
} kb_ckpt_entry;

/* Reads the checkpoint at @path into *@out (malloc'd array, *@n entries, file order; free with
 * kb_checkpoint_free). Returns 0, -ENOENT when the file does not exist (*@out NULL, *@n 0),
 * -EBADMSG when it is malformed, another -errno on I/O errors, -ENOMEM. */
int kb_checkpoint_read(const char *path, kb_ckpt_entry **out, size_t *n);

/* Writes @n entries (in the order given) durably to @path. Returns 0 or -errno. */
int kb_checkpoint_write(const char *path, const kb_ckpt_entry *v, size_t n);

/* Frees an array from kb_checkpoint_read (NULL-safe). */
void kb_checkpoint_free(kb_ckpt_entry *v, size_t n);

/* Sorts @v by (topic, partition) so that kb_checkpoint_find can binary-search it. */
void kb_checkpoint_sort(kb_ckpt_entry *v, size_t n);

/* The offset of (@topic, @partition) in sorted @v, or @dflt when absent. */
int64_t kb_checkpoint_find(const kb_ckpt_entry *v, size_t n, const char *topic, int32_t partition, int64_t dflt);

#endif
