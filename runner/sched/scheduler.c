/* scheduler: the event loop that runs a suite (scheduler.h). */
#include "sched/sched_int.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* ---- the loop ------------------------------------------------------------ */

static void handle_signal(struct sched *sc)
{
	struct signalfd_siginfo si;
	while (read(sc->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int sig = (int)si.ssi_signo;
		char why[64];
		snprintf(why, sizeof(why), "interrupted by %s",
			 sig == SIGINT	 ? "SIGINT"
			 : sig == SIGHUP ? "SIGHUP"
					 : "SIGTERM");
		sched_interrupt(sc, sig, why);
	}
}

void sched_interrupt(struct sched *sc, int sig, const char *why)
{
	if (!sc)
		return;
	sc->signal = sig;
	sched_stop(sc, why);
}

static void handle_timers(struct sched *sc)
{
	uint64_t exp;
	if (read(sc->timerfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		return;
	uint64_t now = util_now_ns();
	reporter_set_tick(sc->rep);
	for (unsigned i = 0; i < sc->n_jobs; i++) {
		struct job *j = &sc->jobs[i];
		if (!j->used || j->phase == JOB_FINISHED || j->phase == JOB_REAPING)
			continue;
		if (j->ac)
			agent_client_tick(j->ac, now);
		if (j->phase == JOB_FINISHED)
			continue;
		if (j->phase == JOB_CONNECTING && now >= j->connect_deadline &&
		    (!j->ac || agent_client_state(j->ac) == AGENT_CLIENT_CLOSED))
			sched_on_agent_closed(j, j->ac, -ETIMEDOUT);
		if (j->hard_deadline && now >= j->hard_deadline && j->phase == JOB_RUNNING) {
			/* the agent did not report the timeout: the runner's own stop */
			j->have_exit = true;
			j->ex.how = AGENT_EXIT_TIMED_OUT;
			j->end_ns = now;
			sched_job_set_phase(j, JOB_FINISHED);
		}
		sched_job_update_watch(j);
	}
}

static int loop_once(struct sched *sc)
{
	struct epoll_event evs[32];
	sched_arm_timer(sc);
	int n = epoll_wait(sc->epfd, evs, 32, -1);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct watch *w = evs[i].data.ptr;
		switch (w->kind) {
		case W_SIGNAL:
			handle_signal(sc);
			break;
		case W_TIMER:
			handle_timers(sc);
			break;
		case W_AGENT:
			if (w->job->used && w->job->ac && w->job->phase != JOB_FINISHED) {
				agent_client_handle(w->job->ac, evs[i].events);
				sched_job_update_watch(w->job);
			}
			break;
		case W_READY:
			if (w->job->used)
				sched_job_ready(w->job);
			break;
		case W_DEATH:
			if (w->job->used && w->job->phase == JOB_REAPING) {
				sched_job_teardown(w->job); /* gone: quick now */
				sc->reaping--;
				break;
			}
			if (w->job->used && w->job->phase != JOB_FINISHED) {
				/* let the agent connection deliver what it still has */
				if (w->job->ac)
					agent_client_handle(w->job->ac, EPOLLIN);
				if (w->job->phase != JOB_FINISHED) {
					char what[400], label[300];
					w->job->died = true;
					snprintf(what, sizeof(what), "the %s of %s died",
						 sc->be->ops->name,
						 sched_job_label(w->job, label, sizeof(label)));
					sched_job_env_error(w->job, what);
				}
			}
			sched_watch_clear(sc, w);
			break;
		}
	}
	return 0;
}

int sched_create(const struct suite *s, struct backend *be, struct reporter_set *rep,
		 const struct sched_opts *o, struct sched **out)
{
	struct sched *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return -ENOMEM;
	sc->s = s;
	sc->be = be;
	sc->rep = rep;
	sc->o = *o;
	if (sc->o.parallel < 1)
		sc->o.parallel = 1;
	sc->epfd = sc->sigfd = sc->timerfd = -1;
	sc->n_jobs = 3 * sc->o.parallel;
	sc->jobs = calloc(sc->n_jobs, sizeof(*sc->jobs));
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	/* SIGHUP (the terminal closed) ends a run as SIGTERM does, unless the
	 * run was started to ignore it (nohup) */
	struct sigaction hup;
	if (sigaction(SIGHUP, NULL, &hup) == 0 && hup.sa_handler != SIG_IGN)
		sigaddset(&mask, SIGHUP);
	int rc = -ENOMEM;
	if (!sc->jobs)
		goto fail;
	if (sigprocmask(SIG_BLOCK, &mask, &sc->old_mask)) {
		rc = -errno;
		goto fail;
	}
	sc->epfd = epoll_create1(EPOLL_CLOEXEC);
	sc->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	sc->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (sc->epfd < 0 || sc->sigfd < 0 || sc->timerfd < 0) {
		rc = -errno;
		goto fail_mask;
	}
	sc->w_sig = (struct watch){W_SIGNAL, NULL, -1, 0};
	sc->w_timer = (struct watch){W_TIMER, NULL, -1, 0};
	sched_watch_set(sc, &sc->w_sig, sc->sigfd, EPOLLIN);
	sched_watch_set(sc, &sc->w_timer, sc->timerfd, EPOLLIN);
	*out = sc;
	return 0;
fail_mask:
	sigprocmask(SIG_SETMASK, &sc->old_mask, NULL);
fail:
	if (sc->epfd >= 0)
		close(sc->epfd);
	if (sc->sigfd >= 0)
		close(sc->sigfd);
	if (sc->timerfd >= 0)
		close(sc->timerfd);
	free(sc->jobs);
	free(sc);
	return rc;
}

int sched_signal(const struct sched *sc)
{
	return sc ? sc->signal : 0;
}

void sched_destroy(struct sched *sc)
{
	if (!sc)
		return;
	for (unsigned i = 0; i < sc->n_jobs; i++)
		if (sc->jobs[i].used)
			sched_job_teardown(&sc->jobs[i]);
	close(sc->epfd);
	close(sc->sigfd);
	close(sc->timerfd);
	/* a signal that arrived after the loop ended is acted on as usual */
	sigprocmask(SIG_SETMASK, &sc->old_mask, NULL);
	free(sc->jobs);
	free(sc->retry);
	free(sc->had_failure);
	free(sc->step_ns);
	if (sc->listed)
		suite_listed_release(sc->listed, sc->s->n_gens);
	free(sc->listed);
	free(sc);
}

struct suite_listed *sched_take_listed(struct sched *sc)
{
	struct suite_listed *l = sc->listed;
	sc->listed = NULL;
	return l;
}

static uint64_t scaled(const struct sched *sc, uint64_t ns)
{
	double m = sc->o.timeout_multiplier;
	if (!ns || m <= 0 || m == 1)
		return ns;
	double v = (double)ns * m;
	return v >= (double)(UINT64_MAX / 2) ? UINT64_MAX / 2 : (uint64_t)v;
}

uint64_t sched_test_limit(const struct sched *sc, const struct suite_test *t)
{
	return scaled(sc, sc->o.timeout_ns ? sc->o.timeout_ns : t->timeout_ns);
}

uint64_t sched_setup_limit(const struct sched *sc)
{
	return scaled(sc, sc->s->setup_timeout_ns);
}

const struct suite_cmd *sched_step_cmd(const struct sched *sc, size_t step, const char **cwd)
{
	const struct suite *s = sc->s;
	if (step < s->n_setup) {
		*cwd = s->setup[step].cwd ? s->setup[step].cwd : s->workdir;
		return &s->setup[step].run;
	}
	const struct suite_gen *g = &s->gens[step - s->n_setup];
	*cwd = g->list_cwd ? g->list_cwd : s->workdir;
	return &g->list;
}

/* Why the finished setup job j failed, in one line. */
static void setup_why(const struct sched *sc, const struct job *j, char *why, size_t len)
{
	char d[32];
	const char *cwd;
	sched_step_cmd(sc, j->step, &cwd);
	if (j->ex.how == AGENT_EXIT_SPAWN_FAILED)
		snprintf(why, len, "could not start in %s: %s", cwd,
			 strerror(j->ex.sys_errno ? j->ex.sys_errno : ENOENT));
	else if (j->ex.how == AGENT_EXIT_EXITED)
		snprintf(why, len, "exit status %d", j->ex.code);
	else if (j->ex.how == AGENT_EXIT_TIMED_OUT)
		snprintf(why, len, "timed out after %s: raise setup_timeout",
			 util_format_duration(sched_setup_limit(sc), d, sizeof(d)));
	else
		snprintf(why, len, "killed by signal %d", j->ex.code);
}

int sched_setup(struct sched *sc, const char *layer_dir)
{
	uint64_t t0 = util_now_ns();
	size_t nsteps = sc->s->n_setup + sc->s->n_gens;
	free(sc->step_ns);
	sc->step_ns = calloc(nsteps ? nsteps : 1, sizeof(*sc->step_ns));
	if (sc->listed)
		suite_listed_release(sc->listed, sc->s->n_gens);
	free(sc->listed);
	sc->listed = calloc(sc->s->n_gens ? sc->s->n_gens : 1, sizeof(*sc->listed));
	if (!sc->step_ns || !sc->listed)
		return -ENOMEM;
	struct job *j = sched_job_alloc(sc);
	j->setup = true;
	j->attempt = 1;
	sc->running++;
	sched_job_start(j, layer_dir, true);
	while (j->phase != JOB_FINISHED) {
		int rc = loop_once(sc);
		if (rc) {
			sched_stop(sc, "event loop failed");
			break;
		}
	}
	sc->setup_ns = util_now_ns() - t0;
	int rc = 0;
	if (j->cancelled) {
		fprintf(stderr, "smoltest: setup %s\n", sc->stop_reason);
		rc = -EINTR;
	} else if (j->env_error) {
		fprintf(stderr, "smoltest: setup: %s\n", j->msg);
		rc = -EIO;
	} else if (j->list_bad || !j->have_exit || j->ex.how != AGENT_EXIT_EXITED ||
		   j->ex.code != 0) {
		/* the step's record (sched_report_setup_failed) shows its output */
		char why[300], d[32];
		const char *cwd;
		const struct suite_cmd *cmd = sched_step_cmd(sc, j->step, &cwd);
		size_t k = j->step - sc->s->n_setup; /* a lister's index */
		setup_why(sc, j, why, sizeof(why));
		util_format_duration(j->end_ns > j->start_ns ? j->end_ns - j->start_ns : 0, d,
				     sizeof(d));
		if (j->list_bad) /* the lister's output was refused: msg says why */
			;
		else if (j->list_over)
			snprintf(j->msg, sizeof(j->msg),
				 "tests_from %zu of %zu printed more than %u MiB, and was killed "
				 "after %s: %.400s",
				 k + 1, sc->s->n_gens, SUITE_LISTED_MAX_OUTPUT >> 20, d,
				 cmd->argv[0]);
		else if (j->msg[0]) /* the workdir could not be made */
			snprintf(j->msg + strlen(j->msg), sizeof(j->msg) - strlen(j->msg), " (%s)",
				 why);
		else if (j->step >= sc->s->n_setup)
			snprintf(j->msg, sizeof(j->msg),
				 "tests_from %zu of %zu failed after %s (%s): %.300s", k + 1,
				 sc->s->n_gens, d, why, cmd->argv[0]);
		else
			snprintf(j->msg, sizeof(j->msg),
				 "setup step %zu of %zu failed after %s (%s): %.300s", j->step + 1,
				 sc->s->n_setup, d, why, cmd->argv[0]);
		for (size_t i = 0; i < j->step && i < sc->s->n_setup && sc->o.verbose <= 0; i++)
			fprintf(stderr, "smoltest: setup %zu/%zu passed in %s\n", i + 1,
				sc->s->n_setup, util_format_duration(sc->step_ns[i], d, sizeof(d)));
		fprintf(stderr, "smoltest: %s:%u: %s\n", sc->s->file, cmd->line, j->msg);
		sc->setup_failed = j; /* kept, with its output, until the record */
		sc->running--;
		return -ECANCELED;
	}
	if (rc == 0) {
		char err[BACKEND_ERR_MAX] = "";
		sched_watch_clear(sc, &j->w_agent);
		sched_watch_clear(sc, &j->w_death);
		agent_client_destroy(j->ac);
		j->ac = NULL;
		struct backend_instance *inst = j->inst;
		j->inst = NULL;
		rc = sc->be->ops->freeze(sc->be, inst, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "smoltest: %s\n", err);
			rc = -EIO;
		}
	}
	sched_job_teardown(j);
	sc->running--;
	return rc;
}

int sched_run(struct sched *sc, const size_t *plan, size_t n, const char *layer_dir,
	      struct sched_result *res)
{
	uint64_t t0 = util_now_ns();
	int rc = 0;
	sc->plan = plan;
	sc->n_plan = n;
	sc->layer_dir = layer_dir;
	sc->retry = calloc(n ? n : 1, sizeof(*sc->retry));
	sc->had_failure = calloc(n ? n : 1, sizeof(*sc->had_failure));
	if (!sc->retry || !sc->had_failure)
		return -ENOMEM;
	/* every selected test starts with an empty artifact directory, even
	 * one that collects none now: nothing of an earlier run passes for
	 * this one's (names cannot hold "..", suite_name_problem) */
	for (size_t i = 0; i < n && sc->o.artifacts_dir; i++) {
		char safe[SUITE_MAX_NAME + 1], dir[1024];
		suite_name_to_path(sc->s->tests[plan[i]].name, safe, sizeof(safe));
		if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", sc->o.artifacts_dir, safe) <
		    sizeof(dir))
			util_rm_rf(dir);
	}
	sched_start_more(sc);
	while (sc->running + sc->reaping + sc->held > 0) {
		rc = loop_once(sc);
		if (rc) {
			sched_stop(sc, "event loop failed");
		}
		sched_reap_finished(sc);
		sched_start_more(sc);
	}
	/* what never started: pending retries, then the rest of the plan */
	char why[300];
	snprintf(why, sizeof(why), "not run: %s", sc->stop_reason);
	for (size_t i = 0; i < sc->n_retry; i++)
		sched_emit_not_run(sc, sc->retry[i].plan_pos, sc->retry[i].attempt, why);
	sc->n_retry = 0;
	for (; sc->next < sc->n_plan; sc->next++) {
		const char *skip = sc->s->tests[sc->plan[sc->next]].skip;
		sched_emit_not_run(sc, sc->next, 1, skip ? skip : why);
	}
	memset(res, 0, sizeof(*res));
	res->sum = sc->sum;
	res->sum.wall_ns = util_now_ns() - t0;
	res->sum.aborted = sc->stopping;
	res->sum.abort_reason = sc->stopping ? sc->stop_reason : NULL;
	res->sum.infra_error = sc->infra_error;
	res->interrupted = sc->signal != 0;
	res->signal = sc->signal;
	return rc;
}

