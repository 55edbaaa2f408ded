/* text: the one place where raw test output becomes safe report text.
 *
 * Everything a test prints is hostile: ANSI escapes, NULs, invalid UTF-8,
 * encoded surrogates, noncharacters, megabyte lines. Every reporter runs its
 * text through text_sanitize() and then applies only its own format's
 * escaping. Nothing here allocates except through the strbuf passed in. */
#ifndef SMOL_TEXT_H
#define SMOL_TEXT_H

#include "record.h"
#include "strbuf.h"

#include <stddef.h>
#include <stdint.h>

enum text_flags {
	/* Keep control characters and ANSI escapes; only repair UTF-8 (for
	 * formats, like JSON, that escape controls themselves). */
	TEXT_KEEP_CTRL = 1u << 0,
	/* Newlines and tabs become single spaces; leading and trailing
	 * whitespace is dropped (for names, messages, attribute values). */
	TEXT_ONE_LINE = 1u << 1,
};

/* Appends in[0..len) to out as valid UTF-8 (RFC 3629: no overlongs, no
 * encoded surrogates, nothing above U+10FFFF), each invalid sequence replaced
 * by one U+FFFD per maximal subpart (Unicode 15 §3.9, "U+FFFD substitution").
 * Unless TEXT_KEEP_CTRL: ANSI/ECMA-48 escape sequences (CSI, OSC, DCS, two-byte
 * ESC sequences, C1 CSI) are removed; CR LF and lone CR become LF; every C0
 * control other than tab and LF, DEL, the C1 controls and U+FFFE/U+FFFF are
 * removed, which leaves only characters that XML 1.0 (§2.2 Char) and YAML 1.2
 * (§5.1 printable) accept. Returns out's sticky error (strbuf.h): 0, or
 * -ENOMEM with out keeping what was appended before it. */
int text_sanitize(struct strbuf *out, const char *in, size_t len, unsigned flags);

/* Same for a NUL-terminated string; NULL appends nothing. */
int text_sanitize_str(struct strbuf *out, const char *s, unsigned flags);

/* Appends s[0..len), sanitised with TEXT_KEEP_CTRL, as a JSON string value
 * (RFC 8259 §7: quotes, backslashes and controls escaped); NULL appends
 * null. Returns out's sticky error: 0 or -ENOMEM. */
int text_json_str(struct strbuf *out, const char *s, size_t len);

/* Appends the raw bytes the runner kept for one stream: head, then when the
 * stream was truncated a "[... N bytes omitted ...]" line, then tail. The
 * result is still raw: sanitise it before use. Returns out's sticky
 * error. */
int text_output_join(struct strbuf *out, const struct result_output *o);

/* Returns the offset in s[0..len) where its last max_lines lines start, moved
 * forward further so that at most max_bytes remain (then to a UTF-8 character
 * boundary). A trailing newline does not count as an empty last line. */
size_t text_tail_offset(const char *s, size_t len, unsigned max_lines, size_t max_bytes);

/* Largest n <= max such that s[0..n) ends on a UTF-8 character boundary of
 * the (valid UTF-8) string s of length len. */
size_t text_utf8_cut(const char *s, size_t len, size_t max);

/* Formats ns as seconds with a '.' and exactly 3 decimals ("12.345"), rounded
 * to the millisecond, with integer arithmetic: never an exponent, a locale's
 * decimal comma or a thousands separator. buf must hold 24 bytes. Returns buf. */
char *text_format_seconds(uint64_t ns, char *buf, size_t len);

/* Formats a CLOCK_REALTIME value as ISO 8601 UTC without zone suffix
 * ("2026-11-22T11:11:07"), the form the JUnit schema's timestamp takes.
 * buf must hold 20 bytes. Returns 0 or -EINVAL when the value does not fit. */
int text_format_timestamp(uint64_t wall_ns, char *buf, size_t len);

#endif
