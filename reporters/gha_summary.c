/* gha_summary: the Markdown job summary ($GITHUB_STEP_SUMMARY).
 *
 * GitHub rejects a step summary over 1 MiB, so rows are added only while
 * they fit and a closing note counts what was left out. Every piece of test
 * text is sanitised and escaped for GitHub-flavoured Markdown tables. */
#include "gha.h"

#include "text.h"
#include "util.h"

#include <string.h>

#define SLOWEST_ROWS 10
#define NOTE_RESERVE 512 /* room kept for the truncation note */

/* Appends s as the content of one table cell: one line, '|' escaped (GFM
 * tables), Markdown punctuation backslash-escaped, '<' '>' '&' as entities
 * so that test names cannot inject HTML. */
static int md_cell(struct strbuf *md, const char *s, size_t max)
{
	struct strbuf clean = {0};
	if (sb_set_error(md, text_sanitize_str(&clean, s ? s : "", TEXT_ONE_LINE))) {
		sb_release(&clean);
		return sb_error(md);
	}
	size_t n = text_utf8_cut(sb_str(&clean), clean.len, max);
	const char *p = sb_str(&clean);

	for (size_t i = 0; i < n; i++) {
		switch (p[i]) {
		case '<':
			sb_append_str(md, "&lt;");
			break;
		case '>':
			sb_append_str(md, "&gt;");
			break;
		case '&':
			sb_append_str(md, "&amp;");
			break;
		case '|':
		case '\\':
		case '`':
		case '*':
		case '_':
		case '[':
		case ']':
		case '#':
		case '~':
			sb_append_char(md, '\\');
			sb_append_char(md, p[i]);
			break;
		default:
			sb_append_char(md, p[i]);
		}
	}
	if (n < clean.len)
		sb_append_str(md, "…");
	sb_release(&clean);
	return sb_error(md);
}

