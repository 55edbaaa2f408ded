/* tap: the TAP reporter (--tap FILE|-, --tap-version 13|14).
 *
 * Follows the TAP 14 specification (testanything.org/tap-version-14-
 * specification.html): test points are numbered in suite (plan) order, so
 * that a test keeps its number from run to run; TAP requires the numbers in
 * sequence, so a test that ends before an earlier one waits in a buffer
 * until every earlier test point is written. The plan comes last, YAML
 * diagnostics follow a test point indented by two spaces.
 * Diagnostics use only the YAML subset that Perl's TAP::Parser::YAMLish
 * reads (double-quoted scalars, `|` literal blocks, nested mappings), so that
 * prove accepts them. */
#include "reporter_builtin.h"

#include "strbuf.h"
#include "text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TAP_TAIL_LINES 20
#define TAP_TAIL_BYTES 4096

struct tap {
	struct reporter base;
	FILE *f;
	bool own; /* f was opened here */
	unsigned version;
	unsigned n; /* test points written */
	struct strbuf line, tmp;
	/* test points not written yet, by plan index: pend[i - first] is the
	 * point of index i after its number ("ok"/"not ok" in pend_ok) */
	struct strbuf *pend;
	bool *pend_ok, *pend_have;
	size_t first, cap;
};

/* The writers below append freely to t->line and return its sticky error
 * (strbuf.h); a scratch buffer's failure joins it through sb_set_error.
 * A line with an error is never written. */

/* Appends s sanitised to one line with `\` and `#` escaped (TAP 14,
 * "Escaping"): an unescaped # would start a directive. */
static int tap_escape_desc(struct tap *t, const char *s)
{
	sb_reset(&t->tmp);
	sb_set_error(&t->line, text_sanitize_str(&t->tmp, s, TEXT_ONE_LINE));
	for (size_t i = 0; i < t->tmp.len && !sb_error(&t->line); i++) {
		char c = t->tmp.buf[i];
		if (c == '\\' || c == '#')
			sb_append_char(&t->line, '\\');
		sb_append_char(&t->line, c);
	}
	return sb_error(&t->line);
}

/* Appends a YAML double-quoted scalar (YAML 1.2 §7.3.1) of text that has
 * already been sanitised: only `"`, `\`, LF and tab need escapes. */
static int yaml_quoted(struct strbuf *sb, const char *s, size_t len)
{
	sb_append_char(sb, '"');
	for (size_t i = 0; i < len && !sb_error(sb); i++) {
		switch (s[i]) {
		case '"':
			sb_append_str(sb, "\\\"");
			break;
		case '\\':
			sb_append_str(sb, "\\\\");
			break;
		case '\n':
			sb_append_str(sb, "\\n");
			break;
		case '\t':
			sb_append_str(sb, "\\t");
			break;
		default:
			sb_append_char(sb, s[i]);
		}
	}
	sb_append_char(sb, '"');
	return sb_error(sb);
}

static int yaml_key_str(struct tap *t, const char *indent, const char *key, const char *value)
{
	sb_reset(&t->tmp);
	sb_set_error(&t->line, text_sanitize_str(&t->tmp, value ? value : "", TEXT_ONE_LINE));
	sb_printf(&t->line, "%s%s: ", indent, key);
	yaml_quoted(&t->line, sb_str(&t->tmp), t->tmp.len);
	sb_append_char(&t->line, '\n');
	return sb_error(&t->line);
}

/* The tail of one output stream. A `|` block keeps it readable; a tail
 * whose first line starts with white space would change the block's
 * indentation, so it is written double-quoted instead. */
static int yaml_output(struct tap *t, const char *key, const struct result_output *o)
{
	struct strbuf raw = {0};
	sb_set_error(&t->line, text_output_join(&raw, o));
	sb_reset(&t->tmp);
	if (!sb_error(&t->line))
		sb_set_error(&t->line, text_sanitize(&t->tmp, sb_str(&raw), raw.len, 0));
	sb_release(&raw);
	if (sb_error(&t->line) || !t->tmp.len)
		return sb_error(&t->line);
	const char *s = t->tmp.buf;
	size_t off = text_tail_offset(s, t->tmp.len, TAP_TAIL_LINES, TAP_TAIL_BYTES);
	size_t len = t->tmp.len - off;
	s += off;
	while (len && s[len - 1] == '\n')
		len--;
	if (!len)
		return 0;
	if (s[0] == ' ' || s[0] == '\t') {
		sb_printf(&t->line, "  %s: ", key);
		yaml_quoted(&t->line, s, len);
	} else {
		sb_printf(&t->line, "  %s: |\n    ", key);
		for (size_t i = 0; i < len && !sb_error(&t->line); i++) {
			sb_append_char(&t->line, s[i]);
			if (s[i] == '\n') /* an empty line keeps its indentation */
				sb_append_str(&t->line, "    ");
		}
	}
	sb_append_char(&t->line, '\n');
	return sb_error(&t->line);
}

