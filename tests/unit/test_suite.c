/* suite: YAML suite parsing, defaults, and every class of error reported
 * together with file:line:column. */
#include "suite/suite.h"
#include "suite/suite_lister.h"
#include "util.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct suite *parse_ok(const char *text)
{
	struct suite_diag d = {0};
	struct suite *s = NULL;
	int rc = suite_parse("t.yaml", "/src", text, strlen(text), &d, &s);
	ck_assert_msg(rc == 0, "unexpected errors: %s", sb_str(&d.text));
	ck_assert_ptr_nonnull(s);
	suite_diag_release(&d);
	return s;
}

/* Parses text that must fail; returns the diagnostics (caller frees). */
static char *parse_bad(const char *text, unsigned *count)
{
	struct suite_diag d = {0};
	struct suite *s = NULL;
	int rc = suite_parse("t.yaml", "/src", text, strlen(text), &d, &s);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_ptr_null(s);
	char *out = NULL;
	ck_assert_int_eq(sb_detach(&d.text, &out), 0);
	if (count)
		*count = d.count;
	return out;
}

/* text must fail with exactly count diagnostics, one of them holding want. */
static void bad_with(const char *text, unsigned count, const char *want)
{
	unsigned n = 0;
	char *d = parse_bad(text, &n);
	ck_assert_msg(n == count, "%u diagnostics, not %u: %s", n, count, d);
	ck_assert_msg(strstr(d, want), "'%s' not in: %s", want, d);
	free(d);
}

START_TEST(full_suite)
{
	struct suite *s =
	    parse_ok("name: proj\n"
		     "backend: sandbox\n"
		     "vm: { cpus: 2, memory: 512M }\n"
		     "sandbox: { rootfs: /, readonly: true }\n"
		     "shares: [ { host: ., guest: /src, readonly: true } ]\n"
		     "env: { CI: \"true\" }\n"
		     "setup:\n  - run: make -j2\n  - echo short\n"
		     "parallel: 4\ntimeout: 60s\nretries: 1\n"
		     "tests:\n"
		     "  - name: unit\n"
		     "    run: make test\n"
		     "    timeout: 2m\n"
		     "    expect: { exit: 0, stdout: \"/passed/i\", stderr_not: \"/ERROR/\" }\n"
		     "    artifacts: [ \"build/test-*.log\" ]\n"
		     "    tags: [fast]\n"
		     "    retries: 2\n"
		     "    env: { CI: \"false\", X: y }\n"
		     "  - name: lint\n"
		     "    run: [ ./lint.sh, --strict ]\n"
		     "    skip: reason\n");
	ck_assert_str_eq(s->name, "proj");
	ck_assert_int_eq(s->backend, SUITE_BACKEND_SANDBOX);
	ck_assert_uint_eq(s->vm.cpus, 2);
	ck_assert_uint_eq(s->vm.memory, 512ull << 20);
	ck_assert_uint_eq(s->n_shares, 1);
	ck_assert_str_eq(s->shares[0].host, "/src");
	ck_assert_str_eq(s->shares[0].guest, "/src");
	ck_assert(s->shares[0].readonly);
	ck_assert_uint_eq(s->n_setup, 2);
	ck_assert(s->setup[1].run.shell);
	ck_assert_str_eq(s->setup[1].run.argv[0], "echo short");
	ck_assert_uint_eq(s->parallel, 4);
	ck_assert_uint_eq(s->n_tests, 2);
	const struct suite_test *t = &s->tests[0];
	ck_assert_str_eq(t->name, "unit");
	ck_assert_uint_eq(t->line, 14);
	ck_assert_uint_eq(t->timeout_ns, 120 * NSEC_PER_SEC);
	ck_assert_uint_eq(t->retries, 2);
	ck_assert_str_eq(t->expect.stdout_match.pattern, "passed");
	ck_assert_ptr_null(t->expect.stdout_not.pattern);
	ck_assert_str_eq(t->expect.stderr_not.pattern, "ERROR");
	ck_assert_uint_eq(t->n_artifacts, 1);
	ck_assert_uint_eq(t->n_tags, 1);
	/* the suite env first, then the test's own (it wins later) */
	ck_assert_uint_eq(t->n_env, 3);
	ck_assert_str_eq(t->env[0], "CI=true");
	ck_assert_str_eq(t->env[1], "CI=false");
	const struct suite_test *l = &s->tests[1];
	ck_assert(!l->run.shell);
	ck_assert_uint_eq(l->run.argc, 2);
	ck_assert_str_eq(l->run.argv[1], "--strict");
	ck_assert_str_eq(l->skip, "reason");
	ck_assert_uint_eq(l->timeout_ns, 60 * NSEC_PER_SEC); /* suite default */
	ck_assert_uint_eq(l->retries, 1);
	suite_destroy(s);
}
END_TEST

START_TEST(defaults)
{
	struct suite *s = parse_ok("tests: [ { name: a, run: \"true\" } ]\n");
	ck_assert_str_eq(s->name, "t"); /* from the file name */
	ck_assert_int_eq(s->backend, SUITE_BACKEND_AUTO);
	ck_assert_str_eq(s->sandbox.rootfs, "/");
	ck_assert_str_eq(s->workdir, "/");
	ck_assert_uint_eq(s->parallel, 0);
	ck_assert_uint_eq(s->tests[0].timeout_ns, 60 * NSEC_PER_SEC);
	ck_assert_int_eq(s->tests[0].expect.exit, 0);
	ck_assert(s->cache_enabled);
	suite_destroy(s);
}
END_TEST