void sched_report_setup_failed(struct sched *sc, const size_t *plan, size_t n,
			       struct sched_result *res)
{
	struct job *j = sc->setup_failed;
	memset(res, 0, sizeof(*res));
	if (j) {
		const char *cwd;
		struct result_record r = {0};
		r.suite_name = sc->s->name;
		r.suite_file = sc->o.suite_file;
		r.line = sched_step_cmd(sc, j->step, &cwd)->line;
		r.test_name = "setup";
		r.setup = true;
		r.attempt = r.max_attempts = 1;
		r.final = true;
		r.status = j->ex.how == AGENT_EXIT_TIMED_OUT ? RESULT_TIMEOUT : RESULT_FAIL;
		r.fail_kind = j->ex.how == AGENT_EXIT_TIMED_OUT ? FAIL_TIMEOUT : FAIL_EXIT_CODE;
		r.message = j->msg;
		r.exited = j->ex.how == AGENT_EXIT_EXITED;
		r.exit_code = r.exited ? j->ex.code : 0;
		r.signal = j->ex.how == AGENT_EXIT_SIGNALED || j->ex.how == AGENT_EXIT_KILLED
			       ? j->ex.code
			       : 0;
		r.start_wall_ns = j->start_wall_ns;
		r.duration_ns = j->end_ns > j->start_ns ? j->end_ns - j->start_ns : 0;
		outbuf_view(&j->out, &r.out);
		outbuf_view(&j->err, &r.err);
		r.backend = sc->be->ops->name;
		reporter_set_result(sc->rep, &r);
	}
	(void)plan;
	res->sum.total = (unsigned)n;
	res->sum.not_run = (unsigned)n;
	res->sum.setup_failed = true;
	res->sum.setup_ns = sc->setup_ns;
	res->sum.setup_steps = j ? (unsigned)j->step + 1 : 0;
	res->sum.aborted = true;
	res->sum.abort_reason = j ? j->msg : "the suite's setup failed";
}

uint64_t sched_setup_ns(const struct sched *sc)
{
	return sc ? sc->setup_ns : 0;
}
