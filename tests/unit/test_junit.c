/* test_junit: the JUnit XML reporter against a golden file, the XML parser
 * and the repository's JUnit schema, with hostile test output. */
#include "golden.h"
#include "records.h"
#include "reporter_builtin.h"
#include "util.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct tmpdir {
	char path[64];
	char file[128];
};

static void tmpdir_make(struct tmpdir *t)
{
	snprintf(t->path, sizeof(t->path), "/tmp/smol-junit-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t->path));
	snprintf(t->file, sizeof(t->file), "%s/report.xml", t->path);
}

static void feed(void *ctx, const struct result_record *rec)
{
	struct reporter *r = ctx;
	ck_assert_int_eq(r->ops->result(r, rec), 0);
}

/* Runs the fixture through a JUnit reporter and returns the file. */
static char *render_fixture(struct tmpdir *t, size_t *len)
{
	struct reporter *r = NULL;
	char *xml = NULL;

	ck_assert_int_eq(junit_reporter_create(t->file, &r), 0);
	ck_assert_int_eq(r->ops->begin(r, &fx_info), 0);
	fx_replay(feed, r);
	ck_assert_int_eq(r->ops->end(r, &fx_summary), 0);
	r->ops->destroy(r);
	ck_assert_int_eq(util_read_file(t->file, 64u << 20, &xml, len), 0);
	return xml;
}

/* Parses strictly (no entity substitution, no network) and validates against
 * tests/unit/golden/junit.xsd. */
static void validate(const char *xml, size_t len)
{
	char xsd[4096];
	snprintf(xsd, sizeof(xsd), "%s/tests/unit/golden/junit.xsd", getenv("SMOL_SOURCE_DIR"));
	xmlDocPtr doc = xmlReadMemory(xml, (int)len, "report.xml", NULL, XML_PARSE_NONET);
	ck_assert_msg(doc != NULL, "the JUnit output is not well-formed XML");
	xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(xsd);
	xmlSchemaPtr schema = xmlSchemaParse(pc);
	ck_assert_ptr_nonnull(schema);
	xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
	ck_assert_int_eq(xmlSchemaValidateDoc(vc, doc), 0);
	xmlSchemaFreeValidCtxt(vc);
	xmlSchemaFree(schema);
	xmlSchemaFreeParserCtxt(pc);
	xmlFreeDoc(doc);
}

START_TEST(test_golden)
{
	struct tmpdir t;
	size_t len;
	tmpdir_make(&t);
	char *xml = render_fixture(&t, &len);
	golden_check("junit.xml", xml, len);
	validate(xml, len);
	free(xml);
	util_rm_rf(t.path);
}
END_TEST

START_TEST(test_hostile_output_is_clean)
{
	struct tmpdir t;
	size_t len;
	tmpdir_make(&t);
	char *xml = render_fixture(&t, &len);

	ck_assert_ptr_null(memchr(xml, '\0', len));
	ck_assert_ptr_null(memchr(xml, '\x1b', len));
	ck_assert_ptr_null(memchr(xml, '\a', len));
	ck_assert_ptr_null(memchr(xml, '\r', len));
	ck_assert_ptr_null(strstr(xml, "\xed\xa0\x80"));
	ck_assert_ptr_null(strstr(xml, "\xef\xbf\xbe"));
	ck_assert_ptr_null(strstr(xml, "\xff"));
	/* "]]>" from the test must not close a CDATA section early. */
	ck_assert_ptr_nonnull(strstr(xml, "cdata<]]]]><![CDATA[>>"));
	/* The 100 KB line is kept whole. */
	char *x = malloc(FX_LONG_LINE + 1);
	memset(x, 'x', FX_LONG_LINE);
	x[FX_LONG_LINE] = '\0';
	ck_assert_ptr_nonnull(strstr(xml, x));
	free(x);
	free(xml);
	util_rm_rf(t.path);
}
END_TEST

START_TEST(test_counts_and_statuses)
{
	struct tmpdir t;
	size_t len;
	tmpdir_make(&t);
	char *xml = render_fixture(&t, &len);
	ck_assert_ptr_nonnull(strstr(xml, "<testsuites name=\"hello\" tests=\"9\" failures=\"4\" "
					  "errors=\"1\" skipped=\"1\" time=\"4.568\""));
	ck_assert_ptr_nonnull(strstr(xml, "type=\"exit-code\""));
	ck_assert_ptr_nonnull(strstr(xml, "type=\"output\""));
	ck_assert_ptr_nonnull(strstr(xml, "type=\"timeout\""));
	ck_assert_ptr_nonnull(strstr(xml, "<error message=\"agent connection lost"));
	ck_assert_ptr_nonnull(
	    strstr(xml, "<flakyFailure message=\"stdout did not match /ready/\""));
	ck_assert_ptr_nonnull(strstr(xml, "<rerunFailure "));
	ck_assert_ptr_nonnull(strstr(xml, "<skipped message=\"needs /dev/kvm # really\"/>"));
	ck_assert_ptr_nonnull(strstr(xml, "file=\"examples/hello.yaml\" line=\"14\""));
	ck_assert_ptr_nonnull(strstr(xml, "<property name=\"partition\" value=\"hash:1/2\"/>"));
	/* Artifacts as attachments, missing ones counted in the failure. */
	ck_assert_ptr_nonnull(strstr(xml, "\n[[ATTACHMENT|/tmp/art/exit code/out/report.txt]]\n"));
	ck_assert_ptr_nonnull(strstr(xml, "1 artifact pattern(s) matched nothing"));
	ck_assert_ptr_nonnull(
	    strstr(xml, "name=\"passes\" time=\"0.131\" file=\"examples/hello.yaml\" "
			"line=\"52\">\n      <properties>\n        <property name=\"exit_code\" "
			"value=\"0\"/>\n        <property name=\"attempt\" value=\"1\"/>\n"
			"      </properties>\n      <system-out><![CDATA[[[ATTACHMENT|"));
	/* issue 15: classname is the suite file; an unmatched pattern is a
	 * testcase property */
	ck_assert_ptr_nonnull(
	    strstr(xml, "<property name=\"artifact.missing\" value=\"core.*\"/>"));
	free(xml);
	util_rm_rf(t.path);
}
END_TEST

START_TEST(test_errors_zero_and_time_format)
{
	struct tmpdir t;
	struct reporter *r = NULL;
	struct result_record rec = fx_base("only", 0, 3);
	struct run_summary sum = {.total = 1, .passed = 1, .wall_ns = 1234567000000000ull};
	char *xml;
	size_t len;

	tmpdir_make(&t);
	rec.duration_ns = 999999999ull; /* rounds up to 1.000 */
	ck_assert_int_eq(junit_reporter_create(t.file, &r), 0);
	ck_assert_int_eq(r->ops->begin(r, &fx_info), 0);
	ck_assert_int_eq(r->ops->result(r, &rec), 0);
	ck_assert_int_eq(r->ops->end(r, &sum), 0);
	r->ops->destroy(r);
	ck_assert_int_eq(util_read_file(t.file, 1u << 20, &xml, &len), 0);
	ck_assert_ptr_nonnull(strstr(xml, "errors=\"0\""));
	ck_assert_ptr_nonnull(strstr(xml, "time=\"1234567.000\""));
	ck_assert_ptr_nonnull(strstr(
	    xml, "<testcase classname=\"examples/hello.yaml\" name=\"only\" time=\"1.000\""));
	ck_assert_ptr_null(strstr(xml, "e+"));
	validate(xml, len);
	free(xml);
	util_rm_rf(t.path);
}
END_TEST

/* A run killed before end() leaves the old report (or none), never half. */
START_TEST(test_atomic_write)
{
	struct tmpdir t;
	struct reporter *r = NULL;
	struct result_record rec = fx_base("only", 0, 3);
	char *xml;
	size_t len;

	tmpdir_make(&t);
	ck_assert_int_eq(util_write_file_atomic(t.file, "old", 3, 0644), 0);
	ck_assert_int_eq(junit_reporter_create(t.file, &r), 0);
	ck_assert_int_eq(r->ops->begin(r, &fx_info), 0);
	ck_assert_int_eq(r->ops->result(r, &rec), 0);
	r->ops->destroy(r); /* killed: no end() */
	ck_assert_int_eq(util_read_file(t.file, 1u << 20, &xml, &len), 0);
	ck_assert_str_eq(xml, "old");
	free(xml);
	util_rm_rf(t.path);
}
END_TEST

START_TEST(test_unwritable_path)
{
	struct reporter *r = NULL;
	ck_assert_int_eq(junit_reporter_create("", &r), -EINVAL);
	ck_assert_int_eq(junit_reporter_create("/nonexistent-dir/x/report.xml", &r), 0);
	ck_assert_int_eq(r->ops->begin(r, &fx_info), 0);
	ck_assert_int_lt(r->ops->end(r, &fx_summary), 0);
	r->ops->destroy(r);
	ck_assert_int_ne(access("/nonexistent-dir/x/report.xml", F_OK), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("junit");
	TCase *tc = tcase_create("junit");
	tcase_add_test(tc, test_golden);
	tcase_add_test(tc, test_hostile_output_is_clean);
	tcase_add_test(tc, test_counts_and_statuses);
	tcase_add_test(tc, test_errors_zero_and_time_format);
	tcase_add_test(tc, test_atomic_write);
	tcase_add_test(tc, test_unwritable_path);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
