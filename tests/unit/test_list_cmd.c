/* list_cmd: what `smoltest list` and `validate` accept (run_opts: they
 * refuse the options of run they would ignore) and list --json's objects
 * (list_json), hostile strings from the suite included. */
#include "cmd/list_json.h"
#include "cmd/run_opts.h"
#include "suite/suite.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <string.h>

static int parse(char **argv, struct run_opts *o, char *err)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	return run_opts_parse(argc, argv, o, err, 256);
}

START_TEST(list_options)
{
	struct run_opts o;
	char err[256];
	char *ok[] = {"list",	     "s.yaml",	  "--filter", "^a", "--tags", "fast",
		      "--partition", "count:1/2", "--json",   "-v", NULL};
	ck_assert_int_eq(parse(ok, &o, err), 0);
	ck_assert_str_eq(o.suite, "s.yaml"); /* --json took no value */
	ck_assert_str_eq(o.json, "-");
	ck_assert_int_eq(o.verbosity, 1);
	char *before[] = {"list", "--json", "s.yaml", NULL};
	ck_assert_int_eq(parse(before, &o, err), 0);
	ck_assert_str_eq(o.suite, "s.yaml");

	static const char *const refused[][3] = {
	    {"--junit", "j.xml", "--junit is an option of run"},
	    {"-j", "3", "-j (--parallel) is an option of run"},
	    {"--fail-fast", NULL, "--fail-fast is an option"},
	    {"--tap", "-", "--tap is an option"},
	    {"--retries", "2", "--retries is"},
	    {"--no-cache", NULL, "--no-cache is"},
	    {"-q", NULL, "-q (--quiet) is"},
	    {"--rerun-failed", NULL, "--rerun-failed is"},
	    {"--allow-no-tests", NULL, "--allow-no-tests is"},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char *v[] = {"list", "s.yaml", (char *)refused[i][0], (char *)refused[i][1], NULL};
		ck_assert_msg(parse(v, &o, err) == -EINVAL, "%s", refused[i][0]);
		ck_assert_msg(strstr(err, refused[i][2]) && strstr(err, "list takes --filter"),
			      "%s", err);
	}
	char *val[] = {"validate", "s.yaml", "--tags", "x", NULL};
	ck_assert_int_eq(parse(val, &o, err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "validate takes only the suite"));
	char *vhelp[] = {"validate", "--help", NULL};
	ck_assert_int_eq(parse(vhelp, &o, err), 1);
	/* run keeps --json FILE */
	char *run[] = {"run", "--json", "r.jsonl", "s.yaml", "-j", "2", NULL};
	ck_assert_int_eq(parse(run, &o, err), 0);
	ck_assert_str_eq(o.json, "r.jsonl");
	ck_assert_str_eq(o.suite, "s.yaml");
	char *jf[] = {"list", "s.yaml", "--json=out.jsonl", NULL};
	ck_assert_int_eq(parse(jf, &o, err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "list --json takes no file"));
	/* an unknown option is still answered as one */
	char *typo[] = {"list", "s.yaml", "--fitler", "x", NULL};
	ck_assert_int_eq(parse(typo, &o, err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "did you mean '--filter'"));
}
END_TEST

static struct suite *parse_suite(const char *text)
{
	struct suite_diag d = {0};
	struct suite *s = NULL;
	int rc = suite_parse("t.yaml", "/src", text, strlen(text), &d, &s);
	ck_assert_msg(rc == 0, "%s", sb_str(&d.text));
	suite_diag_release(&d);
	return s;
}

START_TEST(json_objects)
{
	struct suite *s = parse_suite(
	    "workdir: /w\n"
	    "env: { A: \"1\", B: \"2\" }\n"
	    "defaults: { tags: [d], timeout: 1.5s, retries: 1 }\n"
	    "tests:\n"
	    "  - { name: one, run: \"echo \\\"q\\\" \\\\ \\t\\u001b[31m\", tags: [x] }\n"
	    "  - name: two\n"
	    "    run: [ls, \"-l\"]\n"
	    "    cwd: /c\n"
	    "    env: { A: \"3\" }\n"
	    "    artifacts: [\"*.log\"]\n"
	    "    expect: { exit: 2, stdout: \"/ok/i\" }\n"
	    "  - { name: three, skip: \"not \\\"today\\\"\" }\n");
	struct strbuf b = {0};
	ck_assert_int_eq(list_json_test(&b, s, &s->tests[0]), 0);
	ck_assert_str_eq(sb_str(&b),
			 "{\"name\":\"one\",\"file\":\"t.yaml\",\"line\":5,\"column\":5,"
			 "\"tags\":[\"d\",\"x\"],\"skip\":null,"
			 "\"run\":\"echo \\\"q\\\" \\\\ \\t\\u001b[31m\",\"cwd\":\"/w\","
			 "\"timeout_ms\":1500,\"retries\":1,\"env\":{\"A\":\"1\",\"B\":\"2\"},"
			 "\"artifacts\":[],\"expect\":{\"exit\":0}}\n");
	sb_reset(&b);
	ck_assert_int_eq(list_json_test(&b, s, &s->tests[1]), 0);
	ck_assert_str_eq(
	    sb_str(&b),
	    "{\"name\":\"two\",\"file\":\"t.yaml\",\"line\":6,\"column\":5,"
	    "\"tags\":[\"d\"],\"skip\":null,\"run\":[\"ls\",\"-l\"],\"cwd\":\"/c\","
	    "\"timeout_ms\":1500,\"retries\":1,\"env\":{\"B\":\"2\",\"A\":\"3\"},"
	    "\"artifacts\":[\"*.log\"],\"expect\":{\"exit\":2,\"stdout\":\"/ok/i\"}}\n");
	sb_reset(&b);
	ck_assert_int_eq(list_json_test(&b, s, &s->tests[2]), 0);
	ck_assert_ptr_nonnull(strstr(sb_str(&b), "\"skip\":\"not \\\"today\\\"\",\"run\":null"));
	sb_release(&b);
	suite_destroy(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("list_cmd");
	TCase *tc = tcase_create("list");
	tcase_add_test(tc, list_options);
	tcase_add_test(tc, json_objects);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
