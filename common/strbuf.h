/* strbuf: a growable byte buffer that is always NUL-terminated.
 *
 * A zero-initialised struct strbuf is an empty buffer. Appends grow the
 * buffer with realloc and return -ENOMEM on failure, leaving the previous
 * contents intact. sb_release() frees the memory and resets to empty.
 *
 * Errors are sticky (SQLite's sqlite3_str model): the first failing append
 * records its -errno in the buffer, and every later append does nothing
 * and returns that same error. So a writer may append freely, ignoring
 * each return value, and check once at the end with sb_error() (or take
 * the string with sb_detach(), which fails with the recorded error). The
 * buffer then holds exactly what was appended before the failure. Each
 * append still returns 0 or the error, for callers that check every step.
 * sb_reset() and sb_release() clear the error. */
#ifndef SMOL_STRBUF_H
#define SMOL_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;  /* NULL until the first append; then NUL-terminated */
	size_t len; /* bytes in use, not counting the terminator */
	size_t cap; /* bytes allocated */
	int err;    /* 0, or the first append's -errno (sticky) */
};

int sb_append(struct strbuf *sb, const void *data, size_t len);
int sb_append_str(struct strbuf *sb, const char *s);
int sb_append_char(struct strbuf *sb, char c);
int sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap);

/* 0, or the -errno of the first append that failed since the buffer was
 * empty (zero-initialised, reset or released). */
int sb_error(const struct strbuf *sb);

/* Records rc (< 0: the failure of work that feeds this buffer, such as a
 * scratch buffer's) as the buffer's sticky error unless it already has
 * one; returns the buffer's error. rc == 0 changes nothing. */
int sb_set_error(struct strbuf *sb, int rc);

/* Always returns a valid string, "" for an empty buffer (borrowed). */
const char *sb_str(const struct strbuf *sb);

/* Hands the malloc'd string to the caller (never NULL on success; an empty
 * buffer yields a newly allocated ""), leaving sb empty. After a failed
 * append it returns that error instead, frees the buffer and leaves sb
 * empty. */
int sb_detach(struct strbuf *sb, char **out);

void sb_reset(struct strbuf *sb);   /* keeps the allocation, len = 0, no error */
void sb_release(struct strbuf *sb); /* frees everything */

#endif
