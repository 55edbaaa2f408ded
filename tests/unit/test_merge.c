/* test_merge: merging shard JUnit reports, and refusing hostile ones. */
#include "junit_merge.h"
#include "util.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <libxml/parser.h>
#include <stdlib.h>
#include <string.h>

static const char shard1[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<testsuites name=\"hello\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\" "
    "time=\"1.5\">\n"
    "  <testsuite name=\"hello\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\" "
    "time=\"1.500\""
    " timestamp=\"2026-11-18T11:06:41\">\n"
    "    <properties><property name=\"partition\" value=\"hash:1/2\"/></properties>\n"
    "    <testcase classname=\"hello\" name=\"a\" time=\"0.5\"/>\n"
    "    <testcase classname=\"hello\" name=\"b\" time=\"0.5\"><failure message=\"m\" "
    "type=\"output\">"
    "<![CDATA[x ]]]]><![CDATA[> y]]></failure></testcase>\n"
    "    <testcase classname=\"hello\" name=\"c\" time=\"0\"><skipped message=\"s\"/></testcase>\n"
    "  </testsuite>\n</testsuites>\n";

/* A bare <testsuite> root, lying counts (recomputed), a flaky test. */
static const char shard2[] =
    "<testsuite name=\"hello\" tests=\"99\" failures=\"0\" errors=\"0\" skipped=\"0\" time=\"2.25\""
    " timestamp=\"2026-11-18T11:06:40\">\n"
    "  <testcase classname=\"hello\" name=\"d\" time=\"1\"><error message=\"vm died\" "
    "type=\"infrastructure\"/></testcase>\n"
    "  <testcase classname=\"hello\" name=\"e\" time=\"1\"><flakyFailure message=\"m\" "
    "type=\"output\"/></testcase>\n"
    "</testsuite>\n";

static struct junit_merge *merged(void)
{
	struct junit_merge *m = NULL;
	struct strbuf err = {0};
	ck_assert_int_eq(junit_merge_create(NULL, &m), 0);
	ck_assert_int_eq(junit_merge_add_buffer(m, shard1, sizeof(shard1) - 1, "s1.xml", &err), 0);
	ck_assert_int_eq(junit_merge_add_buffer(m, shard2, sizeof(shard2) - 1, "s2.xml", &err), 0);
	sb_release(&err);
	return m;
}

START_TEST(test_counts_add_up)
{
	struct junit_merge *m = merged();
	struct junit_merge_counts k;
	struct strbuf xml = {0};

	junit_merge_counts(m, &k);
	ck_assert_uint_eq(k.suites, 2);
	ck_assert_uint_eq(k.tests, 5);
	ck_assert_uint_eq(k.failures, 1);
	ck_assert_uint_eq(k.errors, 1);
	ck_assert_uint_eq(k.skipped, 1);
	ck_assert_uint_eq(k.time_ns, 3750000000ull);
	ck_assert_int_eq(junit_merge_render(m, &xml), 0);
	const char *s = sb_str(&xml);
	ck_assert_ptr_nonnull(
	    strstr(s, "<testsuites name=\"hello\" tests=\"5\" failures=\"1\" errors=\"1\" "
		      "skipped=\"1\" time=\"3.750\" timestamp=\"2026-11-18T11:06:40\">"));
	/* The second shard's lying tests="99" is replaced by the real count. */
	ck_assert_ptr_nonnull(
	    strstr(s, "<testsuite name=\"hello\" tests=\"2\" failures=\"0\" errors=\"1\""));
	ck_assert_ptr_nonnull(strstr(s, "<flakyFailure"));
	ck_assert_ptr_nonnull(strstr(s, "x ]]&gt; y"));
	ck_assert_ptr_nonnull(strstr(s, "value=\"hash:1/2\""));
	/* Times are rewritten in this format's own form. */
	ck_assert_ptr_nonnull(strstr(s, "<testsuite name=\"hello\" tests=\"2\" failures=\"0\" "
					"errors=\"1\" skipped=\"0\" time=\"2.250\""));
	ck_assert_ptr_nonnull(strstr(s, "name=\"a\" time=\"0.500\""));
	xmlDocPtr doc = xmlReadMemory(s, (int)xml.len, "merged.xml", NULL, XML_PARSE_NONET);
	ck_assert_ptr_nonnull(doc);
	xmlFreeDoc(doc);
	sb_release(&xml);
	junit_merge_destroy(m);
}
END_TEST

static void expect_reject(const char *doc, int want_rc, const char *want_msg)
{
	struct junit_merge *m = NULL;
	struct junit_merge_counts k;
	struct strbuf err = {0};
	ck_assert_int_eq(junit_merge_create("all", &m), 0);
	ck_assert_int_eq(junit_merge_add_buffer(m, doc, strlen(doc), "evil.xml", &err), want_rc);
	ck_assert_msg(strstr(sb_str(&err), want_msg), "message was: %s", sb_str(&err));
	ck_assert_ptr_null(strchr(sb_str(&err), '\n'));
	ck_assert(util_starts_with(sb_str(&err), "evil.xml"));
	junit_merge_counts(m, &k);
	ck_assert_uint_eq(k.tests, 0);
	sb_release(&err);
	junit_merge_destroy(m);
}

START_TEST(test_rejects_hostile_input)
{
	expect_reject("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
		      "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
		      "<testsuites>&lol2;</testsuites>",
		      -EINVAL, "DOCTYPE");
	expect_reject("<!DOCTYPE t SYSTEM \"http://example.invalid/x.dtd\"><testsuites/>", -EINVAL,
		      "DOCTYPE");
	expect_reject("<testsuites><testsuite name=\"x\">&xxe;</testsuite></testsuites>", -EINVAL,
		      "not well-formed");
	expect_reject("<testsuites><testsuite name=\"x\"><testcase name=\"a\"></testsuite>",
		      -EINVAL, "evil.xml:1: not well-formed XML");
	expect_reject("", -EINVAL, "not well-formed");
	expect_reject("<html><body/></html>", -EINVAL, "root element is <html>");
	/* Quoted input is cut and sanitised: still one short line. */
	expect_reject(
	    "<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "/>",
	    -EINVAL,
	    "<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa>, expected");
	/* An encoding declaration is honoured, not overridden. */
	{
		struct junit_merge *m = NULL;
		struct strbuf err = {0}, xml = {0};
		static const char latin1[] =
		    "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
		    "<testsuite name=\"caf\xe9\"><testcase name=\"t\"/></testsuite>";
		ck_assert_int_eq(junit_merge_create(NULL, &m), 0);
		ck_assert_int_eq(
		    junit_merge_add_buffer(m, latin1, sizeof(latin1) - 1, "l.xml", &err), 0);
		ck_assert_int_eq(junit_merge_render(m, &xml), 0);
		ck_assert_ptr_nonnull(strstr(sb_str(&xml), "name=\"caf\xc3\xa9\""));
		sb_release(&xml);
		sb_release(&err);
		junit_merge_destroy(m);
	}
	expect_reject("<testsuite name=\"x\" time=\"1,5\"/>", -EINVAL,
		      "time=\"1,5\" is not a number");
	expect_reject("<testsuite name=\"x\"><testcase name=\"a\" time=\"-1\"/></testsuite>",
		      -EINVAL, "time=\"-1\"");
	expect_reject("<testsuite name=\"x\"><testcase name=\"a\" time=\"nan\"/></testsuite>",
		      -EINVAL, "time=\"nan\"");
}
END_TEST

START_TEST(test_rejects_deep_and_huge)
{
	struct strbuf doc = {0};
	for (int i = 0; i < 100000; i++)
		sb_append_str(&doc, "<testsuite>");
	expect_reject(sb_str(&doc), -EINVAL, "not well-formed XML");
	sb_release(&doc);

	struct junit_merge *m = NULL;
	struct strbuf err = {0};
	ck_assert_int_eq(junit_merge_create(NULL, &m), 0);
	ck_assert_int_eq(junit_merge_add_buffer(m, "", JUNIT_MERGE_MAX_INPUT + 1u, "big.xml", &err),
			 -EFBIG);
	ck_assert_ptr_nonnull(strstr(sb_str(&err), "big.xml: is larger than the 64 MiB limit"));
	sb_release(&err);
	ck_assert_int_eq(junit_merge_add_file(m, "/nonexistent/x.xml", &err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(sb_str(&err), "/nonexistent/x.xml: cannot read"));
	sb_release(&err);
	junit_merge_destroy(m);
	junit_merge_destroy(NULL);
}
END_TEST

/* A rejected input leaves what was merged before untouched. */
START_TEST(test_failed_add_changes_nothing)
{
	struct junit_merge *m = merged();
	struct junit_merge_counts before, after;
	struct strbuf err = {0}, a = {0}, b = {0};
	static const char half_bad[] =
	    "<testsuites><testsuite name=\"ok\"><testcase name=\"z\"/>"
	    "</testsuite><testsuite name=\"bad\" time=\"x\"/></testsuites>";

	junit_merge_counts(m, &before);
	ck_assert_int_eq(junit_merge_render(m, &a), 0);
	ck_assert_int_eq(junit_merge_add_buffer(m, half_bad, sizeof(half_bad) - 1, "h.xml", &err),
			 -EINVAL);
	junit_merge_counts(m, &after);
	ck_assert_uint_eq(before.tests, after.tests);
	ck_assert_uint_eq(before.suites, after.suites);
	ck_assert_int_eq(junit_merge_render(m, &b), 0);
	ck_assert_str_eq(sb_str(&a), sb_str(&b));
	sb_release(&a);
	sb_release(&b);
	sb_release(&err);
	junit_merge_destroy(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("merge");
	TCase *tc = tcase_create("merge");
	tcase_add_test(tc, test_counts_add_up);
	tcase_add_test(tc, test_rejects_hostile_input);
	tcase_add_test(tc, test_rejects_deep_and_huge);
	tcase_add_test(tc, test_failed_add_changes_nothing);
	suite_add_tcase(s, tc);
	int rc = smol_check_run(s);
	xmlCleanupParser();
	return rc;
}
