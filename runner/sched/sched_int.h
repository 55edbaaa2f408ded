/* sched_int: the scheduler's internal state, shared by scheduler.c (the
 * loop), sched_job.c (jobs and their agent connections) and sched_result.c
 * (classification, records, retries). Not part of the runner's interface. */
#ifndef SMOL_SCHED_INT_H
#define SMOL_SCHED_INT_H

#include "agent/agent_client.h"
#include "sched/artifacts.h"
#include "sched/outbuf.h"
#include "sched/scheduler.h"
#include "suite/suite_lister.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define SCHED_CONNECT_TIMEOUT_NS (20 * NSEC_PER_SEC)
/* After the agent should have killed a timed-out test, the runner gives it
 * this long before it tears the instance down itself. */
#define SCHED_KILL_GRACE_NS	  (10 * NSEC_PER_SEC)
#define SCHED_ARTIFACT_TIMEOUT_NS (60 * NSEC_PER_SEC)

enum watch_kind { W_SIGNAL = 1, W_TIMER, W_AGENT, W_DEATH, W_READY };

struct job;

struct watch {
	enum watch_kind kind;
	struct job *job;
	int fd;		 /* registered fd, -1 when none */
	uint32_t events; /* registered events */
};

/* JOB_HELD: a pooled instance, connected and prepared, waiting for a test
 * slot (sched_start_more promotes it). The transitions are in
 * sched_phase.c; only sched_job_set_phase changes a job's phase. */
enum job_phase { JOB_CONNECTING, JOB_HELD, JOB_RUNNING, JOB_ARTIFACTS, JOB_FINISHED, JOB_REAPING };

struct job {
	struct sched *sc;
	bool used;
	bool setup;	/* the template's setup, not a test */
	size_t test;	/* index into suite tests */
	unsigned index; /* position in the plan */
	unsigned attempt, max_attempts;
	bool had_failure; /* an earlier attempt failed (flaky on pass) */
	struct backend_instance *inst;
	struct agent_client *ac;
	struct watch w_agent, w_death, w_ready;
	enum job_phase phase; /* read freely; changed by sched_job_set_phase only */
	uint64_t connect_deadline, hard_deadline;
	size_t step;	      /* setup step being run; from s->n_setup on, a
			       * tests_from lister (step - n_setup) */
	uint32_t channel;     /* the EXEC running */
	struct strbuf listed; /* a lister's stdout (SUITE_LISTED_MAX_OUTPUT at most) */
	bool list_over;	      /* it printed more: killed */
	bool list_bad;	      /* its output was refused (msg says why) */
	bool workdir_made;    /* setup: the suite's workdir exists (made before step 1) */
	struct outbuf out, err;
	uint64_t start_ns, start_wall_ns, end_ns;
	struct agent_exit ex;
	bool have_exit;
	bool cancelled;	       /* fail-fast or signal */
	bool env_error;	       /* the environment failed (result ERROR) */
	bool died;	       /* the instance's death_fd fired while the job ran */
	bool held;	       /* pooled: started ahead, not counted in running yet */
	bool silent;	       /* the agent missed its own deadline: the client's stopped it */
	bool silent_own;       /* ... because the test's own code kept the CPU from it */
	char silent_hint[400]; /* what the instance showed then (a VM's console) */
	char msg[768];
	char art_dir[1024];
	struct strbuf art_out;
	struct artifacts_result arts;
	/* requests before the first EXEC (backend_instance: system_prep,
	 * restored, mounts), answered in order */
	const char *prep_what[8 + BACKEND_MAX_MOUNTS];
	unsigned prep_n, prep_done;
};

