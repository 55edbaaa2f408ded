/* gha: the GitHub Actions reporter (GITHUB_ACTIONS=true, or --github).
 *
 * Workflow commands follow docs.github.com "Workflow commands for GitHub
 * Actions": each failing test's output in a ::group::, an ::error annotation
 * at the test's file:line for the first ten failures (GitHub shows ten per
 * step) and one ::notice with the full count, ::warning for flaky tests.
 * Test output is printed between ::stop-commands::TOKEN and ::TOKEN:: so
 * that a test cannot issue workflow commands (set outputs, add masks) by
 * printing them. At the end: the Markdown step summary and the step outputs. */
#include "reporter_builtin.h"

#include "gha.h"
#include "text.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define GROUP_TAIL_LINES 200
#define GROUP_TAIL_BYTES ((size_t)64 * 1024)
#define NOTE_TAIL_LINES	 5 /* output lines quoted in an ::error annotation */
#define NOTE_TAIL_BYTES	 1024u

struct gha {
	struct reporter base;
	FILE *out;
	char *step_summary, *output, *junit_path, *server_url, *repository, *sha;
	char *suite_name, *backend, *backend_note, *partition;
	bool have_snapshot, cache_hit;
	unsigned max_errors, n_errors, n_failures, n_warnings;
	size_t summary_limit;
	char token[33]; /* ::stop-commands:: token, fresh per reporter */
	struct collect_list results;
	struct strbuf line;
};

bool gha_detect_env(void)
{
	const char *v = getenv("GITHUB_ACTIONS");
	return v && !strcmp(v, "true");
}

void gha_opts_from_env(struct gha_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->out = stdout;
	o->step_summary = getenv("GITHUB_STEP_SUMMARY");
	o->output = getenv("GITHUB_OUTPUT");
	o->server_url = getenv("GITHUB_SERVER_URL");
	o->repository = getenv("GITHUB_REPOSITORY");
	o->sha = getenv("GITHUB_SHA");
}

static int emit(struct gha *g)
{
	int rc = 0;
	if (g->line.len && fwrite(g->line.buf, 1, g->line.len, g->out) != g->line.len)
		rc = -EIO;
	if (fflush(g->out) && !rc)
		rc = -EIO;
	sb_reset(&g->line);
	return rc;
}

/* "::KIND file=F,line=L,title=T::message" */
static int annotate(struct gha *g, const char *kind, const struct result_record *rec,
		    const char *title_prefix, const char *message)
{
	struct strbuf title = {0};
	sb_printf(&g->line, "::%s file=", kind);
	gha_escape_property(&g->line, rec->suite_file ? rec->suite_file : "");
	sb_printf(&g->line, ",line=%u,title=", rec->line);
	if (!sb_set_error(&g->line, sb_printf(&title, "%s%s", title_prefix,
					      rec->test_name ? rec->test_name : "")))
		gha_escape_property(&g->line, sb_str(&title));
	sb_append_str(&g->line, "::");
	gha_escape_data(&g->line, message, strlen(message));
	sb_append_char(&g->line, '\n');
	sb_release(&title);
	return sb_error(&g->line);
}

/* Appends the tail of one stream, sanitised, inside the stop-commands fence. */
static int group_stream(struct gha *g, const char *what, const struct result_output *o)
{
	struct strbuf raw = {0}, clean = {0};
	int rc = text_output_join(&raw, o);
	if (!rc)
		rc = text_sanitize(&clean, sb_str(&raw), raw.len, 0);
	if (!sb_set_error(&g->line, rc) && clean.len) {
		size_t off =
		    text_tail_offset(sb_str(&clean), clean.len, GROUP_TAIL_LINES, GROUP_TAIL_BYTES);
		sb_printf(&g->line, "--- %s%s ---\n", what, off ? " (tail)" : "");
		sb_append(&g->line, sb_str(&clean) + off, clean.len - off);
		if (clean.buf[clean.len - 1] != '\n')
			sb_append_char(&g->line, '\n');
	}
	sb_release(&raw);
	sb_release(&clean);
	return sb_error(&g->line);
}

/* The annotation text: the message, then the last lines of stderr (or of
 * stdout when stderr is empty), so that the failure reads in the PR view. */
