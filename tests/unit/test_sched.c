/* scheduler: the event loop driven through a fake backend whose instances
 * are the real smoltest-agent run as a plain process (no namespaces, so it
 * works as any user), and a recording reporter. Checks statuses, attempts,
 * FLAKY, timeouts, fail-fast, the parallelism bound, skips and setup. */
#include "backend/backend.h"
#include "sched/scheduler.h"
#include "suite/suite.h"
#include "util.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- a fake backend: one plain agent process per instance -------------- */

struct fake_inst {
	pid_t pid;
	char dir[64];
};

struct fake {
	char agent[1024];
	unsigned seq;
	unsigned live, max_live; /* instances alive at once */
};

static int fake_start(struct backend *b, const struct backend_instance_opts *o,
		      struct backend_instance **out, char *err, size_t errlen)
{
	struct fake *f = b->priv;
	struct backend_instance *bi = calloc(1, sizeof(*bi));
	struct fake_inst *fi = calloc(1, sizeof(*fi));
	ck_assert(bi && fi);
	ck_assert_uint_lt(
	    (size_t)snprintf(fi->dir, sizeof(fi->dir), "%s/f%u", b->run_dir, ++f->seq),
	    sizeof(fi->dir));
	ck_assert_int_eq(mkdir(fi->dir, 0700), 0);
	ck_assert_uint_lt((size_t)snprintf(bi->endpoint.unix_path, sizeof(bi->endpoint.unix_path),
					   "%s/a.sock", fi->dir),
			  sizeof(bi->endpoint.unix_path));
	char listen[300];
	snprintf(listen, sizeof(listen), "unix:%s", bi->endpoint.unix_path);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execl(f->agent, "smoltest-agent", "--listen", listen, "--no-cgroup", (char *)NULL);
		_exit(127);
	}
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -errno;
	}
	(void)o;
	fi->pid = pid;
	bi->backend = b;
	bi->death_fd = pidfd_open(pid, 0);
	bi->ready_fd = -1;
	bi->priv = fi;
	if (++f->live > f->max_live)
		f->max_live = f->live;
	*out = bi;
	return 0;
}

static void fake_kill(struct backend *b, struct backend_instance *bi)
{
	(void)b;
	kill(((struct fake_inst *)bi->priv)->pid, SIGKILL);
}

static void fake_stop(struct backend *b, struct backend_instance *bi)
{
	struct fake *f = b->priv;
	struct fake_inst *fi = bi->priv;
	kill(fi->pid, SIGKILL);
	waitpid(fi->pid, NULL, 0);
	util_rm_rf(fi->dir);
	close(bi->death_fd);
	f->live--;
	free(fi);
	free(bi);
}

static int fake_freeze(struct backend *b, struct backend_instance *i, char *err, size_t len)
{
	(void)err;
	(void)len;
	fake_stop(b, i);
	return 0;
}

static int fake_key(struct backend *b, struct strbuf *sb)
{
	(void)b;
	return sb_append_str(sb, "fake\n");
}

static void fake_destroy(struct backend *b)
{
	free(b->priv);
	free(b->run_dir);
	free(b);
}

/* What the fake's diagnose says about a silent agent: the test's own fault
 * (a VM whose vCPU ran the test's code) or not. */
static bool fake_blames_test;

static bool fake_diagnose(struct backend *b, struct backend_instance *bi, char *buf, size_t len)
{
	(void)b;
	(void)bi;
	snprintf(buf, len, "the fake's hint");
	return fake_blames_test;
}

static const struct backend_ops fake_ops = {
    .name = "fake",
    .instance_start = fake_start,
    .instance_kill = fake_kill,
    .instance_stop = fake_stop,
    .freeze = fake_freeze,
    .key_material = fake_key,
    .diagnose = fake_diagnose,
    .destroy = fake_destroy,
};

/* ---- a recording reporter --------------------------------------------- */

#define MAX_RECS 64

struct rec {
	char name[64];
	unsigned attempt, max_attempts;
	bool final;
	enum result_status status;
	char msg[256];
	char out[128];
	int exit_code;
	enum result_fail_kind fail_kind;
	unsigned leaked;
	uint64_t duration_ns;
};

