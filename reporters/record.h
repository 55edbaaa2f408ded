/* record: the result records that the runner hands to reporters.
 *
 * This header is the contract between runner/ and reporters/. The runner
 * fills the structs; reporters only read them. Every pointer in a record is
 * borrowed and valid only for the duration of the callback that receives it:
 * a reporter that needs a value later copies it.
 *
 * Text fields (output heads/tails, messages) are raw bytes from the test:
 * they may hold ANSI escapes, NULs, invalid UTF-8 and anything else. Each
 * reporter sanitises for its own format. */
#ifndef SMOL_RECORD_H
#define SMOL_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum result_status {
	RESULT_PASS,	  /* expectations met on this attempt */
	RESULT_FAIL,	  /* expectations not met: see fail_kind */
	RESULT_ERROR,	  /* the environment broke (VM/sandbox died, agent lost) */
	RESULT_TIMEOUT,	  /* killed after the test's timeout */
	RESULT_SKIP,	  /* not run: skip_reason says why */
	RESULT_FLAKY,	  /* passed on this attempt after earlier attempts failed */
	RESULT_LEAK,	  /* passed, but left processes running (leaked says how many): a
			   * pass with a warning; `leak: fail` makes it FAIL/FAIL_LEAK */
	RESULT_CANCELLED, /* stopped while it ran (fail-fast, a signal): out/err hold
			   * what it wrote until then */
};

enum result_fail_kind {
	FAIL_NONE,
	FAIL_EXIT_CODE, /* wrong exit status or killed by a signal */
	FAIL_OUTPUT,	/* stdout/stderr expectation not met */
	FAIL_TIMEOUT,	/* same as RESULT_TIMEOUT, for reporters that want one field */
	FAIL_LEAK,	/* it left processes running, and the test says `leak: fail` */
};

/* Output kept for one stream of one attempt. The runner keeps a bounded head
 * and tail; when the output was longer than both, `truncated` is set and
 * `total_bytes` says how much there was. head and tail never overlap. */
struct result_output {
	const char *head;
	size_t head_len;
	const char *tail; /* NULL/0 when everything fitted in head */
	size_t tail_len;
	uint64_t total_bytes;
	bool truncated;
};

struct result_artifact {
	const char *pattern;   /* the glob from the suite */
	const char *host_path; /* where it landed, NULL when missing */
	bool missing;	       /* the glob matched nothing */
};

/* One attempt of one test. */
struct result_record {
	const char *suite_name; /* the suite's `name:` */
	const char *suite_file; /* repo-relative path of the YAML, no leading '/' */
	unsigned line;		/* the test's line in suite_file (1-based) */
	const char *test_name;
	unsigned index; /* 0-based position of the test in the selected plan */
	/* Not a test: the suite's setup failed, and this is the failed step
	 * (test_name "setup", line the step's, its output). It is the run's
	 * only record; run_summary.setup_failed says the tests did not run. */
	bool setup;

	unsigned attempt;      /* 1-based */
	unsigned max_attempts; /* 1 + retries */
	bool final;	       /* no further attempt of this test will follow */

	enum result_status status;
	enum result_fail_kind fail_kind;
	const char *message;	 /* one line, human readable, never NULL */
	const char *skip_reason; /* RESULT_SKIP only */

	bool exited; /* the process exited (exit_code valid) */
	int exit_code;
	int signal; /* >0 when killed by a signal */
	int expected_exit;
	unsigned leaked; /* processes left running when it exited (0: none, or
			  * an agent that cannot tell) */

	uint64_t start_wall_ns; /* CLOCK_REALTIME at start of the attempt */
	uint64_t duration_ns;

	struct result_output out; /* stdout */
	struct result_output err; /* stderr */

	const struct result_artifact *artifacts;
	size_t n_artifacts;

	const char *backend; /* "vm" or "sandbox" */
	const char *const *tags;
	size_t n_tags;
};

/* What a reporter learns when the run starts. */
struct run_info {
	const char *suite_name;
	const char *suite_file; /* repo-relative */
	const char *backend;	/* "vm" or "sandbox" */
	const char
	    *backend_note; /* e.g. "sandbox: weaker isolation, no memory snapshot"; may be NULL */
	const char *partition;	 /* "hash:1/4", or NULL when not partitioned */
	const char *snapshot_id; /* cache key of the warm environment, may be NULL */
	bool cache_hit;
	const char *cache_why; /* on a hit, what the key covered (cache_key_summary); may be NULL */
	const char *hostname;
	const char *version; /* smoltest version */
	uint64_t start_wall_ns;
	unsigned planned; /* tests selected to run (skips included) */
	unsigned parallel;
};

/* What a reporter learns when the run ends. Counts are per test (final
 * attempt), not per attempt. */
struct run_summary {
	unsigned total, passed, failed, errors, timeouts, skipped, flaky, leaked, cancelled;
	uint64_t wall_ns;
	bool aborted;		  /* fail-fast, signal, or infrastructure failure */
	const char *abort_reason; /* one line when aborted, else NULL */
	bool infra_error;	  /* the backend could not run tests at all */
	uint64_t setup_ns;	  /* time spent in setup (0: none ran, e.g. a cache hit);
				   * wall_ns is the tests' time, setup excluded */
	bool setup_failed;	  /* setup failed: total tests were not run (not_run) */
	unsigned not_run;
	unsigned setup_steps; /* setup_failed: the failed step's 1-based number */
};

const char *result_status_name(enum result_status s);	    /* "pass", "fail", ... */
const char *result_fail_kind_name(enum result_fail_kind k); /* "exit-code", ... */

#endif
