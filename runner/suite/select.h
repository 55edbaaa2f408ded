/* select: which tests of a suite a run executes — the --filter regex, the
 * --tags expression and the shard (--partition or the CI's environment).
 *
 * Hash partitioning puts a test in shard (XXH3-64(name) mod N): a test's
 * shard depends on its name only, so adding or removing other tests never
 * moves it. Count partitioning deals the selected tests round-robin in suite
 * order, which balances counts but moves tests when the list changes. */
#ifndef SMOL_SELECT_H
#define SMOL_SELECT_H

#include "suite/suite.h"

#include <stdbool.h>
#include <stddef.h>

enum sel_partition_kind {
	SEL_PART_NONE,
	SEL_PART_HASH,
	SEL_PART_COUNT,
};

struct sel_partition {
	enum sel_partition_kind kind;
	unsigned index;	 /* 1-based M of M/N */
	unsigned total;	 /* N */
	char source[64]; /* "--partition", "TEST_SHARD_INDEX", ... for messages */
};

/* Parses "hash:M/N" or "count:M/N" (1 <= M <= N <= 10000). -EINVAL when
 * malformed; err (may be NULL) gets a one-line reason. */
int sel_partition_parse(const char *text, struct sel_partition *out, char *err, size_t errlen);

/* Reads TEST_SHARD_INDEX/TEST_TOTAL_SHARDS (0-based index, as Bazel) or
 * CI_NODE_INDEX/CI_NODE_TOTAL (1-based index, as GitLab) from env (a
 * getenv-like lookup so tests can inject values). Sets out->kind to NONE
 * when neither pair is set. -EINVAL with a reason in err when a pair is set
 * but invalid. */
int sel_partition_from_env(const char *(*get)(const char *name, void *ctx), void *ctx,
			   struct sel_partition *out, char *err, size_t errlen);

/* Formats "hash:2/4" into buf (or "" for NONE). */
const char *sel_partition_format(const struct sel_partition *p, char *buf, size_t len);

/* A compiled tags expression: tag names combined with '!' (not), ',' or '|'
 * (or), '+' or '&' (and) and parentheses; 'and' binds tighter than 'or'.
 * "fast", "!slow", "unit+linux,smoke". */
struct sel_tags;

/* Compiles expr. -EINVAL with the reason and offset in err when malformed.
 * The result is owned by the caller (sel_tags_destroy). */
int sel_tags_compile(const char *expr, struct sel_tags **out, char *err, size_t errlen);
bool sel_tags_match(const struct sel_tags *t, char *const *tags, size_t n_tags);
void sel_tags_destroy(struct sel_tags *t);

struct sel_opts {
	const char *filter;		/* PCRE2 matched against test names, or NULL */
	const struct sel_tags *tags;	/* or NULL */
	struct sel_partition partition; /* kind NONE: everything */
};

/* Computes the plan: indexes into s->tests of the selected tests, in suite
 * order, in a malloc'd array owned by the caller. -EINVAL with a reason in
 * err when the filter does not compile. */
int sel_plan(const struct suite *s, const struct sel_opts *o, size_t **out, size_t *n_out,
	     char *err, size_t errlen);

/* The 0-based shard (of total) a test name falls in under hash partitioning. */
unsigned sel_hash_shard(const char *name, unsigned total);

#endif
