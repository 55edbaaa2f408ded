/* collect: owned copies of result records, for reporters that write at the
 * end of the run (JUnit, the console's failure recap, the GitHub summary).
 *
 * Record pointers are only valid during the callback (record.h), so a
 * reporter that needs them later copies them here. Output is kept only for
 * attempts that did not pass (that is what reports show), joined with
 * text_output_join() and still raw: sanitise before writing. */
#ifndef SMOL_COLLECT_H
#define SMOL_COLLECT_H

#include "record.h"

#include <stddef.h>

/* Most raw bytes kept per stream of one attempt; beyond it, the tail. */
#define COLLECT_MAX_OUTPUT (1u << 20)

struct collected {
	char *suite_name, *suite_file, *test_name, *message, *skip_reason, *backend;
	unsigned line, index, attempt, max_attempts;
	bool final;
	enum result_status status;
	enum result_fail_kind fail_kind;
	bool exited;
	int exit_code, signal, expected_exit;
	unsigned leaked;
	uint64_t start_wall_ns, duration_ns;
	char *out, *err; /* raw joined output, NULL for passing attempts
			  * (kept for failing and cancelled ones) */
	size_t out_len, err_len;
	char **artifacts; /* host paths of the artifacts that were collected */
	size_t n_artifacts;
	char **missing_artifacts; /* the patterns that matched nothing */
	size_t n_missing_artifacts;
	char **tags;
	size_t n_tags;
};

struct collect_list {
	struct collected **items;
	size_t n, cap;
};

/* Copies rec (every string, artifact paths, the output of a non-passing attempt) and appends
 * it. Returns 0 or -ENOMEM (the list is unchanged). */
int collect_add(struct collect_list *l, const struct result_record *rec);

/* Sorts by suite file, plan index, then attempt, so that the attempts of one
 * test are adjacent and its last attempt comes last. */
void collect_sort(struct collect_list *l);

/* Sorts by duration, longest first (for "slowest tests"). */
void collect_sort_by_duration(struct collect_list *l);

/* With l sorted by collect_sort(): the number of items, from i on, that are
 * attempts of the same test as items[i]. */
size_t collect_group_len(const struct collect_list *l, size_t i);

/* True for statuses a report counts as failing (fail, timeout, error). */
bool collect_is_failure(enum result_status s);

void collect_release(struct collect_list *l); /* frees everything; l becomes empty */

#endif
