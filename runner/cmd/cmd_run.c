/* cmd_run: `smoltest run`, `list` and `validate` — the command-line edge
 * where the environment is read (getenv, isatty) and everything else is
 * put together: suite -> plan -> backend -> cache/setup -> scheduler ->
 * reporters -> exit status. */
#include "backend/backend.h"
#include "cache/cache.h"
#include "cache/last_failed.h"
#include "cache/runreg.h"
#include "cmd/commands.h"
#include "cmd/list_json.h"
#include "text.h"
#include "cmd/run_opts.h"
#include "reporter_builtin.h"
#include "sched/scheduler.h"
#include "suite/select.h"
#include "suite/suite.h"
#include "suite/suite_lister.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *env_get(const char *name, void *ctx)
{
	(void)ctx;
	return getenv(name);
}

/* Parses the options and the suite and computes the plan. Returns an exit
 * status, EXIT_OK when the caller should go on. */
struct prepared {
	struct run_opts o;
	struct suite *s;
	struct sel_tags *tags;
	size_t *plan;
	size_t n_plan;
	char part[64];
};

static void prepared_release(struct prepared *p)
{
	suite_destroy(p->s);
	sel_tags_destroy(p->tags);
	free(p->plan);
}

/* (Re)computes the plan from the options: --filter, --tags, the shard. */
static int replan(struct prepared *p, char *err, size_t len)
{
	struct sel_opts so = {.filter = p->o.filter, .tags = p->tags, .partition = p->o.partition};
	free(p->plan);
	p->plan = NULL;
	p->n_plan = 0;
	return sel_plan(p->s, &so, &p->plan, &p->n_plan, err, len);
}

/* Whether a tests_from generator of the suite may give tests that the
 * selection takes: its names are unknown before setup, its tags are not. */
static bool gens_may_select(const struct prepared *p)
{
	for (size_t i = 0; i < p->s->n_gens; i++) {
		const struct suite_test *t = &p->s->gens[i].tmpl;
		if (!p->tags || sel_tags_match(p->tags, t->tags, t->n_tags))
			return true;
	}
	return false;
}

