#include "strbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Records the first failure; returns rc. */
static int sb_fail(struct strbuf *sb, int rc)
{
	if (!sb->err)
		sb->err = rc;
	return rc;
}

/* Room for extra more bytes and the terminator; the sticky error first. */
static int sb_grow(struct strbuf *sb, size_t extra)
{
	if (sb->err)
		return sb->err;
	if (extra > SIZE_MAX - sb->len - 1)
		return sb_fail(sb, -ENOMEM);
	size_t need = sb->len + extra + 1;
	if (need <= sb->cap)
		return 0;
	size_t cap = sb->cap ? sb->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p = realloc(sb->buf, cap);
	if (!p)
		return sb_fail(sb, -ENOMEM);
	sb->buf = p;
	sb->cap = cap;
	return 0;
}

int sb_append(struct strbuf *sb, const void *data, size_t len)
{
	int rc = sb_grow(sb, len);
	if (rc)
		return rc;
	if (len)
		memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
	return 0;
}

int sb_append_str(struct strbuf *sb, const char *s)
{
	return sb_append(sb, s, strlen(s));
}

int sb_append_char(struct strbuf *sb, char c)
{
	return sb_append(sb, &c, 1);
}

int sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
	if (sb->err)
		return sb->err;
	va_list copy;
	va_copy(copy, ap);
	int n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return sb_fail(sb, -EINVAL);
	int rc = sb_grow(sb, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
	return 0;
}

int sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = sb_vprintf(sb, fmt, ap);
	va_end(ap);
	return rc;
}

int sb_error(const struct strbuf *sb)
{
	return sb->err;
}

int sb_set_error(struct strbuf *sb, int rc)
{
	if (rc < 0)
		sb_fail(sb, rc);
	return sb->err;
}

const char *sb_str(const struct strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

int sb_detach(struct strbuf *sb, char **out)
{
	if (sb->err) {
		int rc = sb->err;
		sb_release(sb);
		return rc;
	}
	if (!sb->buf) {
		char *s = strdup("");
		if (!s)
			return -ENOMEM;
		*out = s;
		return 0;
	}
	*out = sb->buf;
	sb->buf = NULL;
	sb->len = sb->cap = 0;
	return 0;
}

void sb_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->err = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

void sb_release(struct strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->cap = 0;
	sb->err = 0;
}
