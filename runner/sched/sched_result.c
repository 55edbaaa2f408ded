/* sched_result: classifying finished attempts, result records, retries,
 * fail-fast and the queue of tests to start (sched_int.h). */
#include "sched/sched_int.h"
#include "suite/expect.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* ---- results ------------------------------------------------------------ */

static void emit_record(struct sched *sc, struct job *j, enum result_status st,
			enum result_fail_kind fk, bool final)
{
	const struct suite_test *t = &sc->s->tests[j->test];
	struct result_record r = {0};
	r.suite_name = sc->s->name;
	r.suite_file = sc->o.suite_file;
	r.line = t->line;
	r.test_name = t->name;
	r.index = j->index;
	r.attempt = j->attempt;
	r.max_attempts = j->max_attempts;
	r.final = final;
	r.status = st;
	r.fail_kind = fk;
	r.message = j->msg;
	r.expected_exit = t->expect.exit;
	r.start_wall_ns = j->start_wall_ns;
	r.duration_ns = j->end_ns > j->start_ns && j->start_ns ? j->end_ns - j->start_ns : 0;
	if (j->have_exit) {
		r.exited = j->ex.how == AGENT_EXIT_EXITED;
		r.exit_code = r.exited ? j->ex.code : 0;
		r.leaked = j->ex.raw.leaked;
		if (j->ex.how == AGENT_EXIT_SIGNALED || j->ex.how == AGENT_EXIT_KILLED)
			r.signal = j->ex.code;
		else if (j->ex.how == AGENT_EXIT_TIMED_OUT &&
			 (j->ex.raw.flags & PROTO_EXIT_SIGNALED))
			r.signal = j->ex.raw.status;
	}
	if (j->out.head)
		outbuf_view(&j->out, &r.out);
	if (j->err.head)
		outbuf_view(&j->err, &r.err);
	r.artifacts = j->arts.items;
	r.n_artifacts = j->arts.n;
	r.backend = sc->be->ops->name;
	r.tags = (const char *const *)t->tags;
	r.n_tags = t->n_tags;
	reporter_set_result(sc->rep, &r);
	if (!final)
		return;
	sc->sum.total++;
	switch (st) {
	case RESULT_PASS:
		sc->sum.passed++;
		break;
	case RESULT_FAIL:
		sc->sum.failed++;
		break;
	case RESULT_ERROR:
		sc->sum.errors++;
		break;
	case RESULT_TIMEOUT:
		sc->sum.timeouts++;
		break;
	case RESULT_SKIP:
		sc->sum.skipped++;
		break;
	case RESULT_FLAKY:
		sc->sum.flaky++;
		break;
	case RESULT_LEAK:
		sc->sum.leaked++;
		break;
	case RESULT_CANCELLED:
		sc->sum.cancelled++;
		break;
	}
}

/* A test (or its pending retry) that never ran: suite skip, fail-fast,
 * interrupt. */
void sched_emit_not_run_as(struct sched *sc, size_t plan_pos, unsigned attempt,
			   enum result_status st, const char *reason)
{
	const struct suite_test *t = &sc->s->tests[sc->plan[plan_pos]];
	struct result_record rec = {0};
	rec.suite_name = sc->s->name;
	rec.suite_file = sc->o.suite_file;
	rec.line = t->line;
	rec.test_name = t->name;
	rec.index = (unsigned)plan_pos;
	rec.attempt = attempt;
	rec.max_attempts = attempt;
	rec.final = true;
	rec.status = st;
	rec.message = reason;
	rec.skip_reason = st == RESULT_SKIP ? reason : NULL;
	rec.expected_exit = t->expect.exit;
	rec.start_wall_ns = util_wall_ns();
	rec.backend = sc->be->ops->name;
	rec.tags = (const char *const *)t->tags;
	rec.n_tags = t->n_tags;
	reporter_set_result(sc->rep, &rec);
	sc->sum.total++;
	if (st == RESULT_SKIP)
		sc->sum.skipped++;
	else
		sc->sum.errors++;
}

void sched_emit_not_run(struct sched *sc, size_t plan_pos, unsigned attempt, const char *reason)
{
	sched_emit_not_run_as(sc, plan_pos, attempt, RESULT_SKIP, reason);
}

void sched_stop(struct sched *sc, const char *reason)
{
	if (sc->stopping)
		return;
	sc->stopping = true;
	snprintf(sc->stop_reason, sizeof(sc->stop_reason), "%.255s", reason);
	for (unsigned i = 0; i < sc->n_jobs; i++) {
		struct job *j = &sc->jobs[i];
		if (j->used && j->phase != JOB_FINISHED && j->phase != JOB_REAPING) {
			j->cancelled = true;
			j->end_ns = util_now_ns();
			sched_job_set_phase(j, JOB_FINISHED);
		}
	}
}

