/* fuzz_junit_merge: the JUnit input parser of `smoltest report merge`.
 * Any input must either merge or be refused with a one-line message; the
 * merged document must render. */
#include "junit_merge.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct junit_merge *m = NULL;
	struct strbuf err = {0}, xml = {0};

	if (junit_merge_create(NULL, &m))
		return 0;
	if (junit_merge_add_buffer(m, (const char *)data, size, "fuzz.xml", &err) == 0) {
		if (junit_merge_render(m, &xml) == 0 && xml.len == 0)
			__builtin_trap();
	} else if (err.len == 0 || memchr(err.buf, '\n', err.len)) {
		__builtin_trap(); /* every refusal says why, on one line */
	}
	sb_release(&err);
	sb_release(&xml);
	junit_merge_destroy(m);
	return 0;
}
