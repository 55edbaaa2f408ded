/* scheduler: the event loop that runs a suite (scheduler.h). */
#include "scheduler.h"
#include "agent_client.h"
#include "artifacts.h"
#include "expect.h"
#include "outbuf.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define SCHED_CONNECT_TIMEOUT_NS (20 * NSEC_PER_SEC)
/* After the agent should have killed a timed-out test, the runner gives it
 * this long before it tears the instance down itself. */
#define SCHED_KILL_GRACE_NS	  (10 * NSEC_PER_SEC)
#define SCHED_ARTIFACT_TIMEOUT_NS (60 * NSEC_PER_SEC)
#define SCHED_MAX_BACKOFF_MS	  50

enum watch_kind { W_SIGNAL = 1, W_TIMER, W_AGENT, W_DEATH, W_READY };

struct job;

struct watch {
	enum watch_kind kind;
	struct job *job;
	int fd;		 /* registered fd, -1 when none */
	uint32_t events; /* registered events */
};

enum job_phase { JOB_CONNECTING, JOB_RUNNING, JOB_ARTIFACTS, JOB_FINISHED, JOB_REAPING };

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
	enum job_phase phase;
	uint64_t connect_deadline, reconnect_at, hard_deadline;
	unsigned backoff_ms;
	size_t step; /* setup step being run */
	struct outbuf out, err;
	uint64_t start_ns, start_wall_ns, end_ns;
	struct agent_exit ex;
	bool have_exit;
	bool cancelled; /* fail-fast or signal */
	bool env_error; /* the environment failed (result ERROR) */
	char msg[768];
	char art_dir[1024];
	struct strbuf art_out;
	struct artifacts_result arts;
};

struct sched {
	const struct suite *s;
	struct backend *be;
	struct reporter_set *rep;
	struct sched_opts o;
	int epfd, sigfd, timerfd;
	sigset_t old_mask;
	struct watch w_sig, w_timer;
	struct job *jobs; /* 2 * o.parallel slots: tests, and instances being reaped */
	unsigned n_jobs;
	unsigned running; /* jobs running a test (at most o.parallel) */
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
};

/* ---- watches and timers ------------------------------------------------ */

static void watch_set(struct sched *sc, struct watch *w, int fd, uint32_t events)
{
	if (w->fd >= 0 && w->fd != fd) {
		epoll_ctl(sc->epfd, EPOLL_CTL_DEL, w->fd, NULL); /* may be closed already */
		w->fd = -1;
	}
	if (fd < 0)
		return;
	struct epoll_event ev = {.events = events, .data.ptr = w};
	if (w->fd == fd) {
		if (w->events == events)
			return;
		if (epoll_ctl(sc->epfd, EPOLL_CTL_MOD, fd, &ev) == 0) {
			w->events = events;
			return;
		}
	}
	/* new fd, or the same number reopened (the old registration vanished
	 * with the close) */
	epoll_ctl(sc->epfd, EPOLL_CTL_DEL, fd, NULL);
	if (epoll_ctl(sc->epfd, EPOLL_CTL_ADD, fd, &ev) == 0) {
		w->fd = fd;
		w->events = events;
	}
}

static void watch_clear(struct sched *sc, struct watch *w)
{
	watch_set(sc, w, -1, 0);
	w->fd = -1;
	w->events = 0;
}

static void job_update_agent_watch(struct job *j)
{
	if (!j->ac)
		return;
	watch_set(j->sc, &j->w_agent, agent_client_fd(j->ac), agent_client_events(j->ac));
}