/* defaults: a test's own value replaces a default; tags and artifacts add to
 * the defaults'; env entries override the suite's and defaults' by name. */
START_TEST(test_defaults)
{
	struct suite *s = parse_ok("env: { A: suite, B: suite }\n"
				   "timeout: 30s\n"
				   "defaults:\n"
				   "  timeout: 5s\n"
				   "  retries: 2\n"
				   "  cwd: /build\n"
				   "  expect: { exit: 3, stderr_not: \"/ERROR/\" }\n"
				   "  tags: [ctest, slow]\n"
				   "  artifacts: [\"*.log\"]\n"
				   "  env: { B: defaults, C: defaults }\n"
				   "tests:\n"
				   "  - { name: plain, run: \"true\" }\n"
				   "  - name: own\n"
				   "    run: \"true\"\n"
				   "    timeout: 1m\n"
				   "    retries: 0\n"
				   "    cwd: /other\n"
				   "    expect: { exit: 0, stdout: ok, stderr_not: WARN }\n"
				   "    tags: [fast, ctest]\n"
				   "    artifacts: [out.xml]\n"
				   "    env: { C: test }\n");
	const struct suite_test *a = &s->tests[0], *b = &s->tests[1];
	ck_assert_uint_eq(a->timeout_ns, 5 * NSEC_PER_SEC);
	ck_assert_uint_eq(a->retries, 2);
	ck_assert_str_eq(a->cwd, "/build");
	ck_assert_int_eq(a->expect.exit, 3);
	ck_assert_str_eq(a->expect.stderr_not.pattern, "ERROR");
	ck_assert_uint_eq(a->expect.stderr_not.line, 7);
	ck_assert_ptr_null(a->expect.stdout_match.text);
	ck_assert_uint_eq(a->n_tags, 2);
	ck_assert_str_eq(a->tags[1], "slow");
	ck_assert_uint_eq(a->n_artifacts, 1);
	ck_assert_uint_eq(a->n_env, 4); /* A, B, B, C: later entries win */
	ck_assert_str_eq(a->env[2], "B=defaults");

	ck_assert_uint_eq(b->timeout_ns, 60 * NSEC_PER_SEC);
	ck_assert_uint_eq(b->retries, 0);
	ck_assert_str_eq(b->cwd, "/other");
	ck_assert_int_eq(b->expect.exit, 0);
	ck_assert_str_eq(b->expect.stdout_match.text, "ok");
	ck_assert_str_eq(b->expect.stderr_not.text, "WARN");
	ck_assert_uint_eq(b->n_tags, 3); /* ctest, slow, fast: no repeat */
	ck_assert_str_eq(b->tags[2], "fast");
	ck_assert_uint_eq(b->n_artifacts, 2);
	ck_assert_str_eq(b->env[b->n_env - 1], "C=test");
	suite_destroy(s);

	/* without defaults: the suite's timeout and retries */
	s = parse_ok("timeout: 7s\nretries: 1\ntests: [ { name: a, run: x } ]\n");
	ck_assert_uint_eq(s->tests[0].timeout_ns, 7 * NSEC_PER_SEC);
	ck_assert_uint_eq(s->tests[0].retries, 1);
	suite_destroy(s);

	/* a problem in defaults is reported once, at its line, as defaults.x */
	unsigned n = 0;
	char *d = parse_bad("defaults:\n  timeout: soon\n  name: x\n  cwd: rel\n"
			    "tests: [ { name: a, run: x }, { name: b, run: x } ]\n",
			    &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_ptr_nonnull(strstr(d, "t.yaml:2:12: defaults.timeout must be"));
	ck_assert_ptr_nonnull(strstr(d, "t.yaml:3:3: unknown key 'name' in defaults"));
	ck_assert_ptr_nonnull(strstr(d, "t.yaml:4:8: defaults.cwd must be an absolute"));
	free(d);
	bad_with("defaults: [x]\ntests: [ { name: a, run: x } ]\n", 1,
		 "defaults must be a mapping");
}
END_TEST

/* Anchors and aliases repeat values, and "<<: *name" merges a mapping; a
 * cycle, a billion laughs and deep nesting are one clear error each. */
START_TEST(aliases)
{
	struct suite *s = parse_ok("x-common: &common\n"
				   "  run: make check\n"
				   "  timeout: 9s\n"
				   "  tags: &tags [a, b]\n"
				   "tests:\n"
				   "  - { <<: *common, name: one }\n"
				   "  - { <<: *common, name: two, timeout: 1s, tags: *tags }\n"
				   "  - name: three\n"
				   "    <<: [ { run: first }, *common ]\n");
	ck_assert_uint_eq(s->n_tests, 3);
	ck_assert_str_eq(s->tests[0].run.argv[0], "make check");
	ck_assert_uint_eq(s->tests[0].timeout_ns, 9 * NSEC_PER_SEC);
	ck_assert_uint_eq(s->tests[1].timeout_ns, 1 * NSEC_PER_SEC);
	ck_assert_uint_eq(s->tests[1].n_tags, 2);
	ck_assert_str_eq(s->tests[2].run.argv[0], "first"); /* the earlier merge wins */
	ck_assert_uint_eq(s->tests[2].timeout_ns, 9 * NSEC_PER_SEC);
	suite_destroy(s);

	/* a problem in a value repeated by aliases is reported once */
	bad_with("x-t: &t { colour: red, timeout: soon }\n"
		 "tests:\n  - { <<: *t, name: a, run: x }\n  - { <<: *t, name: b, run: x }\n"
		 "  - { name: c, run: x, expect: &e { stdout: \"/[/\" } }\n"
		 "  - { name: d, run: x, expect: *e }\n",
		 3, "t.yaml:1:11: unknown key 'colour' in a test");
	/* a node that holds an alias to itself */
	bad_with("a: &x [1, *x]\ntests: *x\n", 1,
		 "t.yaml:1:4: this node contains an alias to itself");
	bad_with("tests:\n  - &t { name: a, run: x, <<: *t }\n", 1, "an alias to itself");

	/* billion laughs: 10^9 nodes from a few hundred bytes */
	struct strbuf b = {0};
	sb_append_str(&b, "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 10; i++)
		sb_printf(
		    &b, "l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n",
		    i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	sb_append_str(&b, "tests: [ { name: a, run: x, tags: *l9 } ]\n");
	bad_with(sb_str(&b), 1, "aliases expand this value to more than 1000");
	sb_release(&b);

	/* deep nesting */
	sb_append_str(&b, "x: ");
	for (int i = 0; i < 100; i++)
		sb_append_char(&b, '[');
	for (int i = 0; i < 100; i++)
		sb_append_char(&b, ']');
	sb_append_str(&b, "\ntests: [ { name: a, run: x } ]\n");
	bad_with(sb_str(&b), 1, "values nest deeper than 64 levels");
	sb_release(&b);

	/* a merge of something that is not a mapping; an unknown key merged in */
	const char *merges = "tests:\n  - { name: a, run: x, <<: 3 }\n"
			     "  - { name: b, run: x, <<: { colour: red } }\n";
	bad_with(merges, 2, "'<<' merges a mapping or a list of mappings");
	bad_with(merges, 2, "unknown key 'colour' in a test");
}
END_TEST

/* matrix: one test per combination, the first variable varying slowest,
 * {var} replaced in name, run, cwd and env; names stay unique. */
START_TEST(matrix)
{
	struct suite *s = parse_ok("tests:\n"
				   "  - name: first\n"
				   "    run: \"true\"\n"
				   "  - name: \"build-{cc}-{opt}\"\n"
				   "    matrix: { cc: [gcc, clang], opt: [O0, O2, Os] }\n"
				   "    run: \"make CC={cc} CFLAGS=-{opt} ${HOME} {other}\"\n"
				   "    cwd: /src/{cc}\n"
				   "    env: { CC: \"{cc}\" }\n"
				   "    tags: [m]\n"
				   "  - name: last\n"
				   "    run: [echo, \"{cc}\"]\n");
	ck_assert_uint_eq(s->n_tests, 8);
	static const char *const names[] = {
	    "first",	      "build-gcc-O0",	"build-gcc-O2",	  "build-gcc-Os",
	    "build-clang-O0", "build-clang-O2", "build-clang-Os", "last"};
	for (size_t i = 0; i < 8; i++)
		ck_assert_str_eq(s->tests[i].name, names[i]);
	const struct suite_test *t = &s->tests[5];
	ck_assert_str_eq(t->run.argv[0], "make CC=clang CFLAGS=-O2 ${HOME} {other}");
	ck_assert_str_eq(t->cwd, "/src/clang");
	ck_assert_str_eq(t->env[0], "CC=clang");
	ck_assert_str_eq(t->tags[0], "m");
	ck_assert_uint_eq(t->line, 4);
	ck_assert_str_eq(s->tests[7].run.argv[1], "{cc}"); /* only in its own test */
	suite_destroy(s);

	/* a variable missing from the name, a collision with another test, an
	 * empty list, a bad variable name, a name the values make invalid */
	bad_with("tests:\n  - { name: \"t-{a}\", run: x, matrix: { a: [1, 2], b: [3] } }\n", 1,
		 "t.yaml:2:13: matrix variable 'b' must appear in the name as {b}");
	bad_with("tests:\n  - { name: t-1, run: x }\n"
		 "  - { name: \"t-{a}\", run: x, matrix: { a: [0, 1] } }\n",
		 1, "t.yaml:3:13: duplicate test name 't-1' (first at line 2)");
	bad_with("tests:\n  - { name: \"t-{a}\", run: x, matrix: { a: [] } }\n", 1,
		 "matrix.a must be a non-empty list of values, not an empty list");
	bad_with("tests:\n  - { name: \"t-{a}\", run: x, matrix: { 1a: [x] } }\n", 1,
		 "matrix variable '1a' must be a name");
	bad_with("tests:\n  - { name: \"t-{a}\", run: x, matrix: { a: [\"../x\", y] } }\n", 1,
		 "test name 't-../x' (from the matrix) must not contain '..'");
	bad_with("tests:\n  - { name: \"t-{a}\", run: x, matrix: [a] }\n", 1,
		 "matrix must be a mapping");
	bad_with("tests:\n  - { name: \"t-{a}\", run: x, matrix: { a: [x, [y]] } }\n", 1,
		 "a matrix value must be a string");

	/* past the limit of tests: one error, fast */
	bad_with("x-v: &v [0,1,2,3,4,5,6,7,8,9]\n"
		 "tests:\n  - name: \"t{a}{b}{c}{d}{e}{f}\"\n    run: x\n"
		 "    matrix: { a: *v, b: *v, c: *v, d: *v, e: *v, f: *v }\n",
		 1, "this matrix makes more than 100000 tests");
	bad_with("x-v: &v [0,1,2,3,4,5,6,7,8,9]\n"
		 "tests:\n  - { name: other, run: x }\n  - name: \"t{a}{b}{c}{d}{e}\"\n    run: x\n"
		 "    matrix: { a: *v, b: *v, c: *v, d: *v, e: *v }\n",
		 1, "with this matrix the suite has more than 100000 tests");
	/* exactly the limit: 100 000 tests, unique names checked by sorting */
	s = parse_ok("x-v: &v [0,1,2,3,4,5,6,7,8,9]\n"
		     "tests:\n  - name: \"t{a}{b}{c}{d}{e}\"\n    run: x\n"
		     "    matrix: { a: *v, b: *v, c: *v, d: *v, e: *v }\n");
	ck_assert_uint_eq(s->n_tests, 100000);
	ck_assert_str_eq(s->tests[99999].name, "t99999");
	suite_destroy(s);
}
END_TEST

START_TEST(tidy_paths_and_suggestions)
{
	struct suite *s = parse_ok("shares:\n"
				   "  - { host: \"a/./b/../../c//d/\", guest: /x }\n"
				   "  - { host: ../../../.., guest: /y }\n"
				   "  - { host: m/../does-not-exist, guest: /z }\n"
				   "tests: [ { name: a, run: \"true\" } ]\n");
	ck_assert_str_eq(s->shares[0].host, "/src/c/d");
	ck_assert_str_eq(s->shares[1].host, "/");
	ck_assert_str_eq(s->shares[2].host, "/src/does-not-exist");
	suite_destroy(s);
	unsigned n = 0;
	char *d = parse_bad("tests:\n"
			    "  - { name: a, run: \"true\", timout: 3s, tgas: [x], zzzzzz: 1 }\n",
			    &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_ptr_nonnull(
	    strstr(d, "t.yaml:2:29: unknown key 'timout' in a test: did you mean 'timeout'?"));
	ck_assert_ptr_nonnull(strstr(d, "unknown key 'tgas' in a test: did you mean 'tags'?"));
	/* nothing close: the list of known keys instead */
	ck_assert_ptr_nonnull(strstr(d, "unknown key 'zzzzzz' in a test (known: name, run"));
	free(d);
}
END_TEST

START_TEST(all_errors_together)
{
	unsigned n = 0;
	char *d = parse_bad("name: x\n"
			    "bogus: 1\n"
			    "timeout: soon\n"
			    "parallel: -3\n"
			    "vm: { memory: lots }\n"
			    "tests:\n"
			    "  - name: a\n"
			    "    run: \"true\"\n"
			    "    expect: { stdout: \"/(unclosed/\" }\n"
			    "  - name: a\n"
			    "    run: \"true\"\n"
			    "  - name: b\n"
			    "    frobnicate: yes\n",
			    &n);
	ck_assert_uint_eq(n, 8);
	ck_assert_ptr_nonnull(strstr(d, "t.yaml:12:5: test 'b' needs run:"));
	ck_assert_ptr_nonnull(strstr(d, "t.yaml:2:1: unknown key 'bogus' in the suite"));
	ck_assert_ptr_nonnull(strstr(d, "t.yaml:3:10: timeout must be a positive duration"));
	ck_assert_ptr_nonnull(strstr(d, "t.yaml:4:11: parallel must be an integer"));
	ck_assert_ptr_nonnull(strstr(d, "t.yaml:5:15: vm.memory must be a size"));
	ck_assert_ptr_nonnull(strstr(d, "t.yaml:9:23: expect.stdout: invalid regular expression"));
	ck_assert_ptr_nonnull(strstr(d, "t.yaml:10:11: duplicate test name 'a' (first at line 7)"));
	ck_assert_ptr_nonnull(strstr(d, "t.yaml:13:5: unknown key 'frobnicate' in a test"));
	/* reported top to bottom, whatever order the checks ran in */
	ck_assert(strstr(d, "t.yaml:10:11:") < strstr(d, "t.yaml:12:5:"));
	ck_assert(strstr(d, "t.yaml:12:5:") < strstr(d, "t.yaml:13:5:"));
	ck_assert(!strncmp(d, "t.yaml:2:1:", 11));
	free(d);
}
END_TEST

START_TEST(wrong_types)
{
	unsigned n = 0;
	char *d = parse_bad("tests:\n"
			    "  - name: [a]\n"
			    "    run: { x: 1 }\n"
			    "    retries: many\n"
			    "    tags: [\"has space\"]\n"
			    "  - run: \"true\"\n"
			    "  - name: c\n"
			    "  - just a string\n",
			    &n);
	ck_assert_ptr_nonnull(strstr(d, "2:11: tests[].name must be a string, not a list"));
	ck_assert_ptr_nonnull(strstr(d, "3:10: tests[].run must be a string"));
	ck_assert_ptr_nonnull(strstr(d, "4:14: tests[].retries must be an integer"));
	ck_assert_ptr_nonnull(strstr(d, "tag 'has space'"));
	ck_assert_ptr_nonnull(strstr(d, "6:5: a test needs name:"));
	ck_assert_ptr_nonnull(strstr(d, "7:5: test 'c' needs run:"));
	ck_assert_ptr_nonnull(strstr(d, "8:5: a test must be a mapping, not a scalar"));
	free(d);
}
END_TEST

START_TEST(hostile_input)
{
	static const char *const bad[] = {
	    "",							 /* empty */
	    "tests: [\n",					 /* syntax */
	    "- a\n- b\n",					 /* top level not a mapping */
	    "tests: []\n",					 /* no tests */
	    "a: &x [1]\nb: *x\ntests: []\n",			 /* unknown key via an alias */
	    "tests: [ { name: \"a\\0b\", run: x } ]\n",		 /* NUL in a string */
	    "tests: [ { name: ../etc, run: x } ]\n",		 /* path-like name */
	    "tests: [ { name: ok, run: x } ]\n---\ntests: []\n", /* two documents */
	    "tests: [ { name: ok, run: [] } ]\n",		 /* empty argv */
	    "shares: [ { host: /a, guest: relative } ]\ntests: [ { name: a, run: x } ]\n",
	    "env: { \"1BAD\": x }\ntests: [ { name: a, run: x } ]\n",
	    "tests: [ { name: a, run: x, artifacts: [\"../../etc/passwd\"] } ]\n",
	    "tests: [ { name: a, run: x, expect: { exit: 256 } } ]\n",
	    "tests: [ { name: a, run: x, expect: { stdout: \"/x/q\" } } ]\n",
	    "name: x\nname: y\ntests: [ { name: a, run: x } ]\n", /* repeated key */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned n = 0;
		char *d = parse_bad(bad[i], &n);
		ck_assert_msg(n >= 1, "case %zu gave no diagnostics", i);
		ck_assert_msg(!strncmp(d, "t.yaml:", 7), "case %zu: '%s' lacks file:line", i, d);
		free(d);
	}
}
END_TEST

/* Values quoted in messages cannot break the one-line-per-problem format
 * or smuggle terminal escapes. */
START_TEST(diagnostics_are_one_line_each)
{
	unsigned n = 0;
	char *d = parse_bad("\"bad\\nkey\\e[31m\": 1\n"
			    "tests: [ { name: a, run: x } ]\n",
			    &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_null(strchr(d, '\n'));
	ck_assert_ptr_null(strchr(d, '\x1b'));
	ck_assert_ptr_nonnull(strstr(d, "unknown key 'bad\\nkey\\x1b[31m'"));
	free(d);
	char longkey[2000];
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	char text[2100];
	snprintf(text, sizeof(text), "%s: 1\ntests: [ { name: a, run: x } ]\n", longkey);
	d = parse_bad(text, &n);
	ck_assert_uint_lt(strlen(d), 500);
	free(d);
}
END_TEST

START_TEST(match_forms)
{
	struct suite *s = parse_ok("tests:\n"
				   "  - name: a\n"
				   "    run: x\n"
				   "    expect: { stdout: \"a.b\", stderr: \"/^x$/m\" }\n");
	const struct suite_match *lit = &s->tests[0].expect.stdout_match;
	ck_assert_str_eq(lit->pattern, "a.b");
	ck_assert_uint_ne(lit->options & 0x02000000u /* PCRE2_LITERAL */, 0);
	ck_assert_str_eq(s->tests[0].expect.stderr_match.pattern, "^x$");
	suite_destroy(s);
}
END_TEST

START_TEST(names)
{
	ck_assert_ptr_null(suite_name_problem("unit/test 1:x"));
	ck_assert_ptr_nonnull(suite_name_problem(""));
	ck_assert_ptr_nonnull(suite_name_problem("-x"));
	ck_assert_ptr_nonnull(suite_name_problem("a..b"));
	ck_assert_ptr_nonnull(suite_name_problem("a\nb"));
	ck_assert_ptr_nonnull(suite_name_problem("a*"));
	char buf[16];
	suite_name_to_path("unit/test 1:x", buf, sizeof(buf));
	ck_assert_str_eq(buf, "unit_test_1_x");
	suite_name_to_path("0123456789abcdefXYZ", buf, sizeof(buf));
	ck_assert_str_eq(buf, "0123456789abcde");
}
END_TEST

/* A setup step's cwd (issue 15): absolute, once, and said by line:col. */
START_TEST(setup_step_cwd)
{
	struct suite *s = parse_ok("setup:\n  - { run: make, cwd: /build }\n  - make check\n"
				   "tests: [ { name: t, run: \"true\" } ]\n");
	ck_assert_str_eq(s->setup[0].cwd, "/build");
	ck_assert_ptr_null(s->setup[1].cwd);
	suite_destroy(s);
	unsigned n;
	char *e = parse_bad("setup:\n  - { run: make, cwd: build }\n  - { cwd: /x }\n"
			    "  - { run: make, dir: /x }\n  - { run: make, cwd: [ /a ] }\n"
			    "tests: [ { name: t, run: \"true\" } ]\n",
			    &n);
	ck_assert_msg(strstr(e, "t.yaml:2:23: setup[].cwd must be an absolute path"), "%s", e);
	ck_assert_msg(strstr(e, "t.yaml:3:5: a setup step needs run:"), "%s", e);
	ck_assert_msg(strstr(e, "t.yaml:4:18: unknown key 'dir' in a setup step (known: run, cwd)"),
		      "%s", e);
	ck_assert_msg(strstr(e, "t.yaml:5:23: setup[].cwd"), "%s", e);
	ck_assert_uint_eq(n, 4);
	free(e);
}
END_TEST

START_TEST(load_missing_file)
{
	struct suite_diag d = {0};
	struct suite *s = NULL;
	ck_assert_int_eq(suite_load("/nonexistent/suite.yaml", &d, &s), -ENOENT);
	ck_assert_ptr_nonnull(strstr(sb_str(&d.text), "/nonexistent/suite.yaml: cannot read"));
	suite_diag_release(&d);
}
END_TEST

START_TEST(examples_validate)
{
	const char *src = getenv("SMOL_SOURCE_DIR");
	ck_assert_ptr_nonnull(src);
	static const char *const files[] = {"examples/hello.yaml",
					    "examples/quickstart.yaml",
					    "examples/self-test.yaml",
					    "examples/port/ctest/smoltest.yaml",
					    "examples/port/ctest/tests-from.yaml",
					    "examples/port/make/smoltest.yaml",
					    "examples/port/bats/smoltest.yaml",
					    "examples/port/pytest/smoltest.yaml"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", src, files[i]);
		struct suite_diag d = {0};
		struct suite *s = NULL;
		int rc = suite_load(p, &d, &s);
		ck_assert_msg(rc == 0, "%s: %s", files[i], sb_str(&d.text));
		suite_destroy(s);
		suite_diag_release(&d);
	}
}
END_TEST

/* ---- tests_from (suite_lister.c) ----------------------------------------- */

START_TEST(tests_from_parse)
{
	struct suite *s = parse_ok(
	    "defaults: { tags: [d] }\n"
	    "tests:\n"
	    "  - { name: first, run: \"true\" }\n"
	    "  - tests_from: ls /t\n"
	    "    run: \"sh /t/{name}\"\n"
	    "  - name: \"ct/{name}\"\n"
	    "    tests_from: { run: [ctest, -N], match: \"/^ *Test +#\\\\d+: (\\\\S+)$/\", "
	    "cwd: /build }\n"
	    "    run: \"ctest -R '^{name}$'\"\n"
	    "    env: { T: \"{name}\" }\n"
	    "    tags: [ctest]\n"
	    "  - { name: last, run: \"true\" }\n");
	ck_assert_uint_eq(s->n_tests, 2);
	ck_assert_uint_eq(s->n_gens, 2);
	ck_assert_str_eq(s->gens[0].tmpl.name, "{name}");
	ck_assert(s->gens[0].list.shell);
	ck_assert_str_eq(s->gens[0].list.argv[0], "ls /t");
	ck_assert_uint_eq(s->gens[0].list.line, 4);
	ck_assert_uint_eq(s->gens[0].at, 1);
	ck_assert_str_eq(s->gens[1].tmpl.name, "ct/{name}");
	ck_assert(!s->gens[1].list.shell);
	ck_assert_uint_eq(s->gens[1].list.argc, 2);
	ck_assert_str_eq(s->gens[1].list_cwd, "/build");
	ck_assert_ptr_nonnull(s->gens[1].match.pattern);
	ck_assert_uint_eq(s->gens[1].at, 1);
	ck_assert_uint_eq(s->gens[1].tmpl.n_tags, 2); /* defaults' d, then ctest */
	ck_assert_str_eq(s->tests[1].name, "last");
	suite_destroy(s);

	bad_with("tests:\n  - { name: fixed, tests_from: ls, run: x }\n", 1, "must hold {name}");
	bad_with("tests:\n  - { tests_from: ls, matrix: { a: [b] }, name: \"{name}-{a}\", run: x "
		 "}\n",
		 1, "matrix: or tests_from:, not both");
	bad_with("tests:\n  - { tests_from: { match: \"/x/\" }, run: x }\n", 1,
		 "tests_from needs run:");
	bad_with("tests:\n  - { tests_from: { run: ls, match: plain }, run: x }\n", 1,
		 "must be a regular expression written /re/flags");
	bad_with("tests:\n  - { tests_from: { run: ls, colour: x }, run: x }\n", 1,
		 "unknown key 'colour'");
	bad_with("tests:\n  - { tests_from: { run: ls, cwd: rel }, run: x }\n", 1,
		 "tests_from.cwd must be an absolute path");
	bad_with("tests:\n  - { tests_from: \"\", run: x }\n", 1, "tests_from is empty");
	bad_with("tests:\n  - { tests_from: ls }\n", 1, "needs run:");
	/* a suite of only a generator is a suite */
	s = parse_ok("tests: [ { tests_from: ls, run: \"echo {name}\" } ]\n");
	ck_assert_uint_eq(s->n_tests, 0);
	ck_assert_uint_eq(s->n_gens, 1);
	suite_destroy(s);
}
END_TEST

/* Parses out as the output of generator 0 (match: re, NULL for none). */
static int lister(const char *re, const char *out, size_t len, size_t max, struct suite_listed *l,
		  char *err, size_t errlen)
{
	char text[512];
	snprintf(text, sizeof(text),
		 "tests: [ { tests_from: { run: ls%s%s%s }, run: \"echo {name}\" } ]\n",
		 re ? ", match: \"" : "", re ? re : "", re ? "\"" : "");
	struct suite *s = parse_ok(text);
	int rc = suite_lister_parse(&s->gens[0], out, len, max, l, err, errlen);
	suite_destroy(s);
	return rc;
}

/* out must be refused with a reason holding want. */
static void lister_refuses(const char *re, const char *out, size_t len, size_t max,
			   const char *want)
{
	struct suite_listed l;
	char err[1024] = "";
	int rc = lister(re, out, len, max, &l, err, sizeof(err));
	ck_assert_msg(rc == -EINVAL, "accepted (%d): %.*s", rc, (int)(len > 80 ? 80 : len), out);
	ck_assert_msg(strstr(err, want), "'%s' not in: %s", want, err);
	ck_assert_msg(!strchr(err, '\n') && !strchr(err, '\r') && !strchr(err, '\033'),
		      "the reason is not one plain line: %s", err);
}

START_TEST(tests_from_output)
{
	struct suite_listed l;
	char err[1024];
	const char out[] = "  alpha\n\nbeta\t\n  \ngamma/x:y@1=2,3+4"; /* no final newline */
	ck_assert_int_eq(lister(NULL, out, strlen(out), 100, &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(l.names[0], "alpha");
	ck_assert_str_eq(l.names[1], "beta");
	ck_assert_str_eq(l.names[2], "gamma/x:y@1=2,3+4");
	ck_assert_uint_eq(l.lines[2], 5);
	suite_listed_release(&l, 1);

	/* ctest -N: the first group is the name; other lines are skipped */
	const char ct[] = "Test project /build\n  Test #1: add\n  Test #2: sub\n\nTotal Tests: 2\n";
	ck_assert_int_eq(
	    lister("/^ *Test +#\\\\d+: (.+)$/", ct, strlen(ct), 100, &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.names[1], "sub");
	ck_assert_uint_eq(l.lines[1], 3);
	suite_listed_release(&l, 1);
	/* without a group the whole match */
	const char py[] = "t.py::test_a\nt.py::test_b\n\n2 tests collected in 0.01s\n";
	ck_assert_int_eq(lister("/^\\\\S+::\\\\S+$/", py, strlen(py), 100, &l, err, sizeof(err)),
			 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.names[0], "t.py::test_a");
	suite_listed_release(&l, 1);
	/* no output: no tests (the run's "no tests selected" path) */
	ck_assert_int_eq(lister(NULL, "", 0, 100, &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.n, 0);
	suite_listed_release(&l, 1);

	/* hostile output: each refused naming its line */
	lister_refuses(NULL, "a\nb\na\n", 6, 100,
		       "line 3 of its output repeats the name 'a' of line 1");
	lister_refuses(NULL, "a\nb\r\n", 5, 100,
		       "line 2 of its output: the name 'b\\x0d' holds byte 0x0d");
	lister_refuses(NULL, "a\nb\0c\n", 6, 100, "line 2 of its output holds a NUL byte");
	lister_refuses(NULL, "ok\n\033[2J\n", 7, 100,
		       "line 2 of its output: the name '\\x1b[2J' holds byte 0x1b");
	lister_refuses(NULL, "x\n$(touch /tmp/pwned)\n", 22, 100,
		       "line 2 of its output: the name '$(touch /tmp/pwned)' holds '$'");
	lister_refuses(NULL, "a;rm -rf /\n", 11, 100, "holds ';'");
	lister_refuses(NULL, "a b\n", 4, 100, "holds byte 0x20");
	lister_refuses(NULL, "-rf\n", 4, 100, "starts with '-'");
	lister_refuses(NULL, "a/../b\n", 7, 100, "holds '..'");
	lister_refuses(NULL, "a\nb\nc\n", 6, 2, "more than 2 tests (line 3)");
	lister_refuses("/^(x*)/", "a\n", 2, 10,
		       "line 1 of its output: tests_from.match found an empty name");
	char big[SUITE_LISTED_MAX_LINE + 2];
	memset(big, 'a', sizeof(big));
	lister_refuses(NULL, big, sizeof(big), 10,
		       "line 1 of its output is longer than 4096 bytes");
	lister_refuses(NULL, big, 201, 10, "is longer than 200 bytes");

	/* every byte outside the listed-name alphabet is refused: no byte
	 * that a shell treats specially in any quoting gets into a command */
	const char *special = "|&;<>()$`\\\"' \t\n*?[]#~!{}^%";
	for (unsigned c = 1; c < 256; c++) {
		char name[4] = {'a', (char)c, 'b', 0};
		unsigned char bad;
		bool ok = !suite_listed_name_problem(name, &bad);
		ck_assert_msg(!ok || !strchr(special, (int)c), "byte 0x%02x is accepted", c);
		ck_assert_msg(ok || bad == c || c == '.', "byte 0x%02x: bad %u", c, bad);
	}
}
END_TEST

START_TEST(tests_from_many)
{
	/* 100 000 names are taken (the suite's limit); one more is refused */
	struct strbuf sb = {0};
	for (unsigned i = 0; i <= SUITE_MAX_TESTS; i++)
		ck_assert_int_eq(sb_printf(&sb, "t%u\n", i), 0);
	struct suite_listed l;
	char err[256];
	size_t all = sb.len, cut = all - strlen("t100000\n");
	ck_assert_int_eq(lister(NULL, sb.buf, cut, SUITE_MAX_TESTS, &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.n, SUITE_MAX_TESTS);
	suite_listed_release(&l, 1);
	lister_refuses(NULL, sb.buf, all, SUITE_MAX_TESTS, "more than 100000 tests (line 100001)");
	/* the same name repeated far apart */
	sb.len = cut;
	ck_assert_int_eq(sb_printf(&sb, "t5\n"), 0);
	lister_refuses(NULL, sb.buf, sb.len, SUITE_MAX_TESTS + 10,
		       "line 100001 of its output repeats the name 't5' of line 6");
	sb_release(&sb);
}
END_TEST

static struct suite_listed listed_of(const char *const *v, size_t n)
{
	struct suite_listed l = {0};
	l.names = calloc(n + 1, sizeof(*l.names));
	l.lines = calloc(n + 1, sizeof(*l.lines));
	for (size_t i = 0; i < n; i++) {
		l.names[i] = strdup(v[i]);
		l.lines[i] = (unsigned)(i + 1);
	}
	l.n = n;
	return l;
}

START_TEST(tests_from_expand)
{
	static const char text[] = "tests:\n"
				   "  - { name: first, run: \"true\" }\n"
				   "  - name: \"ct/{name}\"\n"
				   "    tests_from: ctest -N\n"
				   "    run: \"ctest -R '^{name}$'\"\n"
				   "    cwd: \"/b/{name}\"\n"
				   "    env: { T: \"{name}\" }\n"
				   "    tags: [ctest]\n"
				   "  - { name: last, run: [echo, \"{name}\"] }\n";
	struct suite *s = parse_ok(text);
	static const char *const two_names[] = {"add", "sub"};
	struct suite_listed l = listed_of(two_names, 2);
	char err[512];
	ck_assert_int_eq(suite_expand_listed(s, &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(s->n_gens, 0);
	ck_assert_uint_eq(s->n_tests, 4);
	ck_assert_str_eq(s->tests[0].name, "first");
	ck_assert_str_eq(s->tests[1].name, "ct/add");
	ck_assert_str_eq(s->tests[2].name, "ct/sub");
	ck_assert_str_eq(s->tests[3].name, "last");
	ck_assert_str_eq(s->tests[2].run.argv[0], "ctest -R '^sub$'");
	ck_assert_str_eq(s->tests[2].cwd, "/b/sub");
	ck_assert_str_eq(s->tests[2].env[0], "T=sub");
	ck_assert_str_eq(s->tests[2].tags[0], "ctest");
	ck_assert_uint_eq(s->tests[2].line, 3);
	ck_assert_str_eq(s->tests[3].run.argv[1], "{name}"); /* only a generator's */

	/* the entry's form reads back; hostile forms do not */
	suite_destroy(s);
	s = parse_ok(text);
	struct strbuf f = {0};
	ck_assert_int_eq(suite_listed_format(s, &l, &f), 0);
	struct suite_listed *back = NULL;
	ck_assert_int_eq(suite_listed_load(s, f.buf, f.len, &back, err, sizeof(err)), 0);
	ck_assert_uint_eq(back[0].n, 2);
	ck_assert_str_eq(back[0].names[1], "sub");
	ck_assert_uint_eq(back[0].lines[1], 2);
	suite_listed_release(back, 1);
	free(back);
	static const char *const bad[] = {
	    "",
	    "smoltest-listed 2\nfrom 4 0\n",
	    "smoltest-listed 1\n",
	    "smoltest-listed 1\nfrom 4 2\n1 a\n",
	    "smoltest-listed 1\nfrom 4 1\n1 a;b\n",
	    "smoltest-listed 1\nfrom 4 1\nx a\n",
	    "smoltest-listed 1\nfrom 4 2\n1 a\n2 a\n",
	    "smoltest-listed 1\nfrom 4 1\n1 a\nextra\n",
	    "smoltest-listed 1\nfrom 4 99999999999\n",
	    "smoltest-listed 1\nfrom 4 1\n1 $(touch /tmp/pwned)\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(suite_listed_load(s, bad[i], strlen(bad[i]), &back, err,
						sizeof(err)) == -EINVAL,
			      "accepted: %s", bad[i]);
		ck_assert_ptr_null(back);
		ck_assert(err[0]);
	}
	sb_release(&f);

	/* a made name another test has: both named, the suite unchanged */
	suite_listed_release(&l, 1);
	static const char *const clash[] = {"x", "add"};
	l = listed_of(clash, 2);
	suite_destroy(s);
	s = parse_ok("tests:\n  - { name: \"ct/add\", run: \"true\" }\n"
		     "  - { name: \"ct/{name}\", tests_from: ls, run: \"true\" }\n");
	ck_assert_int_eq(suite_expand_listed(s, &l, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "duplicate test name 'ct/add': the test at t.yaml:2 and line 2 "
				  "of the output of tests_from at t.yaml:3"),
		      "%s", err);
	ck_assert_uint_eq(s->n_gens, 1);
	ck_assert_uint_eq(s->n_tests, 1);
	/* two generators that list the same name */
	suite_destroy(s);
	s = parse_ok("tests:\n  - { tests_from: ls, run: \"true\" }\n"
		     "  - { tests_from: ls -a, run: \"true\" }\n");
	struct suite_listed two[2] = {listed_of(clash, 2), listed_of(clash + 1, 1)};
	ck_assert_int_eq(suite_expand_listed(s, two, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "line 2 of the output of tests_from at t.yaml:2 and line 1 of "
				  "the output of tests_from at t.yaml:3"),
		      "%s", err);
	suite_listed_release(two, 2);
	/* a made name past 200 bytes */
	suite_destroy(s);
	char longname[200];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	const char *const ln[] = {longname};
	two[0] = listed_of(ln, 1);
	s = parse_ok("tests: [ { name: \"prefix/{name}\", tests_from: ls, run: \"true\" } ]\n");
	ck_assert_int_eq(suite_expand_listed(s, two, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "made from line 1 of the output of tests_from is longer"), "%s",
		      err);
	suite_listed_release(two, 1);
	suite_listed_release(&l, 1);
	suite_destroy(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("suite");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, full_suite);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, aliases);
	tcase_add_test(tc, matrix);
	tcase_add_test(tc, all_errors_together);
	tcase_add_test(tc, wrong_types);
	tcase_add_test(tc, hostile_input);
	tcase_add_test(tc, match_forms);
	tcase_add_test(tc, diagnostics_are_one_line_each);
	tcase_add_test(tc, names);
	tcase_add_test(tc, setup_step_cwd);
	tcase_add_test(tc, load_missing_file);
	tcase_add_test(tc, examples_validate);
	tcase_add_test(tc, tidy_paths_and_suggestions);
	tcase_add_test(tc, tests_from_parse);
	tcase_add_test(tc, tests_from_output);
	tcase_add_test(tc, tests_from_many);
	tcase_add_test(tc, tests_from_expand);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
