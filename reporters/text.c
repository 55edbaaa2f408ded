#include "text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */

/* Decodes one UTF-8 sequence at s[0..len). Returns its length and the code
 * point in *cp, or the length of the maximal invalid subpart (>= 1) and
 * *cp = -1. Ranges from RFC 3629 §4 / Unicode Table 3-7. */
static size_t utf8_decode(const unsigned char *s, size_t len, int32_t *cp)
{
	unsigned char c = s[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xBF;
	int32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0; /* no overlongs */
		else if (c == 0xED)
			hi = 0x9F; /* no surrogates D800..DFFF */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F; /* nothing above U+10FFFF */
	} else {
		*cp = -1;
		return 1;
	}
	size_t i = 1;
	for (; i <= need; i++) {
		if (i >= len)
			break;
		unsigned char b = s[i];
		if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
			break;
		v = (v << 6) | (b & 0x3F);
	}
	if (i <= need) {
		*cp = -1;
		return i;
	}
	*cp = v;
	return need + 1;
}

/* ECMA-48 escape-sequence states. */
enum esc_state {
	ESC_NONE,
	ESC_START,  /* after ESC */
	ESC_CSI,    /* parameters and intermediates until a final byte */
	ESC_STRING, /* OSC/DCS/SOS/PM/APC until BEL or ST */
	ESC_STRING_ESC,
	ESC_INTER, /* ESC + intermediates until a final byte */
};

static bool is_dropped_ctrl(int32_t cp)
{
	if (cp == '\t' || cp == '\n')
		return false;
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xFFFE || cp == 0xFFFF;
}

int text_sanitize(struct strbuf *out, const char *in, size_t len, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)in;
	enum esc_state st = ESC_NONE;
	bool keep = flags & TEXT_KEEP_CTRL;
	bool one = flags & TEXT_ONE_LINE;
	size_t start_len = out->len;
	bool pending_space = false; /* TEXT_ONE_LINE: collapse whitespace runs */

	/* Appends freely: out's sticky error (strbuf.h) ends the loop. */
	for (size_t i = 0; i < len && !sb_error(out);) {
		int32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);
		const unsigned char *seq = s + i;
		i += n;
		if (cp < 0) {
			st = ESC_NONE;
			sb_append(out, REPLACEMENT, 3);
			continue;
		}
		if (!keep) {
			switch (st) {
			case ESC_NONE:
				break;
			case ESC_START:
				if (cp == '[') {
					st = ESC_CSI;
				} else if (cp == ']' || cp == 'P' || cp == 'X' || cp == '^' ||
					   cp == '_') {
					st = ESC_STRING;
				} else if (cp >= 0x20 && cp <= 0x2F) {
					st = ESC_INTER;
				} else {
					/* A two-byte sequence (ESC 7, ESC c, ...) or
					 * garbage: either way, it is consumed. */
					st = ESC_NONE;
				}
				continue;
			case ESC_CSI:
				if (cp >= 0x20 && cp <= 0x3F)
					continue;
				st = ESC_NONE;
				if (cp >= 0x40 && cp <= 0x7E)
					continue;
				break; /* malformed: drop the introducer, keep this */
			case ESC_INTER:
				if (cp >= 0x20 && cp <= 0x2F)
					continue;
				st = ESC_NONE;
				if (cp >= 0x30 && cp <= 0x7E)
					continue;
				break;
			case ESC_STRING:
			case ESC_STRING_ESC:
				/* An unterminated OSC must not swallow the rest of
				 * the output: a report ends it at the line's end. */
				if (cp == '\n') {
					st = ESC_NONE;
					break;
				}
				if (cp == 0x07 || cp == 0x9C ||
				    (st == ESC_STRING_ESC && cp == '\\'))
					st = ESC_NONE;
				else
					st = cp == 0x1B ? ESC_STRING_ESC : ESC_STRING;
				continue;
			}
			if (cp == 0x1B) {
				st = ESC_START;
				continue;
			}
			if (cp == 0x9B) { /* C1 CSI */
				st = ESC_CSI;
				continue;
			}
			if (cp == 0x9D || cp == 0x90) { /* C1 OSC, DCS */
				st = ESC_STRING;
				continue;
			}
			if (cp == '\r') {
				if (i < len && s[i] == '\n')
					continue; /* CR LF -> LF */
				cp = '\n';
				seq = (const unsigned char *)"\n";
			}
			if (is_dropped_ctrl(cp))
				continue;
		}
		if (one && (cp == '\n' || cp == '\t' || cp == '\r' || cp == ' ')) {
			pending_space = out->len > start_len;
			continue;
		}
		if (pending_space) {
			pending_space = false;
			sb_append_char(out, ' ');
		}
		sb_append(out, seq, n);
	}
	return sb_error(out);
}

