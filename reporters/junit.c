/* junit: the JUnit XML reporter (--junit FILE).
 *
 * The element set is the de-facto one that Jenkins, GitLab, Azure DevOps and
 * the GitHub JUnit actions read (Ant's junit task plus Maven Surefire's
 * flakyFailure/rerunFailure for retried tests). The document is built in
 * memory at end() and written with one atomic rename. */
#include "reporter_builtin.h"

#include "collect.h"
#include "strbuf.h"
#include "text.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct junit_info {
	char *suite_name, *backend, *backend_note, *partition, *snapshot_id, *hostname, *version;
	bool cache_hit;
	uint64_t start_wall_ns;
};

struct junit {
	struct reporter base;
	char *path;
	struct junit_info info;
	struct collect_list results;
	struct strbuf tmp; /* scratch for sanitising */
};

struct junit_counts {
	unsigned tests, failures, errors, skipped;
	uint64_t time_ns;
};

/* Appends text escaped for XML character data or an attribute value
 * (XML 1.0 §2.4, §3.3.3); text must already be sanitised. */
static int xml_escape(struct strbuf *sb, const char *s, size_t len)
{
	int rc = 0;
	for (size_t i = 0; i < len && !rc; i++) {
		switch (s[i]) {
		case '&':
			rc = sb_append_str(sb, "&amp;");
			break;
		case '<':
			rc = sb_append_str(sb, "&lt;");
			break;
		case '>':
			rc = sb_append_str(sb, "&gt;");
			break;
		case '"':
			rc = sb_append_str(sb, "&quot;");
			break;
		case '\'':
			rc = sb_append_str(sb, "&apos;");
			break;
		case '\n':
			rc = sb_append_str(sb, "&#10;"); /* kept through attribute normalisation */
			break;
		case '\t':
			rc = sb_append_str(sb, "&#9;");
			break;
		default:
			rc = sb_append_char(sb, s[i]);
		}
	}
	return rc;
}

/* Appends ` name="value"` with value sanitised to one line and escaped. */
static int xml_attr(struct junit *j, struct strbuf *sb, const char *name, const char *value)
{
	sb_reset(&j->tmp);
	int rc = text_sanitize_str(&j->tmp, value ? value : "", TEXT_ONE_LINE);
	if (!rc)
		rc = sb_printf(sb, " %s=\"", name);
	if (!rc)
		rc = xml_escape(sb, j->tmp.buf ? j->tmp.buf : "", j->tmp.len);
	if (!rc)
		rc = sb_append_char(sb, '"');
	return rc;
}

/* Appends sanitised raw text as CDATA. "]]>" cannot occur inside a CDATA
 * section (XML 1.0 §2.7), so it is split across two sections. */
static int xml_cdata(struct junit *j, struct strbuf *sb, const char *raw, size_t len)
{
	sb_reset(&j->tmp);
	int rc = text_sanitize(&j->tmp, raw, len, 0);
	if (rc)
		return rc;
	rc = sb_append_str(sb, "<![CDATA[");
	const char *s = j->tmp.buf ? j->tmp.buf : "";
	size_t n = j->tmp.len;
	for (size_t i = 0; i < n && !rc; i++) {
		if (s[i] == ']' && i + 2 < n && s[i + 1] == ']' && s[i + 2] == '>') {
			rc = sb_append_str(sb, "]]]]><![CDATA[>");
			i += 2;
		} else {
			rc = sb_append_char(sb, s[i]);
		}
	}
	if (!rc)
		rc = sb_append_str(sb, "]]>");
	return rc;
}

static int xml_stream(struct junit *j, struct strbuf *sb, const char *indent, const char *tag,
		      const char *raw, size_t len)
{
	if (!raw || !len)
		return 0;
	int rc = sb_printf(sb, "%s<%s>", indent, tag);
	if (!rc)
		rc = xml_cdata(j, sb, raw, len);
	if (!rc)
		rc = sb_printf(sb, "</%s>\n", tag);
	return rc;
}