/* Percent-encodes a repository path for a URL, keeping '/'. */
static int url_path(struct strbuf *md, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/-._~", *p))
			sb_append_char(md, (char)*p);
		else
			sb_printf(md, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
	return sb_error(md);
}

/* Links need all three variables, and a server URL that cannot break out of
 * the Markdown link (it comes from the environment). */
static bool link_ok(const struct gha_summary_in *in)
{
	if (!in->server_url || !in->repository || !in->sha || !*in->repository || !*in->sha)
		return false;
	if (!util_starts_with(in->server_url, "https://") &&
	    !util_starts_with(in->server_url, "http://"))
		return false;
	for (const char *p = in->server_url; *p; p++)
		if ((unsigned char)*p <= ' ' || strchr("()<>[]\\\"'`", *p) ||
		    (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

/* "[file:line](link)" or plain "file:line" without the link variables. */
static int md_where(struct strbuf *md, const struct gha_summary_in *in, const struct collected *t)
{
	bool link = link_ok(in);
	if (link)
		sb_append_char(md, '[');
	md_cell(md, t->suite_file, 200);
	sb_printf(md, ":%u", t->line);
	if (link) {
		sb_append_str(md, "](");
		sb_append_str(md, in->server_url); /* checked by link_ok() */
		sb_append_char(md, '/');
		url_path(md, in->repository);
		sb_append_str(md, "/blob/");
		url_path(md, in->sha);
		sb_append_char(md, '/');
		url_path(md, t->suite_file);
		sb_printf(md, "#L%u)", t->line);
	}
	return sb_error(md);
}

static const char *kind(const struct collected *t)
{
	if (t->status == RESULT_ERROR)
		return "error";
	if (t->status == RESULT_TIMEOUT)
		return "timeout";
	return t->fail_kind == FAIL_NONE ? "fail" : result_fail_kind_name(t->fail_kind);
}

/* Adds one row unless it would pass the limit; then rolls it back. */
static bool fits(struct strbuf *md, size_t row_start, const struct gha_summary_in *in)
{
	/* A buffer that failed is not cut: its error is the result. */
	if (sb_error(md) || md->len + NOTE_RESERVE <= in->limit)
		return true;
	md->len = row_start;
	md->buf[md->len] = '\0';
	return false;
}

static int totals(struct strbuf *md, const struct gha_summary_in *in)
{
	const struct run_summary *s = in->sum;
	bool bad = s->failed || s->errors || s->timeouts || s->aborted;
	char wall[32];
	sb_printf(md, "## %s smoltest: ", bad ? "❌" : "✅");

	util_format_duration(s->wall_ns, wall, sizeof(wall));

	md_cell(md, in->suite_name ? in->suite_name : "run", 200);
	sb_printf(md,
		  "\n\n| tests | passed | failed | flaky | skipped | errors | leaked | cancelled "
		  "| time |\n"
		  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
		  "| %u | %u | %u | %u | %u | %u | %u | %u | %s |\n\n",
		  s->total, s->passed, s->failed + s->timeouts, s->flaky, s->skipped, s->errors,
		  s->leaked, s->cancelled, wall);
	sb_append_str(md, "backend `");
	md_cell(md, in->backend ? in->backend : "unknown", 40);
	sb_append_char(md, '`');
	if (in->partition) {
		sb_append_str(md, " · partition `");
		md_cell(md, in->partition, 40);
		sb_append_char(md, '`');
	}
	if (in->have_snapshot)
		sb_printf(md, " · snapshot cache %s", in->cache_hit ? "hit" : "miss");
	if (in->backend_note) {
		sb_append_str(md, "\n\n> ");
		md_cell(md, in->backend_note, 300);
	}
	if (s->aborted) {
		sb_append_str(md, "\n\n**Aborted:** ");
		md_cell(md, s->abort_reason ? s->abort_reason : "run aborted", 300);
	}
	sb_append_str(md, "\n");
	return sb_error(md);
}

int gha_summary_render(struct strbuf *md, const struct gha_summary_in *in)
{
	struct collect_list *l = in->results;
	size_t left_out = 0;
	bool header = false;
	totals(md, in);

	collect_sort(l);
	for (size_t i = 0; i < l->n; i++) {
		const struct collected *t = l->items[i];
		if (!collect_is_failure(t->status))
			continue;
		if (left_out) {
			left_out++;
			continue;
		}
		if (!header)
			sb_append_str(md, "\n### Failures\n\n| test | where | kind | message |\n"
					  "|---|---|---|---|\n");
		header = true;
		size_t row = md->len;
		sb_append_str(md, "| ");
		md_cell(md, t->test_name, 200);
		sb_append_str(md, " | ");
		md_where(md, in, t);
		sb_printf(md, " | %s | ", kind(t));
		md_cell(md, t->message, 500);
		sb_append_str(md, " |\n");
		if (!fits(md, row, in))
			left_out++;
	}
	header = false;
	for (size_t i = 0; i < l->n && !left_out; i++) {
		const struct collected *t = l->items[i];
		if (t->status != RESULT_FLAKY)
			continue;
		if (!header)
			sb_append_str(md, "\n### Flaky (passed on retry)\n\n");
		header = true;
		size_t row = md->len;
		sb_append_str(md, "- ");
		md_cell(md, t->test_name, 200);
		sb_printf(md, ": passed on attempt %u of %u (", t->attempt, t->max_attempts);
		md_where(md, in, t);
		sb_append_str(md, ")\n");
		if (!fits(md, row, in))
			left_out++;
	}
	if (!left_out && l->n > 1) {
		collect_sort_by_duration(l);
		sb_append_str(md, "\n### Slowest\n\n| test | time |\n|---|---:|\n");
		for (size_t i = 0; i < l->n && i < SLOWEST_ROWS; i++) {
			char dur[32];
			size_t row = md->len;

			if (l->items[i]->status == RESULT_SKIP)
				break;
			util_format_duration(l->items[i]->duration_ns, dur, sizeof(dur));
			sb_append_str(md, "| ");
			md_cell(md, l->items[i]->test_name, 200);
			sb_printf(md, " | %s |\n", dur);
			if (!fits(md, row, in)) {
				left_out++;
				break;
			}
		}
	}
	if (left_out)
		sb_printf(md,
			  "\n> The summary was cut to stay under GitHub's 1 MiB limit: %zu more "
			  "row(s) are not shown. The JUnit report and the log have every result.\n",
			  left_out);
	return sb_error(md);
}
