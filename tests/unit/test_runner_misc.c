/* The runner's smaller modules: bounded output (outbuf), expectations
 * (expect), artifact collection output (artifacts), the snapshot cache
 * (cache), command-line options (run_opts) and test environments (the
 * backends: test_vm_backend.c). */
#include "backend/backend.h"
#include "cache/cache.h"
#include "cmd/run_opts.h"
#include "sched/artifacts.h"
#include "sched/outbuf.h"
#include "sched/scheduler.h"
#include "suite/expect.h"
#include "util.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

START_TEST(outbuf_head_and_tail)
{
	struct outbuf ob;
	struct result_output ro;
	ck_assert_int_eq(outbuf_init(&ob, 8, 4), 0);
	outbuf_append(&ob, "0123", 4);
	outbuf_view(&ob, &ro);
	ck_assert_uint_eq(ro.head_len, 4);
	ck_assert_ptr_null(ro.tail);
	ck_assert(!ro.truncated);
	outbuf_append(&ob, "456789ab", 8); /* head full at 8, tail gets "89ab" */
	outbuf_view(&ob, &ro);
	ck_assert_int_eq(memcmp(ro.head, "01234567", 8), 0);
	ck_assert_uint_eq(ro.tail_len, 4);
	ck_assert_int_eq(memcmp(ro.tail, "89ab", 4), 0);
	ck_assert(!ro.truncated);
	outbuf_append(&ob, "cd", 2);
	outbuf_append(&ob, "e", 1);
	outbuf_view(&ob, &ro);
	ck_assert_int_eq(memcmp(ro.tail, "bcde", 4), 0);
	ck_assert(ro.truncated);
	ck_assert_uint_eq(ro.total_bytes, 15);
	/* a huge write keeps only its end, NULs and all */
	char big[100];
	memset(big, 0, sizeof(big));
	big[99] = 'Z';
	outbuf_append(&ob, big, sizeof(big));
	outbuf_view(&ob, &ro);
	ck_assert_uint_eq(ro.tail_len, 4);
	ck_assert_int_eq(ro.tail[3], 'Z');
	ck_assert_uint_eq(ro.total_bytes, 115);
	outbuf_release(&ob);
	outbuf_release(&ob); /* idempotent */
}
END_TEST

static struct suite_match mk_match(const char *pattern, uint32_t options)
{
	struct suite_match m = {0};
	m.text = (char *)pattern;
	m.pattern = (char *)pattern;
	m.options = options;
	return m;
}