static int tap_diagnostics(struct tap *t, const struct result_record *rec)
{
	/* a pass that says more: flaky, or a leak (the output is not shown) */
	bool flaky = rec->status == RESULT_FLAKY || rec->status == RESULT_LEAK;
	const char *severity = rec->status == RESULT_FLAKY	 ? "flaky"
			       : rec->status == RESULT_LEAK	 ? "warning"
			       : rec->status == RESULT_ERROR	 ? "error"
			       : rec->status == RESULT_CANCELLED ? "cancelled"
								 : "fail";
	sb_append_str(&t->line, "  ---\n");
	if (rec->status == RESULT_FLAKY)
		sb_printf(&t->line,
			  "  message: \"passed on attempt %u of %u after %u failed attempt%s\"\n",
			  rec->attempt, rec->max_attempts, rec->attempt - 1,
			  rec->attempt == 2 ? "" : "s");
	else
		yaml_key_str(t, "  ", "message", rec->message);
	sb_printf(&t->line, "  severity: %s\n", severity);
	if (rec->status == RESULT_LEAK)
		sb_printf(&t->line, "  leaked: %u\n", rec->leaked);
	if (!flaky && rec->status != RESULT_ERROR && rec->status != RESULT_CANCELLED)
		sb_printf(&t->line, "  type: %s\n",
			  rec->status == RESULT_TIMEOUT ? "timeout"
							: result_fail_kind_name(rec->fail_kind));
	sb_append_str(&t->line, "  at:\n");
	yaml_key_str(t, "    ", "file", rec->suite_file);
	sb_printf(&t->line, "    line: %u\n", rec->line);
	if (rec->exited && !flaky)
		sb_printf(&t->line, "  exit: %d\n  expected_exit: %d\n", rec->exit_code,
			  rec->expected_exit);
	if (rec->signal > 0 && !flaky)
		sb_printf(&t->line, "  signal: %d\n", rec->signal);
	sb_printf(&t->line, "  duration_ms: %llu\n",
		  (unsigned long long)(rec->duration_ns / 1000000u));
	sb_printf(&t->line, "  attempt: %u\n", rec->attempt);
	if (!flaky) {
		yaml_output(t, "output", &rec->out);
		yaml_output(t, "stderr", &rec->err);
	}
	sb_append_str(&t->line, "  ...\n");
	return sb_error(&t->line);
}

/* Writes t->line unless an append to it failed; empties it either way. */
static int tap_flush_line(struct tap *t)
{
	int rc = sb_error(&t->line);
	if (!rc && t->line.len && fwrite(t->line.buf, 1, t->line.len, t->f) != t->line.len)
		rc = -EIO;
	if (fflush(t->f) && !rc)
		rc = -EIO;
	sb_reset(&t->line);
	return rc;
}

/* Writes one test point: its verdict, the next number, the rest. */
static int tap_write_point(struct tap *t, bool ok, const struct strbuf *rest)
{
	if (fprintf(t->f, "%s %u", ok ? "ok" : "not ok", ++t->n) < 0 ||
	    (rest->len && fwrite(rest->buf, 1, rest->len, t->f) != rest->len))
		return -EIO;
	return fflush(t->f) ? -EIO : 0;
}

