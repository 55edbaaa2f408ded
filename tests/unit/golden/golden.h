/* golden: compares test output with a checked-in golden file.
 *
 * SMOL_UPDATE_GOLDEN=1 rewrites the golden instead (review the diff before
 * committing). On a mismatch the actual output is left next to the test
 * binary as NAME.actual and the first differing byte is reported. */
#ifndef SMOL_TEST_GOLDEN_H
#define SMOL_TEST_GOLDEN_H

#include "util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void golden_check(const char *name, const char *data, size_t len)
{
	const char *src = getenv("SMOL_SOURCE_DIR");
	const char *update = getenv("SMOL_UPDATE_GOLDEN");
	char path[4096], actual[4096];
	char *want = NULL;
	size_t want_len = 0;

	ck_assert_msg(src, "SMOL_SOURCE_DIR is not set: run this test through ctest");
	snprintf(path, sizeof(path), "%s/tests/unit/golden/%s", src, name);
	if (update && !strcmp(update, "1")) {
		ck_assert_int_eq(util_write_file_atomic(path, data, len, 0644), 0);
		return;
	}
	int rc = util_read_file(path, 64u << 20, &want, &want_len);
	ck_assert_msg(rc == 0, "cannot read golden %s (error %d); SMOL_UPDATE_GOLDEN=1 writes it",
		      path, -rc);
	if (want_len != len || memcmp(want, data, len)) {
		size_t i = 0;
		while (i < len && i < want_len && want[i] == data[i])
			i++;
		snprintf(actual, sizeof(actual), "%s.actual", name);
		util_write_file_atomic(actual, data, len, 0644);
		free(want);
		ck_abort_msg("%s differs from golden at byte %zu (got %zu bytes, want %zu); "
			     "actual output in %s",
			     name, i, len, want_len, actual);
	}
	free(want);
}

#endif