/* A passing attempt that left n processes running: LEAK, a pass with a
 * warning, or with `leak: fail` a failure. The instance's teardown kills
 * them either way. */
static void leak_verdict(const struct suite_test *t, unsigned n, enum result_status *st,
			 enum result_fail_kind *fk, char *msg, size_t len)
{
	const char *procs = n == 1 ? "process" : "processes";
	if (t->leak_fail) {
		*st = RESULT_FAIL;
		*fk = FAIL_LEAK;
		snprintf(msg, len, "left %u %s running after it exited (leak: fail)", n, procs);
	} else {
		*st = RESULT_LEAK;
		snprintf(msg, len,
			 "passed, but left %u %s running after it exited (killed with its "
			 "instance; leak: fail makes this a failure)",
			 n, procs);
	}
}

/* Classifies a finished test attempt, reports it, and queues a retry. */
static void job_complete_test(struct sched *sc, struct job *j)
{
	const struct suite_test *t = &sc->s->tests[j->test];
	enum result_status st;
	enum result_fail_kind fk = FAIL_NONE;
	if (j->cancelled) {
		/* its output so far stays in the record */
		st = RESULT_CANCELLED;
		snprintf(j->msg, sizeof(j->msg), "cancelled while running: %s", sc->stop_reason);
	} else if (j->env_error || !j->have_exit) {
		st = RESULT_ERROR;
		if (!j->msg[0])
			snprintf(j->msg, sizeof(j->msg), "the environment failed");
	} else if (j->ex.how == AGENT_EXIT_SPAWN_FAILED) {
		st = RESULT_FAIL;
		fk = FAIL_EXIT_CODE;
		snprintf(j->msg, sizeof(j->msg), "could not start %.200s in %.200s: %s",
			 t->run.shell ? "/bin/sh" : t->run.argv[0],
			 t->cwd ? t->cwd : sc->s->workdir,
			 strerror(j->ex.sys_errno ? j->ex.sys_errno : ENOENT));
	} else {
		struct expect_outcome o = {0};
		struct result_output ro, re;
		o.exited = j->ex.how == AGENT_EXIT_EXITED;
		o.exit_code = j->ex.code;
		o.signal = j->ex.how == AGENT_EXIT_SIGNALED || j->ex.how == AGENT_EXIT_KILLED
			       ? j->ex.code
			       : 0;
		o.timed_out = j->ex.how == AGENT_EXIT_TIMED_OUT;
		o.oom = j->ex.raw.flags & PROTO_EXIT_OOM;
		outbuf_view(&j->out, &ro);
		outbuf_view(&j->err, &re);
		char artmsg[256];
		snprintf(artmsg, sizeof(artmsg), "%.255s", j->msg);
		if (expect_check(&t->expect, &o, &ro, &re, &st, &fk, j->msg, sizeof(j->msg))) {
			st = RESULT_ERROR;
			snprintf(j->msg, sizeof(j->msg), "out of memory checking expectations");
		}
		if (st == RESULT_TIMEOUT) {
			char d[32];
			uint64_t lim = sched_test_limit(sc, t);
			util_format_duration(j->end_ns - j->start_ns, d, sizeof(d));
			char l[32];
			util_format_duration(lim, l, sizeof(l));
			/* A silent agent is the environment's failure, unless the
			 * instance showed the test's own code keeping the CPU. */
			if (j->silent && !j->silent_own) {
				st = RESULT_ERROR;
				fk = FAIL_NONE;
				snprintf(j->msg, sizeof(j->msg),
					 "the agent did not answer: it did not end the test at its "
					 "limit (%s), so the runner killed the %s %s after the "
					 "start%s%s",
					 l, sc->be->ops->name, d, j->silent_hint[0] ? "; " : "",
					 j->silent_hint);
			} else if (j->silent)
				snprintf(
				    j->msg, sizeof(j->msg),
				    "timed out after %s (limit %s); the agent did not answer by "
				    "then, so the runner killed the %s%s%s",
				    d, l, sc->be->ops->name, j->silent_hint[0] ? "; " : "",
				    j->silent_hint);
			else
				snprintf(j->msg, sizeof(j->msg),
					 "timed out after %s (limit %s); the whole process tree "
					 "was killed",
					 d, l);
		}
		if (st == RESULT_PASS && j->arts.n_missing)
			snprintf(j->msg, sizeof(j->msg),
				 "passed; %zu artifact pattern%s matched nothing",
				 j->arts.n_missing, j->arts.n_missing == 1 ? "" : "s");
		else if (st == RESULT_PASS && artmsg[0])
			snprintf(j->msg, sizeof(j->msg), "passed; %s", artmsg);
	}
	if (st == RESULT_PASS && j->ex.raw.leaked)
		leak_verdict(t, j->ex.raw.leaked, &st, &fk, j->msg, sizeof(j->msg));
	bool failed = st == RESULT_FAIL || st == RESULT_TIMEOUT || st == RESULT_ERROR;
	if (st == RESULT_PASS && sc->had_failure[j->index]) {
		st = RESULT_FLAKY;
		snprintf(j->msg, sizeof(j->msg), "passed on attempt %u of %u after failing",
			 j->attempt, j->max_attempts);
	}
	bool retry = failed && j->attempt < j->max_attempts && !sc->stopping;
	emit_record(sc, j, st, fk, !retry);
	if (failed)
		sc->had_failure[j->index] = true;
	if (retry) {
		sc->retry[sc->n_retry].plan_pos = j->index;
		sc->retry[sc->n_retry].attempt = j->attempt + 1;
		sc->n_retry++;
	} else if (failed && sc->o.fail_fast) {
		char why[300];
		snprintf(why, sizeof(why), "--fail-fast after '%s' %s", t->name,
			 result_status_name(st));
		sched_stop(sc, why);
	}
}

