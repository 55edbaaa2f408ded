/* sched_job: a test attempt's job — its instance, agent connection,
 * EXECs, artifacts step, watches and timers (sched_int.h). */
#include "sched/sched_int.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* ---- watches and timers ------------------------------------------------ */

void sched_watch_set(struct sched *sc, struct watch *w, int fd, uint32_t events)
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

void sched_watch_clear(struct sched *sc, struct watch *w)
{
	sched_watch_set(sc, w, -1, 0);
	w->fd = -1;
	w->events = 0;
}

void sched_job_update_watch(struct job *j)
{
	if (!j->ac)
		return;
	sched_watch_set(j->sc, &j->w_agent, agent_client_fd(j->ac), agent_client_events(j->ac));
}

void sched_arm_timer(struct sched *sc)
{
	uint64_t d = 0;
	for (unsigned i = 0; i < sc->n_jobs; i++) {
		struct job *j = &sc->jobs[i];
		if (!j->used || j->phase == JOB_REAPING)
			continue;
		d = agent_deadline_min(d, j->hard_deadline);
		if (j->phase == JOB_CONNECTING)
			d = agent_deadline_min(d, j->connect_deadline);
		if (j->ac)
			d = agent_deadline_min(d, agent_client_deadline_ns(j->ac));
		/* while anything runs, wake once a second for live progress */
		d = agent_deadline_min(d, util_now_ns() + NSEC_PER_SEC);
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

int sched_build_env(const struct suite *s, const struct suite_test *t, unsigned attempt,
		    const char *run_id, const char *backend, char ***out)
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
	/* a test's entries hold the suite's already; setup and listers get
	 * the suite's */
	char *const *ent = t ? t->env : s ? s->env : NULL;
	size_t n_ent = t ? t->n_env : s ? s->n_env : 0;
	for (size_t i = 0; !rc && i < n_ent; i++)
		rc = env_set(&env, &n, ent[i]);
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
static void setup_done(struct job *j);
static void lister_done(struct job *j);

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
	/* a lister's stdout is kept whole, up to a bound: its lines are tests */
	if (j->setup && j->workdir_made && j->step >= j->sc->s->n_setup && stream == 1 &&
	    !j->list_over) {
		if (j->listed.len + len > SUITE_LISTED_MAX_OUTPUT ||
		    sb_append(&j->listed, data, len)) {
			j->list_over = true;
			agent_client_kill(j->ac, j->channel, 0);
		}
	}
	if (j->setup && j->sc->o.verbose > 0)
		fwrite(data, 1, len, stderr);
}

/* The environment failed: ERROR. While connecting, the backend's hint
 * (the agent's last log line) usually says why; later it is noise. */
void sched_job_env_error(struct job *j, const char *what)
{
	char hint[400] = "";
	/* A lost connection is most often the instance dying (a VM's socket
	 * closes with its VMM): give the death a moment to show, so that the
	 * message says why. */
	if (j->inst && j->inst->death_fd >= 0 && !j->died) {
		struct pollfd p = {.fd = j->inst->death_fd, .events = POLLIN};
		if (poll(&p, 1, j->phase == JOB_CONNECTING ? 0 : 500) > 0)
			j->died = true;
	}
	if (j->inst && j->sc->be->ops->diagnose && (j->phase == JOB_CONNECTING || j->died))
		j->sc->be->ops->diagnose(j->sc->be, j->inst, hint, sizeof(hint));
	snprintf(j->msg, sizeof(j->msg), "%s%s%s", what, hint[0] ? "; " : "", hint);
	j->env_error = true;
	sched_job_set_phase(j, JOB_FINISHED);
}

static void on_exit_cb(void *opaque, uint32_t channel, const struct agent_exit *ex)
{
	struct job *j = opaque;
	(void)channel;
	if (j->phase == JOB_FINISHED)
		return;
	if (j->phase == JOB_ARTIFACTS) {
		const struct suite_test *at = &j->sc->s->tests[j->test];
		artifacts_finish(sb_str(&j->art_out), at->artifacts, at->n_artifacts, j->art_dir,
				 j->sc->s->artifacts_max, &j->arts, j->msg, sizeof(j->msg));
		sched_job_set_phase(j, JOB_FINISHED);
		return;
	}
	j->end_ns = util_now_ns();
	j->ex = *ex;
	j->have_exit = true;
	/* The client's own deadline (agent_client.h): the agent did not end
	 * the command at its limit, so the agent or its whole guest is stuck.
	 * What the instance shows now is the only clue the report will have. */
	if (ex->how == AGENT_EXIT_TIMED_OUT && ex->sys_errno == ETIMEDOUT) {
		j->silent = true;
		if (j->inst && j->sc->be->ops->diagnose)
			j->silent_own = j->sc->be->ops->diagnose(j->sc->be, j->inst, j->silent_hint,
								 sizeof(j->silent_hint));
	}
	if (ex->how == AGENT_EXIT_LOST) {
		char what[400], label[300];
		snprintf(what, sizeof(what), "the %s of %s was lost while it ran (%s)",
			 j->sc->be->ops->name, sched_job_label(j, label, sizeof(label)),
			 strerror(ex->sys_errno ? ex->sys_errno : EPIPE));
		sched_job_env_error(j, what);
		return;
	}
	if (j->setup) {
		bool ok = ex->how == AGENT_EXIT_EXITED && ex->code == 0;
		if (!j->workdir_made) {
			j->workdir_made = true;
			if (ok) {
				job_exec_step(j);
				return;
			}
			snprintf(j->msg, sizeof(j->msg), "could not create the workdir %.300s",
				 j->sc->s->workdir);
			sched_job_set_phase(j, JOB_FINISHED);
			return;
		}
		j->sc->step_ns[j->step] = j->end_ns - j->start_ns;
		if (ok && j->step >= j->sc->s->n_setup) {
			lister_done(j);
			return;
		}
		if (ok && j->sc->o.verbose > 0) {
			char d[32];
			fprintf(stderr, "smoltest: setup %zu/%zu passed in %s\n", j->step + 1,
				j->sc->s->n_setup,
				util_format_duration(j->sc->step_ns[j->step], d, sizeof(d)));
		}
		if (ok && j->step + 1 < j->sc->s->n_setup + j->sc->s->n_gens) {
			j->step++;
			job_exec_step(j);
			return;
		}
		if (ok) {
			setup_done(j);
			return;
		}
		sched_job_set_phase(j, JOB_FINISHED);
		return;
	}
	const struct suite_test *t = &j->sc->s->tests[j->test];
	if (t->n_artifacts && ex->how != AGENT_EXIT_LOST) {
		sched_job_set_phase(j, JOB_ARTIFACTS);
		char **argv = NULL;
		const char *cwd = t->cwd ? t->cwd : j->sc->s->workdir;
		if (artifacts_argv(t->artifacts, t->n_artifacts, cwd, j->sc->s->artifacts_max,
				   &argv) == 0) {
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
	sched_job_set_phase(j, JOB_FINISHED);
}

static const struct agent_exec_ops exec_ops = {on_output, NULL, on_exit_cb};

/* Sends one EXEC for j (its ops and opaque set here) and marks the job
 * running from now; a failure to send is the environment's (ERROR). */
static int job_send_exec(struct job *j, struct agent_exec_req *req)
{
	uint32_t ch = 0;
	req->ops = &exec_ops;
	req->opaque = j;
	sched_job_set_phase(j, JOB_RUNNING);
	j->start_ns = util_now_ns();
	j->start_wall_ns = util_wall_ns();
	j->hard_deadline =
	    req->timeout_ns ? j->start_ns + req->timeout_ns + SCHED_KILL_GRACE_NS : 0;
	int rc = agent_client_exec(j->ac, req, &ch);
	j->channel = ch;
	if (rc) {
		char what[200];
		snprintf(what, sizeof(what), "could not send the command to the agent: %s",
			 strerror(-rc));
		sched_job_env_error(j, what);
	}
	return rc;
}

/* Before the first setup step: `mkdir -p` the suite's workdir, so that a
 * workdir that setup itself fills (a build directory) need not exist in
 * the image. The path goes in as "$1", never into the shell text. */
static void exec_make_workdir(struct job *j)
{
	const char *argv[] = {
	    "/bin/sh",	       "-c", "exec mkdir -p -- \"$1\"", "smoltest-workdir",
	    j->sc->s->workdir, NULL};
	struct agent_exec_req req = {0};
	req.argv = argv;
	req.inherit_env = true;
	req.cwd = "/";
	req.timeout_ns = SCHED_ARTIFACT_TIMEOUT_NS;
	job_send_exec(j, &req);
}

static void job_exec_step(struct job *j)
{
	struct sched *sc = j->sc;
	const struct suite_cmd *cmd;
	const struct suite_test *t = NULL;
	uint64_t timeout;
	const char *cwd;
	if (j->setup) {
		if (!j->workdir_made && strcmp(sc->s->workdir, "/") != 0) {
			exec_make_workdir(j);
			return;
		}
		j->workdir_made = true;
		cmd = sched_step_cmd(sc, j->step, &cwd);
		timeout = sched_setup_limit(sc);
		/* each step's output on its own: a failure shows the failing step's */
		outbuf_reset(&j->out);
		outbuf_reset(&j->err);
		sb_reset(&j->listed);
		if (j->step < sc->s->n_setup)
			fprintf(stderr, "smoltest: setup %zu/%zu: %s\n", j->step + 1,
				sc->s->n_setup, cmd->argv[0]);
		else
			fprintf(stderr, "smoltest: tests_from %zu/%zu: %s\n",
				j->step - sc->s->n_setup + 1, sc->s->n_gens, cmd->argv[0]);
	} else {
		t = &sc->s->tests[j->test];
		cmd = &t->run;
		cwd = t->cwd ? t->cwd : sc->s->workdir;
		timeout = sched_test_limit(sc, t);
	}
	char **env = NULL;
	int rc = sched_build_env(sc->s, t, j->attempt, sc->o.run_id, sc->be->ops->name, &env);
	if (rc) {
		sched_job_env_error(j, "out of memory building the environment");
		return;
	}
	struct agent_exec_req req = {0};
	if (cmd->shell)
		req.shell = cmd->argv[0];
	else
		req.argv = (const char *const *)cmd->argv;
	req.env = (const char *const *)env;
	req.cwd = cwd;
	req.timeout_ns = timeout;
	rc = job_send_exec(j, &req);
	sched_env_free(env);
	if (rc)
		return;
	if (t && j->step == 0)
		reporter_set_test_started(sc->rep, t->name, j->attempt);
}

/* The template's setup passed: with a memory snapshot to take, QUIESCE
 * the agent first (sync, no connection left half-open in the snapshot). */
static void quiesce_reply(void *opaque, struct agent_client *c, int result,
			  const struct proto_error *e)
{
	struct job *j = opaque;
	(void)c;
	if (j->phase == JOB_FINISHED)
		return;
	if (result) {
		char what[400];
		snprintf(what, sizeof(what), "the agent of the template refused QUIESCE: %s%s%.*s",
			 strerror(result < 0 ? -result : result), e ? ": " : "",
			 e ? (int)(e->message.len > 200 ? 200 : e->message.len) : 0,
			 e ? (const char *)e->message.ptr : "");
		sched_job_env_error(j, what);
		return;
	}
	sched_job_set_phase(j, JOB_FINISHED);
}

/* A lister exited 0: its output becomes names (or fails setup, saying
 * which line), then the next lister runs or setup is done. */
static void lister_done(struct job *j)
{
	struct sched *sc = j->sc;
	size_t k = j->step - sc->s->n_setup, max = SUITE_MAX_TESTS - sc->s->n_tests;
	for (size_t i = 0; i < k; i++)
		max -= sc->listed[i].n;
	char err[600];
	if (suite_lister_parse(&sc->s->gens[k], j->listed.buf ? j->listed.buf : "", j->listed.len,
			       max, &sc->listed[k], err, sizeof(err))) {
		snprintf(j->msg, sizeof(j->msg), "tests_from %zu of %zu (%.100s): %s", k + 1,
			 sc->s->n_gens, sc->s->gens[k].list.argv[0], err);
		j->list_bad = true;
		sched_job_set_phase(j, JOB_FINISHED);
		return;
	}
	sb_release(&j->listed);
	if (sc->o.verbose > 0) {
		char d[32];
		fprintf(stderr, "smoltest: tests_from %zu/%zu listed %zu test%s in %s\n", k + 1,
			sc->s->n_gens, sc->listed[k].n, sc->listed[k].n == 1 ? "" : "s",
			util_format_duration(sc->step_ns[j->step], d, sizeof(d)));
	}
	if (k + 1 < sc->s->n_gens) {
		j->step++;
		job_exec_step(j);
		return;
	}
	setup_done(j);
}

static void setup_done(struct job *j)
{
	j->have_exit = true;
	j->ex.how = AGENT_EXIT_EXITED;
	j->ex.code = 0;
	if (!j->sc->be->caps.memory_snapshot) {
		sched_job_set_phase(j, JOB_FINISHED);
		return;
	}
	sched_job_set_phase(j, JOB_RUNNING);
	int rc = agent_client_quiesce(j->ac, quiesce_reply, j);
	if (rc) {
		char what[200];
		snprintf(what, sizeof(what), "could not send QUIESCE to the template's agent: %s",
			 strerror(-rc));
		sched_job_env_error(j, what);
	}
}

static void after_prep(struct job *j)
{
	if (j->held) {
		sched_job_set_phase(j, JOB_HELD);
		return;
	}
	if (j->setup && j->sc->s->n_setup == 0 && j->sc->s->n_gens == 0)
		setup_done(j);
	else
		job_exec_step(j);
}

static void prep_reply(void *opaque, struct agent_client *c, int result,
		       const struct proto_error *e)
{
	struct job *j = opaque;
	(void)c;
	(void)e;
	if (j->phase != JOB_CONNECTING)
		return;
	const char *what = j->prep_done < j->prep_n ? j->prep_what[j->prep_done] : "a request";
	j->prep_done++;
	if (result) {
		char msg[600], label[300];
		snprintf(msg, sizeof(msg), "the agent of %s failed %s: %s",
			 sched_job_label(j, label, sizeof(label)), what,
			 strerror(result < 0 ? -result : result));
		sched_job_env_error(j, msg);
		return;
	}
	if (j->prep_done == j->prep_n)
		after_prep(j);
}

/* Sends what the instance needs before its first EXEC (backend.h); the
 * last reply moves on. */
static void job_prepare(struct job *j)
{
	struct backend_instance *in = j->inst;
	struct agent_client *c = j->ac;
	int rc = 0;
	j->prep_n = j->prep_done = 0;
	if (in->system_prep) {
		unsigned char ent[64];
		if (getrandom(ent, sizeof(ent), 0) != (ssize_t)sizeof(ent)) {
			uint64_t t = util_now_ns() ^ util_wall_ns();
			for (size_t i = 0; i < sizeof(ent); i++)
				ent[i] = (unsigned char)(t >> (8 * (i % 8))) ^ (unsigned char)i;
		}
		j->prep_what[j->prep_n++] = "SET_TIME";
		rc = agent_client_set_time(c, util_wall_ns(), prep_reply, j);
		j->prep_what[j->prep_n++] = "RESEED";
		rc = rc ? rc : agent_client_reseed(c, ent, sizeof(ent), prep_reply, j);
		if (in->hostname[0]) {
			j->prep_what[j->prep_n++] = "SET_HOSTNAME";
			rc = rc ? rc : agent_client_set_hostname(c, in->hostname, prep_reply, j);
		}
	}
	if (in->restored) {
		j->prep_what[j->prep_n++] = "RESUMED";
		rc = rc ? rc : agent_client_resumed(c, prep_reply, j);
	}
	for (size_t i = 0; i < in->n_mounts && i < BACKEND_MAX_MOUNTS; i++) {
		j->prep_what[j->prep_n++] = "MOUNT";
		rc = rc ? rc
			: agent_client_mount(c, NULL, in->mounts[i].tag, in->mounts[i].guest,
					     in->mounts[i].readonly, NULL, prep_reply, j);
	}
	if (rc) {
		char what[200];
		snprintf(what, sizeof(what), "could not send a request to the agent: %s",
			 strerror(-rc));
		sched_job_env_error(j, what);
		return;
	}
	if (!j->prep_n)
		after_prep(j);
}

static void on_ready(void *opaque, struct agent_client *c)
{
	struct job *j = opaque;
	(void)c;
	if (j->phase != JOB_CONNECTING)
		return;
	job_prepare(j);
}

void sched_on_agent_closed(void *opaque, struct agent_client *c, int err)
{
	struct job *j = opaque;
	(void)c;
	if (j->phase == JOB_FINISHED)
		return;
	/* the client retried until the connect deadline (agent_client.h) */
	char what[400], label[300];
	snprintf(what, sizeof(what),
		 j->phase == JOB_CONNECTING ? "the agent of %s is unreachable (%s)"
					    : "lost the agent of %s (%s)",
		 sched_job_label(j, label, sizeof(label)), strerror(-err));
	sched_job_env_error(j, what);
}

static const struct agent_client_ops client_ops = {on_ready, sched_on_agent_closed, NULL};

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

struct job *sched_job_alloc(struct sched *sc)
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
			j->phase = JOB_CONNECTING; /* where every job starts */
			return j;
		}
	return NULL;
}

static void job_release(struct job *j)
{
	struct sched *sc = j->sc;
	sched_watch_clear(sc, &j->w_agent);
	sched_watch_clear(sc, &j->w_death);
	sched_watch_clear(sc, &j->w_ready);
	agent_client_destroy(j->ac);
	j->ac = NULL;
	outbuf_release(&j->out);
	outbuf_release(&j->err);
	sb_release(&j->art_out);
	sb_release(&j->listed);
	artifacts_result_release(&j->arts);
}

/* Synchronous teardown: everything gone when it returns. */
void sched_job_teardown(struct job *j)
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
bool sched_job_teardown_async(struct job *j)
{
	struct sched *sc = j->sc;
	if (!j->inst || !sc->be->ops->instance_kill || j->inst->death_fd < 0) {
		sched_job_teardown(j);
		return false;
	}
	job_release(j);
	sc->be->ops->instance_kill(sc->be, j->inst);
	sched_job_set_phase(j, JOB_REAPING);
	sched_watch_set(sc, &j->w_death, j->inst->death_fd, EPOLLIN);
	return true;
}

static void job_begin_connect(struct job *j)
{
	if (job_connect(j)) {
		sched_job_env_error(j, "cannot create the agent connection");
		return;
	}
	sched_job_update_watch(j);
}

/* Starts an instance and its agent connection for j. On failure the job is
 * FINISHED with env_error set. */
void sched_job_start(struct job *j, const char *layer_dir, bool template_mode)
{
	struct sched *sc = j->sc;
	char err[BACKEND_ERR_MAX] = "";
	struct backend_instance_opts io = {0};
	const struct suite_test *t = j->setup ? NULL : &sc->s->tests[j->test];
	if (outbuf_init(&j->out, OUTBUF_HEAD_DEFAULT, OUTBUF_TAIL_DEFAULT) ||
	    outbuf_init(&j->err, OUTBUF_HEAD_DEFAULT, OUTBUF_TAIL_DEFAULT)) {
		sched_job_env_error(j, "out of memory");
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
	j->connect_deadline = util_now_ns() + (sc->o.connect_timeout_ns ? sc->o.connect_timeout_ns
									: SCHED_CONNECT_TIMEOUT_NS);
	int rc = sc->be->ops->instance_start(sc->be, &io, &j->inst, err, sizeof(err));
	if (rc) {
		j->inst = NULL;
		snprintf(j->msg, sizeof(j->msg), "%s", err[0] ? err : strerror(-rc));
		j->env_error = true;
		sched_job_set_phase(j, JOB_FINISHED);
		sc->infra_error = true;
		return;
	}
	if (j->inst->connect_timeout_ns && !sc->o.connect_timeout_ns)
		j->connect_deadline = util_now_ns() + j->inst->connect_timeout_ns;
	if (j->inst->death_fd >= 0)
		sched_watch_set(sc, &j->w_death, j->inst->death_fd, EPOLLIN);
	if (j->inst->ready_fd >= 0 && access(j->inst->endpoint.unix_path, F_OK) != 0) {
		sched_watch_set(sc, &j->w_ready, j->inst->ready_fd, EPOLLIN);
		return; /* connect when the endpoint appears (sched_job_ready) */
	}
	job_begin_connect(j);
}

void sched_job_promote(struct job *j)
{
	j->held = false;
	j->sc->held--;
	j->sc->running++;
	if (j->phase == JOB_HELD)
		job_exec_step(j);
}

/* The endpoint appeared (or may have): stop watching and connect. */
void sched_job_ready(struct job *j)
{
	sched_watch_clear(j->sc, &j->w_ready);
	if (!j->ac && j->phase == JOB_CONNECTING)
		job_begin_connect(j);
}