START_TEST(expect_classify)
{
	struct suite_expect e = {0};
	struct result_output out = {.head = "all 3 passed\n", .head_len = 13};
	struct result_output err = {.head = "\xff\xfe bad utf8 ERROR\n", .head_len = 18};
	struct expect_outcome o = {.exited = true, .exit_code = 0};
	enum result_status st;
	enum result_fail_kind fk;
	char msg[256];
	ck_assert_int_eq(expect_check(&e, &o, &out, &err, &st, &fk, msg, sizeof(msg)), 0);
	ck_assert_int_eq(st, RESULT_PASS);
	e.stdout_match =
	    mk_match("^all \\d+ passed$", PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_MULTILINE);
	e.stderr_not = mk_match("ERROR", PCRE2_UTF | PCRE2_MATCH_INVALID_UTF);
	ck_assert_int_eq(expect_check(&e, &o, &out, &err, &st, &fk, msg, sizeof(msg)), 0);
	ck_assert_int_eq(st, RESULT_FAIL);
	ck_assert_int_eq(fk, FAIL_OUTPUT);
	ck_assert_ptr_nonnull(strstr(msg, "stderr matches forbidden ERROR"));
	e.stderr_not = mk_match("WARN", PCRE2_LITERAL);
	ck_assert_int_eq(expect_check(&e, &o, &out, &err, &st, &fk, msg, sizeof(msg)), 0);
	ck_assert_int_eq(st, RESULT_PASS);
	o.exit_code = 2;
	ck_assert_int_eq(expect_check(&e, &o, &out, &err, &st, &fk, msg, sizeof(msg)), 0);
	ck_assert_int_eq(fk, FAIL_EXIT_CODE);
	ck_assert_str_eq(msg, "exit status 2, expected 0");
	/* two reasons: both said, the exit status first and its kind kept */
	struct suite_match keep = e.stdout_match;
	e.stdout_match = mk_match("never", PCRE2_LITERAL);
	ck_assert_int_eq(expect_check(&e, &o, &out, &err, &st, &fk, msg, sizeof(msg)), 0);
	ck_assert_int_eq(st, RESULT_FAIL);
	ck_assert_int_eq(fk, FAIL_EXIT_CODE);
	ck_assert_str_eq(msg, "exit status 2, expected 0; stdout does not match never");
	/* a message buffer too small for both is cut, still terminated */
	char small[30];
	ck_assert_int_eq(expect_check(&e, &o, &out, &err, &st, &fk, small, sizeof(small)), 0);
	ck_assert_str_eq(small, "exit status 2, expected 0; st");
	e.stdout_match = keep;
	o.exited = false;
	o.signal = 9;
	ck_assert_int_eq(expect_check(&e, &o, &out, &err, &st, &fk, msg, sizeof(msg)), 0);
	ck_assert_int_eq(st, RESULT_FAIL);
	ck_assert_ptr_nonnull(strstr(msg, "signal 9"));
	o.timed_out = true;
	ck_assert_int_eq(expect_check(&e, &o, &out, &err, &st, &fk, msg, sizeof(msg)), 0);
	ck_assert_int_eq(st, RESULT_TIMEOUT);
	ck_assert_int_eq(fk, FAIL_TIMEOUT);
}
END_TEST

START_TEST(expect_across_head_and_tail)
{
	/* not truncated: a match straddling head and tail is found */
	struct result_output o = {.head = "abc", .head_len = 3, .tail = "def", .tail_len = 3};
	struct suite_match m = mk_match("cd", PCRE2_LITERAL);
	bool hit;
	ck_assert_int_eq(expect_match(&m, &o, &hit), 0);
	ck_assert(hit);
	o.truncated = true; /* a dropped middle: no straddling match */
	ck_assert_int_eq(expect_match(&m, &o, &hit), 0);
	ck_assert(!hit);
}
END_TEST

START_TEST(artifacts_output)
{
	char *globs[] = {"out/*.txt", "test.log", "missing-*.xml", NULL};
	struct artifacts_result r;
	const char *out = "F\tout/*.txt\tout/a.txt\n"
			  "F\tout/*.txt\t./out/b.txt\n"
			  "garbage line\n"
			  "F\tnot-a-glob\tx\n"	       /* unknown glob: ignored */
			  "F\ttest.log\t../../etc/x\n" /* '..': ignored */
			  "M\tmissing-*.xml\n";
	ck_assert_int_eq(artifacts_parse(out, globs, 3, "/art/t", 0, &r), 0);
	ck_assert_uint_eq(r.n, 4);
	ck_assert_uint_eq(r.n_refused, 0);
	ck_assert_str_eq(r.items[0].host_path, "/art/t/out/a.txt");
	ck_assert_str_eq(r.items[1].host_path, "/art/t/out/b.txt");
	ck_assert_str_eq(r.items[2].pattern, "missing-*.xml");
	ck_assert(r.items[2].missing);
	/* test.log produced no valid line: reported missing */
	ck_assert_str_eq(r.items[3].pattern, "test.log");
	ck_assert(r.items[3].missing);
	ck_assert_uint_eq(r.n_missing, 2);
	artifacts_result_release(&r);
	char **argv = NULL;
	ck_assert_int_eq(artifacts_argv(globs, 3, "/work", 0, &argv), 0);
	ck_assert_str_eq(argv[0], "/bin/sh");
	ck_assert_str_eq(argv[4], "/work");
	ck_assert_str_eq(argv[5], "1048576"); /* artifacts_max's default, in KiB */
	ck_assert_str_eq(argv[8], "missing-*.xml");
	ck_assert_ptr_null(argv[9]);
	artifacts_argv_free(argv);
}
END_TEST