struct recorder {
	struct rec recs[MAX_RECS];
	size_t n;
	unsigned started;
	bool began, ended;
	struct run_summary sum;
};

static int rec_begin(struct reporter *r, const struct run_info *info)
{
	((struct recorder *)r->priv)->began = true;
	(void)info;
	return 0;
}

static int rec_started(struct reporter *r, const char *name, unsigned attempt)
{
	(void)name;
	(void)attempt;
	((struct recorder *)r->priv)->started++;
	return 0;
}

static int rec_result(struct reporter *r, const struct result_record *res)
{
	struct recorder *rc = r->priv;
	ck_assert_uint_lt(rc->n, MAX_RECS);
	struct rec *e = &rc->recs[rc->n++];
	snprintf(e->name, sizeof(e->name), "%s", res->test_name);
	e->attempt = res->attempt;
	e->max_attempts = res->max_attempts;
	e->final = res->final;
	e->status = res->status;
	e->exit_code = res->exit_code;
	e->fail_kind = res->fail_kind;
	e->leaked = res->leaked;
	e->duration_ns = res->duration_ns;
	snprintf(e->msg, sizeof(e->msg), "%s", res->message);
	ck_assert_ptr_nonnull(res->message);
	snprintf(e->out, sizeof(e->out), "%.*s", (int)res->out.head_len,
		 res->out.head ? res->out.head : "");
	return 0;
}

static int rec_end(struct reporter *r, const struct run_summary *s)
{
	struct recorder *rc = r->priv;
	rc->ended = true;
	rc->sum = *s;
	return 0;
}

static void rec_destroy(struct reporter *r)
{
	free(r);
}

static const struct reporter_ops rec_ops = {
    .name = "recorder",
    .begin = rec_begin,
    .test_started = rec_started,
    .result = rec_result,
    .end = rec_end,
    .destroy = rec_destroy,
};

/* ---- harness ------------------------------------------------------------ */

struct harness {
	char dir[64];
	struct suite *s;
	struct backend *be;
	struct reporter_set set;
	struct recorder rec;
	struct sched *sc;
	struct sched_result res;
};

static void harness_init(struct harness *h, const char *yaml, const struct sched_opts *o)
{
	memset(h, 0, sizeof(*h));
	const char *build = getenv("SMOL_BUILD_DIR");
	ck_assert_ptr_nonnull(build);
	snprintf(h->dir, sizeof(h->dir), "/tmp/smoltest-sched.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(h->dir));
	struct suite_diag d = {0};
	ck_assert_msg(suite_parse("t.yaml", h->dir, yaml, strlen(yaml), &d, &h->s) == 0, "%s",
		      sb_str(&d.text));
	suite_diag_release(&d);
	struct fake *f = calloc(1, sizeof(*f));
	snprintf(f->agent, sizeof(f->agent), "%s/fixtures/agent/smoltest-agent", build);
	h->be = calloc(1, sizeof(*h->be));
	h->be->ops = &fake_ops;
	h->be->suite = h->s;
	h->be->run_dir = strdup(h->dir);
	h->be->priv = f;
	struct reporter *r = calloc(1, sizeof(*r));
	r->ops = &rec_ops;
	r->priv = &h->rec;
	ck_assert_int_eq(reporter_set_add(&h->set, r), 0);
	struct sched_opts so = *o;
	so.run_id = "0123456789abcdef";
	so.suite_file = "t.yaml";
	ck_assert_int_eq(sched_create(h->s, h->be, &h->set, &so, &h->sc), 0);
}

static void harness_run(struct harness *h)
{
	size_t *plan = calloc(h->s->n_tests, sizeof(*plan));
	for (size_t i = 0; i < h->s->n_tests; i++)
		plan[i] = i;
	struct run_info info = {0};
	reporter_set_begin(&h->set, &info);
	ck_assert_int_eq(sched_run(h->sc, plan, h->s->n_tests, NULL, &h->res), 0);
	reporter_set_end(&h->set, &h->res.sum);
	free(plan);
}

static void harness_fini(struct harness *h)
{
	sched_destroy(h->sc);
	ck_assert_uint_eq(((struct fake *)h->be->priv)->live, 0); /* all torn down */
	reporter_set_destroy(&h->set);
	backend_destroy(h->be);
	suite_destroy(h->s);
	util_rm_rf(h->dir);
}

static const struct rec *final_of(const struct harness *h, const char *name)
{
	for (size_t i = 0; i < h->rec.n; i++)
		if (!strcmp(h->rec.recs[i].name, name) && h->rec.recs[i].final)
			return &h->rec.recs[i];
	ck_abort_msg("no final record for %s", name);
	return NULL;
}

static size_t attempts_of(const struct harness *h, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < h->rec.n; i++)
		n += !strcmp(h->rec.recs[i].name, name);
	return n;
}

