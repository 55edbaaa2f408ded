/* scheduler (sched_): the runner's single-threaded event loop.
 *
 * One epoll set holds: a signalfd (SIGINT, SIGTERM), one timerfd for the
 * earliest deadline, and per running job the agent client's socket and the
 * instance's death fd. At most `parallel` jobs run; each test attempt gets
 * a fresh instance from the backend, an agent connection, one EXEC for the
 * test and, when it has artifacts, one EXEC that copies them into the
 * instance's artifact share. Results stream to the reporter set as attempts
 * complete. Failed attempts are retried up to the test's retries (a pass
 * after a failure is FLAKY); --fail-fast stops scheduling and cancels the
 * running tests; SIGINT/SIGTERM stop everything and tear every instance
 * down before sched_run() returns.
 *
 * The setup phase runs through the same loop with a template instance
 * (sched_setup()). */
#ifndef SMOL_SCHEDULER_H
#define SMOL_SCHEDULER_H

#include "backend/backend.h"
#include "reporter.h"
#include "suite/suite.h"
#include "suite/suite_lister.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sched_opts {
	unsigned parallel; /* >= 1 */
	bool fail_fast;
	int retries;		     /* -1: per test from the suite */
	uint64_t timeout_ns;	     /* 0: per test from the suite */
	double timeout_multiplier;   /* scales every time limit; 0: 1 */
	const char *artifacts_dir;   /* host directory; <dir>/<test>/ per test */
	const char *run_id;	     /* SMOLTEST_RUN_ID given to tests */
	const char *suite_file;	     /* repo-relative suite path for records */
	uint64_t connect_timeout_ns; /* agent reachable after instance start; 0: 20 s */
	int verbose;		     /* >0: echo setup output */
};

/* Outcome of a run (counts per test, final attempts). */
struct sched_result {
	struct run_summary sum;
	bool interrupted; /* SIGINT/SIGTERM/SIGHUP, or sched_interrupt() */
	int signal;	  /* which */
};

struct sched;

/* Creates the loop (blocks SIGINT/SIGTERM, and SIGHUP unless it is
 * ignored, for this thread and routes them to a signalfd; sched_destroy
 * restores the mask). The suite, backend,
 * reporters and options are borrowed and must outlive the sched. */
int sched_create(const struct suite *s, struct backend *be, struct reporter_set *rep,
		 const struct sched_opts *o, struct sched **out);

/* Runs the suite's setup in a template instance whose writable layer is
 * layer_dir, then freezes it. 0 when every step passed; -ECANCELED when a
 * step failed (one line printed; see sched_report_setup_failed); -EINTR when a
 * signal stopped it; -EIO for an infrastructure failure (printed). */
int sched_setup(struct sched *sc, const char *layer_dir);
/* Before step 1, setup makes the suite's workdir (mkdir -p) when it is
 * not "/"; each step runs in its own cwd (default: the workdir). A failed
 * step's line is printed here; its output is in its record. After the
 * steps, each tests_from lister of the suite runs the same way (its
 * stdout kept whole up to SUITE_LISTED_MAX_OUTPUT, then parsed by
 * suite_lister_parse); a lister that fails or prints what is refused
 * fails setup like a step. */

/* After sched_setup() returned 0: what the suite's tests_from listers
 * named, an array of s->n_gens that the caller now owns (NULL when the
 * suite has none). */
struct suite_listed *sched_take_listed(struct sched *sc);

/* Runs the tests plan[0..n) (indexes into s->tests) in instances from
 * layer_dir (NULL: no setup layer). Fills *res (abort_reason points into
 * sc: use it before sched_destroy). 0, or -errno for a failure
 * of the loop itself (then the backend could not run tests: res->sum has
 * infra_error set and the reason printed). */
int sched_run(struct sched *sc, const size_t *plan, size_t n, const char *layer_dir,
	      struct sched_result *res);

/* After sched_setup() returned -ECANCELED: reports ONE record, the
 * failed step's (test_name "setup", record.setup set, its output, the
 * step's line), not one per test, and fills *res with the plan's n tests
 * as not run (run_summary.setup_failed). abort_reason points into sc. */
void sched_report_setup_failed(struct sched *sc, const size_t *plan, size_t n,
			       struct sched_result *res);

/* How long the last sched_setup() took (0: it did not run). */
uint64_t sched_setup_ns(const struct sched *sc);

/* The signal (SIGINT, SIGTERM, SIGHUP, or what sched_interrupt() got)
 * that stopped the loop, or 0. */
int sched_signal(const struct sched *sc);

/* Stops the run as the signal sig would (cancels every test, tears every
 * instance down, the run exits 128 + sig), for an ending that is not a
 * delivered signal: the console's reader went away (SIGPIPE, SIGHUP).
 * why is copied. sc may be NULL: a no-op. */
void sched_interrupt(struct sched *sc, int sig, const char *why);

void sched_destroy(struct sched *sc);

/* Builds the environment of test t, or of a setup step or lister of suite
 * s when t is NULL: a base PATH/HOME/LANG, the test's entries (which hold
 * the suite's) or the suite's (later entries win over earlier ones with the
 * same name), then SMOLTEST_* variables. NULL-terminated, malloc'd, freed
 * with sched_env_free(). Exposed for tests. */
int sched_build_env(const struct suite *s, const struct suite_test *t, unsigned attempt,
		    const char *run_id, const char *backend, char ***out);
void sched_env_free(char **env);

#endif
