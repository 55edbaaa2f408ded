/* records: the fixed run that the reporter golden tests replay.
 *
 * One suite with every status the runner produces, delivered in completion
 * order (not plan order), with hostile output: ANSI escapes, NUL, invalid
 * UTF-8, an encoded lone surrogate (ED A0 80), U+FFFE, "]]>", and a 100 KB
 * line. Everything is deterministic (fixed clock, host and version) so that
 * the reporters' output can be compared byte for byte with the goldens. */
#ifndef SMOL_TEST_GOLDEN_RECORDS_H
#define SMOL_TEST_GOLDEN_RECORDS_H

#include "reporter.h"

#include <stdlib.h>
#include <string.h>

#define FX_FILE	     "examples/hello.yaml"
#define FX_T0	     1795000000000000000ull /* 2026-11-18T... UTC */
#define FX_LONG_LINE 100000

static const char fx_hostile[] = "\x1b[31mred\x1b[0m text\x1b]0;title\x07 NUL<\0>"
				 " bad\xff\xfe utf8 surrogate<\xed\xa0\x80> nonchar<\xef\xbf\xbe>"
				 " cdata<]]>> amp<&> quote<\"'> bell\a\r\nsecond line\r\n"
				 "    indented third line\n";

static const struct run_info fx_info = {
    .suite_name = "hello",
    .suite_file = FX_FILE,
    .backend = "vm",
    .backend_note = NULL,
    .partition = "hash:1/2",
    .snapshot_id = "0123456789abcdef",
    .cache_hit = true,
    .hostname = "ci-host",
    .version = "0.1.0",
    .start_wall_ns = FX_T0,
    .planned = 9,
    .parallel = 4,
};

static const struct run_summary fx_summary = {
    .total = 9,
    .passed = 2,
    .failed = 3,
    .errors = 1,
    .timeouts = 1,
    .skipped = 1,
    .flaky = 1,
    .wall_ns = 4567891234ull,
};

static inline struct result_record fx_base(const char *name, unsigned index, unsigned line)
{
	struct result_record r;
	memset(&r, 0, sizeof(r));
	r.suite_name = "hello";
	r.suite_file = FX_FILE;
	r.test_name = name;
	r.index = index;
	r.line = line;
	r.attempt = 1;
	r.max_attempts = 1;
	r.final = true;
	r.status = RESULT_PASS;
	r.message = "passed";
	r.exited = true;
	r.start_wall_ns = FX_T0 + index * 1000000000ull;
	r.duration_ns = 123456789ull + index * 1000000ull;
	r.backend = "vm";
	return r;
}

/* Calls fn(ctx, record) for each record of the run in completion order. The
 * records and their buffers live only during the call, like the runner's. */
static inline void fx_replay(void (*fn)(void *ctx, const struct result_record *rec), void *ctx)
{
	struct result_record r;
	char *longline = malloc(FX_LONG_LINE + 2);
	memset(longline, 'x', FX_LONG_LINE);
	longline[FX_LONG_LINE] = '\n';
	longline[FX_LONG_LINE + 1] = '\0';

	static const struct result_artifact arts[] = {
	    {.pattern = "out/*.txt", .host_path = "/tmp/art/exit code/out/report.txt"},
	    {.pattern = "core.*", .host_path = NULL, .missing = true},
	};

	r = fx_base("exit code", 1, 14);
	r.artifacts = arts;
	r.n_artifacts = 2;
	r.status = RESULT_FAIL;
	r.fail_kind = FAIL_EXIT_CODE;
	r.message = "exit status 3, expected 0";
	r.exit_code = 3;
	r.out.head = fx_hostile;
	r.out.head_len = sizeof(fx_hostile) - 1;
	r.err.head = longline;
	r.err.head_len = FX_LONG_LINE + 1;
	fn(ctx, &r);

	r = fx_base("boots", 0, 8);
	r.duration_ns = 2500000ull;
	fn(ctx, &r);

	r = fx_base("flaky", 6, 40);
	r.max_attempts = 3;
	r.final = false;
	r.status = RESULT_FAIL;
	r.fail_kind = FAIL_OUTPUT;
	r.message = "stdout did not match /ready/";
	r.out.head = "not yet\n";
	r.out.head_len = 8;
	fn(ctx, &r);

	r = fx_base("output <mismatch> & \"quotes\"", 2, 20);
	r.status = RESULT_FAIL;
	r.fail_kind = FAIL_OUTPUT;
	r.message = "stdout did not contain \"hello, world\"\nsecond line of message";
	r.out.head = "hello, wor";
	r.out.head_len = 10;
	r.out.tail = "ld?\nend of output\n";
	r.out.tail_len = 18;
	r.out.total_bytes = 5000;
	r.out.truncated = true;
	fn(ctx, &r);

	r = fx_base("slow # not a directive \\ backslash", 3, 26);
	r.status = RESULT_TIMEOUT;
	r.fail_kind = FAIL_TIMEOUT;
	r.message = "timed out after 2s";
	r.exited = false;
	r.signal = 9;
	r.duration_ns = 2000000000ull;
	fn(ctx, &r);

	r = fx_base("flaky", 6, 40);
	r.attempt = 2;
	r.max_attempts = 3;
	r.status = RESULT_FLAKY;
	r.message = "passed on retry";
	fn(ctx, &r);

	r = fx_base("skipped", 5, 34);
	r.status = RESULT_SKIP;
	r.message = "skipped";
	r.skip_reason = "needs /dev/kvm # really";
	r.exited = false;
	r.duration_ns = 0;
	fn(ctx, &r);

	r = fx_base("\x1b[1magent lost\x1b[0m", 4, 30);
	r.status = RESULT_ERROR;
	r.message = "agent connection lost: VM exited with signal 11";
	r.exited = false;
	r.err.head = "vmm: KVM_EXIT_INTERNAL_ERROR\n";
	r.err.head_len = 29;
	fn(ctx, &r);

	r = fx_base("always fails", 7, 46);
	r.max_attempts = 2;
	r.final = false;
	r.status = RESULT_FAIL;
	r.fail_kind = FAIL_EXIT_CODE;
	r.message = "exit status 1, expected 0";
	r.exit_code = 1;
	fn(ctx, &r);
	r.attempt = 2;
	r.final = true;
	fn(ctx, &r);

	r = fx_base("passes", 8, 52);
	r.artifacts = arts;
	r.n_artifacts = 1;
	fn(ctx, &r);

	free(longline);
}

#endif