START_TEST(statuses)
{
	struct harness h;
	struct sched_opts o = {.parallel = 3};
	harness_init(
	    &h,
	    "tests:\n"
	    "  - { name: ok, run: \"echo $SMOLTEST_TEST $SMOLTEST_ATTEMPT\" }\n"
	    "  - { name: bad-exit, run: \"exit 3\" }\n"
	    "  - { name: bad-out, run: \"echo nope\", expect: { stdout: \"/yes/\" } }\n"
	    "  - { name: want-7, run: [\"/bin/sh\", \"-c\", \"exit 7\"], expect: { exit: 7 } }\n"
	    "  - { name: slow, run: \"sleep 30\", timeout: 300ms }\n"
	    "  - { name: skipped, run: \"true\", skip: because }\n"
	    "  - { name: no-such, run: [\"/nonexistent/x\"] }\n",
	    &o);
	harness_run(&h);
	const struct rec *r = final_of(&h, "ok");
	ck_assert_int_eq(r->status, RESULT_PASS);
	ck_assert_str_eq(r->out, "ok 1\n");
	ck_assert_int_eq(final_of(&h, "bad-exit")->status, RESULT_FAIL);
	ck_assert_int_eq(final_of(&h, "bad-exit")->exit_code, 3);
	ck_assert_int_eq(final_of(&h, "bad-out")->status, RESULT_FAIL);
	ck_assert_int_eq(final_of(&h, "want-7")->status, RESULT_PASS);
	r = final_of(&h, "slow");
	ck_assert_int_eq(r->status, RESULT_TIMEOUT);
	ck_assert_uint_ge(r->duration_ns, 250 * NSEC_PER_MSEC);
	ck_assert_uint_lt(r->duration_ns, 5 * NSEC_PER_SEC);
	ck_assert_ptr_nonnull(strstr(r->msg, "limit 300ms"));
	ck_assert_int_eq(final_of(&h, "skipped")->status, RESULT_SKIP);
	ck_assert_str_eq(final_of(&h, "skipped")->msg, "because");
	ck_assert_int_eq(final_of(&h, "no-such")->status, RESULT_FAIL);
	ck_assert_uint_eq(h.rec.sum.total, 7);
	ck_assert_uint_eq(h.rec.sum.passed, 2);
	ck_assert_uint_eq(h.rec.sum.failed, 3);
	ck_assert_uint_eq(h.rec.sum.timeouts, 1);
	ck_assert_uint_eq(h.rec.sum.skipped, 1);
	ck_assert(!h.rec.sum.aborted);
	ck_assert_uint_le(((struct fake *)h.be->priv)->max_live, 2 * 3);
	harness_fini(&h);
}
END_TEST

/* --timeout-multiplier scales the test's own limit, and the report names
 * the limit that applied. */
START_TEST(timeout_multiplier_scales_limits)
{
	struct harness h;
	struct sched_opts o = {.parallel = 1, .timeout_multiplier = 3};
	harness_init(&h,
		     "tests:\n"
		     "  - { name: slow, run: \"sleep 30\", timeout: 300ms }\n"
		     "  - { name: fits, run: \"sleep 0.5\", timeout: 300ms }\n",
		     &o);
	harness_run(&h);
	const struct rec *r = final_of(&h, "slow");
	ck_assert_int_eq(r->status, RESULT_TIMEOUT);
	ck_assert_uint_ge(r->duration_ns, 850 * NSEC_PER_MSEC);
	ck_assert_msg(strstr(r->msg, "limit 900ms"), "%s", r->msg);
	ck_assert_int_eq(final_of(&h, "fits")->status, RESULT_PASS);
	harness_fini(&h);
}
END_TEST