static uint64_t min_deadline(uint64_t a, uint64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

static void arm_timer(struct sched *sc)
{
	uint64_t d = 0;
	for (unsigned i = 0; i < sc->n_jobs; i++) {
		struct job *j = &sc->jobs[i];
		if (!j->used || j->phase == JOB_REAPING)
			continue;
		d = min_deadline(d, j->reconnect_at);
		d = min_deadline(d, j->hard_deadline);
		if (j->phase == JOB_CONNECTING)
			d = min_deadline(d, j->connect_deadline);
		if (j->ac)
			d = min_deadline(d, agent_client_deadline_ns(j->ac));
	}
	struct itimerspec its = {0};
	if (d) {
		uint64_t now = util_now_ns();
		uint64_t delta = d > now ? d - now : 1;
		its.it_value.tv_sec = (time_t)(delta / NSEC_PER_SEC);
		its.it_value.tv_nsec = (long)(delta % NSEC_PER_SEC);
	}
	timerfd_settime(sc->timerfd, 0, &its, NULL);
}

/* ---- environment ------------------------------------------------------- */

void sched_env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

static int env_set(char ***env, size_t *n, const char *kv)
{
	size_t klen = strcspn(kv, "=");
	for (size_t i = 0; i < *n; i++)
		if (!strncmp((*env)[i], kv, klen) && (*env)[i][klen] == '=') {
			char *d = strdup(kv);
			if (!d)
				return -ENOMEM;
			free((*env)[i]);
			(*env)[i] = d;
			return 0;
		}
	char **v = realloc(*env, (*n + 2) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	*env = v;
	if (!(v[*n] = strdup(kv)))
		return -ENOMEM;
	v[++*n] = NULL;
	return 0;
}

int sched_build_env(const struct suite_test *t, unsigned attempt, const char *run_id,
		    const char *backend, char ***out)
{
	static const char *const base[] = {
	    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	    "HOME=/root",
	    "LANG=C.UTF-8",
	    "TERM=dumb",
	};
	char **env = calloc(1, sizeof(*env));
	size_t n = 0;
	int rc = env ? 0 : -ENOMEM;
	for (size_t i = 0; !rc && i < sizeof(base) / sizeof(base[0]); i++)
		rc = env_set(&env, &n, base[i]);
	for (size_t i = 0; !rc && t && i < t->n_env; i++)
		rc = env_set(&env, &n, t->env[i]);
	struct strbuf sb = {0};
	if (!rc && t) {
		rc = sb_printf(&sb, "SMOLTEST_TEST=%s", t->name);
		rc = rc ? rc : env_set(&env, &n, sb_str(&sb));
		sb_reset(&sb);
		rc = rc ? rc : sb_printf(&sb, "SMOLTEST_ATTEMPT=%u", attempt);
		rc = rc ? rc : env_set(&env, &n, sb_str(&sb));
		rc = rc ? rc : env_set(&env, &n, "SMOLTEST_ARTIFACTS=" BACKEND_GUEST_ARTIFACTS);
	}
	sb_reset(&sb);
	rc = rc ? rc : sb_printf(&sb, "SMOLTEST_RUN_ID=%s", run_id ? run_id : "");
	rc = rc ? rc : env_set(&env, &n, sb_str(&sb));
	sb_reset(&sb);
	rc = rc ? rc : sb_printf(&sb, "SMOLTEST_BACKEND=%s", backend);
	rc = rc ? rc : env_set(&env, &n, sb_str(&sb));
	rc = rc ? rc : env_set(&env, &n, "SMOLTEST=1");
	sb_release(&sb);
	if (rc) {
		sched_env_free(env);
		return rc;
	}
	*out = env;
	return 0;
}

/* ---- agent callbacks ---------------------------------------------------- */

static void job_exec_step(struct job *j);

static void on_output(void *opaque, uint32_t channel, int stream, const uint8_t *data, size_t len)
{
	struct job *j = opaque;
	(void)channel;
	if (j->phase == JOB_ARTIFACTS) {
		if (j->art_out.len + len <= ARTIFACTS_MAX_OUTPUT)
			sb_append(&j->art_out, data, len);
		return;
	}
	outbuf_append(stream == 2 ? &j->err : &j->out, data, len);
	if (j->setup && j->sc->o.verbose > 0)
		fwrite(data, 1, len, stderr);
}

/* The environment failed: ERROR. While connecting, the backend's hint
 * (the agent's last log line) usually says why; later it is noise. */
static void job_finish_env_error(struct job *j, const char *what)
{
	char hint[400] = "";
	if (j->inst && j->sc->be->ops->diagnose && j->phase == JOB_CONNECTING)
		j->sc->be->ops->diagnose(j->sc->be, j->inst, hint, sizeof(hint));
	snprintf(j->msg, sizeof(j->msg), "%s%s%s", what, hint[0] ? "; " : "", hint);
	j->env_error = true;
	j->phase = JOB_FINISHED;
}

static void on_exit_cb(void *opaque, uint32_t channel, const struct agent_exit *ex)
{
	struct job *j = opaque;
	(void)channel;
	if (j->phase == JOB_FINISHED)
		return;
	if (j->phase == JOB_ARTIFACTS) {
		if (artifacts_parse(sb_str(&j->art_out), j->sc->s->tests[j->test].artifacts,
				    j->sc->s->tests[j->test].n_artifacts, j->art_dir, &j->arts))
			snprintf(j->msg, sizeof(j->msg), "could not collect artifacts");
		j->phase = JOB_FINISHED;
		return;
	}
	j->end_ns = util_now_ns();
	j->ex = *ex;
	j->have_exit = true;
	if (ex->how == AGENT_EXIT_LOST) {
		char what[300];
		snprintf(what, sizeof(what), "the %s of %s '%s' was lost while it ran (%s)",
			 j->sc->be->ops->name, j->setup ? "setup step" : "test",
			 j->setup ? "template" : j->sc->s->tests[j->test].name,
			 strerror(ex->sys_errno ? ex->sys_errno : EPIPE));
		job_finish_env_error(j, what);
		return;
	}
	if (j->setup) {
		bool ok = ex->how == AGENT_EXIT_EXITED && ex->code == 0;
		if (ok && j->step + 1 < j->sc->s->n_setup) {
			j->step++;
			job_exec_step(j);
			return;
		}
		j->phase = JOB_FINISHED;
		return;
	}
	const struct suite_test *t = &j->sc->s->tests[j->test];
	if (t->n_artifacts && ex->how != AGENT_EXIT_LOST) {
		j->phase = JOB_ARTIFACTS;
		char **argv = NULL;
		const char *cwd = t->cwd ? t->cwd : j->sc->s->workdir;
		if (artifacts_argv(t->artifacts, t->n_artifacts, cwd, &argv) == 0) {
			struct agent_exec_req req = {0};
			static const struct agent_exec_ops ops = {on_output, NULL, on_exit_cb};
			req.argv = (const char *const *)argv;
			req.inherit_env = true;
			req.timeout_ns = SCHED_ARTIFACT_TIMEOUT_NS;
			req.ops = &ops;
			req.opaque = j;
			uint32_t ch;
			int rc = agent_client_exec(j->ac, &req, &ch);
			artifacts_argv_free(argv);
			if (rc == 0)
				return;
		}
		snprintf(j->msg, sizeof(j->msg), "could not collect artifacts");
	}
	j->phase = JOB_FINISHED;
}

static const struct agent_exec_ops exec_ops = {on_output, NULL, on_exit_cb};

static void job_exec_step(struct job *j)
{
	struct sched *sc = j->sc;
	const struct suite_cmd *cmd;
	const struct suite_test *t = NULL;
	uint64_t timeout;
	if (j->setup) {
		cmd = &sc->s->setup[j->step];
		timeout = 0; /* setup has no timeout of its own: the user interrupts */
		fprintf(stderr, "smoltest: setup %zu/%zu: %s\n", j->step + 1, sc->s->n_setup,
			cmd->argv[0]);
	} else {
		t = &sc->s->tests[j->test];
		cmd = &t->run;
		timeout = sc->o.timeout_ns ? sc->o.timeout_ns : t->timeout_ns;
	}
	char **env = NULL;
	int rc = sched_build_env(t, j->attempt, sc->o.run_id, sc->be->ops->name, &env);
	if (rc) {
		job_finish_env_error(j, "out of memory building the environment");
		return;
	}
	struct agent_exec_req req = {0};
	if (cmd->shell)
		req.shell = cmd->argv[0];
	else
		req.argv = (const char *const *)cmd->argv;
	req.env = (const char *const *)env;
	req.cwd = t && t->cwd ? t->cwd : sc->s->workdir;
	req.timeout_ns = timeout;
	req.ops = &exec_ops;
	req.opaque = j;
	uint32_t ch;
	j->phase = JOB_RUNNING;
	j->start_ns = util_now_ns();
	j->start_wall_ns = util_wall_ns();
	j->hard_deadline = timeout ? j->start_ns + timeout + SCHED_KILL_GRACE_NS : 0;
	rc = agent_client_exec(j->ac, &req, &ch);
	sched_env_free(env);
	if (rc) {
		char what[200];
		snprintf(what, sizeof(what), "could not send the command to the agent: %s",
			 strerror(-rc));
		job_finish_env_error(j, what);
		return;
	}
	if (t && j->step == 0)
		reporter_set_test_started(sc->rep, t->name, j->attempt);
}

static void on_ready(void *opaque, struct agent_client *c)
{
	struct job *j = opaque;
	(void)c;
	if (j->phase != JOB_CONNECTING)
		return;
	j->reconnect_at = 0;
	job_exec_step(j);
}

static void on_closed(void *opaque, struct agent_client *c, int err)
{
	struct job *j = opaque;
	(void)c;
	if (j->phase == JOB_CONNECTING) {
		/* the agent may not listen yet: retry until the connect deadline */
		uint64_t now = util_now_ns();
		if (now < j->connect_deadline && err != -EPROTO) {
			j->backoff_ms = j->backoff_ms ? j->backoff_ms * 2 : 1;
			if (j->backoff_ms > SCHED_MAX_BACKOFF_MS)
				j->backoff_ms = SCHED_MAX_BACKOFF_MS;
			j->reconnect_at = now + j->backoff_ms * NSEC_PER_MSEC;
			return;
		}
		char what[300];
		snprintf(what, sizeof(what), "the agent of %s '%s' is unreachable (%s)",
			 j->setup ? "the template for" : "test",
			 j->setup ? j->sc->s->name : j->sc->s->tests[j->test].name, strerror(-err));
		job_finish_env_error(j, what);
		return;
	}
	if (j->phase != JOB_FINISHED) {
		char what[300];
		snprintf(what, sizeof(what), "lost the agent of %s '%s' (%s)",
			 j->setup ? "the template for" : "test",
			 j->setup ? j->sc->s->name : j->sc->s->tests[j->test].name, strerror(-err));
		job_finish_env_error(j, what);
	}
}

static const struct agent_client_ops client_ops = {on_ready, on_closed, NULL};

/* ---- jobs --------------------------------------------------------------- */

static int job_connect(struct job *j)
{
	struct agent_client_config cfg = {0};
	struct backend_endpoint *ep = &j->inst->endpoint;
	cfg.addr.kind = ep->vsock_port ? AGENT_ADDR_HYBRID_VSOCK : AGENT_ADDR_UNIX;
	snprintf(cfg.addr.path, sizeof(cfg.addr.path), "%s", ep->unix_path);
	cfg.addr.port = ep->vsock_port;
	uint64_t left = j->connect_deadline - util_now_ns();
	cfg.connect_timeout_ns = left > NSEC_PER_MSEC ? left : NSEC_PER_MSEC;
	cfg.ops = &client_ops;
	cfg.opaque = j;
	return agent_client_create(&cfg, &j->ac);
}

static struct job *job_alloc(struct sched *sc)
{
	for (unsigned i = 0; i < sc->n_jobs; i++)
		if (!sc->jobs[i].used) {
			struct job *j = &sc->jobs[i];
			memset(j, 0, sizeof(*j));
			j->sc = sc;
			j->used = true;
			j->w_agent = (struct watch){W_AGENT, j, -1, 0};
			j->w_death = (struct watch){W_DEATH, j, -1, 0};
			j->w_ready = (struct watch){W_READY, j, -1, 0};
			return j;
		}
	return NULL;
}

static void job_release(struct job *j)
{
	struct sched *sc = j->sc;
	watch_clear(sc, &j->w_agent);
	watch_clear(sc, &j->w_death);
	watch_clear(sc, &j->w_ready);
	agent_client_destroy(j->ac);
	j->ac = NULL;
	outbuf_release(&j->out);
	outbuf_release(&j->err);
	sb_release(&j->art_out);
	artifacts_result_release(&j->arts);
}

/* Synchronous teardown: everything gone when it returns. */
static void job_teardown(struct job *j)
{
	struct sched *sc = j->sc;
	job_release(j);
	if (j->inst)
		sc->be->ops->instance_stop(sc->be, j->inst);
	j->inst = NULL;
	j->used = false;
}

/* Asynchronous teardown: the instance is killed and reaped when its
 * death_fd says it is gone, so that the loop never waits on a teardown.
 * Returns true when the job now waits in JOB_REAPING. */
static bool job_teardown_async(struct job *j)
{
	struct sched *sc = j->sc;
	if (!j->inst || !sc->be->ops->instance_kill || j->inst->death_fd < 0) {
		job_teardown(j);
		return false;
	}
	job_release(j);
	sc->be->ops->instance_kill(sc->be, j->inst);
	j->phase = JOB_REAPING;
	watch_set(sc, &j->w_death, j->inst->death_fd, EPOLLIN);
	return true;
}

static void job_begin_connect(struct job *j)
{
	if (job_connect(j)) {
		job_finish_env_error(j, "cannot create the agent connection");
		return;
	}
	job_update_agent_watch(j);
}

/* Starts an instance and its agent connection for j. On failure the job is
 * FINISHED with env_error set. */
static void job_start(struct job *j, const char *layer_dir, bool template_mode)
{
	struct sched *sc = j->sc;
	char err[BACKEND_ERR_MAX] = "";
	struct backend_instance_opts io = {0};
	const struct suite_test *t = j->setup ? NULL : &sc->s->tests[j->test];
	if (outbuf_init(&j->out, OUTBUF_HEAD_DEFAULT, OUTBUF_TAIL_DEFAULT) ||
	    outbuf_init(&j->err, OUTBUF_HEAD_DEFAULT, OUTBUF_TAIL_DEFAULT)) {
		job_finish_env_error(j, "out of memory");
		return;
	}
	io.name = t ? t->name : "template";
	io.layer_dir = layer_dir;
	io.template_mode = template_mode;
	if (t && t->n_artifacts && sc->o.artifacts_dir) {
		char safe[SUITE_MAX_NAME + 1];
		suite_name_to_path(t->name, safe, sizeof(safe));
		snprintf(j->art_dir, sizeof(j->art_dir), "%s/%s", sc->o.artifacts_dir, safe);
		util_rm_rf(j->art_dir); /* artifacts are those of the latest attempt */
		io.artifact_dir = j->art_dir;
	}
	j->phase = JOB_CONNECTING;
	j->connect_deadline = util_now_ns() + (sc->o.connect_timeout_ns ? sc->o.connect_timeout_ns
									: SCHED_CONNECT_TIMEOUT_NS);
	int rc = sc->be->ops->instance_start(sc->be, &io, &j->inst, err, sizeof(err));
	if (rc) {
		j->inst = NULL;
		snprintf(j->msg, sizeof(j->msg), "%s", err[0] ? err : strerror(-rc));
		j->env_error = true;
		j->phase = JOB_FINISHED;
		sc->infra_error = true;
		return;
	}
	if (j->inst->death_fd >= 0)
		watch_set(sc, &j->w_death, j->inst->death_fd, EPOLLIN);
	if (j->inst->ready_fd >= 0 && access(j->inst->endpoint.unix_path, F_OK) != 0) {
		watch_set(sc, &j->w_ready, j->inst->ready_fd, EPOLLIN);
		return; /* connect when the endpoint appears (job_ready) */
	}
	job_begin_connect(j);
}

/* The endpoint appeared (or may have): stop watching and connect. */
static void job_ready(struct job *j)
{
	watch_clear(j->sc, &j->w_ready);
	if (!j->ac && j->phase == JOB_CONNECTING)
		job_begin_connect(j);
}

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
	}
}