static const char *failure_type(const struct collected *c)
{
	if (c->status == RESULT_TIMEOUT)
		return "timeout";
	if (c->status == RESULT_ERROR)
		return "infrastructure";
	return c->fail_kind == FAIL_NONE ? "failure" : result_fail_kind_name(c->fail_kind);
}

/* The body of a failure element: what happened, where, and how. */
static int failure_details(struct strbuf *d, const struct collected *c)
{
	int rc = sb_printf(d, "%s\n", c->message);
	/* The message of an exit-code failure already says this. */
	if (!rc && c->exited && c->fail_kind != FAIL_EXIT_CODE)
		rc = sb_printf(d, "exit status %d (expected %d)\n", c->exit_code, c->expected_exit);
	if (!rc && c->signal > 0)
		rc = sb_printf(d, "killed by signal %d\n", c->signal);
	if (!rc && c->n_missing_artifacts)
		rc = sb_printf(d, "%zu artifact pattern(s) matched nothing\n",
			       c->n_missing_artifacts);
	if (!rc)
		rc = sb_printf(d, "at %s:%u, attempt %u of %u\n", c->suite_file, c->line,
			       c->attempt, c->max_attempts ? c->max_attempts : 1);
	return rc;
}

/* <failure>, <error>, or a Surefire flakyX/rerunX element for an earlier
 * attempt (which carries its own output inside). */
static int write_failure(struct junit *j, struct strbuf *sb, const struct collected *c,
			 const char *prefix)
{
	struct strbuf d = {0};
	char tag[32];
	char secs[24];
	bool err = c->status == RESULT_ERROR;
	bool nested = prefix != NULL;
	int rc;

	if (nested)
		snprintf(tag, sizeof(tag), "%s%s", prefix, err ? "Error" : "Failure");
	else
		snprintf(tag, sizeof(tag), "%s", err ? "error" : "failure");
	rc = sb_printf(sb, "      <%s", tag);
	if (!rc)
		rc = xml_attr(j, sb, "message", c->message);
	if (!rc)
		rc = xml_attr(j, sb, "type", failure_type(c));
	if (!rc && nested)
		rc = sb_printf(sb, " time=\"%s\"",
			       text_format_seconds(c->duration_ns, secs, sizeof(secs)));
	if (!rc)
		rc = failure_details(&d, c);
	if (rc)
		goto out;
	if (nested) {
		rc = sb_append_str(sb, ">\n        <stackTrace>");
		if (!rc)
			rc = xml_cdata(j, sb, d.buf, d.len);
		if (!rc)
			rc = sb_append_str(sb, "</stackTrace>\n");
		if (!rc)
			rc = xml_stream(j, sb, "        ", "system-out", c->out, c->out_len);
		if (!rc)
			rc = xml_stream(j, sb, "        ", "system-err", c->err, c->err_len);
		if (!rc)
			rc = sb_printf(sb, "      </%s>\n", tag);
	} else {
		rc = sb_append_char(sb, '>');
		if (!rc)
			rc = xml_cdata(j, sb, d.buf, d.len);
		if (!rc)
			rc = sb_printf(sb, "</%s>\n", tag);
	}
out:
	sb_release(&d);
	return rc;
}

/* <system-out>: the output, then one [[ATTACHMENT|path]] line per artifact,
 * the convention that Jenkins' JUnit Attachments plugin and GitLab read. */
static int write_system_out(struct junit *j, struct strbuf *sb, const struct collected *c)
{
	struct strbuf raw = {0};
	int rc = c->out_len ? sb_append(&raw, c->out, c->out_len) : 0;

	if (!rc && c->n_artifacts && raw.len && raw.buf[raw.len - 1] != '\n')
		rc = sb_append_char(&raw, '\n');
	for (size_t i = 0; i < c->n_artifacts && !rc; i++)
		rc = sb_printf(&raw, "[[ATTACHMENT|%s]]\n", c->artifacts[i]);
	if (!rc)
		rc = xml_stream(j, sb, "      ", "system-out", raw.buf, raw.len);
	sb_release(&raw);
	return rc;
}