/* artifacts_max: the script's refusals ("B" lines, hostile: bad sizes,
 * control characters) and the host's own measure of the directory. */
START_TEST(artifacts_limit)
{
	char *globs[] = {"big.bin", "x*", NULL};
	struct artifacts_result r;
	char msg[512] = "";
	const char *out = "B\tbig.bin\t2048\tbig\033[2J.bin\n"
			  "B\tx*\t12a\txa\n"  /* size not a number: no message */
			  "B\tx*\t5\t../x\n"; /* '..': ignored */
	ck_assert_int_eq(artifacts_parse(out, globs, 2, "/art/t", 1024 * 1024, &r), 0);
	ck_assert_uint_eq(r.n_refused, 1);
	ck_assert_ptr_nonnull(strstr(r.refused, "artifact 'big?[2J.bin' (2048 KiB) not collected"));
	ck_assert_ptr_nonnull(strstr(r.refused, "artifacts_max (1024 KiB)"));
	/* a refused glob is not missing; the glob whose lines were bad is */
	ck_assert_uint_eq(r.n, 1);
	ck_assert_str_eq(r.items[0].pattern, "x*");
	artifacts_result_release(&r);

	/* the host measures what the share holds, whatever the script said */
	char dir[] = "/tmp/smol-art-XXXXXX", path[64];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/sub/f", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	static const char kib[1024] = {1};
	for (int i = 0; i < 64; i++)
		ck_assert_uint_eq(fwrite(kib, 1, sizeof(kib), f), sizeof(kib));
	fclose(f);
	snprintf(path, sizeof(path), "%s/loop", dir);
	ck_assert_int_eq(symlink(".", path), 0); /* not followed */
	uint64_t used = 0;
	ck_assert_int_eq(artifacts_dir_usage(dir, &used), 0);
	ck_assert_uint_ge(used, 64 * 1024);
	ck_assert_uint_lt(used, 1024 * 1024);
	const char *ok = "F\tx*\tsub/f\n";
	ck_assert_int_eq(artifacts_finish(ok, globs + 1, 1, dir, 1024 * 1024, &r, msg, sizeof(msg)),
			 0);
	ck_assert_str_eq(msg, "");
	ck_assert_uint_eq(r.n_missing, 0);
	artifacts_result_release(&r);
	ck_assert_int_eq(artifacts_finish(ok, globs + 1, 1, dir, 16 * 1024, &r, msg, sizeof(msg)),
			 0);
	ck_assert_ptr_nonnull(strstr(msg, "artifacts removed"));
	ck_assert_ptr_nonnull(strstr(msg, "over artifacts_max (16 KiB)"));
	ck_assert_uint_eq(r.n, 0);
	ck_assert_uint_eq(r.n_missing, 0);
	artifacts_result_release(&r);
	ck_assert_int_eq(access(dir, F_OK), -1);
	ck_assert_int_eq(artifacts_dir_usage(dir, &used), 0); /* gone: 0 bytes */
	ck_assert_uint_eq(used, 0);
}
END_TEST

/* The cache round trip: stage, commit, lookup hit, ls, busy rm, prune. */
static int count_entries(void *ctx, const struct cache_entry_info *e)
{
	(*(unsigned *)ctx)++;
	ck_assert_str_eq(e->suite, "s1");
	return 0;
}