/* A test (or its pending retry) that never ran: suite skip, fail-fast,
 * interrupt. */
static void emit_not_run_as(struct sched *sc, size_t plan_pos, unsigned attempt,
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

static void emit_not_run(struct sched *sc, size_t plan_pos, unsigned attempt, const char *reason)
{
	emit_not_run_as(sc, plan_pos, attempt, RESULT_SKIP, reason);
}

static void sched_stop(struct sched *sc, const char *reason)
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
			j->phase = JOB_FINISHED;
		}
	}
}

/* Classifies a finished test attempt, reports it, and queues a retry. */
static void job_complete_test(struct sched *sc, struct job *j)
{
	const struct suite_test *t = &sc->s->tests[j->test];
	enum result_status st;
	enum result_fail_kind fk = FAIL_NONE;
	if (j->cancelled) {
		st = RESULT_SKIP;
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
			uint64_t lim = sc->o.timeout_ns ? sc->o.timeout_ns : t->timeout_ns;
			util_format_duration(j->end_ns - j->start_ns, d, sizeof(d));
			char l[32];
			util_format_duration(lim, l, sizeof(l));
			snprintf(j->msg, sizeof(j->msg),
				 "timed out after %s (limit %s); the whole process tree was killed",
				 d, l);
		}
		if (st == RESULT_PASS && j->arts.n_missing)
			snprintf(j->msg, sizeof(j->msg),
				 "passed; %zu artifact pattern%s matched nothing",
				 j->arts.n_missing, j->arts.n_missing == 1 ? "" : "s");
		else if (st == RESULT_PASS && artmsg[0])
			snprintf(j->msg, sizeof(j->msg), "passed; %s", artmsg);
	}
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