static void count(struct junit_counts *k, const struct collected *last)
{
	k->tests++;
	k->time_ns += last->duration_ns;
	if (last->status == RESULT_ERROR)
		k->errors++;
	else if (last->status == RESULT_FAIL || last->status == RESULT_TIMEOUT)
		k->failures++;
	else if (last->status == RESULT_SKIP)
		k->skipped++;
}

static int property_at(struct junit *j, struct strbuf *sb, const char *indent, const char *name,
		       const char *value);

/* A testcase's <properties>: its tags, exit code, attempt, and each
 * artifact pattern that matched nothing (pytest and GitLab read
 * testcase properties; tools that do not ignore them). */
static int write_case_properties(struct junit *j, struct strbuf *sb, const struct collected *c)
{
	char v[32];
	int rc = sb_append_str(sb, "      <properties>\n");
	for (size_t i = 0; i < c->n_tags && !rc; i++)
		rc = property_at(j, sb, "        ", "tag", c->tags[i]);
	if (!rc && c->exited) {
		snprintf(v, sizeof(v), "%d", c->exit_code);
		rc = property_at(j, sb, "        ", "exit_code", v);
	}
	if (!rc && c->signal > 0) {
		snprintf(v, sizeof(v), "%d", c->signal);
		rc = property_at(j, sb, "        ", "signal", v);
	}
	if (!rc) {
		snprintf(v, sizeof(v), "%u", c->attempt);
		rc = property_at(j, sb, "        ", "attempt", v);
	}
	for (size_t i = 0; i < c->n_missing_artifacts && !rc; i++)
		rc = property_at(j, sb, "        ", "artifact.missing", c->missing_artifacts[i]);
	if (!rc)
		rc = sb_append_str(sb, "      </properties>\n");
	return rc;
}

/* One <testcase> from the attempts items[0..n) of one test. */
static int write_testcase(struct junit *j, struct strbuf *sb, struct collected **items, size_t n)
{
	const struct collected *last = items[n - 1];
	char secs[24];
	int rc = sb_append_str(sb, "    <testcase");

	text_format_seconds(last->duration_ns, secs, sizeof(secs));

	/* classname: the suite file, so that two suites of the same name
	 * (or a merged report of several) stay apart */
	if (!rc)
		rc = xml_attr(j, sb, "classname", last->suite_file);
	if (!rc)
		rc = xml_attr(j, sb, "name", last->test_name);
	if (!rc)
		rc = sb_printf(sb, " time=\"%s\"", secs);
	if (!rc)
		rc = xml_attr(j, sb, "file", last->suite_file);
	if (!rc)
		rc = sb_printf(sb, " line=\"%u\"", last->line);
	if (rc)
		return rc;
	rc = sb_append_str(sb, ">\n");
	if (!rc)
		rc = write_case_properties(j, sb, last);
	if (!rc && last->status == RESULT_SKIP) {
		rc = sb_append_str(sb, "      <skipped");
		if (!rc)
			rc = xml_attr(j, sb, "message",
				      last->skip_reason ? last->skip_reason : last->message);
		if (!rc)
			rc = sb_append_str(sb, "/>\n");
	}
	if (!rc && collect_is_failure(last->status))
		rc = write_failure(j, sb, last, NULL);
	/* Earlier attempts: flaky* when the test finally passed, rerun* when
	 * it failed every time (Surefire's convention), so retries stay visible. */
	bool passed = last->status == RESULT_PASS || last->status == RESULT_FLAKY;
	for (size_t i = 0; i + 1 < n && !rc; i++)
		if (collect_is_failure(items[i]->status))
			rc = write_failure(j, sb, items[i], passed ? "flaky" : "rerun");
	if (!rc)
		rc = write_system_out(j, sb, last);
	if (!rc)
		rc = xml_stream(j, sb, "      ", "system-err", last->err, last->err_len);
	if (!rc)
		rc = sb_append_str(sb, "    </testcase>\n");
	return rc;
}