START_TEST(cache_roundtrip)
{
	char dir[] = "/tmp/smoltest-cache-test.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	struct cache c;
	ck_assert_int_eq(cache_open(dir, NULL, &c), 0);
	struct strbuf m = {0};
	sb_append_str(&m, "material");
	char key[CACHE_KEY_HEX + 1], key2[CACHE_KEY_HEX + 1];
	cache_key_hash(&m, key);
	sb_append_str(&m, "!");
	cache_key_hash(&m, key2);
	sb_release(&m);
	ck_assert_uint_eq(strlen(key), CACHE_KEY_HEX);
	ck_assert_str_ne(key, key2);

	bool hit = true;
	char path[1024], staging[1024], final[1024];
	int lock = -1;
	ck_assert_int_eq(cache_lookup(&c, key, &hit, path, sizeof(path), &lock), 0);
	ck_assert(!hit);
	ck_assert_int_eq(cache_stage(&c, key, staging, sizeof(staging)), 0);
	char f[1100];
	snprintf(f, sizeof(f), "%s/upper", staging);
	ck_assert_int_eq(mkdir(f, 0700), 0);
	struct strbuf km = {0};
	sb_append_str(&km, "material\n");
	ck_assert_int_eq(cache_commit(&c, key, staging, "suite s1\nbackend sandbox\ncreated 1\n",
				      &km, final, sizeof(final)),
			 0);
	ck_assert_str_eq(final, path);
	/* a second builder of the same key loses the race gracefully */
	ck_assert_int_eq(cache_stage(&c, key, staging, sizeof(staging)), 0);
	ck_assert_int_eq(cache_commit(&c, key, staging, "suite s1\n", &km, final, sizeof(final)),
			 0);
	sb_release(&km);
	ck_assert_int_ne(access(staging, F_OK), 0);
	close(lock);
	ck_assert_int_eq(cache_lookup(&c, key, &hit, path, sizeof(path), &lock), 0);
	ck_assert(hit);
	unsigned n = 0;
	ck_assert_int_eq(cache_list(&c, count_entries, &n), 0);
	ck_assert_uint_eq(n, 1);
	/* in use (shared lock held): rm refuses, prune keeps it */
	ck_assert_int_eq(cache_remove(&c, key), -EBUSY);
	unsigned removed, busy;
	ck_assert_int_eq(cache_prune(&c, 0, &removed, &busy), 0);
	ck_assert_uint_eq(removed, 0);
	ck_assert_uint_eq(busy, 1);
	close(lock);
	ck_assert_int_eq(cache_prune(&c, 3600, &removed, &busy), 0);
	ck_assert_uint_eq(removed, 0); /* just used */
	ck_assert_int_eq(cache_prune(&c, 0, &removed, &busy), 0);
	ck_assert_uint_eq(removed, 1);
	ck_assert_int_eq(cache_remove(&c, key), -ENOENT);
	ck_assert_int_eq(cache_remove(&c, "../../etc"), -EINVAL);
	ck_assert_int_eq(cache_lookup(&c, "zz", &hit, path, sizeof(path), &lock), -EINVAL);
	cache_close(&c);
	ck_assert_int_eq(util_rm_rf(dir), 0);
	ck_assert_int_eq(cache_open(NULL, NULL, &c), -ENOENT);
	ck_assert_int_eq(cache_open("relative", NULL, &c), -ENOENT);
}
END_TEST

START_TEST(cache_key_inputs)
{
	struct suite s = {0};
	char *env[] = {"A=1", NULL};
	s.workdir = "/";
	s.env = env;
	s.n_env = 1;
	struct strbuf a = {0}, b = {0};
	ck_assert_int_eq(cache_key_material(&s, "sandbox", NULL, &a), 0);
	ck_assert_int_eq(cache_key_material(&s, "vm", NULL, &b), 0);
	char ka[CACHE_KEY_HEX + 1], kb[CACHE_KEY_HEX + 1];
	cache_key_hash(&a, ka);
	cache_key_hash(&b, kb);
	ck_assert_str_ne(ka, kb); /* the backend is part of the key */
	ck_assert_ptr_nonnull(strstr(sb_str(&a), "smoltest-cache-format 2"));
	sb_release(&a);
	sb_release(&b);
}
END_TEST

static int parse(char **argv, struct run_opts *o, char *err)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	return run_opts_parse(argc, argv, o, err, 256);
}

