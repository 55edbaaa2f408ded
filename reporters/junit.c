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

/* The writers below append freely and return the output buffer's sticky
 * error (strbuf.h) once at the end; a scratch buffer's failure is joined
 * to it with sb_set_error. */

/* Appends text escaped for XML character data or an attribute value
 * (XML 1.0 §2.4, §3.3.3); text must already be sanitised. */
static int xml_escape(struct strbuf *sb, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '&':
			sb_append_str(sb, "&amp;");
			break;
		case '<':
			sb_append_str(sb, "&lt;");
			break;
		case '>':
			sb_append_str(sb, "&gt;");
			break;
		case '"':
			sb_append_str(sb, "&quot;");
			break;
		case '\'':
			sb_append_str(sb, "&apos;");
			break;
		case '\n':
			sb_append_str(sb, "&#10;"); /* kept through attribute normalisation */
			break;
		case '\t':
			sb_append_str(sb, "&#9;");
			break;
		default:
			sb_append_char(sb, s[i]);
		}
	}
	return sb_error(sb);
}

/* Appends ` name="value"` with value sanitised to one line and escaped. */
static int xml_attr(struct junit *j, struct strbuf *sb, const char *name, const char *value)
{
	sb_reset(&j->tmp);
	if (sb_set_error(sb, text_sanitize_str(&j->tmp, value ? value : "", TEXT_ONE_LINE)))
		return sb_error(sb);
	sb_printf(sb, " %s=\"", name);
	xml_escape(sb, sb_str(&j->tmp), j->tmp.len);
	sb_append_char(sb, '"');
	return sb_error(sb);
}

/* Appends sanitised raw text as CDATA. "]]>" cannot occur inside a CDATA
 * section (XML 1.0 §2.7), so it is split across two sections. */
static int xml_cdata(struct junit *j, struct strbuf *sb, const char *raw, size_t len)
{
	sb_reset(&j->tmp);
	if (sb_set_error(sb, text_sanitize(&j->tmp, raw, len, 0)))
		return sb_error(sb);
	sb_append_str(sb, "<![CDATA[");
	const char *s = sb_str(&j->tmp);
	size_t n = j->tmp.len;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ']' && i + 2 < n && s[i + 1] == ']' && s[i + 2] == '>') {
			sb_append_str(sb, "]]]]><![CDATA[>");
			i += 2;
		} else {
			sb_append_char(sb, s[i]);
		}
	}
	sb_append_str(sb, "]]>");
	return sb_error(sb);
}

static int xml_stream(struct junit *j, struct strbuf *sb, const char *indent, const char *tag,
		      const char *raw, size_t len)
{
	if (!raw || !len)
		return sb_error(sb);
	sb_printf(sb, "%s<%s>", indent, tag);
	xml_cdata(j, sb, raw, len);
	sb_printf(sb, "</%s>\n", tag);
	return sb_error(sb);
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
	sb_printf(d, "%s\n", c->message);
	/* The message of an exit-code failure already says this. */
	if (c->exited && c->fail_kind != FAIL_EXIT_CODE)
		sb_printf(d, "exit status %d (expected %d)\n", c->exit_code, c->expected_exit);
	if (c->signal > 0)
		sb_printf(d, "killed by signal %d\n", c->signal);
	if (c->n_missing_artifacts)
		sb_printf(d, "%zu artifact pattern(s) matched nothing\n", c->n_missing_artifacts);
	sb_printf(d, "at %s:%u, attempt %u of %u\n", c->suite_file, c->line, c->attempt,
		  c->max_attempts ? c->max_attempts : 1);
	return sb_error(d);
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

	if (nested)
		snprintf(tag, sizeof(tag), "%s%s", prefix, err ? "Error" : "Failure");
	else
		snprintf(tag, sizeof(tag), "%s", err ? "error" : "failure");
	sb_printf(sb, "      <%s", tag);
	xml_attr(j, sb, "message", c->message);
	xml_attr(j, sb, "type", failure_type(c));
	if (nested)
		sb_printf(sb, " time=\"%s\"",
			  text_format_seconds(c->duration_ns, secs, sizeof(secs)));
	if (sb_set_error(sb, failure_details(&d, c)))
		goto out;
	if (nested) {
		sb_append_str(sb, ">\n        <stackTrace>");
		xml_cdata(j, sb, d.buf, d.len);
		sb_append_str(sb, "</stackTrace>\n");
		xml_stream(j, sb, "        ", "system-out", c->out, c->out_len);
		xml_stream(j, sb, "        ", "system-err", c->err, c->err_len);
		sb_printf(sb, "      </%s>\n", tag);
	} else {
		sb_append_char(sb, '>');
		xml_cdata(j, sb, d.buf, d.len);
		sb_printf(sb, "</%s>\n", tag);
	}
out:
	sb_release(&d);
	return sb_error(sb);
}