/* An agent that misses its own deadline (here: stopped, with its shim, by
 * its test) is stopped by the client's deadline (the limit plus 5 s). The
 * result says that the agent, not the test, failed to end it: the
 * environment's ERROR, unless the backend's diagnosis blames the test's
 * own code (then its TIMEOUT). */
static void run_stuck_agent(bool blames_test)
{
	struct harness h;
	struct sched_opts o = {.parallel = 1};
	char pids[64], yaml[1024];
	snprintf(pids, sizeof(pids), "/tmp/smoltest-stuck.%d", (int)getpid());
	snprintf(yaml, sizeof(yaml),
		 "tests:\n"
		 "  - name: stuck\n"
		 "    timeout: 2s\n"
		 "    run: |\n"
		 "      p=$PPID; s=''\n"
		 "      while [ $p -gt 1 ]; do\n"
		 "        grep -qx smoltest-agent /proc/$p/comm && s=\"$s $p\"\n"
		 "        p=$(cut -d' ' -f4 /proc/$p/stat)\n"
		 "      done\n"
		 "      echo $$ $s > %s; kill -STOP $s; sleep 60\n"
		 "  - { name: after, run: \"true\" }\n",
		 pids);
	fake_blames_test = blames_test;
	harness_init(&h, yaml, &o);
	harness_run(&h);
	fake_blames_test = false;
	/* the stopped agent processes the fake backend does not know of */
	FILE *f = fopen(pids, "r");
	ck_assert_ptr_nonnull(f);
	int pid;
	while (fscanf(f, "%d", &pid) == 1)
		kill(pid, SIGKILL);
	fclose(f);
	unlink(pids);
	const struct rec *r = final_of(&h, "stuck");
	ck_assert_msg(r->duration_ns >= 5 * NSEC_PER_SEC, "%s", r->msg);
	if (blames_test) {
		ck_assert_int_eq(r->status, RESULT_TIMEOUT);
		ck_assert_msg(strstr(r->msg, "the agent did not answer by then, so the runner "
					     "killed the fake; the fake's hint"),
			      "%s", r->msg);
	} else {
		ck_assert_int_eq(r->status, RESULT_ERROR);
		ck_assert_msg(strstr(r->msg, "the agent did not answer: it did not end the test at "
					     "its limit (2.00s), so the runner killed the fake "),
			      "%s", r->msg);
		ck_assert_msg(strstr(r->msg, "s after the start; the fake's hint"), "%s", r->msg);
	}
	ck_assert_int_eq(final_of(&h, "after")->status, RESULT_PASS);
	harness_fini(&h);
}

START_TEST(stuck_agent_hits_the_hard_deadline)
{
	run_stuck_agent(false);
	run_stuck_agent(true);
}
END_TEST

/* A test that leaves processes behind is LEAK (a pass with a warning),
 * or a failure with `leak: fail`; one whose background work ends within
 * the agent's grace is a plain pass. */
START_TEST(leaks)
{
	struct harness h;
	struct sched_opts o = {.parallel = 2};
	harness_init(&h,
		     "tests:\n"
		     "  - { name: leaky, run: \"sleep 100 & sleep 100 & echo hi\" }\n"
		     "  - { name: strict, run: \"sleep 100 >/dev/null 2>&1 &\", leak: fail }\n"
		     "  - { name: tidy, run: \"(:) & echo ok\" }\n",
		     &o);
	harness_run(&h);
	const struct rec *r = final_of(&h, "leaky");
	ck_assert_int_eq(r->status, RESULT_LEAK);
	ck_assert_uint_eq(r->leaked, 2);
	ck_assert_str_eq(r->out, "hi\n");
	ck_assert_ptr_nonnull(strstr(r->msg, "left 2 processes running"));
	r = final_of(&h, "strict");
	ck_assert_int_eq(r->status, RESULT_FAIL);
	ck_assert_int_eq(r->fail_kind, FAIL_LEAK);
	ck_assert_ptr_nonnull(strstr(r->msg, "left 1 process running"));
	ck_assert_int_eq(final_of(&h, "tidy")->status, RESULT_PASS);
	ck_assert_uint_eq(h.rec.sum.leaked, 1);
	ck_assert_uint_eq(h.rec.sum.failed, 1);
	ck_assert_uint_eq(h.rec.sum.passed, 1);
	harness_fini(&h);
}
END_TEST

