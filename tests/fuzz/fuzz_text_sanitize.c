/* fuzz_text_sanitize: the sanitiser that every reporter puts test output
 * through. For any bytes, and each flag set, the output must be valid UTF-8
 * with no characters XML 1.0 or YAML reject (unless TEXT_KEEP_CTRL), no ESC,
 * one line under TEXT_ONE_LINE, and sanitising twice changes nothing. */
#include "strbuf.h"
#include "text.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An independent, deliberately simple decoder (RFC 3629). */
static bool check_utf8(const unsigned char *s, size_t n, bool strict)
{
	for (size_t i = 0; i < n;) {
		uint32_t c = s[i];
		size_t len = c < 0x80	      ? 1
			     : (c >> 5) == 6  ? 2
			     : (c >> 4) == 14 ? 3
			     : (c >> 3) == 30 ? 4
					      : 0;
		if (!len || i + len > n)
			return false;
		if (len > 1)
			c &= 0x3F >> (len - 1);
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			c = (c << 6) | (s[i + k] & 0x3F);
		}
		static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
		if (c < min[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return false;
		if (strict && ((c < 0x20 && c != '\t' && c != '\n') || (c >= 0x7F && c <= 0x9F) ||
			       c == 0xFFFE || c == 0xFFFF))
			return false;
		i += len;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned flag_sets[] = {0, TEXT_ONE_LINE, TEXT_KEEP_CTRL};

	for (size_t f = 0; f < sizeof(flag_sets) / sizeof(flag_sets[0]); f++) {
		unsigned flags = flag_sets[f];
		struct strbuf a = {0}, b = {0};
		if (text_sanitize(&a, (const char *)data, size, flags) ||
		    text_sanitize(&b, sb_str(&a), a.len, flags)) {
			sb_release(&a);
			sb_release(&b);
			return 0; /* out of memory */
		}
		bool strict = !(flags & TEXT_KEEP_CTRL);
		if (!check_utf8((const unsigned char *)sb_str(&a), a.len, strict))
			__builtin_trap();
		if (strict && memchr(sb_str(&a), '\x1b', a.len))
			__builtin_trap();
		if ((flags & TEXT_ONE_LINE) &&
		    (memchr(sb_str(&a), '\n', a.len) || memchr(sb_str(&a), '\t', a.len)))
			__builtin_trap();
		if (a.len != b.len || memcmp(sb_str(&a), sb_str(&b), a.len))
			__builtin_trap(); /* not idempotent */
		sb_release(&a);
		sb_release(&b);
	}
	return 0;
}