void sched_reap_finished(struct sched *sc)
{
	/* fail-fast may cancel other jobs while we walk: loop until stable */
	bool again = true;
	while (again) {
		again = false;
		for (unsigned i = 0; i < sc->n_jobs; i++) {
			struct job *j = &sc->jobs[i];
			if (!j->used || j->setup || j->phase != JOB_FINISHED)
				continue;
			if (j->held && j->cancelled) {
				char why[300];
				snprintf(why, sizeof(why), "not run: %s", sc->stop_reason);
				sched_emit_not_run(sc, j->index, j->attempt, why);
			} else {
				job_complete_test(sc, j);
			}
			if (j->held)
				sc->held--;
			else
				sc->running--;
			j->held = false;
			if (sched_job_teardown_async(j))
				sc->reaping++;
			again = true;
		}
	}
}

/* The pooled job that comes first in the plan, or NULL. */
static struct job *first_held(struct sched *sc)
{
	struct job *best = NULL;
	for (unsigned i = 0; i < sc->n_jobs; i++) {
		struct job *j = &sc->jobs[i];
		if (j->used && j->held && j->phase != JOB_FINISHED &&
		    (!best || j->index < best->index))
			best = j;
	}
	return best;
}

/* Allocates and starts the job of plan position pos (a slot is free);
 * when the backend fails to start it the run is stopped. */
static void start_job(struct sched *sc, size_t pos, unsigned attempt, bool held)
{
	const struct suite_test *t = &sc->s->tests[sc->plan[pos]];
	struct job *j = sched_job_alloc(sc);
	j->test = sc->plan[pos];
	j->index = (unsigned)pos;
	j->attempt = attempt;
	unsigned retries = sc->o.retries >= 0 ? (unsigned)sc->o.retries : t->retries;
	j->max_attempts = 1 + retries;
	j->held = held;
	if (held)
		sc->held++;
	else
		sc->running++;
	sched_job_start(j, sc->layer_dir, false);
	if (sc->infra_error) {
		sched_reap_finished(sc);
		sched_stop(sc, "the backend could not start an instance");
		sc->sum.infra_error = true;
	}
}

void sched_start_more(struct sched *sc)
{
	struct job *h;
	while (!sc->stopping && sc->running < sc->o.parallel && (h = first_held(sc)))
		sched_job_promote(h);
	while (!sc->stopping && sc->running < sc->o.parallel) {
		if (sc->running + sc->reaping + sc->held >= sc->n_jobs)
			return; /* every slot busy until a reap completes */
		size_t pos;
		unsigned attempt = 1;
		if (sc->n_retry) {
			pos = sc->retry[0].plan_pos;
			attempt = sc->retry[0].attempt;
			memmove(sc->retry, sc->retry + 1, (sc->n_retry - 1) * sizeof(*sc->retry));
			sc->n_retry--;
		} else if (sc->next < sc->n_plan) {
			pos = sc->next++;
		} else {
			return;
		}
		const struct suite_test *t = &sc->s->tests[sc->plan[pos]];
		if (t->skip) {
			sched_emit_not_run(sc, pos, 1, t->skip);
			continue;
		}
		start_job(sc, pos, attempt, false);
	}
	/* the pool: only where an instance is slow to start */
	while (!sc->stopping && sc->be->caps.memory_snapshot && sc->held < sc->o.parallel &&
	       sc->next < sc->n_plan) {
		if (sc->running + sc->reaping + sc->held >= sc->n_jobs)
			return;
		size_t pos = sc->next++;
		const struct suite_test *t = &sc->s->tests[sc->plan[pos]];
		if (t->skip) {
			sched_emit_not_run(sc, pos, 1, t->skip);
			continue;
		}
		start_job(sc, pos, 1, true);
	}
}
