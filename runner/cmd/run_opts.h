/* run_opts: the command line of `smoltest run`, `list` and `validate`,
 * parsed into plain data (no side effects), so that it can be unit-tested. */
#ifndef SMOL_RUN_OPTS_H
#define SMOL_RUN_OPTS_H

#include "suite/select.h"
#include "suite/suite.h"

#include <stdbool.h>
#include <stdint.h>

struct run_opts {
	const char *suite;		/* SUITE (borrowed from argv) */
	unsigned parallel;		/* -j; 0: the suite's or the CPU count */
	const char *filter;		/* --filter */
	const char *tags;		/* --tags */
	struct sel_partition partition; /* --partition (kind NONE: env or none) */
	int retries;			/* --retries; -1: the suite's */
	bool fail_fast;			/* --fail-fast (--keep-going turns it off) */
	uint64_t timeout_ns;		/* --timeout; 0: the suite's */
	double timeout_multiplier; /* --timeout-multiplier or SMOLTEST_TIMEOUT_MULTIPLIER; 0: 1 */
	bool has_backend;
	enum suite_backend backend;	/* --backend */
	const char *artifacts;		/* --artifacts DIR */
	const char *junit, *tap, *json; /* list --json: "-" */
	unsigned tap_version;		/* 13 or 14 */
	bool github;			/* --github */
	bool no_cache;
	bool allow_no_tests;	/* --allow-no-tests: an empty selection is not an error */
	bool rerun_failed;	/* --rerun-failed: only what failed last time (last_failed.h) */
	unsigned failure_lines; /* --failure-output tail:N; 0: the console's default */
	bool failure_full;	/* --failure-output full */
	int verbosity;		/* -q -1, default 0, -v 1 */
	int color;		/* 0 auto, 1 always, 2 never */
};

/* Parses argv (argv[0] is the subcommand name). -EINVAL with a one-line
 * message in err for a usage error (without a prefix: the caller prints
 * "smoltest <subcommand>: " before it); 1 when --help was asked (usage printed
 * by the caller). Strings in o borrow argv. */
int run_opts_parse(int argc, char **argv, struct run_opts *o, char *err, size_t errlen);

/* The usage text of run/list/validate. */
const char *run_opts_usage(void);

#endif