static int property_at(struct junit *j, struct strbuf *sb, const char *indent, const char *name,
		       const char *value)
{
	if (!value)
		return 0;
	int rc = sb_printf(sb, "%s<property", indent);
	if (!rc)
		rc = xml_attr(j, sb, "name", name);
	if (!rc)
		rc = xml_attr(j, sb, "value", value);
	if (!rc)
		rc = sb_append_str(sb, "/>\n");
	return rc;
}

static int write_property(struct junit *j, struct strbuf *sb, const char *name, const char *value)
{
	return property_at(j, sb, "      ", name, value);
}

static int write_counts(struct strbuf *sb, const struct junit_counts *k, uint64_t time_ns)
{
	char secs[24];
	return sb_printf(
	    sb, " tests=\"%u\" failures=\"%u\" errors=\"%u\" skipped=\"%u\" time=\"%s\"", k->tests,
	    k->failures, k->errors, k->skipped, text_format_seconds(time_ns, secs, sizeof(secs)));
}

/* One <testsuite> for the tests in results [start, end) of one suite file. */
static int write_suite(struct junit *j, struct strbuf *sb, size_t start, size_t end,
		       bool only_suite, const struct run_summary *sum, const char *stamp)
{
	struct collected **items = j->results.items;
	struct junit_counts k = {0};
	int rc;

	for (size_t i = start; i < end;) {
		size_t g = collect_group_len(&j->results, i);
		count(&k, items[i + g - 1]);
		i += g;
	}
	rc = sb_append_str(sb, "  <testsuite");
	if (!rc)
		rc = xml_attr(j, sb, "name", items[start]->suite_name);
	if (!rc)
		rc = write_counts(sb, &k, only_suite ? sum->wall_ns : k.time_ns);
	if (!rc)
		rc = sb_printf(sb, " timestamp=\"%s\"", stamp);
	if (!rc)
		rc = xml_attr(j, sb, "hostname", j->info.hostname ? j->info.hostname : "localhost");
	if (!rc)
		rc = xml_attr(j, sb, "file", items[start]->suite_file);
	if (!rc)
		rc = sb_append_str(sb, ">\n    <properties>\n");
	if (!rc)
		rc = write_property(j, sb, "backend", j->info.backend);
	if (!rc)
		rc = write_property(j, sb, "backend.note", j->info.backend_note);
	if (!rc)
		rc = write_property(j, sb, "partition", j->info.partition);
	if (!rc)
		rc = write_property(j, sb, "smoltest.version", j->info.version);
	if (!rc)
		rc = write_property(j, sb, "snapshot.id", j->info.snapshot_id);
	if (!rc && j->info.snapshot_id)
		rc = write_property(j, sb, "snapshot.cache", j->info.cache_hit ? "hit" : "miss");
	if (!rc && sum->setup_ns) {
		char secs[24];
		rc = write_property(j, sb, "setup.time",
				    text_format_seconds(sum->setup_ns, secs, sizeof(secs)));
	}
	if (!rc && sum->setup_failed) {
		char n[16];
		snprintf(n, sizeof(n), "%u", sum->not_run);
		rc = write_property(j, sb, "tests.not_run", n);
	}
	if (!rc && sum->aborted)
		rc = write_property(j, sb, "aborted",
				    sum->abort_reason ? sum->abort_reason : "run aborted");
	if (!rc)
		rc = sb_append_str(sb, "    </properties>\n");
	for (size_t i = start; i < end && !rc;) {
		size_t g = collect_group_len(&j->results, i);
		rc = write_testcase(j, sb, items + i, g);
		i += g;
	}
	if (!rc)
		rc = sb_append_str(sb, "  </testsuite>\n");
	return rc;
}

