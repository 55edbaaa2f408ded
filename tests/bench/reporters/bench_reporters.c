/* bench_reporters: what the reporters cost per result, and what merging
 * shard reports costs. Prints a table; see tests/bench/README-reporters.md.
 *
 *   bench_reporters [TESTS]   (default 20000)
 *
 * Each test: one attempt; every 10th fails with 4 KiB of stdout and 1 KiB of
 * stderr carrying ANSI escapes; every 20th is flaky (a failed attempt, then
 * a pass). Output goes to /dev/null or to files under a temporary directory. */
#include "junit_merge.h"
#include "reporter_builtin.h"
#include "strbuf.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct load {
	unsigned tests;
	char out[4096], err[1024];
};

static void feed(struct reporter *r, const struct load *ld, unsigned first, unsigned count)
{
	static const struct result_artifact art = {.pattern = "*.log", .host_path = "/tmp/a/x.log"};
	char name[64];
	for (unsigned i = first; i < first + count; i++) {
		struct result_record rec = {0};
		snprintf(name, sizeof(name), "group-%u/test-%u", i / 100, i);
		rec.suite_name = "bench";
		rec.suite_file = "bench/suite.yaml";
		rec.line = 10 + i;
		rec.test_name = name;
		rec.index = i;
		rec.attempt = 1;
		rec.max_attempts = 2;
		rec.final = true;
		rec.status = RESULT_PASS;
		rec.message = "passed";
		rec.exited = true;
		rec.duration_ns = 1000000ull * (i % 97);
		rec.backend = "vm";
		rec.out.head = "ok\n";
		rec.out.head_len = 3;
		if (i % 20 == 5) {
			rec.final = false;
			rec.status = RESULT_FAIL;
			rec.fail_kind = FAIL_OUTPUT;
			rec.message = "stdout did not match";
			if (r->ops->test_started)
				r->ops->test_started(r, name, 1);
			r->ops->result(r, &rec);
			rec.final = true;
			rec.attempt = 2;
			rec.status = RESULT_FLAKY;
			rec.message = "passed on retry";
		} else if (i % 10 == 3) {
			rec.status = RESULT_FAIL;
			rec.fail_kind = FAIL_EXIT_CODE;
			rec.message = "exit status 1, expected 0";
			rec.exit_code = 1;
			rec.out.head = ld->out;
			rec.out.head_len = sizeof(ld->out);
			rec.err.head = ld->err;
			rec.err.head_len = sizeof(ld->err);
			rec.artifacts = &art;
			rec.n_artifacts = 1;
		}
		if (r->ops->test_started)
			r->ops->test_started(r, name, rec.attempt);
		r->ops->result(r, &rec);
	}
}

static struct run_summary summary_for(unsigned tests)
{
	struct run_summary s = {.total = tests, .wall_ns = 1000000000ull};
	s.failed = tests / 10;
	s.flaky = tests / 20;
	s.passed = tests - s.failed - s.flaky;
	return s;
}

static double run_one(struct reporter *r, const struct load *ld, unsigned first, unsigned count)
{
	struct run_info info = {.suite_name = "bench",
				.suite_file = "bench/suite.yaml",
				.backend = "vm",
				.hostname = "bench",
				.version = "bench",
				.planned = count,
				.start_wall_ns = util_wall_ns()};
	struct run_summary sum = summary_for(count);
	uint64_t t0 = util_now_ns();
	r->ops->begin(r, &info);
	feed(r, ld, first, count);
	r->ops->end(r, &sum);
	r->ops->destroy(r);
	return (double)(util_now_ns() - t0) / 1e6;
}

static long long file_size(const char *p)
{
	struct stat st;
	return stat(p, &st) ? -1 : (long long)st.st_size;
}

int main(int argc, char **argv)
{
	unsigned tests = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 20000;
	struct load *ld = calloc(1, sizeof(*ld));
	char dir[] = "/tmp/smol-bench-rep-XXXXXX";
	char path[256], sum_path[256], out_path[256];
	struct reporter *r;
	FILE *null = fopen("/dev/null", "w");

	if (!ld || !null || !mkdtemp(dir) || tests == 0) {
		fprintf(stderr, "bench_reporters: setup failed\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(ld->out); i++)
		ld->out[i] = i % 64 == 63 ? '\n' : (i % 64 == 0 ? '\x1b' : 'a' + (char)(i % 26));
	memset(ld->err, 'e', sizeof(ld->err));
	ld->err[sizeof(ld->err) - 1] = '\n';

	printf("%u tests (%u failing with 5 KiB of output, %u flaky)\n\n", tests, tests / 10,
	       tests / 20);
	printf("%-26s %10s %12s %12s\n", "reporter", "total ms", "us/test", "output bytes");

	struct console_opts co = {.slowest = 5, .tail_lines = 20};
	console_reporter_create(null, &co, &r);
	double ms = run_one(r, ld, 0, tests);
	printf("%-26s %10.1f %12.2f %12s\n", "console (plain)", ms, ms * 1000 / tests, "-");

	snprintf(path, sizeof(path), "%s/junit.xml", dir);
	junit_reporter_create(path, &r);
	ms = run_one(r, ld, 0, tests);
	printf("%-26s %10.1f %12.2f %12lld\n", "junit (atomic write)", ms, ms * 1000 / tests,
	       file_size(path));

	snprintf(path, sizeof(path), "%s/r.tap", dir);
	tap_reporter_create(path, 14, &r);
	ms = run_one(r, ld, 0, tests);
	printf("%-26s %10.1f %12.2f %12lld\n", "tap", ms, ms * 1000 / tests, file_size(path));

	snprintf(path, sizeof(path), "%s/r.jsonl", dir);
	jsonl_reporter_create(path, &r);
	ms = run_one(r, ld, 0, tests);
	printf("%-26s %10.1f %12.2f %12lld\n", "jsonl", ms, ms * 1000 / tests, file_size(path));

	snprintf(sum_path, sizeof(sum_path), "%s/summary.md", dir);
	snprintf(out_path, sizeof(out_path), "%s/output", dir);
	struct gha_opts go = {.out = null, .step_summary = sum_path, .output = out_path};
	gha_reporter_create(&go, &r);
	ms = run_one(r, ld, 0, tests);
	printf("%-26s %10.1f %12.2f %12lld\n", "github (summary bytes)", ms, ms * 1000 / tests,
	       file_size(sum_path));

	/* Merge: 8 shard reports of tests/8 each. */
	unsigned shards = 8, per = tests / shards;
	for (unsigned s = 0; s < shards; s++) {
		snprintf(path, sizeof(path), "%s/shard%u.xml", dir, s);
		junit_reporter_create(path, &r);
		run_one(r, ld, s * per, per);
	}
	struct junit_merge *m;
	struct strbuf err = {0};
	uint64_t t0 = util_now_ns();
	junit_merge_create(NULL, &m);
	for (unsigned s = 0; s < shards; s++) {
		snprintf(path, sizeof(path), "%s/shard%u.xml", dir, s);
		if (junit_merge_add_file(m, path, &err)) {
			fprintf(stderr, "bench_reporters: %s\n", sb_str(&err));
			return 1;
		}
	}
	snprintf(path, sizeof(path), "%s/all.xml", dir);
	junit_merge_write(m, path, &err);
	junit_merge_destroy(m);
	ms = (double)(util_now_ns() - t0) / 1e6;
	printf("%-26s %10.1f %12.2f %12lld\n", "report merge (8 shards)", ms, ms * 1000 / tests,
	       file_size(path));

	sb_release(&err);
	util_rm_rf(dir);
	fclose(null);
	free(ld);
	return 0;
}