START_TEST(retries_and_flaky)
{
	struct harness h;
	struct sched_opts o = {.parallel = 2, .retries = -1};
	char yaml[1024];
	char counter[] = "/tmp/smoltest-sched-counter.XXXXXX";
	int fd = mkstemp(counter);
	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(yaml, sizeof(yaml),
		 "tests:\n"
		 "  - name: flaky\n"
		 "    run: n=$(wc -c < %s); echo x >> %s; [ $n -ge 4 ]\n"
		 "    retries: 3\n"
		 "  - { name: never, run: \"exit 1\", retries: 2 }\n"
		 "  - { name: first-time, run: \"true\", retries: 5 }\n",
		 counter, counter);
	harness_init(&h, yaml, &o);
	harness_run(&h);
	const struct rec *r = final_of(&h, "flaky");
	ck_assert_int_eq(r->status, RESULT_FLAKY); /* failed twice, passed on the third */
	ck_assert_uint_eq(r->attempt, 3);
	ck_assert_uint_eq(r->max_attempts, 4);
	ck_assert_uint_eq(attempts_of(&h, "flaky"), 3);
	ck_assert_uint_eq(attempts_of(&h, "never"), 3);
	ck_assert_int_eq(final_of(&h, "never")->status, RESULT_FAIL);
	ck_assert_uint_eq(attempts_of(&h, "first-time"), 1);
	ck_assert_uint_eq(h.rec.sum.flaky, 1);
	ck_assert_uint_eq(h.rec.sum.total, 3);
	ck_assert_uint_eq(h.rec.started, 7); /* every attempt is announced */
	unlink(counter);
	harness_fini(&h);
}
END_TEST

START_TEST(fail_fast_cancels)
{
	struct harness h;
	struct sched_opts o = {.parallel = 2, .fail_fast = true, .retries = -1};
	harness_init(&h,
		     "tests:\n"
		     "  - { name: slow, run: \"sleep 30\" }\n"
		     "  - { name: bad, run: \"sleep 0.2; exit 1\" }\n"
		     "  - { name: later, run: \"true\" }\n",
		     &o);
	uint64_t t0 = util_now_ns();
	harness_run(&h);
	ck_assert_uint_lt(util_now_ns() - t0, 10 * NSEC_PER_SEC);
	ck_assert_int_eq(final_of(&h, "bad")->status, RESULT_FAIL);
	/* cancelled while it ran: its own status, with what it wrote so far */
	ck_assert_int_eq(final_of(&h, "slow")->status, RESULT_CANCELLED);
	ck_assert_ptr_nonnull(strstr(final_of(&h, "slow")->msg, "fail-fast after 'bad'"));
	ck_assert_int_eq(final_of(&h, "later")->status, RESULT_SKIP);
	ck_assert(h.res.sum.aborted);
	harness_fini(&h);
}
END_TEST

START_TEST(parallel_bound)
{
	struct harness h;
	struct sched_opts o = {.parallel = 2, .retries = -1};
	char share[] = "/tmp/smoltest-sched-par.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(share));
	char yaml[2048], *p = yaml;
	p += sprintf(p, "tests:\n");
	for (int i = 0; i < 6; i++)
		p += sprintf(p,
			     "  - { name: p%d, run: \"touch %s/r.$SMOLTEST_TEST; sleep 0.2; "
			     "ls %s | wc -l >> %s/max.log; rm %s/r.$SMOLTEST_TEST\" }\n",
			     i, share, share, share, share);
	harness_init(&h, yaml, &o);
	harness_run(&h);
	ck_assert_uint_eq(h.rec.sum.passed, 6);
	char path[128], *log = NULL;
	snprintf(path, sizeof(path), "%s/max.log", share);
	ck_assert_int_eq(util_read_file(path, 4096, &log, NULL), 0);
	/* each line counts r.* files plus max.log itself: at most 2 + 1 */
	for (char *l = strtok(log, "\n"); l; l = strtok(NULL, "\n"))
		ck_assert_int_le(atoi(l), 3);
	free(log);
	util_rm_rf(share);
	harness_fini(&h);
}
END_TEST