START_TEST(options)
{
	struct run_opts o;
	char err[256];
	char *ok[] = {"run",	   "-j",      "3",	     "suite.yaml",    "--filter",
		      "^a",	   "--tags",  "fast",	     "--partition",   "hash:1/2",
		      "--retries", "2",	      "--fail-fast", "--timeout",     "90s",
		      "--backend", "sandbox", "--artifacts", "out",	      "--junit",
		      "j.xml",	   "--tap",   "-",	     "--tap-version", "13",
		      "--json",	   "r.jsonl", "--github",    "--no-cache",    "-q",
		      NULL};
	ck_assert_int_eq(parse(ok, &o, err), 0);
	ck_assert_str_eq(o.suite, "suite.yaml");
	ck_assert_uint_eq(o.parallel, 3);
	ck_assert_int_eq(o.retries, 2);
	ck_assert(o.fail_fast);
	ck_assert_uint_eq(o.timeout_ns, 90 * NSEC_PER_SEC);
	ck_assert_int_eq(o.backend, SUITE_BACKEND_SANDBOX);
	ck_assert_uint_eq(o.tap_version, 13);
	ck_assert_int_eq(o.partition.kind, SEL_PART_HASH);
	ck_assert_int_eq(o.verbosity, -1);
	ck_assert(o.no_cache && o.github);
	char *kg[] = {"run", "--fail-fast", "--keep-going", "s.yaml", NULL};
	ck_assert_int_eq(parse(kg, &o, err), 0);
	ck_assert(!o.fail_fast);
	char *help[] = {"run", "--help", NULL};
	ck_assert_int_eq(parse(help, &o, err), 1);
	char *bad[][4] = {
	    {"run", NULL},
	    {"run", "a.yaml", "b.yaml", NULL},
	    {"run", "-j", "0", NULL},
	    {"run", "--timeout", "0s", NULL},
	    {"run", "--backend", "qemu", NULL},
	    {"run", "--tap-version", "12", NULL},
	    {"run", "--partition", "hash:3/2", NULL},
	    {"run", "--bogus", "s.yaml", NULL},
	    {"run", "s.yaml", "--junit", NULL},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i], &o, err) == -EINVAL, "case %zu", i);
	ck_assert_ptr_nonnull(strstr(err, "needs a value"));
	char *typo[] = {"run", "--fitler=x", "s.yaml", NULL};
	ck_assert_int_eq(parse(typo, &o, err), -EINVAL);
	ck_assert_str_eq(err, "unknown option '--fitler=x': did you mean '--filter'?");
	char *far[] = {"run", "--zzzzzzzz", "s.yaml", NULL};
	ck_assert_int_eq(parse(far, &o, err), -EINVAL);
	ck_assert_str_eq(err, "unknown option '--zzzzzzzz' (see smoltest run --help)");
	/* --timeout-multiplier, else SMOLTEST_TIMEOUT_MULTIPLIER (meson's model) */
	char *mult[] = {"run", "--timeout-multiplier", "2.5", "s.yaml", NULL};
	setenv("SMOLTEST_TIMEOUT_MULTIPLIER", "4", 1);
	ck_assert_int_eq(parse(mult, &o, err), 0);
	ck_assert(o.timeout_multiplier == 2.5);
	ck_assert_int_eq(parse(kg, &o, err), 0);
	ck_assert(o.timeout_multiplier == 4);
	const char *bad_mult[] = {"0", "0.05", "101", "x", "-2", "3s", "nan", "inf", ""};
	for (size_t i = 0; i < sizeof(bad_mult) / sizeof(bad_mult[0]); i++) {
		char *m[] = {"run", "--timeout-multiplier", (char *)bad_mult[i], "s.yaml", NULL};
		ck_assert_msg(parse(m, &o, err) == -EINVAL, "'%s'", bad_mult[i]);
		ck_assert_ptr_nonnull(strstr(err, "--timeout-multiplier"));
	}
	setenv("SMOLTEST_TIMEOUT_MULTIPLIER", "slow", 1);
	ck_assert_int_eq(parse(kg, &o, err), -EINVAL);
	ck_assert_str_eq(err, "SMOLTEST_TIMEOUT_MULTIPLIER='slow': give a number from 0.1 to 100, "
			      "such as 3 or 1.5");
	unsetenv("SMOLTEST_TIMEOUT_MULTIPLIER");
	ck_assert_int_eq(parse(kg, &o, err), 0);
	ck_assert(o.timeout_multiplier == 0);
	char *allow[] = {"run", "--allow-no-tests", "s.yaml", NULL};
	ck_assert_int_eq(parse(allow, &o, err), 0);
	ck_assert(o.allow_no_tests);
	/* --failure-output tail:N|full (nextest's model), --rerun-failed */
	char *tail[] = {"run", "--failure-output", "tail:7", "--rerun-failed", "s.yaml", NULL};
	ck_assert_int_eq(parse(tail, &o, err), 0);
	ck_assert_uint_eq(o.failure_lines, 7);
	ck_assert(!o.failure_full && o.rerun_failed);
	char *full[] = {"run", "--failure-output=tail:7", "--failure-output=full", "s.yaml", NULL};
	ck_assert_int_eq(parse(full, &o, err), 0);
	ck_assert(o.failure_full && !o.failure_lines && !o.rerun_failed);
	const char *bad_fo[] = {"tail:", "tail:0", "tail:-1", "tail:x", "all", "TAIL:3", "full2"};
	for (size_t i = 0; i < sizeof(bad_fo) / sizeof(bad_fo[0]); i++) {
		char *v[] = {"run", "--failure-output", (char *)bad_fo[i], "s.yaml", NULL};
		ck_assert_msg(parse(v, &o, err) == -EINVAL, "%s", bad_fo[i]);
		ck_assert_ptr_nonnull(strstr(err, "give tail:N"));
	}
}
END_TEST