struct sched {
	const struct suite *s;
	struct backend *be;
	struct reporter_set *rep;
	struct sched_opts o;
	int epfd, sigfd, timerfd;
	sigset_t old_mask;
	struct watch w_sig, w_timer;
	struct job *jobs; /* 3 * o.parallel slots: tests, the pool, instances being reaped */
	unsigned n_jobs;
	unsigned running; /* jobs running a test (at most o.parallel) */
	unsigned held;	  /* pooled jobs started ahead (at most o.parallel) */
	unsigned reaping; /* instances killed, waiting for their death_fd */
	const char *layer_dir;
	/* queue: plan positions not started yet, then retries */
	const size_t *plan;
	size_t n_plan, next;
	struct {
		size_t plan_pos;
		unsigned attempt;
	} * retry;
	size_t n_retry;
	bool *had_failure; /* per plan position */
	bool stopping;
	char stop_reason[256];
	int signal;
	bool infra_error;
	struct run_summary sum;
	/* setup: each step's duration (steps run so far), the whole phase's,
	 * and, after a failed step, that step's job kept for its record */
	uint64_t *step_ns;
	uint64_t setup_ns;
	struct job *setup_failed;
	/* what each tests_from lister named (s->n_gens), once setup passed */
	struct suite_listed *listed;
};

/* ---- sched_phase.c: the job's state machine ---------------------------- */

/* True when a job may go from `from` to `to` (the table in sched_phase.c). */
bool sched_phase_legal(enum job_phase from, enum job_phase to);
const char *sched_phase_name(enum job_phase p);
/* Moves j to `to`. -EINVAL, phase unchanged, when the transition is not
 * legal (a late event for a job that has moved on). */
int sched_job_set_phase(struct job *j, enum job_phase to);
/* "test 'NAME'" or "the template for 'SUITE'", into buf; returns buf. */
const char *sched_job_label(const struct job *j, char *buf, size_t len);

/* Setup step `step` (from s->n_setup on: a tests_from lister) and where it
 * runs (*cwd; the suite's workdir by default) (scheduler.c). */
const struct suite_cmd *sched_step_cmd(const struct sched *sc, size_t step, const char **cwd);

/* The time limit of test t (--timeout, else the suite's), and of one setup
 * step or lister, both scaled by --timeout-multiplier; 0 for none. */
uint64_t sched_test_limit(const struct sched *sc, const struct suite_test *t);
uint64_t sched_setup_limit(const struct sched *sc);

/* ---- sched_job.c: watches, timers, environments, agent callbacks, jobs -- */

/* Registers/updates fd in the epoll set for w (fd -1: removes). */
void sched_watch_set(struct sched *sc, struct watch *w, int fd, uint32_t events);
void sched_watch_clear(struct sched *sc, struct watch *w);
/* Re-registers the agent client's fd with the events it wants now. */
void sched_job_update_watch(struct job *j);
/* Arms the timerfd for the earliest deadline of any job. */
void sched_arm_timer(struct sched *sc);
/* agent_client on_closed callback (also used when a connect deadline passes
 * before any client existed: c NULL). */
void sched_on_agent_closed(void *opaque, struct agent_client *c, int err);
/* The environment failed: the job is FINISHED with an ERROR message. */
void sched_job_env_error(struct job *j, const char *what);
/* A free job slot (zeroed, watches empty), or NULL. */
struct job *sched_job_alloc(struct sched *sc);
/* A pooled job gets its test slot: EXEC now, or once prepared. */
void sched_job_promote(struct job *j);
/* Starts an instance and its agent connection; failures finish the job. */
void sched_job_start(struct job *j, const char *layer_dir, bool template_mode);
/* The instance's endpoint appeared: connect. */
void sched_job_ready(struct job *j);
/* Synchronous teardown; the slot is free afterwards. */
void sched_job_teardown(struct job *j);
/* Kills the instance and leaves the job REAPING until its death_fd fires.
 * Returns false when it tore down synchronously instead. */
bool sched_job_teardown_async(struct job *j);

/* ---- sched_result.c: classification, records, retries, queueing -------- */

void sched_emit_not_run_as(struct sched *sc, size_t plan_pos, unsigned attempt,
			   enum result_status st, const char *reason);
void sched_emit_not_run(struct sched *sc, size_t plan_pos, unsigned attempt, const char *reason);
/* Stops scheduling and cancels every running job (reason is copied). */
void sched_stop(struct sched *sc, const char *reason);
/* Reports every FINISHED test job and starts its teardown. */
void sched_reap_finished(struct sched *sc);
/* Promotes pooled jobs, starts queued tests (retries first) while slots
 * are free, then refills the pool: with a backend whose instances are slow
 * to start (a VM fork), up to o.parallel next tests get their instance
 * started, connected and prepared ahead, so that the restore is off each
 * test's critical path. */
void sched_start_more(struct sched *sc);

#endif