static void reap_finished(struct sched *sc)
{
	/* fail-fast may cancel other jobs while we walk: loop until stable */
	bool again = true;
	while (again) {
		again = false;
		for (unsigned i = 0; i < sc->n_jobs; i++) {
			struct job *j = &sc->jobs[i];
			if (!j->used || j->setup || j->phase != JOB_FINISHED)
				continue;
			job_complete_test(sc, j);
			if (job_teardown_async(j))
				sc->reaping++;
			sc->running--;
			again = true;
		}
	}
}

static void start_more(struct sched *sc)
{
	while (!sc->stopping && sc->running < sc->o.parallel) {
		if (sc->running + sc->reaping >= sc->n_jobs)
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
			emit_not_run(sc, pos, 1, t->skip);
			continue;
		}
		struct job *j = job_alloc(sc);
		j->test = sc->plan[pos];
		j->index = (unsigned)pos;
		j->attempt = attempt;
		unsigned retries = sc->o.retries >= 0 ? (unsigned)sc->o.retries : t->retries;
		j->max_attempts = 1 + retries;
		sc->running++;
		job_start(j, sc->layer_dir, false);
		if (sc->infra_error) {
			reap_finished(sc);
			sched_stop(sc, "the backend could not start an instance");
			sc->sum.infra_error = true;
		}
	}
}