START_TEST(test_env)
{
	struct suite_test t = {0};
	char *env[] = {"CI=true", "PATH=/opt/bin", "CI=false", NULL};
	t.name = "unit";
	t.env = env;
	t.n_env = 3;
	char **out = NULL;
	ck_assert_int_eq(sched_build_env(NULL, &t, 2, "abc", "sandbox", &out), 0);
	size_t n = 0;
	bool ci = false, path = false, attempt = false;
	for (; out[n]; n++) {
		ci |= !strcmp(out[n], "CI=false");
		ck_assert_str_ne(out[n], "CI=true"); /* later entries win */
		path |= !strcmp(out[n], "PATH=/opt/bin");
		attempt |= !strcmp(out[n], "SMOLTEST_ATTEMPT=2");
	}
	ck_assert(ci && path && attempt);
	sched_env_free(out);

	/* setup steps and listers (no test) get the suite's entries */
	struct suite su = {0};
	char *senv[] = {"FOO=bar", "PATH=/opt/suite/bin", NULL};
	su.env = senv;
	su.n_env = 2;
	ck_assert_int_eq(sched_build_env(&su, NULL, 1, "abc", "sandbox", &out), 0);
	bool foo = false, spath = false, test = false;
	for (n = 0; out[n]; n++) {
		foo |= !strcmp(out[n], "FOO=bar");
		spath |= !strcmp(out[n], "PATH=/opt/suite/bin");
		test |= !strncmp(out[n], "SMOLTEST_TEST=", 14);
	}
	ck_assert(foo && spath && !test);
	sched_env_free(out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("runner_misc");
	TCase *tc = tcase_create("misc");
	tcase_add_test(tc, outbuf_head_and_tail);
	tcase_add_test(tc, expect_classify);
	tcase_add_test(tc, expect_across_head_and_tail);
	tcase_add_test(tc, artifacts_output);
	tcase_add_test(tc, artifacts_limit);
	tcase_add_test(tc, cache_roundtrip);
	tcase_add_test(tc, cache_key_inputs);
	tcase_add_test(tc, options);
	tcase_add_test(tc, test_env);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