/* A backend with slow instances (memory_snapshot) gets a pool: up to
 * `parallel` next tests have their instance started and prepared ahead,
 * while no more than `parallel` tests run at once; a stop reports the
 * pooled tests as not run and tears every instance down. */
START_TEST(pool_runs_ahead_within_bounds)
{
	struct harness h;
	struct sched_opts o = {.parallel = 2, .retries = -1};
	char share[] = "/tmp/smoltest-sched-pool.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(share));
	char yaml[2048], *p = yaml;
	p += sprintf(p, "tests:\n");
	for (int i = 0; i < 6; i++)
		p += sprintf(p,
			     "  - { name: q%d, run: \"touch %s/r.$SMOLTEST_TEST; sleep 0.3; "
			     "ls %s | wc -l >> %s/max.log; rm %s/r.$SMOLTEST_TEST\" }\n",
			     i, share, share, share, share);
	harness_init(&h, yaml, &o);
	h.be->caps.memory_snapshot = true;
	harness_run(&h);
	ck_assert_uint_eq(h.rec.sum.passed, 6);
	unsigned max_live = ((struct fake *)h.be->priv)->max_live;
	ck_assert_uint_ge(max_live, 3); /* instances started ahead */
	ck_assert_uint_le(max_live, 3 * 2);
	char path[128], *log = NULL;
	snprintf(path, sizeof(path), "%s/max.log", share);
	ck_assert_int_eq(util_read_file(path, 4096, &log, NULL), 0);
	for (char *l = strtok(log, "\n"); l; l = strtok(NULL, "\n"))
		ck_assert_int_le(atoi(l), 3); /* at most 2 running + max.log */
	free(log);
	util_rm_rf(share);
	harness_fini(&h);

	struct sched_opts ff = {.parallel = 2, .fail_fast = true, .retries = -1};
	harness_init(&h,
		     "tests:\n"
		     "  - { name: bad, run: \"sleep 0.2; exit 1\" }\n"
		     "  - { name: s1, run: \"sleep 5\" }\n"
		     "  - { name: s2, run: \"sleep 5\" }\n"
		     "  - { name: s3, run: \"sleep 5\" }\n"
		     "  - { name: s4, run: \"sleep 5\" }\n",
		     &ff);
	h.be->caps.memory_snapshot = true;
	harness_run(&h);
	ck_assert_int_eq(final_of(&h, "bad")->status, RESULT_FAIL);
	ck_assert_uint_eq(h.rec.sum.total, 5);
	for (const char *n = "s2"; n; n = !strcmp(n, "s2") ? "s3" : NULL) {
		const struct rec *r = final_of(&h, n);
		ck_assert_int_eq(r->status, RESULT_SKIP);
		ck_assert_ptr_nonnull(strstr(r->msg, "not run: --fail-fast"));
	}
	harness_fini(&h);
}
END_TEST

START_TEST(setup_runs_in_order_and_fails_cleanly)
{
	struct harness h;
	struct sched_opts o = {.parallel = 1, .retries = -1};
	char out[] = "/tmp/smoltest-sched-setup.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(out));
	char yaml[1024];
	snprintf(yaml, sizeof(yaml),
		 "setup:\n  - run: echo one >> %s/log\n  - run: echo two >> %s/log\n"
		 "tests: [ { name: t, run: \"true\" } ]\n",
		 out, out);
	harness_init(&h, yaml, &o);
	char layer[256];
	snprintf(layer, sizeof(layer), "%s/layer", h.dir);
	ck_assert_int_eq(mkdir(layer, 0700), 0);
	ck_assert_int_eq(sched_setup(h.sc, layer), 0);
	char path[128], *log = NULL;
	snprintf(path, sizeof(path), "%s/log", out);
	ck_assert_int_eq(util_read_file(path, 4096, &log, NULL), 0);
	ck_assert_str_eq(log, "one\ntwo\n");
	free(log);
	harness_fini(&h);

	snprintf(yaml, sizeof(yaml),
		 "setup:\n  - run: exit 4\n  - run: echo never >> %s/log\n"
		 "tests: [ { name: t, run: \"true\" } ]\n",
		 out);
	harness_init(&h, yaml, &o);
	ck_assert_int_eq(sched_setup(h.sc, h.dir), -ECANCELED);
	ck_assert_int_eq(util_read_file(path, 4096, &log, NULL), 0);
	ck_assert_str_eq(log, "one\ntwo\n"); /* stopped at the failing step */
	free(log);
	harness_fini(&h);
	util_rm_rf(out);
}
END_TEST