/* <system-out>: the output, then one [[ATTACHMENT|path]] line per artifact,
 * the convention that Jenkins' JUnit Attachments plugin and GitLab read. */
static int write_system_out(struct junit *j, struct strbuf *sb, const struct collected *c)
{
	struct strbuf raw = {0};
	if (c->out_len)
		sb_append(&raw, c->out, c->out_len);
	if (c->n_artifacts && raw.len && raw.buf[raw.len - 1] != '\n')
		sb_append_char(&raw, '\n');
	for (size_t i = 0; i < c->n_artifacts; i++)
		sb_printf(&raw, "[[ATTACHMENT|%s]]\n", c->artifacts[i]);
	if (!sb_set_error(sb, sb_error(&raw)))
		xml_stream(j, sb, "      ", "system-out", raw.buf, raw.len);
	sb_release(&raw);
	return sb_error(sb);
}

static void count(struct junit_counts *k, const struct collected *last)
{
	k->tests++;
	k->time_ns += last->duration_ns;
	if (last->status == RESULT_ERROR)
		k->errors++;
	else if (last->status == RESULT_FAIL || last->status == RESULT_TIMEOUT)
		k->failures++;
	else if (last->status == RESULT_SKIP || last->status == RESULT_CANCELLED)
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
	sb_append_str(sb, "      <properties>\n");
	for (size_t i = 0; i < c->n_tags; i++)
		property_at(j, sb, "        ", "tag", c->tags[i]);
	if (c->exited) {
		snprintf(v, sizeof(v), "%d", c->exit_code);
		property_at(j, sb, "        ", "exit_code", v);
	}
	if (c->signal > 0) {
		snprintf(v, sizeof(v), "%d", c->signal);
		property_at(j, sb, "        ", "signal", v);
	}
	snprintf(v, sizeof(v), "%u", c->attempt);
	property_at(j, sb, "        ", "attempt", v);
	/* JUnit has no leak or cancelled element: a leak passes and says so
	 * here, a cancelled test is <skipped> with status cancelled */
	if (c->status == RESULT_LEAK || c->status == RESULT_CANCELLED)
		property_at(j, sb, "        ", "status", result_status_name(c->status));
	if (c->leaked) {
		snprintf(v, sizeof(v), "%u", c->leaked);
		property_at(j, sb, "        ", "leaked", v);
	}
	if (c->status == RESULT_LEAK)
		property_at(j, sb, "        ", "warning", c->message);
	for (size_t i = 0; i < c->n_missing_artifacts; i++)
		property_at(j, sb, "        ", "artifact.missing", c->missing_artifacts[i]);
	sb_append_str(sb, "      </properties>\n");
	return sb_error(sb);
}

/* One <testcase> from the attempts items[0..n) of one test. */
static int write_testcase(struct junit *j, struct strbuf *sb, struct collected **items, size_t n)
{
	const struct collected *last = items[n - 1];
	char secs[24];
	sb_append_str(sb, "    <testcase");

	text_format_seconds(last->duration_ns, secs, sizeof(secs));

	/* classname: the suite file, so that two suites of the same name
	 * (or a merged report of several) stay apart */
	xml_attr(j, sb, "classname", last->suite_file);
	xml_attr(j, sb, "name", last->test_name);
	sb_printf(sb, " time=\"%s\"", secs);
	xml_attr(j, sb, "file", last->suite_file);
	sb_printf(sb, " line=\"%u\"", last->line);
	sb_append_str(sb, ">\n");
	write_case_properties(j, sb, last);
	if (last->status == RESULT_SKIP || last->status == RESULT_CANCELLED) {
		sb_append_str(sb, "      <skipped");
		xml_attr(j, sb, "message", last->skip_reason ? last->skip_reason : last->message);
		sb_append_str(sb, "/>\n");
	}
	if (collect_is_failure(last->status))
		write_failure(j, sb, last, NULL);
	/* Earlier attempts: flaky* when the test finally passed, rerun* when
	 * it failed every time (Surefire's convention), so retries stay visible. */
	bool passed = last->status == RESULT_PASS || last->status == RESULT_FLAKY;
	for (size_t i = 0; i + 1 < n; i++)
		if (collect_is_failure(items[i]->status))
			write_failure(j, sb, items[i], passed ? "flaky" : "rerun");
	write_system_out(j, sb, last);
	xml_stream(j, sb, "      ", "system-err", last->err, last->err_len);
	sb_append_str(sb, "    </testcase>\n");
	return sb_error(sb);
}

