/* test_jsonl: JSON lines (one object per record plus begin/end), with
 * hostile output escaped so every line stays valid JSON. The integration
 * test parses the lines with a real JSON parser. */
#include "records.h"
#include "reporter_builtin.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void feed(void *ctx, const struct result_record *rec)
{
	struct reporter *r = ctx;
	ck_assert_int_eq(r->ops->result(r, rec), 0);
}

START_TEST(test_lines)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct reporter *r = NULL;
	unsigned lines = 0;

	ck_assert_int_eq(jsonl_reporter_create_stream(f, &r), 0);
	ck_assert_int_eq(r->ops->begin(r, &fx_info), 0);
	fx_replay(feed, r);
	ck_assert_int_eq(r->ops->end(r, &fx_summary), 0);
	r->ops->destroy(r);
	fclose(f);

	for (char *p = buf; *p; p = strchr(p, '\n') + 1) {
		ck_assert(!strncmp(p, "{\"event\":\"", 10));
		char *nl = strchr(p, '\n');
		ck_assert_ptr_nonnull(nl);
		ck_assert_int_eq(nl[-1], '}');
		lines++;
	}
	ck_assert_uint_eq(lines, 13); /* begin + 11 attempts + end */
	for (size_t i = 0; i < len; i++)
		ck_assert_msg((unsigned char)buf[i] >= 0x20 || buf[i] == '\n', "raw control at %zu",
			      i);
	ck_assert_ptr_nonnull(strstr(buf, "{\"event\":\"begin\",\"suite\":\"hello\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"stdout\":\"\\u001b[31mred\\u001b[0m text"));
	ck_assert_ptr_nonnull(strstr(buf, "NUL<\\u0000>"));
	ck_assert_ptr_nonnull(strstr(buf, "surrogate<\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd>"));
	ck_assert_ptr_nonnull(strstr(buf, "quote<\\\"'>"));
	ck_assert_ptr_nonnull(strstr(buf, "\"status\":\"flaky\",\"fail_kind\":null,\"attempt\":2"));
	ck_assert_ptr_nonnull(strstr(buf, "\"stdout_bytes\":5000,\"stdout_truncated\":true"));
	ck_assert_ptr_nonnull(strstr(buf,
				     "{\"event\":\"end\",\"total\":9,\"passed\":2,\"failed\":3,"
				     "\"errors\":1,\"timeouts\":1,\"skipped\":1,\"flaky\":1"));
	free(buf);
}
END_TEST

START_TEST(test_create_errors)
{
	struct reporter *r = NULL;
	ck_assert_int_eq(jsonl_reporter_create("", &r), -EINVAL);
	ck_assert_int_eq(jsonl_reporter_create("/nonexistent-dir/r.jsonl", &r), -ENOENT);
	ck_assert_int_eq(jsonl_reporter_create_stream(NULL, &r), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jsonl");
	TCase *tc = tcase_create("jsonl");
	tcase_add_test(tc, test_lines);
	tcase_add_test(tc, test_create_errors);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
