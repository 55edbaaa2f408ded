/* last_failed (lastfail_): which tests of a suite failed when it last ran,
 * for `smoltest run --rerun-failed`.
 *
 * One file per suite under the cache root, <cache>/last-failed/<XXH3-64 of
 * the suite's absolute path>, rewritten atomically at the end of every run:
 *
 *   smoltest-last-failed 1
 *   suite /abs/path/suite.yaml
 *   failed <test name>          (one line per test, sorted by name)
 *
 * The list is updated, not replaced: a test that failed (fail, timeout,
 * error) is added, one that passed (pass, flaky, leak) is removed, and a
 * test that did not run or finish (filtered out, skipped, cancelled) keeps
 * its state, as pytest's --last-failed does. So a filtered run or a rerun never
 * forgets a failure that it did not fix. The file is ours but read as
 * hostile: lines that are not a valid test name are ignored. */
#ifndef SMOL_LAST_FAILED_H
#define SMOL_LAST_FAILED_H

#include "reporter.h"
#include "suite/suite.h"

#include <stdbool.h>
#include <stddef.h>

#define LASTFAIL_MAX_FILE (16u << 20)

struct lastfail {
	char **names; /* sorted, unique, owned */
	size_t n, cap;
};

/* The record's path for the suite at suite_abs, in out. -ENAMETOOLONG. */
int lastfail_path(const char *cache_dir, const char *suite_abs, char *out, size_t len);

/* Reads the record at path into *lf (emptied first). -ENOENT when no run
 * of the suite was recorded; -EINVAL for a file that is not a record. */
int lastfail_load(const char *path, struct lastfail *lf);

/* True when name is in lf. */
bool lastfail_has(const struct lastfail *lf, const char *name);

/* Adds (failed) or removes (!failed) name. 0 or -ENOMEM. */
int lastfail_set(struct lastfail *lf, const char *name, bool failed);

/* Keeps in plan[0..*n) (indexes into s->tests) only the tests in lf, in
 * order; *n shrinks. */
void lastfail_filter(const struct lastfail *lf, const struct suite *s, size_t *plan, size_t *n);

/* Writes lf as the record of suite_abs at path (atomically; creates the
 * parent directory). 0 or -errno. */
int lastfail_save(const struct lastfail *lf, const char *path, const char *suite_abs);

void lastfail_release(struct lastfail *lf); /* lf becomes empty */

/* A reporter that applies every final result to a copy of prev (NULL:
 * empty) and saves it to path at end(). path and suite_abs are copied. A
 * run destroyed without end() writes nothing. */
int lastfail_reporter_create(const char *path, const char *suite_abs, const struct lastfail *prev,
			     struct reporter **out);

#endif