static int annotation_text(struct strbuf *note, const struct result_record *rec)
{
	struct strbuf raw = {0}, clean = {0};
	const struct result_output *o =
	    rec->err.head_len || rec->err.tail_len ? &rec->err : &rec->out;
	int rc = text_output_join(&raw, o);

	if (!rc)
		rc = text_sanitize(&clean, sb_str(&raw), raw.len, 0);
	sb_set_error(note, rc);
	sb_append_str(note, rec->message ? rec->message : "");
	if (!rc && clean.len) {
		size_t len = clean.len;
		while (len && clean.buf[len - 1] == '\n')
			len--;
		size_t off = text_tail_offset(clean.buf, len, NOTE_TAIL_LINES, NOTE_TAIL_BYTES);
		if (off < len) {
			sb_append_char(note, '\n');
			sb_append(note, clean.buf + off, len - off);
		}
	}
	sb_release(&raw);
	sb_release(&clean);
	return sb_error(note);
}

static int gha_failure(struct gha *g, const struct result_record *rec)
{
	struct strbuf msg = {0};
	sb_append_str(&g->line, "::group::");
	gha_escape_data(&g->line, "FAIL ", 5);
	gha_escape_data(&g->line, rec->test_name ? rec->test_name : "",
			rec->test_name ? strlen(rec->test_name) : 0);
	sb_printf(&g->line, "\n::stop-commands::%s\n", g->token);
	if (!sb_set_error(&g->line, text_sanitize_str(&msg, rec->message, TEXT_ONE_LINE)))
		sb_printf(&g->line, "%s\n", sb_str(&msg));
	group_stream(g, "stdout", &rec->out);
	group_stream(g, "stderr", &rec->err);
	sb_printf(&g->line, "::%s::\n::endgroup::\n", g->token);
	g->n_failures++;
	if (!sb_error(&g->line) && g->n_errors < g->max_errors) {
		g->n_errors++;
		sb_reset(&msg);
		if (!sb_set_error(&g->line, annotation_text(&msg, rec)))
			annotate(g, "error", rec, "", sb_str(&msg));
	}
	sb_release(&msg);
	return sb_error(&g->line);
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

static int gha_begin(struct reporter *r, const struct run_info *info)
{
	struct gha *g = r->priv;
	free(g->suite_name);
	free(g->backend);
	free(g->backend_note);
	free(g->partition);
	g->have_snapshot = info->snapshot_id != NULL;
	g->cache_hit = info->cache_hit;
	if (dup_opt(info->suite_name, &g->suite_name) || dup_opt(info->backend, &g->backend) ||
	    dup_opt(info->backend_note, &g->backend_note) ||
	    dup_opt(info->partition, &g->partition))
		return -ENOMEM;
	if (info->backend_note) {
		sb_append_str(&g->line, "::warning title=smoltest backend::");
		gha_escape_data(&g->line, info->backend_note, strlen(info->backend_note));
		sb_append_char(&g->line, '\n');
		return sb_error(&g->line) ? sb_error(&g->line) : emit(g);
	}
	return 0;
}

static int gha_result(struct reporter *r, const struct result_record *rec)
{
	struct gha *g = r->priv;
	int rc = 0;

	if (!rec->final)
		return 0;
	rc = collect_add(&g->results, rec);
	if (!rc && collect_is_failure(rec->status))
		rc = gha_failure(g, rec);
	if (!rc && rec->status == RESULT_FLAKY && g->n_warnings < g->max_errors) {
		char msg[128];
		snprintf(msg, sizeof(msg), "passed on attempt %u of %u after failing", rec->attempt,
			 rec->max_attempts);
		g->n_warnings++;
		rc = annotate(g, "warning", rec, "flaky: ", msg);
	}
	/* a leak passes with a warning; a cancelled test is a notice (the
	 * failure or the signal that stopped it has its own line) */
	if (!rc && (rec->status == RESULT_LEAK || rec->status == RESULT_CANCELLED) &&
	    g->n_warnings < g->max_errors) {
		g->n_warnings++;
		bool leak = rec->status == RESULT_LEAK;
		rc = annotate(g, leak ? "warning" : "notice", rec,
			      leak ? "leak: " : "cancelled: ", rec->message);
	}
	return rc ? rc : emit(g);
}

/* Appends data to a file GitHub gave us (opened for append each time, as the
 * runner expects several steps to share it). */
static int append_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rc = util_write_all(fd, data, len);
	if (close(fd) && !rc)
		rc = -errno;
	return rc;
}

