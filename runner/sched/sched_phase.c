/* sched_phase: the one place a job's phase changes (sched_int.h).
 *
 *   CONNECTING -> HELD        connected and prepared ahead (the pool)
 *   CONNECTING -> RUNNING     connected and prepared: EXEC sent
 *   HELD       -> RUNNING     promoted to a test slot
 *   RUNNING    -> RUNNING     the next setup step, or QUIESCE after the last
 *   RUNNING    -> ARTIFACTS   the test exited and has artifacts to collect
 *   any but REAPING -> FINISHED  exit, error, timeout or cancel
 *   FINISHED   -> REAPING     reported; the instance is being killed
 *
 * Everything else is refused: a late callback (an EXIT, a reply, a death)
 * must never move a finished job back. */
#include "sched/sched_int.h"

#include <errno.h>
#include <stdio.h>

bool sched_phase_legal(enum job_phase from, enum job_phase to)
{
	switch (to) {
	case JOB_CONNECTING:
		return false; /* only sched_job_alloc starts a job there */
	case JOB_HELD:
		return from == JOB_CONNECTING;
	case JOB_RUNNING:
		return from == JOB_CONNECTING || from == JOB_HELD || from == JOB_RUNNING;
	case JOB_ARTIFACTS:
		return from == JOB_RUNNING;
	case JOB_FINISHED:
		return from != JOB_FINISHED && from != JOB_REAPING;
	case JOB_REAPING:
		return from == JOB_FINISHED;
	}
	return false;
}

const char *sched_phase_name(enum job_phase p)
{
	static const char *const names[] = {
	    [JOB_CONNECTING] = "connecting", [JOB_HELD] = "held",	  [JOB_RUNNING] = "running",
	    [JOB_ARTIFACTS] = "artifacts",   [JOB_FINISHED] = "finished", [JOB_REAPING] = "reaping",
	};
	return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "?";
}

int sched_job_set_phase(struct job *j, enum job_phase to)
{
	if (!sched_phase_legal(j->phase, to))
		return -EINVAL;
	j->phase = to;
	return 0;
}

const char *sched_job_label(const struct job *j, char *buf, size_t len)
{
	if (j->setup)
		snprintf(buf, len, "the template for '%s'", j->sc->s->name);
	else
		snprintf(buf, len, "test '%s'", j->sc->s->tests[j->test].name);
	return buf;
}
