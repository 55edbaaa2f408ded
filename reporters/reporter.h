/* reporter: the interface through which the runner streams results.
 *
 * The runner owns the reporters. It calls begin() once, test_started() when a
 * test attempt starts (for live progress), result() once per attempt as it
 * completes (in completion order, not plan order), and end() once. destroy()
 * follows end(), or is called alone if the run never started. A callback
 * returns 0 or -errno; the runner reports a failing reporter once and keeps
 * going with the others. All pointers passed in are borrowed for the call. */
#ifndef SMOL_REPORTER_H
#define SMOL_REPORTER_H

#include "record.h"

struct reporter;

struct reporter_ops {
	const char *name;
	int (*begin)(struct reporter *r, const struct run_info *info);
	int (*test_started)(struct reporter *r, const char *test_name, unsigned attempt);
	int (*result)(struct reporter *r, const struct result_record *rec);
	int (*end)(struct reporter *r, const struct run_summary *sum);
	void (*destroy)(struct reporter *r);
	/* Optional: called about once a second while tests run, so that live
	 * displays (elapsed time) move between results. */
	int (*tick)(struct reporter *r);
};

struct reporter {
	const struct reporter_ops *ops;
	void *priv;
};

/* A list of reporters that the runner fans calls out to. */
struct reporter_set {
	struct reporter **items;
	size_t n;
};

int reporter_set_add(struct reporter_set *set, struct reporter *r); /* takes r */
void reporter_set_begin(struct reporter_set *set, const struct run_info *info);
void reporter_set_test_started(struct reporter_set *set, const char *name, unsigned attempt);
void reporter_set_result(struct reporter_set *set, const struct result_record *rec);
void reporter_set_end(struct reporter_set *set, const struct run_summary *sum);
void reporter_set_tick(struct reporter_set *set);
void reporter_set_destroy(struct reporter_set *set); /* destroys every reporter */

#endif