static int prepare(int argc, char **argv, bool need_plan, struct prepared *p)
{
	char err[512] = "";
	memset(p, 0, sizeof(*p));
	int rc = run_opts_parse(argc, argv, &p->o, err, sizeof(err));
	if (rc == 1) {
		fputs(run_opts_usage(), stdout);
		return -1; /* help printed: exit 0 */
	}
	if (rc) {
		fprintf(stderr, "smoltest %s: %s\n", argv[0], err);
		return EXIT_USAGE;
	}
	struct suite_diag diag = {0};
	rc = suite_load(p->o.suite, &diag, &p->s);
	if (rc) {
		suite_diag_print(&diag);
		suite_diag_release(&diag);
		return rc == -ENOMEM ? EXIT_INFRA : EXIT_USAGE;
	}
	suite_diag_release(&diag);
	if (!need_plan)
		return EXIT_OK;
	if (p->o.tags && sel_tags_compile(p->o.tags, &p->tags, err, sizeof(err))) {
		fprintf(stderr, "smoltest %s: --tags '%s': %s\n", argv[0], p->o.tags, err);
		return EXIT_USAGE;
	}
	struct sel_opts so = {.filter = p->o.filter, .tags = p->tags, .partition = p->o.partition};
	if (so.partition.kind == SEL_PART_NONE &&
	    sel_partition_from_env(env_get, NULL, &so.partition, err, sizeof(err))) {
		fprintf(stderr, "smoltest %s: %s\n", argv[0], err);
		return EXIT_USAGE;
	}
	p->o.partition = so.partition;
	sel_partition_format(&so.partition, p->part, sizeof(p->part));
	if (replan(p, err, sizeof(err))) {
		fprintf(stderr, "smoltest %s: %s\n", argv[0], err);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static void print_shard(const struct prepared *p, FILE *f)
{
	if (p->o.partition.kind == SEL_PART_NONE)
		return;
	fprintf(f, "smoltest: shard %s (from %s) got %zu of %zu tests:", p->part,
		p->o.partition.source, p->n_plan, p->s->n_tests);
	for (size_t i = 0; i < p->n_plan && i < 50; i++)
		fprintf(f, "%s %s", i ? "," : "", p->s->tests[p->plan[i]].name);
	if (p->n_plan > 50)
		fprintf(f, ", ... (%zu more)", p->n_plan - 50);
	fputc('\n', f);
	/* Bazel asks test runners that understand sharding to touch this file */
	const char *status = getenv("TEST_SHARD_STATUS_FILE");
	if (status && *status && !strcmp(p->o.partition.source, "TEST_SHARD_INDEX")) {
		FILE *s = fopen(status, "w");
		if (s)
			fclose(s);
	}
}

int cmd_validate(int argc, char **argv)
{
	struct prepared p;
	int rc = prepare(argc, argv, false, &p);
	if (rc == -1)
		return EXIT_OK;
	if (rc == EXIT_OK && p.s->n_gens)
		printf("%s: ok: suite '%s', %zu test%s and %zu tests_from (their tests are known "
		       "after setup), %zu setup step%s, backend %s\n",
		       p.o.suite, p.s->name, p.s->n_tests, p.s->n_tests == 1 ? "" : "s",
		       p.s->n_gens, p.s->n_setup, p.s->n_setup == 1 ? "" : "s",
		       suite_backend_name(p.s->backend));
	else if (rc == EXIT_OK)
		printf("%s: ok: suite '%s', %zu test%s, %zu setup step%s, backend %s\n", p.o.suite,
		       p.s->name, p.s->n_tests, p.s->n_tests == 1 ? "" : "s", p.s->n_setup,
		       p.s->n_setup == 1 ? "" : "s", suite_backend_name(p.s->backend));
	prepared_release(&p);
	return rc;
}

/* list cannot run setup: a suite's tests_from become the tests named in
 * the cache entry a run would use when its inputs are those of the suite
 * now (cache_current_for); else each is said to be a generator (on
 * stderr, and with -v on stdout) and left out. Returns an exit status. */
static int list_generated(struct prepared *p)
{
	struct suite *s = p->s;
	struct cache cache = {0};
	struct suite_listed *l = NULL;
	char abs[PATH_MAX], key[CACHE_KEY_HEX + 1], entry[PATH_MAX], path[PATH_MAX + 16];
	char err[1024] = "", *text = NULL;
	size_t n = 0, gens = s->n_gens;
	if (!gens)
		return EXIT_OK;
	int rc = cache_open(getenv("XDG_CACHE_HOME"), getenv("HOME"), &cache);
	if (!rc && !realpath(p->o.suite, abs))
		rc = -errno;
	if (!rc)
		rc = cache_current_for(&cache, s, abs, key, entry, sizeof(entry));
	if (!rc) {
		snprintf(path, sizeof(path), "%s/%s", entry, CACHE_LISTED_FILE);
		rc = util_read_file(path, SUITE_LISTED_MAX_OUTPUT, &text, &n);
	}
	if (!rc)
		rc = suite_listed_load(s, text, n, &l, err, sizeof(err));
	if (!rc)
		rc = suite_expand_listed(s, l, err, sizeof(err));
	if (!rc && replan(p, err, sizeof(err))) {
		fprintf(stderr, "smoltest list: %s\n", err);
		rc = EXIT_USAGE;
	} else if (!rc) {
		fprintf(
		    stderr,
		    "smoltest list: the tests of tests_from as cache entry %.12s keeps them (its "
		    "inputs are the suite's now)\n",
		    key);
	}
	suite_listed_release(l, gens);
	free(l);
	free(text);
	cache_close(&cache);
	if (rc == EXIT_USAGE)
		return rc;
	for (size_t i = 0; rc && i < s->n_gens; i++) {
		const struct suite_gen *g = &s->gens[i];
		struct strbuf cmd = {0};
		text_sanitize(&cmd, g->list.argv[0], strnlen(g->list.argv[0], 200), TEXT_ONE_LINE);
		fprintf(stderr,
			"smoltest list: %s:%u: tests_from (%s) makes tests '%s' once setup has "
			"run; no cache entry of the suite's inputs now keeps them%s%s\n",
			s->file, g->tmpl.line, sb_str(&cmd), g->tmpl.name, err[0] ? ": " : "", err);
		sb_release(&cmd);
		if (p->o.json) {
			struct strbuf line = {0};
			if (list_json_generator(&line, s, g) ||
			    fwrite(line.buf, 1, line.len, stdout) != line.len) {
				sb_release(&line);
				fprintf(stderr, "smoltest list: cannot write the list\n");
				return EXIT_INFRA;
			}
			sb_release(&line);
		} else if (p->o.verbosity > 0) {
			printf("%s:%u: %s (tests_from: %s)\n", s->file, g->tmpl.line, g->tmpl.name,
			       g->list.argv[0]);
		}
	}
	return EXIT_OK;
}

int cmd_list(int argc, char **argv)
{
	struct prepared p;
	int rc = prepare(argc, argv, true, &p);
	if (rc == -1)
		return EXIT_OK;
	if (rc == EXIT_OK)
		rc = list_generated(&p);
	if (rc == EXIT_OK) {
		print_shard(&p, stderr);
		struct strbuf line = {0};
		for (size_t i = 0; i < p.n_plan; i++) {
			const struct suite_test *t = &p.s->tests[p.plan[i]];
			if (p.o.json) {
				sb_reset(&line);
				if (list_json_test(&line, p.s, t)) {
					fprintf(stderr, "smoltest list: out of memory\n");
					rc = EXIT_INFRA;
					break;
				}
				fwrite(line.buf, 1, line.len, stdout);
				continue;
			}
			if (p.o.verbosity <= 0) {
				printf("%s\n", t->name);
				continue;
			}
			printf("%s:%u: %s", p.s->file, t->line, t->name);
			for (size_t k = 0; k < t->n_tags; k++)
				printf("%s%s", k ? "," : " [", t->tags[k]);
			printf("%s%s%s%s\n", t->n_tags ? "]" : "", t->skip ? " (skip: " : "",
			       t->skip ? t->skip : "", t->skip ? ")" : "");
		}
		sb_release(&line);
	}
	prepared_release(&p);
	return rc;
}

/* ---- run ----------------------------------------------------------------- */

/* A selection that matches nothing is almost always a typo in --filter or
 * --tags: it exits EXIT_NO_TESTS before any setup runs, unless allowed. A
 * shard left empty by --partition (more shards than tests) is not a typo.
 * A suite with tests_from is checked again once its listers ran (listed:
 * the tests they named are in the suite now). Returns EXIT_OK to go on. */
static int no_tests_check(const struct prepared *p, bool listed)
{
	if (p->n_plan || p->o.allow_no_tests)
		return EXIT_OK;
	if (p->o.partition.kind != SEL_PART_NONE) {
		struct sel_opts all = {.filter = p->o.filter, .tags = p->tags};
		size_t *plan = NULL, n = 0;
		char err[256];
		int rc = sel_plan(p->s, &all, &plan, &n, err, sizeof(err));
		free(plan);
		if (!rc && n) {
			fprintf(stderr, "smoltest: shard %s got none of the %zu selected tests\n",
				p->part, n);
			return EXIT_OK;
		}
	}
	char why[512] = "";
	size_t n = 0;
	if (p->o.rerun_failed)
		n += (size_t)snprintf(why, sizeof(why),
				      "--rerun-failed: none of them failed last time, ");
	if (p->o.filter && n < sizeof(why))
		n += (size_t)snprintf(why + n, sizeof(why) - n, "--filter '%s', ", p->o.filter);
	if (p->o.tags && n < sizeof(why))
		snprintf(why + n, sizeof(why) - n, "--tags '%s', ", p->o.tags);
	fprintf(stderr,
		"smoltest: no tests selected (%s0 of %zu%s); %s; exit status %d "
		"(--allow-no-tests makes it 0)\n",
		why, p->s->n_tests, listed ? ", tests_from's included" : "",
		listed ? "no test ran" : "nothing ran, setup included", EXIT_NO_TESTS);
	return EXIT_NO_TESTS;
}

/* A helper binary: $<env> when set, else the first executable of rel[]
 * (paths relative to the smoltest binary's directory: a build tree, then
 * an install). On -ENOENT, out holds rel[0]'s full path for the message. */
static int find_binary(const char *env_name, const char *const *rel, size_t nrel, char *out,
		       size_t len)
{
	const char *env = getenv(env_name);
	if (env && *env) {
		if ((size_t)snprintf(out, len, "%s", env) >= len)
			return -ENAMETOOLONG;
		return access(out, X_OK) ? -errno : 0;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -errno;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	for (size_t i = 0; i < nrel; i++) {
		if ((size_t)snprintf(out, len, "%s/%s", exe, rel[i]) < len &&
		    access(out, X_OK) == 0)
			return 0;
	}
	if ((size_t)snprintf(out, len, "%s/%s", exe, rel[0]) >= len)
		out[0] = '\0';
	return -ENOENT;
}

/* The agent binary: $SMOLTEST_AGENT, else next to the smoltest binary in a
 * build tree (fixtures/agent/smoltest-agent) or an install (../lib/smoltest). */
static int find_agent(char *out, size_t len)
{
	static const char *const rel[] = {"fixtures/agent/smoltest-agent", "smoltest-agent",
					  "../lib/smoltest/smoltest-agent"};
	return find_binary("SMOLTEST_AGENT", rel, sizeof(rel) / sizeof(rel[0]), out, len);
}

/* The smolvm binary: $SMOLTEST_SMOLVM, else next to the smoltest binary
 * (a build tree) or in ../lib/smoltest (an install). */
static int find_smolvm(char *out, size_t len)
{
	static const char *const rel[] = {"smolvm", "../lib/smoltest/smolvm"};
	return find_binary("SMOLTEST_SMOLVM", rel, sizeof(rel) / sizeof(rel[0]), out, len);
}

/* Where ci/fetch-kernel keeps kernel packages (the same rule as the
 * script): $SMOL_KERNEL_CACHE, else <XDG cache or ~/.cache>/smoltest/kernel. */
static void kernel_cache_dir(char *out, size_t len)
{
	const char *k = getenv("SMOL_KERNEL_CACHE"), *x = getenv("XDG_CACHE_HOME"),
		   *h = getenv("HOME");
	out[0] = '\0';
	if (k && *k)
		snprintf(out, len, "%s", k);
	else if (x && x[0] == '/')
		snprintf(out, len, "%s/smoltest/kernel", x);
	else if (h && h[0] == '/')
		snprintf(out, len, "%s/.cache/smoltest/kernel", h);
}

/* The suite path for reports: relative to the working directory when it
 * is below it, without a leading "./" or "/". */
static void suite_rel(const char *file, char *out, size_t len)
{
	char cwd[PATH_MAX], *abs = realpath(file, NULL);
	if (abs && getcwd(cwd, sizeof(cwd))) {
		size_t n = strlen(cwd);
		if (!strncmp(abs, cwd, n) && abs[n] == '/') {
			snprintf(out, len, "%s", abs + n + 1);
			free(abs);
			return;
		}
	}
	free(abs);
	while (file[0] == '.' && file[1] == '/')
		file += 2;
	while (file[0] == '/')
		file++;
	snprintf(out, len, "%s", file);
}

/* The console's reader went away (console_opts.reader_gone): the run is
 * cancelled as for the signal that would have said so. ctx: struct sched **. */
static void console_reader_gone(void *ctx, int err)
{
	struct sched **sc = ctx;
	sched_interrupt(*sc, err == -EIO ? SIGHUP : SIGPIPE,
			err == -EIO ? "interrupted: the terminal went away (EIO on the console)"
				    : "interrupted: the console's reader went away (EPIPE)");
}

static int add_reporters(const struct run_opts *o, struct reporter_set *set, struct sched **sc)
{
	struct reporter *r;
	int rc;
	bool stdout_taken = (o->tap && !strcmp(o->tap, "-")) || (o->json && !strcmp(o->json, "-"));
	FILE *con = stdout_taken ? stderr : stdout;
	struct console_opts co;
	console_opts_from_env(&co, con);
	co.verbosity = o->verbosity;
	if (o->failure_lines)
		co.tail_lines = o->failure_lines;
	co.full_output = o->failure_full;
	co.reader_gone = console_reader_gone;
	co.reader_gone_ctx = sc;
	if (o->color == 1)
		co.color = CONSOLE_COLOR_ALWAYS;
	else if (o->color == 2)
		co.color = CONSOLE_COLOR_NEVER;
	if ((rc = console_reporter_create(con, &co, &r)) || (rc = reporter_set_add(set, r))) {
		fprintf(stderr, "smoltest: console reporter: %s\n", strerror(-rc));
		return rc;
	}
	if (o->junit) {
		if ((rc = junit_reporter_create(o->junit, &r)) || (rc = reporter_set_add(set, r))) {
			fprintf(stderr, "smoltest: --junit %s: %s\n", o->junit, strerror(-rc));
			return rc;
		}
	}
	if (o->tap) {
		if ((rc = tap_reporter_create(o->tap, o->tap_version, &r)) ||
		    (rc = reporter_set_add(set, r))) {
			fprintf(stderr, "smoltest: --tap %s: %s\n", o->tap, strerror(-rc));
			return rc;
		}
	}
	if (o->json) {
		if ((rc = jsonl_reporter_create(o->json, &r)) || (rc = reporter_set_add(set, r))) {
			fprintf(stderr, "smoltest: --json %s: %s\n", o->json, strerror(-rc));
			return rc;
		}
	}
	if (o->github || gha_detect_env()) {
		struct gha_opts go;
		gha_opts_from_env(&go);
		go.junit_path = o->junit;
		if (stdout_taken)
			go.out = stderr;
		if ((rc = gha_reporter_create(&go, &r)) || (rc = reporter_set_add(set, r))) {
			fprintf(stderr, "smoltest: GitHub reporter: %s\n", strerror(-rc));
			return rc;
		}
	}
	return 0;
}

struct run_ctx {
	struct prepared p;
	char agent[PATH_MAX];
	char smolvm[PATH_MAX];
	char kernels[PATH_MAX];
	char run_dir[PATH_MAX];
	char suite_file[PATH_MAX];
	char run_id[17];
	char layer[1024];
	char key[CACHE_KEY_HEX + 1];
	char suite_abs[PATH_MAX];
	struct strbuf material;	 /* the cache key's material (cache.h) */
	struct strbuf cache_why; /* on a hit, what the key covered */
	bool cache_hit;
	int cache_lock;
	struct cache cache;
	struct backend *be;
	struct reporter_set rep;
	struct lastfail last_failed; /* the suite's record before this run */
	char last_failed_path[PATH_MAX];
	struct sched *sc;
	struct runreg *reg; /* this run's resources, for the next run to reap */
	const char *backend_note;
	bool listing;		     /* the suite's tests_from listers must run */
	struct suite_listed *listed; /* what they named, one per generator */
	size_t n_listed;	     /* the suite's n_gens before expansion */
};

/* Finds or builds the warm layer. Returns an exit status (EXIT_OK to go on);
 * *setup_failed is set when the suite's own setup failed. */
/* 128 + the signal that stopped the run (130 SIGINT, 143 SIGTERM), as a
 * shell reports it. */
static int interrupted_status(struct run_ctx *c)
{
	int sig = sched_signal(c->sc);
	return sig ? 128 + sig : EXIT_TESTS_FAILED;
}

/* A cache hit is usable when the backend takes its layer and, for a suite
 * with tests_from, the entry's list of names reads back (hostile: it is
 * checked as the lister's output was). 0, or -errno with a reason in err. */
static int entry_usable(struct run_ctx *c, char *err, size_t len)
{
	int rc = c->be->ops->layer_check ? c->be->ops->layer_check(c->be, c->layer, err, len) : 0;
	if (rc || !c->listing)
		return rc;
	char path[1100], why[512], *text = NULL;
	size_t n = 0;
	snprintf(path, sizeof(path), "%s/%s", c->layer, CACHE_LISTED_FILE);
	rc = util_read_file(path, SUITE_LISTED_MAX_OUTPUT, &text, &n);
	if (rc) {
		snprintf(err, len, "its list of tests_from names (%s): %s", CACHE_LISTED_FILE,
			 strerror(-rc));
		return rc;
	}
	rc = suite_listed_load(c->p.s, text, n, &c->listed, why, sizeof(why));
	c->n_listed = rc ? 0 : c->p.s->n_gens;
	if (rc)
		snprintf(err, len, "its list of tests_from names (%s): %.400s", CACHE_LISTED_FILE,
			 why);
	free(text);
	return rc;
}

/* Looks the warm layer up in the cache; a hit the backend refuses (a
 * corrupt snapshot), or whose tests_from names do not read back, is
 * removed, said in one line, and rebuilt once.
 * Returns an exit status, EXIT_OK with c->cache_hit set or clear. */
static int cache_find(struct run_ctx *c)
{
	char err[BACKEND_ERR_MAX] = "";
	for (int round = 0;; round++) {
		int rc = cache_lookup(&c->cache, c->key, &c->cache_hit, c->layer, sizeof(c->layer),
				      &c->cache_lock);
		if (rc) {
			fprintf(stderr, "smoltest: cache entry %s: %s\n", c->key, strerror(-rc));
			return EXIT_INFRA;
		}
		if (!c->cache_hit || entry_usable(c, err, sizeof(err)) == 0)
			return EXIT_OK;
		close(c->cache_lock);
		c->cache_lock = -1;
		c->cache_hit = false;
		rc = round ? -ELOOP : cache_remove(&c->cache, c->key);
		if (rc) {
			fprintf(
			    stderr,
			    "smoltest: cache entry %s is unusable (%s) and could not be removed "
			    "(%s); remove it with: smoltest cache rm %s\n",
			    c->key, err, strerror(-rc), c->key);
			return EXIT_INFRA;
		}
		fprintf(stderr, "smoltest: cache entry %s refused: %s; rebuilding it\n", c->key,
			err);
	}
}

/* Computes the cache key (c->key) from its material (c->material). */
static int cache_key(struct run_ctx *c)
{
	char index_dir[PATH_MAX];
	snprintf(index_dir, sizeof(index_dir), "%s/index", c->cache.dir);
	uint64_t t0 = util_now_ns();
	int rc = cache_key_material(c->p.s, c->be->ops->name, index_dir, &c->material);
	if (!rc)
		rc = sb_append_str(&c->material, CACHE_BACKEND_MARK "\n");
	if (!rc)
		rc = c->be->ops->key_material(c->be, &c->material);
	if (rc) {
		fprintf(stderr, "smoltest: cannot compute the cache key: %s\n", strerror(-rc));
		return EXIT_INFRA;
	}
	cache_key_hash(&c->material, c->key);
	if (c->p.o.verbosity > 0)
		fprintf(stderr, "smoltest: cache key %s computed in %.1f ms\n", c->key,
			(double)(util_now_ns() - t0) / 1e6);
	return EXIT_OK;
}

/* On a miss, says in one line (every line with -v) what changed since the
 * suite's most recent entry, so that a rebuild is never a mystery. */
static void cache_explain_miss(struct run_ctx *c)
{
	char prev[CACHE_KEY_HEX + 1];
	char *old = NULL;
	if (cache_latest_for(&c->cache, c->suite_abs, c->be->ops->name, prev) ||
	    cache_read_material(&c->cache, prev, &old))
		return;
	struct strbuf d = {0};
	unsigned n = 0;
	bool all = c->p.o.verbosity > 0;
	if (cache_diff(old, sb_str(&c->material), all ? 1000 : 1, &d, &n) == 0 && n) {
		const char *first = sb_str(&d);
		const char *nl = strchr(first, '\n');
		fprintf(stderr,
			"smoltest: cache miss: %u input%s changed since entry %.12s (%.*s%s); "
			"`smoltest cache explain %s` lists them\n",
			n, n == 1 ? "" : "s", prev, nl ? (int)(nl - first) : (int)strlen(first),
			first, n > 1 ? ", ..." : "", c->p.o.suite);
		if (all)
			cache_print_indented(stderr, first);
	}
	sb_release(&d);
	free(old);
}

/* After setup passed: takes what the tests_from listers named, and with
 * entry (a staging directory, NULL: no cache) keeps it there for the next
 * run. Exit status. */
static int listed_store(struct run_ctx *c, const char *entry)
{
	if (!c->listing)
		return EXIT_OK;
	c->listed = sched_take_listed(c->sc);
	c->n_listed = c->p.s->n_gens;
	if (!entry || !c->listed)
		return c->listed ? EXIT_OK : EXIT_INFRA;
	struct strbuf text = {0};
	char path[1100];
	snprintf(path, sizeof(path), "%s/%s", entry, CACHE_LISTED_FILE);
	int rc = suite_listed_format(c->p.s, c->listed, &text);
	if (!rc)
		rc = util_write_file_atomic(path, text.buf ? text.buf : "", text.len, 0600);
	sb_release(&text);
	if (rc) {
		fprintf(stderr, "smoltest: cannot write %s: %s\n", path, strerror(-rc));
		return EXIT_INFRA;
	}
	return EXIT_OK;
}

/* Once the listers' names are known (or none need be: c->listed NULL),
 * the suite's tests_from become tests and the selection is made again on
 * them: --filter, --tags, the shard, --rerun-failed. Exit status. */
static int expand_listed(struct run_ctx *c)
{
	struct prepared *p = &c->p;
	struct suite *s = p->s;
	if (!s->n_gens)
		return EXIT_OK;
	struct suite_listed *none = c->listed ? NULL : calloc(s->n_gens, sizeof(*none));
	char err[1024];
	size_t listed = s->n_tests;
	int rc = c->listed || none
		     ? suite_expand_listed(s, c->listed ? c->listed : none, err, sizeof(err))
		     : -ENOMEM;
	free(none);
	if (rc) {
		if (rc == -ENOMEM)
			snprintf(err, sizeof(err), "out of memory");
		fprintf(stderr, "smoltest: %s: tests_from: %s\n", s->file, err);
		return EXIT_INFRA;
	}
	listed = s->n_tests - listed;
	if (replan(p, err, sizeof(err))) {
		fprintf(stderr, "smoltest run: %s\n", err);
		return EXIT_USAGE;
	}
	if (p->o.rerun_failed)
		lastfail_filter(&c->last_failed, s, p->plan, &p->n_plan);
	if (c->listing)
		fprintf(stderr,
			"smoltest: tests_from listed %zu test%s%s; %zu of the suite's %zu "
			"selected\n",
			listed, listed == 1 ? "" : "s",
			c->cache_hit ? " (as kept in the cache entry)" : "", p->n_plan, s->n_tests);
	print_shard(p, stderr);
	return no_tests_check(p, c->listing);
}

/* Finds or builds the warm layer. Returns an exit status (EXIT_OK to go on);
 * *setup_failed is set when the suite's own setup failed. A backend with a
 * memory snapshot (vm) always has a template, setup or not: its tests run
 * in forks of it. */
static int warm_layer(struct run_ctx *c, bool *setup_failed)
{
	const struct suite *s = c->p.s;
	int rc;
	*setup_failed = false;
	c->layer[0] = '\0';
	/* nothing to run (--allow-no-tests): no reason to build anything */
	if ((!c->p.n_plan && !c->listing) ||
	    (!s->n_setup && !c->listing && !c->be->caps.memory_snapshot))
		return EXIT_OK;
	bool use_cache = s->cache_enabled && !c->p.o.no_cache;
	if (use_cache && !c->cache.dir) {
		rc = cache_open(getenv("XDG_CACHE_HOME"), getenv("HOME"), &c->cache);
		if (rc) {
			fprintf(stderr,
				"smoltest: cache unavailable (%s); running setup without it\n",
				strerror(-rc));
			use_cache = false;
		}
	}
	if (use_cache) {
		if ((rc = cache_key(c)) != EXIT_OK)
			return rc;
		if ((rc = cache_find(c)) != EXIT_OK)
			return rc;
		if (c->cache_hit) {
			cache_touch(&c->cache, c->key);
			cache_key_summary(sb_str(&c->material), &c->cache_why);
			fprintf(stderr,
				"smoltest: warm environment %s from the cache: setup skipped\n",
				c->key);
			if (c->p.o.verbosity > 0)
				fprintf(stderr, "smoltest: cache hit: %s\n", sb_str(&c->cache_why));
			return EXIT_OK;
		}
		cache_explain_miss(c);
		char staging[1024];
		if ((rc = cache_stage(&c->cache, c->key, staging, sizeof(staging)))) {
			fprintf(stderr, "smoltest: cannot stage a cache entry in %s: %s\n",
				c->cache.dir, strerror(-rc));
			return EXIT_INFRA;
		}
		rc = sched_setup(c->sc, staging);
		if (rc) {
			util_rm_rf(staging);
			*setup_failed = rc == -ECANCELED;
			return rc == -ECANCELED ? EXIT_OK
			       : rc == -EINTR	? interrupted_status(c)
						: EXIT_INFRA;
		}
		if ((rc = listed_store(c, staging)) != EXIT_OK) {
			util_rm_rf(staging);
			return rc;
		}
		struct strbuf manifest = {0};
		rc = sb_printf(
		    &manifest,
		    "smoltest-cache %d\nkey %s\nsuite %s\nfile %s\npath %s\nbackend %s\ncreated "
		    "%lld\n",
		    CACHE_FORMAT_VERSION, c->key, s->name, c->suite_file, c->suite_abs,
		    c->be->ops->name, (long long)time(NULL));
		if (!rc)
			rc = cache_commit(&c->cache, c->key, staging, sb_str(&manifest),
					  &c->material, c->layer, sizeof(c->layer));
		sb_release(&manifest);
		if (rc) {
			fprintf(stderr,
				"smoltest: cannot store the warm environment in the cache: %s\n",
				strerror(-rc));
			return EXIT_INFRA;
		}
		fprintf(stderr, "smoltest: warm environment %s stored in the cache\n", c->key);
		return EXIT_OK;
	}
	if ((size_t)snprintf(c->layer, sizeof(c->layer), "%s/template", c->run_dir) >=
		sizeof(c->layer) ||
	    mkdir(c->layer, 0700)) {
		fprintf(stderr, "smoltest: cannot create %s: %s\n", c->layer, strerror(errno));
		return EXIT_INFRA;
	}
	rc = sched_setup(c->sc, c->layer);
	if (rc) {
		*setup_failed = rc == -ECANCELED;
		return rc == -ECANCELED ? EXIT_OK
		       : rc == -EINTR	? interrupted_status(c)
					: EXIT_INFRA;
	}
	return listed_store(c, NULL);
}

static int run_body(struct run_ctx *c)
{
	struct prepared *p = &c->p;
	const struct suite *s = p->s;
	char note[512], err[BACKEND_ERR_MAX] = "";
	int rc;

	bool have_agent = find_agent(c->agent, sizeof(c->agent)) == 0;
	bool have_smolvm = find_smolvm(c->smolvm, sizeof(c->smolvm)) == 0;
	kernel_cache_dir(c->kernels, sizeof(c->kernels));
	/* the cache root also holds the default guest image (opened by
	 * rerun_select unless it failed) */
	if (!c->cache.dir && cache_open(getenv("XDG_CACHE_HOME"), getenv("HOME"), &c->cache))
		c->cache.dir = NULL;
	/* what killed runs left behind goes first; then this run registers */
	if (c->cache.dir) {
		runreg_reap(c->cache.dir, stderr, NULL);
		if (runreg_create(c->cache.dir, c->run_id, &c->reg, err, sizeof(err)))
			fprintf(stderr, "smoltest: warning: %s\n", err);
	}
	struct backend_opts bo = {
	    .agent_path = c->agent,
	    .smolvm_path = have_smolvm ? c->smolvm : NULL,
	    .cache_dir = c->cache.dir,
	    .kernel_cache_dir = c->kernels[0] ? c->kernels : NULL,
	    .reg = c->reg,
	    .verbose = p->o.verbosity > 0,
	};
	enum suite_backend kind;
	backend_detect(p->o.has_backend ? p->o.backend : s->backend, s, &bo, &kind, note,
		       sizeof(note));
	if (note[0])
		fprintf(stderr, "smoltest: warning: %s\n", note);
	if (!s->n_gens) /* else once tests_from listed its tests */
		print_shard(p, stderr);

	if (!have_agent) {
		fprintf(stderr,
			"smoltest: the agent binary was not found (looked for %s); build "
			"the smoltest_agent target or set SMOLTEST_AGENT\n",
			c->agent);
		return EXIT_INFRA;
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(c->run_dir, sizeof(c->run_dir), "%s/smoltest-run.XXXXXX",
		 tmp && tmp[0] == '/' ? tmp : "/tmp");
	if (!mkdtemp(c->run_dir)) {
		fprintf(stderr, "smoltest: cannot create a run directory %s: %s\n", c->run_dir,
			strerror(errno));
		c->run_dir[0] = '\0';
		return EXIT_INFRA;
	}
	runreg_add_path(c->reg, RUNREG_DIR, c->run_dir);
	bo.run_dir = c->run_dir;
	rc = backend_create(kind, s, &bo, &c->be, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "smoltest: %s\n", err);
		return EXIT_INFRA;
	}
	if (add_reporters(&p->o, &c->rep, &c->sc))
		return EXIT_INFRA;
	if (c->last_failed_path[0]) {
		struct reporter *r;
		if ((rc = lastfail_reporter_create(c->last_failed_path, c->suite_abs,
						   &c->last_failed, &r)) ||
		    (rc = reporter_set_add(&c->rep, r))) {
			fprintf(stderr, "smoltest: last-failed record: %s\n", strerror(-rc));
			return EXIT_INFRA;
		}
	}

	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct sched_opts so = {
	    .parallel = p->o.parallel ? p->o.parallel
			: s->parallel ? s->parallel
			: ncpu > 0    ? (unsigned)ncpu
				      : 1,
	    .fail_fast = p->o.fail_fast,
	    .retries = p->o.retries,
	    .timeout_ns = p->o.timeout_ns,
	    .timeout_multiplier = p->o.timeout_multiplier,
	    .artifacts_dir = p->o.artifacts ? p->o.artifacts : "smoltest-artifacts",
	    .run_id = c->run_id,
	    .suite_file = c->suite_file,
	    .verbose = p->o.verbosity,
	};
	rc = sched_create(s, c->be, &c->rep, &so, &c->sc);
	if (rc) {
		fprintf(stderr, "smoltest: cannot set up the event loop: %s\n", strerror(-rc));
		return EXIT_INFRA;
	}
	bool setup_failed;
	rc = warm_layer(c, &setup_failed);
	if (rc == EXIT_OK && !setup_failed)
		rc = expand_listed(c);
	if (rc != EXIT_OK)
		return rc;

	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	struct run_info info = {
	    .suite_name = s->name,
	    .suite_file = c->suite_file,
	    .backend = c->be->ops->name,
	    .backend_note = c->be->caps.note,
	    .partition = p->part[0] ? p->part : NULL,
	    .snapshot_id = c->key[0] ? c->key : NULL,
	    .cache_hit = c->cache_hit,
	    .cache_why = c->cache_hit ? sb_str(&c->cache_why) : NULL,
	    .hostname = host,
	    .version = SMOLTEST_VERSION,
	    .start_wall_ns = util_wall_ns(),
	    .planned = (unsigned)p->n_plan,
	    .parallel = so.parallel,
	};
	reporter_set_begin(&c->rep, &info);
	struct sched_result res;
	if (setup_failed) {
		sched_report_setup_failed(c->sc, p->plan, p->n_plan, &res);
	} else {
		rc = sched_run(c->sc, p->plan, p->n_plan, c->layer[0] ? c->layer : NULL, &res);
		if (rc)
			fprintf(stderr, "smoltest: the event loop failed: %s\n", strerror(-rc));
		res.sum.setup_ns = sched_setup_ns(c->sc);
	}
	reporter_set_end(&c->rep, &res.sum);
	if (res.interrupted)
		fprintf(stderr, "smoltest: %s; every instance was torn down\n",
			res.sum.abort_reason ? res.sum.abort_reason : "interrupted");
	if (res.interrupted)
		return 128 + res.signal;
	/* a failing setup is the environment's failure: nothing was cached */
	if (res.sum.infra_error || setup_failed)
		return EXIT_INFRA;
	if (res.sum.failed || res.sum.errors || res.sum.timeouts)
		return EXIT_TESTS_FAILED;
	return EXIT_OK;
}

/* Loads the suite's record of failed tests (last_failed.h), which this
 * run updates, and with --rerun-failed keeps only those tests in the plan.
 * Without a cache the record is neither read nor written. Returns an exit
 * status, EXIT_OK to go on. */
static int rerun_select(struct run_ctx *c)
{
	struct prepared *p = &c->p;
	int rc = cache_open(getenv("XDG_CACHE_HOME"), getenv("HOME"), &c->cache);
	if (!rc)
		rc = lastfail_path(c->cache.dir, c->suite_abs, c->last_failed_path,
				   sizeof(c->last_failed_path));
	if (rc) {
		cache_close(&c->cache);
		c->last_failed_path[0] = '\0';
		if (!p->o.rerun_failed)
			return EXIT_OK;
		fprintf(stderr, "smoltest run: --rerun-failed: no cache directory (%s)\n",
			strerror(-rc));
		return EXIT_USAGE;
	}
	rc = lastfail_load(c->last_failed_path, &c->last_failed);
	if (rc && rc != -ENOENT)
		fprintf(stderr,
			"smoltest: warning: the record of failed tests %s is unreadable (%s); "
			"it starts again from this run\n",
			c->last_failed_path, strerror(-rc));
	if (!p->o.rerun_failed)
		return EXIT_OK;
	if (rc) {
		fprintf(stderr,
			"smoltest run: --rerun-failed: no earlier run of %s is recorded (%s); "
			"run it once without --rerun-failed\n",
			c->suite_abs, c->last_failed_path);
		return EXIT_USAGE;
	}
	size_t before = p->n_plan;
	lastfail_filter(&c->last_failed, p->s, p->plan, &p->n_plan);
	fprintf(stderr, "smoltest: --rerun-failed: %zu of %zu selected tests failed last time\n",
		p->n_plan, before);
	return EXIT_OK;
}

/* A closed stdin, stdout or stderr (`>&-`) would be taken by the next
 * open(), and the console would write into a registry or cache file: each
 * is opened on /dev/null instead (open() returns the lowest free fd). */
static void std_fds_open(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int n = open("/dev/null", fd ? O_WRONLY : O_RDONLY);
		if (n >= 0 && n != fd)
			close(n);
	}
}

int cmd_run(int argc, char **argv)
{
	struct run_ctx c;
	memset(&c, 0, sizeof(c));
	c.cache_lock = -1;
	/* A write to a closed pipe fails with EPIPE instead of killing the
	 * runner before it cleans up; the console then cancels the run. */
	signal(SIGPIPE, SIG_IGN);
	std_fds_open();
	int rc = prepare(argc, argv, true, &c.p);
	if (rc == -1)
		return EXIT_OK;
	if (rc == EXIT_OK) {
		if (!realpath(c.p.o.suite, c.suite_abs))
			snprintf(c.suite_abs, sizeof(c.suite_abs), "%s", c.p.o.suite);
		rc = rerun_select(&c);
	}
	/* a tests_from's names are known after setup: checked then, unless
	 * --rerun-failed found nothing that failed */
	c.listing =
	    rc == EXIT_OK && gens_may_select(&c.p) && !(c.p.o.rerun_failed && c.last_failed.n == 0);
	if (rc == EXIT_OK && !c.listing)
		rc = no_tests_check(&c.p, false);
	if (rc != EXIT_OK) {
		cache_close(&c.cache);
		lastfail_release(&c.last_failed);
		prepared_release(&c.p);
		return rc;
	}
	unsigned char rnd[8] = {0};
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		uint64_t t = util_now_ns() ^ (uint64_t)getpid();
		memcpy(rnd, &t, sizeof(rnd));
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(c.run_id + 2 * i, 3, "%02x", rnd[i]);
	suite_rel(c.p.o.suite, c.suite_file, sizeof(c.suite_file));

	rc = run_body(&c);

	/* teardown, in reverse order of acquisition */
	sched_destroy(c.sc);
	reporter_set_destroy(&c.rep);
	backend_destroy(c.be);
	if (c.cache_lock >= 0)
		close(c.cache_lock);
	cache_close(&c.cache);
	lastfail_release(&c.last_failed);
	suite_listed_release(c.listed, c.n_listed);
	free(c.listed);
	sb_release(&c.material);
	sb_release(&c.cache_why);
	if (c.run_dir[0])
		util_rm_rf(c.run_dir);
	runreg_finish(c.reg, stderr);
	prepared_release(&c.p);
	return rc;
}