/* Keeps the test point of plan index idx (t->line, after its number). */
static int tap_hold(struct tap *t, size_t idx, bool ok)
{
	if (idx < t->first)
		return -EINVAL; /* two final records of one test: a runner bug */
	size_t slot = idx - t->first;
	if (slot >= t->cap) {
		size_t cap = t->cap ? t->cap : 16;
		while (cap <= slot)
			cap *= 2;
		struct strbuf *p = realloc(t->pend, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		t->pend = p;
		bool *o = realloc(t->pend_ok, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		t->pend_ok = o;
		bool *h = realloc(t->pend_have, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		t->pend_have = h;
		memset(t->pend + t->cap, 0, (cap - t->cap) * sizeof(*p));
		memset(t->pend_have + t->cap, 0, (cap - t->cap) * sizeof(*h));
		t->cap = cap;
	}
	if (t->pend_have[slot])
		return -EINVAL;
	int rc = sb_append(&t->pend[slot], t->line.buf ? t->line.buf : "", t->line.len);
	if (rc)
		return rc;
	t->pend_ok[slot] = ok;
	t->pend_have[slot] = true;
	return 0;
}

/* Writes the held test points that are next in plan order; with all
 * (the run ended), also those after a gap (a test with no record). */
static int tap_write_ready(struct tap *t, bool all)
{
	int rc = 0;
	size_t done = 0;
	for (size_t i = 0; i < t->cap && !rc; i++) {
		if (!t->pend_have[i]) {
			if (!all)
				break;
			if (done == i)
				done++;
			continue;
		}
		rc = tap_write_point(t, t->pend_ok[i], &t->pend[i]);
		sb_release(&t->pend[i]);
		t->pend_have[i] = false;
		if (done == i)
			done++;
	}
	if (done && !rc) {
		/* slide the window so that slot 0 is the next index to write */
		memmove(t->pend, t->pend + done, (t->cap - done) * sizeof(*t->pend));
		memmove(t->pend_ok, t->pend_ok + done, (t->cap - done) * sizeof(*t->pend_ok));
		memmove(t->pend_have, t->pend_have + done, (t->cap - done) * sizeof(*t->pend_have));
		memset(t->pend + t->cap - done, 0, done * sizeof(*t->pend));
		memset(t->pend_have + t->cap - done, 0, done * sizeof(*t->pend_have));
		t->first += done;
	}
	return rc;
}

static int tap_begin(struct reporter *r, const struct run_info *info)
{
	struct tap *t = r->priv;
	sb_printf(&t->line, "TAP version %u\n", t->version);
	if (info->backend_note) {
		sb_reset(&t->tmp);
		sb_set_error(&t->line,
			     text_sanitize_str(&t->tmp, info->backend_note, TEXT_ONE_LINE));
		sb_printf(&t->line, "# backend: %s\n", sb_str(&t->tmp));
	}
	return tap_flush_line(t);
}

static int tap_result(struct reporter *r, const struct result_record *rec)
{
	struct tap *t = r->priv;

	if (!rec->final) {
		/* An attempt that will be retried: a comment, not a test point. */
		sb_append_str(&t->line, "# retrying ");
		tap_escape_desc(t, rec->test_name);
		sb_printf(&t->line, ": attempt %u of %u: ", rec->attempt, rec->max_attempts);
		tap_escape_desc(t, rec->message);
		sb_append_char(&t->line, '\n');
		return tap_flush_line(t);
	}
	bool ok = rec->status == RESULT_PASS || rec->status == RESULT_SKIP ||
		  rec->status == RESULT_FLAKY || rec->status == RESULT_LEAK;
	sb_append_str(&t->line, " - ");
	tap_escape_desc(t, rec->test_name);
	if (rec->status == RESULT_SKIP) {
		sb_append_str(&t->line, " # SKIP ");
		tap_escape_desc(t, rec->skip_reason ? rec->skip_reason : rec->message);
	}
	sb_append_char(&t->line, '\n');
	if (!ok || rec->status == RESULT_FLAKY || rec->status == RESULT_LEAK)
		tap_diagnostics(t, rec);
	int rc = sb_error(&t->line);
	if (!rc)
		rc = rec->setup ? tap_write_point(t, ok, &t->line) : tap_hold(t, rec->index, ok);
	sb_reset(&t->line);
	return rc ? rc : tap_write_ready(t, false);
}

static int tap_end(struct reporter *r, const struct run_summary *sum)
{
	struct tap *t = r->priv;
	int rc = tap_write_ready(t, true);
	if (rc)
		return rc;

	if (sum->aborted || sum->infra_error) {
		/* TAP 14 "Bail out!": the harness stops and reports the reason. */
		sb_append_str(&t->line, "Bail out! ");
		tap_escape_desc(t,
				sum->abort_reason ? sum->abort_reason : "infrastructure failure");
		sb_append_char(&t->line, '\n');
	} else if (t->n == 0) {
		sb_append_str(&t->line, "1..0 # SKIP no tests selected\n");
	} else {
		sb_printf(&t->line, "1..%u\n", t->n);
	}
	return tap_flush_line(t);
}

static void tap_destroy(struct reporter *r)
{
	if (!r)
		return;
	struct tap *t = r->priv;
	if (t->own)
		fclose(t->f);
	else
		fflush(t->f);
	sb_release(&t->line);
	sb_release(&t->tmp);
	for (size_t i = 0; i < t->cap; i++)
		sb_release(&t->pend[i]);
	free(t->pend);
	free(t->pend_ok);
	free(t->pend_have);
	free(t);
}

static const struct reporter_ops tap_ops = {
    .name = "tap",
    .begin = tap_begin,
    .result = tap_result,
    .end = tap_end,
    .destroy = tap_destroy,
};

static int tap_new(FILE *f, bool own, unsigned version, struct reporter **out)
{
	struct tap *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->f = f;
	t->own = own;
	t->version = version;
	t->base.ops = &tap_ops;
	t->base.priv = t;
	*out = &t->base;
	return 0;
}

int tap_reporter_create_stream(FILE *f, unsigned version, struct reporter **out)
{
	if (!f || (version != 13 && version != 14))
		return -EINVAL;
	return tap_new(f, false, version, out);
}

int tap_reporter_create(const char *path, unsigned version, struct reporter **out)
{
	if (!path || !*path || (version != 13 && version != 14))
		return -EINVAL;
	if (!strcmp(path, "-"))
		return tap_new(stdout, false, version, out);
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	int rc = tap_new(f, true, version, out);
	if (rc)
		fclose(f);
	return rc;
}
