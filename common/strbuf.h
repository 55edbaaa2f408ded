/* strbuf: a growable byte buffer that is always NUL-terminated.
 *
 * A zero-initialised struct strbuf is an empty buffer. Appends grow the
 * buffer with realloc and return -ENOMEM on failure, leaving the previous
 * contents intact. sb_release() frees the memory and resets to empty. */
#ifndef SMOL_STRBUF_H
#define SMOL_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;  /* NULL until the first append; then NUL-terminated */
	size_t len; /* bytes in use, not counting the terminator */
	size_t cap; /* bytes allocated */
};

int sb_append(struct strbuf *sb, const void *data, size_t len);
int sb_append_str(struct strbuf *sb, const char *s);
int sb_append_char(struct strbuf *sb, char c);
int sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap);

/* Always returns a valid string, "" for an empty buffer (borrowed). */
const char *sb_str(const struct strbuf *sb);

/* Hands the malloc'd string to the caller (never NULL on success; an empty
 * buffer yields a newly allocated ""), leaving sb empty. */
int sb_detach(struct strbuf *sb, char **out);

void sb_reset(struct strbuf *sb);   /* keeps the allocation, len = 0 */
void sb_release(struct strbuf *sb); /* frees everything */

#endif