static int junit_render(struct junit *j, const struct run_summary *sum, struct strbuf *sb)
{
	struct collect_list *l = &j->results;
	struct junit_counts all = {0};
	char stamp[24] = "1970-01-01T00:00:00";
	size_t n_suites = 0;
	int rc;

	collect_sort(l);
	for (size_t i = 0; i < l->n;) {
		size_t g = collect_group_len(l, i);
		count(&all, l->items[i + g - 1]);
		if (i == 0 || strcmp(l->items[i]->suite_file, l->items[i - 1]->suite_file) != 0)
			n_suites++;
		i += g;
	}
	text_format_timestamp(j->info.start_wall_ns, stamp, sizeof(stamp));
	rc = sb_append_str(sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
	if (!rc)
		rc = xml_attr(j, sb, "name", j->info.suite_name ? j->info.suite_name : "smoltest");
	if (!rc)
		rc = write_counts(sb, &all, sum->wall_ns);
	if (!rc)
		rc = sb_printf(sb, " timestamp=\"%s\">\n", stamp);
	for (size_t i = 0; i < l->n && !rc;) {
		size_t e = i + 1;
		while (e < l->n && !strcmp(l->items[e]->suite_file, l->items[i]->suite_file))
			e++;
		rc = write_suite(j, sb, i, e, n_suites == 1, sum, stamp);
		i = e;
	}
	if (!rc)
		rc = sb_append_str(sb, "</testsuites>\n");
	return rc;
}

static void info_release(struct junit_info *i)
{
	free(i->suite_name);
	free(i->backend);
	free(i->backend_note);
	free(i->partition);
	free(i->snapshot_id);
	free(i->hostname);
	free(i->version);
	memset(i, 0, sizeof(*i));
}

static int dup_into(const char *s, char **out)
{
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

static int junit_begin(struct reporter *r, const struct run_info *info)
{
	struct junit *j = r->priv;
	info_release(&j->info);
	j->info.cache_hit = info->cache_hit;
	j->info.start_wall_ns = info->start_wall_ns;
	if (dup_into(info->suite_name, &j->info.suite_name) ||
	    dup_into(info->backend, &j->info.backend) ||
	    dup_into(info->backend_note, &j->info.backend_note) ||
	    dup_into(info->partition, &j->info.partition) ||
	    dup_into(info->snapshot_id, &j->info.snapshot_id) ||
	    dup_into(info->hostname, &j->info.hostname) ||
	    dup_into(info->version, &j->info.version))
		return -ENOMEM;
	return 0;
}

static int junit_result(struct reporter *r, const struct result_record *rec)
{
	struct junit *j = r->priv;
	return collect_add(&j->results, rec);
}

static int junit_end(struct reporter *r, const struct run_summary *sum)
{
	struct junit *j = r->priv;
	struct strbuf sb = {0};
	int rc = junit_render(j, sum, &sb);
	if (!rc)
		rc = util_write_file_atomic(j->path, sb.buf, sb.len, 0644);
	if (rc)
		fprintf(stderr, "smoltest: junit: cannot write %s: %s\n", j->path, strerror(-rc));
	sb_release(&sb);
	return rc;
}

static void junit_destroy(struct reporter *r)
{
	if (!r)
		return;
	struct junit *j = r->priv;
	info_release(&j->info);
	collect_release(&j->results);
	sb_release(&j->tmp);
	free(j->path);
	free(j);
}

static const struct reporter_ops junit_ops = {
    .name = "junit",
    .begin = junit_begin,
    .result = junit_result,
    .end = junit_end,
    .destroy = junit_destroy,
};

int junit_reporter_create(const char *path, struct reporter **out)
{
	if (!path || !*path)
		return -EINVAL;
	struct junit *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->path = strdup(path);
	if (!j->path) {
		free(j);
		return -ENOMEM;
	}
	j->base.ops = &junit_ops;
	j->base.priv = j;
	*out = &j->base;
	return 0;
}
