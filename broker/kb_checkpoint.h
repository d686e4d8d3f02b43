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
 * The reader of that frame (version, count, entry lines split on blanks) is also offered for
 * other line formats (kb_checkpoint_parse): the leader epoch file uses it with two items a line.
 *
 * Writing replaces the file durably with kz_fs_write_durable ("<path>.tmp", fsync, rename,
 * fsync of the directory), so a crash leaves the old or the new file, never a mix.
 * Locality: plain functions; the broker calls them on its loop thread. */
#ifndef KB_CHECKPOINT_H
#define KB_CHECKPOINT_H

#include <stdbool.h>
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

/* ------------------------------------------------ the frame, for any line format */

#define KB_CKPT_MAX_ITEMS 4 /* items of a line kept by the splitter; more are only counted */

/* One entry line split as Java's line.split("\\s+"): runs of blanks separate items, a leading
 * run gives an empty first item, trailing empty items are dropped. @n counts the items; the
 * first KB_CKPT_MAX_ITEMS are [s[i], s[i] + len[i]) within the text. */
typedef struct kb_ckpt_items {
    const char *s[KB_CKPT_MAX_ITEMS];
    size_t len[KB_CKPT_MAX_ITEMS];
    size_t n;
} kb_ckpt_items;

/* Takes one entry line (in file order). Returns 0, or a negative code that ends the walk
 * (-EBADMSG for a line it rejects). */
typedef int kb_ckpt_line_fn(void *ctx, const kb_ckpt_items *items);

/* Walks checkpoint text @text of @len bytes as Kafka's CheckpointFile reader: lines end at "\n",
 * "\r" or "\r\n"; an empty text, or one holding only the version line, has no entries; the
 * version must be 0 and the count a non-negative int; every further line goes to @fn; the count
 * must equal the number of those lines. Returns 0, -EBADMSG, or @fn's code. */
int kb_checkpoint_parse(const char *text, size_t len, kb_ckpt_line_fn *fn, void *ctx);

/* [@s, @s + @n) as one decimal number, Java's toLong: an optional sign, digits, no blanks.
 * False when it is not one or does not fit in int64. */
bool kb_checkpoint_num(const char *s, size_t n, int64_t *v);

#endif