static int property_at(struct junit *j, struct strbuf *sb, const char *indent, const char *name,
		       const char *value)
{
	if (!value)
		return sb_error(sb);
	sb_printf(sb, "%s<property", indent);
	xml_attr(j, sb, "name", name);
	xml_attr(j, sb, "value", value);
	sb_append_str(sb, "/>\n");
	return sb_error(sb);
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

	for (size_t i = start; i < end;) {
		size_t g = collect_group_len(&j->results, i);
		count(&k, items[i + g - 1]);
		i += g;
	}
	sb_append_str(sb, "  <testsuite");
	xml_attr(j, sb, "name", items[start]->suite_name);
	write_counts(sb, &k, only_suite ? sum->wall_ns : k.time_ns);
	sb_printf(sb, " timestamp=\"%s\"", stamp);
	xml_attr(j, sb, "hostname", j->info.hostname ? j->info.hostname : "localhost");
	xml_attr(j, sb, "file", items[start]->suite_file);
	sb_append_str(sb, ">\n    <properties>\n");
	write_property(j, sb, "backend", j->info.backend);
	write_property(j, sb, "backend.note", j->info.backend_note);
	write_property(j, sb, "partition", j->info.partition);
	write_property(j, sb, "smoltest.version", j->info.version);
	write_property(j, sb, "snapshot.id", j->info.snapshot_id);
	if (j->info.snapshot_id)
		write_property(j, sb, "snapshot.cache", j->info.cache_hit ? "hit" : "miss");
	if (sum->setup_ns) {
		char secs[24];
		write_property(j, sb, "setup.time",
			       text_format_seconds(sum->setup_ns, secs, sizeof(secs)));
	}
	if (sum->setup_failed) {
		char n[16];
		snprintf(n, sizeof(n), "%u", sum->not_run);
		write_property(j, sb, "tests.not_run", n);
	}
	if (sum->aborted)
		write_property(j, sb, "aborted",
			       sum->abort_reason ? sum->abort_reason : "run aborted");
	sb_append_str(sb, "    </properties>\n");
	for (size_t i = start; i < end;) {
		size_t g = collect_group_len(&j->results, i);
		write_testcase(j, sb, items + i, g);
		i += g;
	}
	sb_append_str(sb, "  </testsuite>\n");
	return sb_error(sb);
}

static int junit_render(struct junit *j, const struct run_summary *sum, struct strbuf *sb)
{
	struct collect_list *l = &j->results;
	struct junit_counts all = {0};
	char stamp[24] = "1970-01-01T00:00:00";
	size_t n_suites = 0;

	collect_sort(l);
	for (size_t i = 0; i < l->n;) {
		size_t g = collect_group_len(l, i);
		count(&all, l->items[i + g - 1]);
		if (i == 0 || strcmp(l->items[i]->suite_file, l->items[i - 1]->suite_file) != 0)
			n_suites++;
		i += g;
	}
	text_format_timestamp(j->info.start_wall_ns, stamp, sizeof(stamp));
	sb_append_str(sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
	xml_attr(j, sb, "name", j->info.suite_name ? j->info.suite_name : "smoltest");
	write_counts(sb, &all, sum->wall_ns);
	sb_printf(sb, " timestamp=\"%s\">\n", stamp);
	for (size_t i = 0; i < l->n;) {
		size_t e = i + 1;
		while (e < l->n && !strcmp(l->items[e]->suite_file, l->items[i]->suite_file))
			e++;
		write_suite(j, sb, i, e, n_suites == 1, sum, stamp);
		i = e;
	}
	sb_append_str(sb, "</testsuites>\n");
	return sb_error(sb);
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