static int write_outputs(struct gha *g, const struct run_summary *s)
{
	struct strbuf o = {0};
	sb_printf(
	    &o, "passed=%u\nfailed=%u\nflaky=%u\nskipped=%u\nerrors=%u\nleaked=%u\ncancelled=%u\n",
	    s->passed, s->failed + s->timeouts, s->flaky, s->skipped, s->errors, s->leaked,
	    s->cancelled);
	if (g->junit_path) {
		sb_append_str(&o, "junit=");
		text_sanitize_str(&o, g->junit_path, TEXT_ONE_LINE);
		sb_append_char(&o, '\n');
	}
	int rc = sb_error(&o);
	if (!rc)
		rc = append_file(g->output, o.buf, o.len);
	if (rc)
		fprintf(stderr, "smoltest: github: cannot append outputs to %s: %s\n", g->output,
			strerror(-rc));
	sb_release(&o);
	return rc;
}

static int write_summary(struct gha *g, const struct run_summary *s)
{
	struct strbuf md = {0};
	struct gha_summary_in in = {
	    .suite_name = g->suite_name,
	    .backend = g->backend,
	    .backend_note = g->backend_note,
	    .partition = g->partition,
	    .have_snapshot = g->have_snapshot,
	    .cache_hit = g->cache_hit,
	    .server_url = g->server_url,
	    .repository = g->repository,
	    .sha = g->sha,
	    .sum = s,
	    .results = &g->results,
	    .limit = g->summary_limit,
	};
	int rc = gha_summary_render(&md, &in);
	if (!rc)
		rc = append_file(g->step_summary, md.buf, md.len);
	if (rc)
		fprintf(stderr, "smoltest: github: cannot append the step summary to %s: %s\n",
			g->step_summary, strerror(-rc));
	sb_release(&md);
	return rc;
}

static int gha_end(struct reporter *r, const struct run_summary *s)
{
	struct gha *g = r->priv;
	int rc = 0, rc2;

	if (g->n_failures > g->n_errors)
		rc = sb_printf(
		    &g->line,
		    "::notice title=smoltest::%u tests failed; GitHub shows 10 annotations "
		    "per step, so only the first %u are annotated. The job summary and the "
		    "JUnit report list all of them.\n",
		    g->n_failures, g->n_errors);
	if (!rc)
		rc = emit(g);
	if (g->step_summary && (rc2 = write_summary(g, s)) && !rc)
		rc = rc2;
	if (g->output && (rc2 = write_outputs(g, s)) && !rc)
		rc = rc2;
	return rc;
}

static void gha_destroy(struct reporter *r)
{
	if (!r)
		return;
	struct gha *g = r->priv;
	free(g->step_summary);
	free(g->output);
	free(g->junit_path);
	free(g->server_url);
	free(g->repository);
	free(g->sha);
	free(g->suite_name);
	free(g->backend);
	free(g->backend_note);
	free(g->partition);
	collect_release(&g->results);
	sb_release(&g->line);
	free(g);
}

static const struct reporter_ops gha_ops = {
    .name = "github",
    .begin = gha_begin,
    .result = gha_result,
    .end = gha_end,
    .destroy = gha_destroy,
};

/* A token that test output cannot guess (docs: "Stopping and starting
 * workflow commands" asks for a random one per use). */
static void make_token(char *buf)
{
	unsigned char raw[16];
	static const char hex[] = "0123456789abcdef";

	if (getrandom(raw, sizeof(raw), GRND_NONBLOCK) != (ssize_t)sizeof(raw)) {
		uint64_t v = util_now_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL);
		for (size_t i = 0; i < sizeof(raw); i++)
			raw[i] = (unsigned char)(v >> (8 * (i % 8))) ^ (unsigned char)(i * 151);
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		buf[2 * i] = hex[raw[i] >> 4];
		buf[2 * i + 1] = hex[raw[i] & 15];
	}
	buf[32] = '\0';
}

int gha_reporter_create(const struct gha_opts *o, struct reporter **out)
{
	if (!o || !o->out)
		return -EINVAL;
	struct gha *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->base.ops = &gha_ops;
	g->base.priv = g;
	g->out = o->out;
	g->max_errors = o->max_errors ? o->max_errors : GHA_MAX_ERRORS;
	g->summary_limit = o->summary_limit ? o->summary_limit : GHA_SUMMARY_LIMIT;
	if (dup_opt(o->step_summary && *o->step_summary ? o->step_summary : NULL,
		    &g->step_summary) ||
	    dup_opt(o->output && *o->output ? o->output : NULL, &g->output) ||
	    dup_opt(o->junit_path, &g->junit_path) || dup_opt(o->server_url, &g->server_url) ||
	    dup_opt(o->repository, &g->repository) || dup_opt(o->sha, &g->sha)) {
		gha_destroy(&g->base);
		return -ENOMEM;
	}
	make_token(g->token);
	*out = &g->base;
	return 0;
}