int text_sanitize_str(struct strbuf *out, const char *s, unsigned flags)
{
	return s ? text_sanitize(out, s, strlen(s), flags) : sb_error(out);
}

int text_json_str(struct strbuf *out, const char *s, size_t len)
{
	if (!s)
		return sb_append_str(out, "null");
	struct strbuf tmp = {0};
	sb_set_error(out, text_sanitize(&tmp, s, len, TEXT_KEEP_CTRL));
	sb_append_char(out, '"');
	const unsigned char *p = (const unsigned char *)sb_str(&tmp);
	for (size_t i = 0; i < tmp.len && !sb_error(out); i++) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\')
			sb_printf(out, "\\%c", c);
		else if (c == '\n')
			sb_append_str(out, "\\n");
		else if (c == '\t')
			sb_append_str(out, "\\t");
		else if (c < 0x20 || c == 0x7f)
			sb_printf(out, "\\u%04x", c);
		else
			sb_append_char(out, (char)c);
	}
	sb_append_char(out, '"');
	sb_release(&tmp);
	return sb_error(out);
}

int text_output_join(struct strbuf *out, const struct result_output *o)
{
	if (o->head_len)
		sb_append(out, o->head, o->head_len);
	if (o->truncated) {
		uint64_t kept = (uint64_t)o->head_len + o->tail_len;
		uint64_t omitted = o->total_bytes > kept ? o->total_bytes - kept : 0;
		if (out->len && out->buf[out->len - 1] != '\n')
			sb_append_char(out, '\n');
		sb_printf(out, "[... %" PRIu64 " bytes omitted ...]\n", omitted);
	}
	if (o->tail && o->tail_len)
		sb_append(out, o->tail, o->tail_len);
	return sb_error(out);
}

size_t text_tail_offset(const char *s, size_t len, unsigned max_lines, size_t max_bytes)
{
	size_t end = len;
	size_t off = 0;
	unsigned lines = 0;

	if (end && s[end - 1] == '\n')
		end--;
	for (size_t i = end; i > 0; i--) {
		if (s[i - 1] == '\n' && ++lines >= max_lines) {
			off = i;
			break;
		}
	}
	if (max_lines == 0)
		off = len;
	if (len - off > max_bytes) {
		off = len - max_bytes;
		/* Skip continuation bytes so the tail starts on a character. */
		while (off < len && ((unsigned char)s[off] & 0xC0) == 0x80)
			off++;
	}
	return off;
}

size_t text_utf8_cut(const char *s, size_t len, size_t max)
{
	if (max >= len)
		return len;
	size_t n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

char *text_format_seconds(uint64_t ns, char *buf, size_t len)
{
	uint64_t ms = ns / 1000000u + (ns % 1000000u >= 500000u ? 1 : 0);
	snprintf(buf, len, "%" PRIu64 ".%03u", ms / 1000u, (unsigned)(ms % 1000u));
	return buf;
}

int text_format_timestamp(uint64_t wall_ns, char *buf, size_t len)
{
	time_t t = (time_t)(wall_ns / 1000000000u);
	struct tm tm;

	if (len < 20 || !gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999)
		return -EINVAL;
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return 0;
}