/* ---- the loop ------------------------------------------------------------ */

static void handle_signal(struct sched *sc)
{
	struct signalfd_siginfo si;
	while (read(sc->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		sc->signal = (int)si.ssi_signo;
		char why[64];
		snprintf(why, sizeof(why), "interrupted by %s",
			 si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
		sched_stop(sc, why);
	}
}

static void handle_timers(struct sched *sc)
{
	uint64_t exp;
	if (read(sc->timerfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		return;
	uint64_t now = util_now_ns();
	for (unsigned i = 0; i < sc->n_jobs; i++) {
		struct job *j = &sc->jobs[i];
		if (!j->used || j->phase == JOB_FINISHED || j->phase == JOB_REAPING)
			continue;
		if (j->ac)
			agent_client_tick(j->ac, now);
		if (j->phase == JOB_FINISHED)
			continue;
		if (j->reconnect_at && now >= j->reconnect_at && j->phase == JOB_CONNECTING &&
		    j->ac) {
			j->reconnect_at = 0;
			agent_client_reconnect(j->ac);
		}
		if (j->phase == JOB_CONNECTING && now >= j->connect_deadline && !j->reconnect_at &&
		    (!j->ac || agent_client_state(j->ac) == AGENT_CLIENT_CLOSED))
			on_closed(j, j->ac, -ETIMEDOUT);
		if (j->hard_deadline && now >= j->hard_deadline && j->phase == JOB_RUNNING) {
			/* the agent did not report the timeout: the runner's own stop */
			j->have_exit = true;
			j->ex.how = AGENT_EXIT_TIMED_OUT;
			j->end_ns = now;
			j->phase = JOB_FINISHED;
		}
		job_update_agent_watch(j);
	}
}

static int loop_once(struct sched *sc)
{
	struct epoll_event evs[32];
	arm_timer(sc);
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
				job_update_agent_watch(w->job);
			}
			break;
		case W_READY:
			if (w->job->used)
				job_ready(w->job);
			break;
		case W_DEATH:
			if (w->job->used && w->job->phase == JOB_REAPING) {
				job_teardown(w->job); /* gone: quick now */
				sc->reaping--;
				break;
			}
			if (w->job->used && w->job->phase != JOB_FINISHED) {
				/* let the agent connection deliver what it still has */
				if (w->job->ac)
					agent_client_handle(w->job->ac, EPOLLIN);
				if (w->job->phase != JOB_FINISHED) {
					char what[300];
					snprintf(what, sizeof(what), "the %s of %s '%s' died",
						 w->job->sc->be->ops->name,
						 w->job->setup ? "the template for" : "test",
						 w->job->setup ? sc->s->name
							       : sc->s->tests[w->job->test].name);
					job_finish_env_error(w->job, what);
				}
			}
			watch_clear(sc, w);
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
	sc->n_jobs = 2 * sc->o.parallel;
	sc->jobs = calloc(sc->n_jobs, sizeof(*sc->jobs));
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
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
	watch_set(sc, &sc->w_sig, sc->sigfd, EPOLLIN);
	watch_set(sc, &sc->w_timer, sc->timerfd, EPOLLIN);
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

void sched_destroy(struct sched *sc)
{
	if (!sc)
		return;
	for (unsigned i = 0; i < sc->n_jobs; i++)
		if (sc->jobs[i].used)
			job_teardown(&sc->jobs[i]);
	close(sc->epfd);
	close(sc->sigfd);
	close(sc->timerfd);
	/* a signal that arrived after the loop ended is acted on as usual */
	sigprocmask(SIG_SETMASK, &sc->old_mask, NULL);
	free(sc->jobs);
	free(sc->retry);
	free(sc->had_failure);
	free(sc);
}

static void print_tail(const char *label, struct outbuf *ob)
{
	struct result_output ro;
	outbuf_view(ob, &ro);
	const char *p = ro.tail ? ro.tail : ro.head;
	size_t n = ro.tail ? ro.tail_len : ro.head_len;
	if (n > 4096) {
		p += n - 4096;
		n = 4096;
	}
	if (n) {
		fprintf(stderr, "---- %s (last %zu bytes) ----\n", label, n);
		fwrite(p, 1, n, stderr);
		if (p[n - 1] != '\n')
			fputc('\n', stderr);
	}
}

int sched_setup(struct sched *sc, const char *layer_dir)
{
	struct job *j = job_alloc(sc);
	j->setup = true;
	j->attempt = 1;
	sc->running++;
	job_start(j, layer_dir, true);
	while (j->phase != JOB_FINISHED) {
		int rc = loop_once(sc);
		if (rc) {
			sched_stop(sc, "event loop failed");
			break;
		}
	}
	int rc = 0;
	if (j->cancelled) {
		fprintf(stderr, "smoltest: setup %s\n", sc->stop_reason);
		rc = -EINTR;
	} else if (j->env_error) {
		fprintf(stderr, "smoltest: setup: %s\n", j->msg);
		rc = -EIO;
	} else if (!j->have_exit || j->ex.how != AGENT_EXIT_EXITED || j->ex.code != 0) {
		const struct suite_cmd *c = &sc->s->setup[j->step];
		print_tail("stdout", &j->out);
		print_tail("stderr", &j->err);
		char why[300];
		if (j->ex.how == AGENT_EXIT_SPAWN_FAILED)
			snprintf(why, sizeof(why), "could not start in %s: %s", sc->s->workdir,
				 strerror(j->ex.sys_errno ? j->ex.sys_errno : ENOENT));
		else if (j->ex.how == AGENT_EXIT_EXITED)
			snprintf(why, sizeof(why), "exit status %d", j->ex.code);
		else
			snprintf(why, sizeof(why), "killed by signal %d", j->ex.code);
		fprintf(stderr, "smoltest: %s:%u: setup step %zu failed (%s): %s\n", sc->s->file,
			c->line, j->step + 1, why, c->argv[0]);
		rc = -ECANCELED;
	}
	if (rc == 0) {
		char err[BACKEND_ERR_MAX] = "";
		watch_clear(sc, &j->w_agent);
		watch_clear(sc, &j->w_death);
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
	job_teardown(j);
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
	start_more(sc);
	while (sc->running + sc->reaping > 0) {
		rc = loop_once(sc);
		if (rc) {
			sched_stop(sc, "event loop failed");
		}
		reap_finished(sc);
		start_more(sc);
	}
	/* what never started: pending retries, then the rest of the plan */
	char why[300];
	snprintf(why, sizeof(why), "not run: %s", sc->stop_reason);
	for (size_t i = 0; i < sc->n_retry; i++)
		emit_not_run(sc, sc->retry[i].plan_pos, sc->retry[i].attempt, why);
	sc->n_retry = 0;
	for (; sc->next < sc->n_plan; sc->next++) {
		const char *skip = sc->s->tests[sc->plan[sc->next]].skip;
		emit_not_run(sc, sc->next, 1, skip ? skip : why);
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

void sched_report_not_run(struct sched *sc, const size_t *plan, size_t n, const char *reason,
			  struct sched_result *res)
{
	sc->plan = plan;
	sc->n_plan = n;
	for (size_t i = 0; i < n; i++) {
		const char *skip = sc->s->tests[plan[i]].skip;
		emit_not_run_as(sc, i, 1, skip ? RESULT_SKIP : RESULT_ERROR, skip ? skip : reason);
	}
	memset(res, 0, sizeof(*res));
	res->sum = sc->sum;
	res->sum.aborted = true;
	res->sum.abort_reason = reason;
}