/* tests_from: the listers run after the steps, in order; their stdout
 * (beyond the 64 KiB outbuf keeps) becomes names; a refused line, a
 * failing lister and endless output fail setup with one message, and an
 * endless lister is killed, not waited for. */
START_TEST(listers_run_after_setup)
{
	struct harness h;
	struct sched_opts o = {.parallel = 1, .retries = -1};
	harness_init(
	    &h,
	    "setup: [ \"true\" ]\n"
	    "tests:\n"
	    "  - { name: \"a/{name}\", tests_from: \"seq -f t%g 1 20000\", run: \"true\" }\n"
	    "  - name: \"b/{name}\"\n"
	    "    tests_from: { run: [printf, \"x: one\\\\nskip\\\\nx: two\\\\n\"], match: "
	    "\"/^x: (.*)$/\" }\n"
	    "    run: \"true\"\n",
	    &o);
	ck_assert_int_eq(sched_setup(h.sc, h.dir), 0);
	struct suite_listed *l = sched_take_listed(h.sc);
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(l[0].n, 20000);
	ck_assert_str_eq(l[0].names[19999], "t20000");
	ck_assert_uint_eq(l[1].n, 2);
	ck_assert_str_eq(l[1].names[1], "two");
	ck_assert_uint_eq(l[1].lines[1], 3);
	suite_listed_release(l, 2);
	free(l);
	harness_fini(&h);

	static const struct {
		const char *lister, *want;
	} bad[] = {
	    {"echo ok; echo 'x;y'",
	     "tests_from 1 of 1 (echo ok; echo 'x;y'): line 2 of its output"},
	    {"echo partial; exit 5", "tests_from 1 of 1 failed after"},
	    {"yes", "tests_from 1 of 1 printed more than 16 MiB, and was killed"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char yaml[512];
		snprintf(yaml, sizeof(yaml),
			 "tests: [ { name: \"{name}\", tests_from: \"%s\", run: \"true\" } ]\n",
			 bad[i].lister);
		harness_init(&h, yaml, &o);
		uint64_t t0 = util_now_ns();
		ck_assert_int_eq(sched_setup(h.sc, h.dir), -ECANCELED);
		ck_assert_msg(util_now_ns() - t0 < 30 * NSEC_PER_SEC, "%s: not stopped",
			      bad[i].lister);
		struct sched_result res;
		struct run_info info = {0};
		reporter_set_begin(&h.set, &info);
		sched_report_setup_failed(h.sc, NULL, 0, &res);
		ck_assert_ptr_nonnull(res.sum.abort_reason);
		ck_assert_msg(strstr(res.sum.abort_reason, bad[i].want), "%s",
			      res.sum.abort_reason);
		harness_fini(&h);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sched");
	TCase *tc = tcase_create("sched");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, statuses);
	tcase_add_test(tc, retries_and_flaky);
	tcase_add_test(tc, leaks);
	tcase_add_test(tc, stuck_agent_hits_the_hard_deadline);
	tcase_add_test(tc, timeout_multiplier_scales_limits);
	tcase_add_test(tc, fail_fast_cancels);
	tcase_add_test(tc, parallel_bound);
	tcase_add_test(tc, pool_runs_ahead_within_bounds);
	tcase_add_test(tc, setup_runs_in_order_and_fails_cleanly);
	tcase_add_test(tc, listers_run_after_setup);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
