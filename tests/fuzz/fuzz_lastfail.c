/* fuzz_lastfail: the last-failed record reader behind --rerun-failed
 * (runner/cache/last_failed.c). The file lives under the cache root, where
 * anything may have written it. Any input is loaded or refused; what loads
 * is a sorted, unique list of valid test names, and saving it then loading
 * it again gives the same list. */
#include "cache/last_failed.h"
#include "suite/suite.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void cleanup(void)
{
	util_rm_rf(dir); /* nothing is left in /tmp */
}

static void check(const struct lastfail *lf)
{
	for (size_t i = 0; i < lf->n; i++) {
		if (suite_name_problem(lf->names[i]))
			__builtin_trap(); /* only valid names are kept */
		if (i && strcmp(lf->names[i - 1], lf->names[i]) >= 0)
			__builtin_trap(); /* sorted and unique */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/fuzz-lastfail.XXXXXX");
		if (!mkdtemp(dir))
			abort();
		atexit(cleanup);
	}
	char in[128], out[128];
	snprintf(in, sizeof(in), "%s/in", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	if (util_write_file_atomic(in, data, size, 0600))
		return 0;
	struct lastfail lf = {0}, again = {0};
	if (lastfail_load(in, &lf) == 0) {
		check(&lf);
		if (lastfail_save(&lf, out, "/fuzz/suite.yaml") || lastfail_load(out, &again))
			__builtin_trap(); /* what loaded saves and loads again */
		if (again.n != lf.n)
			__builtin_trap();
		for (size_t i = 0; i < lf.n; i++)
			if (strcmp(lf.names[i], again.names[i]))
				__builtin_trap();
	}
	lastfail_release(&lf);
	lastfail_release(&again);
	return 0;
}
