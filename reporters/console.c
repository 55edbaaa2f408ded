/* console: progress and results for people (the default reporter).
 *
 * Three shapes, chosen once at creation: a live status line on a colour
 * terminal; plain lines (one per result) when the stream is not a terminal,
 * NO_COLOR is set or --color=never; and -q, which prints only failures and
 * the summary. After the run: every failure again with its output tail, the
 * slowest tests, and one summary line. */
#include "reporter_builtin.h"

#include "collect.h"
#include "strbuf.h"
#include "text.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define C_RED		   "\x1b[31m"
#define C_GREEN		   "\x1b[32m"
#define C_YELLOW	   "\x1b[33m"
#define C_MAGENTA	   "\x1b[35m"
#define C_DIM		   "\x1b[2m"
#define C_BOLD		   "\x1b[1m"
#define C_RESET		   "\x1b[0m"
#define MAX_ARTIFACT_LINES 5	/* artifact paths listed per failure */
#define STATUS_WIDTH	   78	/* the live line never wraps on an 80-column terminal */
#define TAIL_BYTES	   8192 /* of a tail: a megabyte line is cut, and said */

struct console {
	struct reporter base;
	FILE *f;
	struct console_opts o;
	bool color, live;
	bool printed; /* a result line was written: the summary gets a blank line */
	bool gone;    /* the stream's reader went away: nothing more is written */
	char *backend;
	bool cache_hit, have_snapshot;
	unsigned planned, done;
	uint64_t start_ns;
	char **running; /* names of attempts in flight, for the status line */
	size_t n_running, cap_running;
	struct collect_list results;
	struct strbuf line, tmp;
};

void console_opts_from_env(struct console_opts *o, FILE *f)
{
	const char *term = getenv("TERM");
	const char *nc = getenv("NO_COLOR");

	memset(o, 0, sizeof(*o));
	o->tty = isatty(fileno(f)) && !(term && !strcmp(term, "dumb"));
	o->no_color_env = nc && *nc;
	o->color = CONSOLE_COLOR_AUTO;
	o->slowest = 5;
	o->tail_lines = 20;
}

static const char *paint(struct console *c, const char *code)
{
	return c->color ? code : "";
}

/* The reader of the stream went away (err -EPIPE or -EIO): stop writing
 * to it and tell the runner, once. */
static void reader_gone(struct console *c, int err)
{
	if (c->gone)
		return;
	c->gone = true;
	if (c->o.reader_gone)
		c->o.reader_gone(c->o.reader_gone_ctx, err);
}

/* Writes the line, unless an append to it failed (its sticky error,
 * strbuf.h, is returned then); empties it either way. The writers below
 * append to c->line freely and leave the checking to emit. */
static int emit(struct console *c)
{
	int rc = sb_error(&c->line);
	if (rc || c->gone) {
		sb_reset(&c->line);
		return rc;
	}
	errno = 0;
	if (c->line.len && fwrite(c->line.buf, 1, c->line.len, c->f) != c->line.len)
		rc = -(errno ? errno : EIO);
	if (fflush(c->f) && !rc)
		rc = -(errno ? errno : EIO);
	sb_reset(&c->line);
	if (rc == -EPIPE || rc == -EIO) {
		reader_gone(c, rc);
		return 0; /* said through reader_gone, not as a failing reporter */
	}
	return rc;
}

/* A pipe whose reader exited polls POLLERR, a hung-up terminal or a
 * closed socket POLLHUP: noticed within a tick even when nothing is
 * written (regular files and /dev/null poll neither). */
static void check_reader(struct console *c)
{
	struct pollfd p = {.fd = fileno(c->f), .events = POLLOUT};
	if (!c->gone && p.fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)))
		reader_gone(c, p.revents & POLLERR ? -EPIPE : -EIO);
}

/* Appends s as one sanitised line, cut to max bytes (0: no limit). The
 * scratch buffer's failure joins the line's error. */
static int put_clean(struct console *c, const char *s, size_t max)
{
	sb_reset(&c->tmp);
	if (sb_set_error(&c->line, text_sanitize_str(&c->tmp, s, TEXT_ONE_LINE)))
		return sb_error(&c->line);
	size_t n = max ? text_utf8_cut(sb_str(&c->tmp), c->tmp.len, max) : c->tmp.len;
	sb_append(&c->line, sb_str(&c->tmp), n);
	if (n < c->tmp.len)
		sb_append_str(&c->line, "…");
	return sb_error(&c->line);
}

static int status_line(struct console *c)
{
	char el[32];
	size_t start = c->line.len;
	sb_printf(&c->line, "\r\x1b[K%s[%u/%u]%s %s", paint(c, C_BOLD), c->done, c->planned,
		  paint(c, C_RESET),
		  util_format_duration(util_now_ns() - c->start_ns, el, sizeof(el)));
	for (size_t i = 0; i < c->n_running && !sb_error(&c->line); i++) {
		size_t used = c->line.len - start;
		if (used + 12 > STATUS_WIDTH) {
			sb_printf(&c->line, " +%zu", c->n_running - i);
			break;
		}
		sb_append_str(&c->line, i ? ", " : " running: ");
		put_clean(c, c->running[i], STATUS_WIDTH - used - 8);
	}
	return sb_error(&c->line);
}

static const char *label(const struct result_record *r, const char **color)
{
	switch (r->status) {
	case RESULT_PASS:
		*color = C_GREEN;
		return "PASS ";
	case RESULT_FLAKY:
		*color = C_YELLOW;
		return "FLAKY";
	case RESULT_SKIP:
		*color = C_DIM;
		return "SKIP ";
	case RESULT_TIMEOUT:
		*color = C_RED;
		return "TIME ";
	case RESULT_ERROR:
		*color = C_MAGENTA;
		return "ERROR";
	case RESULT_LEAK:
		*color = C_YELLOW;
		return "LEAK ";
	case RESULT_CANCELLED:
		*color = C_YELLOW;
		return "CANCEL";
	case RESULT_FAIL:
		break;
	}
	*color = C_RED;
	return "FAIL ";
}

/* Prints the last lines of one stream, indented, under a heading; the
 * lines left out before them are said with one "… N lines omitted …" line
 * so that a cut output never looks whole. Full output (--failure-output
 * full, -v) prints every line the runner kept. */
static int put_tail(struct console *c, const char *what, const char *raw, size_t len)
{
	if (!raw || !len)
		return sb_error(&c->line);
	sb_reset(&c->tmp);
	if (sb_set_error(&c->line, text_sanitize(&c->tmp, raw, len, 0)) || !c->tmp.len)
		return sb_error(&c->line);
	bool full = c->o.full_output || c->o.verbosity > 0;
	unsigned lines = full ? UINT_MAX : c->o.tail_lines ? c->o.tail_lines : 20;
	const char *s = sb_str(&c->tmp);
	size_t off = text_tail_offset(s, c->tmp.len, lines, full ? SIZE_MAX : TAIL_BYTES);
	sb_printf(&c->line, "  %s%s%s:\n", paint(c, C_DIM), what, paint(c, C_RESET));
	if (off) {
		size_t n = 0;
		for (size_t i = 0; i < off; i++)
			n += s[i] == '\n';
		sb_printf(&c->line,
			  "    %s… %zu line%s%s omitted (--failure-output full shows them) …%s\n",
			  paint(c, C_DIM), n, n == 1 ? "" : "s",
			  s[off - 1] != '\n' ? " and part of one" : "", paint(c, C_RESET));
	}
	bool bol = true;
	for (size_t i = off; i < c->tmp.len && !sb_error(&c->line); i++) {
		if (bol)
			sb_append_str(&c->line, "    | ");
		sb_append_char(&c->line, s[i]);
		bol = s[i] == '\n';
	}
	if (!bol)
		sb_append_char(&c->line, '\n');
	return sb_error(&c->line);
}

static int console_begin(struct reporter *r, const struct run_info *info)
{
	struct console *c = r->priv;
	c->planned = info->planned;
	c->cache_hit = info->cache_hit;
	c->have_snapshot = info->snapshot_id != NULL;
	c->start_ns = util_now_ns();
	free(c->backend);
	c->backend = info->backend ? strdup(info->backend) : NULL;
	if (info->backend && !c->backend)
		return -ENOMEM;
	/* A label, not a warning: the runner prints the one warning line when
	 * `backend: auto` falls back (DESIGN.md "Backends"); every report still
	 * says which backend ran and what it lacks. */
	if (info->backend_note) {
		sb_printf(&c->line, "%sbackend:%s ", paint(c, C_YELLOW), paint(c, C_RESET));
		put_clean(c, info->backend_note, 0);
		sb_append_char(&c->line, '\n');
	}
	if (c->live)
		status_line(c);
	return emit(c);
}

static int console_started(struct reporter *r, const char *name, unsigned attempt)
{
	struct console *c = r->priv;
	if (!c->live)
		return 0;
	if (c->n_running == c->cap_running) {
		size_t cap = c->cap_running ? c->cap_running * 2 : 8;
		char **v = realloc(c->running, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->running = v;
		c->cap_running = cap;
	}
	c->running[c->n_running] = strdup(name ? name : "");
	if (!c->running[c->n_running])
		return -ENOMEM;
	c->n_running++;
	status_line(c);
	return emit(c);
}

static void forget_running(struct console *c, const char *name)
{
	for (size_t i = 0; i < c->n_running; i++) {
		if (!strcmp(c->running[i], name ? name : "")) {
			free(c->running[i]);
			memmove(c->running + i, c->running + i + 1,
				(c->n_running - i - 1) * sizeof(*c->running));
			c->n_running--;
			return;
		}
	}
}

/* True when an artifact pattern of rec matched nothing. */
static bool any_missing_artifact(const struct result_record *rec)
{
	for (size_t k = 0; k < rec->n_artifacts; k++)
		if (rec->artifacts[k].missing)
			return true;
	return false;
}

/* A record's stdout and stderr as they arrive (put_tail). */
static int put_outputs(struct console *c, const struct result_record *rec)
{
	struct strbuf raw = {0};
	sb_set_error(&c->line, text_output_join(&raw, &rec->out));
	put_tail(c, "stdout", raw.buf, raw.len);
	sb_reset(&raw);
	sb_set_error(&c->line, text_output_join(&raw, &rec->err));
	put_tail(c, "stderr", raw.buf, raw.len);
	sb_release(&raw);
	return sb_error(&c->line);
}

/* The suite's setup failed (record.setup): its one line and its output,
 * now; it is neither a test in the recap nor among the slowest. */
static int setup_failed(struct console *c, const struct result_record *rec)
{
	if (c->live)
		sb_append_str(&c->line, "\r\x1b[K");
	c->printed = true;
	sb_printf(&c->line, "%sSETUP FAILED%s ", paint(c, C_RED), paint(c, C_RESET));
	put_clean(c, rec->message, 0);
	sb_printf(&c->line, " %s(", paint(c, C_DIM));
	put_clean(c, rec->suite_file, 0);
	sb_printf(&c->line, ":%u)%s\n", rec->line, paint(c, C_RESET));
	put_outputs(c, rec);
	return emit(c);
}

static int console_result(struct reporter *r, const struct result_record *rec)
{
	struct console *c = r->priv;
	const char *col;
	const char *lab = label(rec, &col);
	char dur[32];
	util_format_duration(rec->duration_ns, dur, sizeof(dur));
	bool failed = collect_is_failure(rec->status);

	forget_running(c, rec->test_name);
	if (rec->setup)
		return setup_failed(c, rec);
	if (rec->final) {
		c->done++;
		int rc = collect_add(&c->results, rec);
		if (rc)
			return rc;
	}
	if (c->live)
		sb_append_str(&c->line, "\r\x1b[K");
	bool show = c->o.verbosity >= 0 || (failed && rec->final);
	if (show) {
		c->printed = true;
		if (!rec->final)
			sb_printf(&c->line, "%sRETRY%s ", paint(c, C_YELLOW), paint(c, C_RESET));
		else
			sb_printf(&c->line, "%s%s%s ", paint(c, col), lab, paint(c, C_RESET));
		put_clean(c, rec->test_name, 0);
		if (rec->status != RESULT_SKIP)
			sb_printf(&c->line, " %s(%s)%s", paint(c, C_DIM), dur, paint(c, C_RESET));
		if (!rec->final)
			sb_printf(&c->line, " attempt %u of %u:", rec->attempt, rec->max_attempts);
		if (rec->status != RESULT_PASS && rec->status != RESULT_LEAK) {
			sb_append_str(&c->line, rec->status == RESULT_SKIP ? ": " : " ");
			put_clean(c,
				  rec->status == RESULT_SKIP && rec->skip_reason ? rec->skip_reason
										 : rec->message,
				  0);
		}
		for (size_t k = 0, m = 0; k < rec->n_artifacts; k++) {
			if (!rec->artifacts[k].missing)
				continue;
			sb_printf(&c->line, "%s%s", m++ ? ", '" : "\n  warning: artifact pattern '",
				  paint(c, C_YELLOW));
			put_clean(c, rec->artifacts[k].pattern, 200);
			sb_printf(&c->line, "%s'", paint(c, C_RESET));
		}
		if (rec->n_artifacts && rec->status != RESULT_SKIP && any_missing_artifact(rec))
			sb_append_str(&c->line, " matched nothing");
		/* a pass that says more ("passed; artifact ... not collected"), or
		 * a leak: a pass with a warning */
		else if (rec->message &&
			 ((rec->status == RESULT_PASS && !strncmp(rec->message, "passed; ", 8)) ||
			  rec->status == RESULT_LEAK)) {
			sb_printf(&c->line, "\n  warning: %s", paint(c, C_YELLOW));
			put_clean(c, rec->message + (rec->status == RESULT_PASS ? 8 : 0), 0);
			sb_append_str(&c->line, paint(c, C_RESET));
		}
		sb_append_char(&c->line, '\n');
		/* a cancelled test's output so far: it is in no recap */
		if (rec->final && !failed &&
		    (c->o.verbosity > 0 || rec->status == RESULT_CANCELLED))
			put_outputs(c, rec);
	}
	if (c->live)
		status_line(c);
	return emit(c);
}

static int recap_failures(struct console *c)
{
	struct collect_list *l = &c->results;
	bool any = false;

	collect_sort(l);
	for (size_t i = 0; i < l->n && !sb_error(&c->line); i++) {
		const struct collected *t = l->items[i];
		if (!collect_is_failure(t->status))
			continue;
		if (!any)
			sb_printf(&c->line, "\n%sFailures:%s\n", paint(c, C_BOLD),
				  paint(c, C_RESET));
		any = true;
		sb_printf(&c->line, "\n%s%s%s ", paint(c, C_RED),
			  t->status == RESULT_ERROR	? "ERROR"
			  : t->status == RESULT_TIMEOUT ? "TIMEOUT"
							: "FAIL",
			  paint(c, C_RESET));
		put_clean(c, t->test_name, 0);
		sb_append_str(&c->line, " (");
		put_clean(c, t->suite_file, 0);
		sb_printf(&c->line, ":%u)\n  ", t->line);
		put_clean(c, t->message, 0);
		sb_append_char(&c->line, '\n');
		put_tail(c, "stdout", t->out, t->out_len);
		put_tail(c, "stderr", t->err, t->err_len);
		for (size_t k = 0; k < t->n_artifacts && k < MAX_ARTIFACT_LINES; k++) {
			sb_append_str(&c->line, k ? "             " : "  artifacts: ");
			put_clean(c, t->artifacts[k], 0);
			sb_append_char(&c->line, '\n');
		}
		if (t->n_artifacts > MAX_ARTIFACT_LINES)
			sb_printf(&c->line, "             (%zu more)\n",
				  t->n_artifacts - MAX_ARTIFACT_LINES);
		for (size_t k = 0; k < t->n_missing_artifacts; k++) {
			sb_append_str(&c->line,
				      k ? ", '" : "  artifact patterns that matched nothing: '");
			put_clean(c, t->missing_artifacts[k], 200);
			sb_append_char(&c->line, '\'');
		}
		if (t->n_missing_artifacts)
			sb_append_char(&c->line, '\n');
	}
	return sb_error(&c->line);
}

static int recap_slowest(struct console *c)
{
	struct collect_list *l = &c->results;
	char dur[32];

	if (!c->o.slowest || l->n < 2 || c->o.verbosity < 0)
		return sb_error(&c->line);
	collect_sort_by_duration(l);
	sb_printf(&c->line, "\n%sSlowest:%s\n", paint(c, C_BOLD), paint(c, C_RESET));
	for (size_t i = 0; i < l->n && i < c->o.slowest && !sb_error(&c->line); i++) {
		if (l->items[i]->status == RESULT_SKIP)
			break;
		util_format_duration(l->items[i]->duration_ns, dur, sizeof(dur));
		sb_printf(&c->line, "  %8s  ", dur);
		put_clean(c, l->items[i]->test_name, 0);
		sb_append_char(&c->line, '\n');
	}
	return sb_error(&c->line);
}

static int console_end(struct reporter *r, const struct run_summary *s)
{
	struct console *c = r->priv;
	bool bad = s->failed || s->errors || s->timeouts || s->aborted;
	char wall[32];

	if (c->live)
		sb_append_str(&c->line, "\r\x1b[K");
	recap_failures(c);
	recap_slowest(c);
	if (s->setup_failed) {
		sb_printf(&c->line,
			  "\n%s%u test%s not run: the suite's setup failed at step %u after %s%s "
			  "(backend %s)\n",
			  paint(c, C_RED), s->not_run, s->not_run == 1 ? "" : "s", s->setup_steps,
			  util_format_duration(s->setup_ns, wall, sizeof(wall)), paint(c, C_RESET),
			  c->backend ? c->backend : "unknown");
		return emit(c);
	}
	if (s->aborted) {
		sb_printf(&c->line, "\n%saborted:%s ", paint(c, C_RED), paint(c, C_RESET));
		put_clean(c, s->abort_reason ? s->abort_reason : "run aborted", 0);
	}
	sb_printf(&c->line,
		  "%s%s%u test%s: %u passed, %u failed, %u flaky, %u skipped, %u error%s%s",
		  c->printed || s->aborted ? "\n" : "", paint(c, bad ? C_RED : C_GREEN), s->total,
		  s->total == 1 ? "" : "s", s->passed, s->failed + s->timeouts, s->flaky,
		  s->skipped, s->errors, s->errors == 1 ? "" : "s", paint(c, C_RESET));
	if (s->leaked)
		sb_printf(&c->line, ", %u leaked", s->leaked);
	if (s->cancelled)
		sb_printf(&c->line, ", %u cancelled", s->cancelled);
	sb_printf(&c->line, " in %s", util_format_duration(s->wall_ns, wall, sizeof(wall)));
	if (s->setup_ns)
		sb_printf(&c->line, " after a %s setup",
			  util_format_duration(s->setup_ns, wall, sizeof(wall)));
	sb_printf(&c->line, " (backend %s", c->backend ? c->backend : "unknown");
	if (c->have_snapshot)
		sb_printf(&c->line, ", cache %s", c->cache_hit ? "hit" : "miss");
	sb_append_str(&c->line, ")\n");
	return emit(c);
}

static void console_destroy(struct reporter *r)
{
	if (!r)
		return;
	struct console *c = r->priv;
	for (size_t i = 0; i < c->n_running; i++)
		free(c->running[i]);
	free(c->running);
	free(c->backend);
	collect_release(&c->results);
	sb_release(&c->line);
	sb_release(&c->tmp);
	if (!c->gone)
		fflush(c->f);
	free(c);
}

static const struct reporter_ops console_ops;

int console_reporter_tick(struct reporter *r)
{
	if (!r || r->ops != &console_ops)
		return -EINVAL;
	struct console *c = r->priv;
	check_reader(c);
	if (!c->live || c->gone)
		return 0;
	status_line(c);
	return emit(c);
}

static const struct reporter_ops console_ops = {
    .name = "console",
    .begin = console_begin,
    .test_started = console_started,
    .result = console_result,
    .end = console_end,
    .destroy = console_destroy,
    .tick = console_reporter_tick,
};

int console_reporter_create(FILE *f, const struct console_opts *o, struct reporter **out)
{
	if (!f)
		return -EINVAL;
	struct console *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->f = f;
	if (o) {
		c->o = *o;
	} else {
		c->o.slowest = 5;
		c->o.tail_lines = 20;
	}
	c->color = c->o.color == CONSOLE_COLOR_ALWAYS ||
		   (c->o.color == CONSOLE_COLOR_AUTO && c->o.tty && !c->o.no_color_env);
	/* NO_COLOR and --color=never also mean no cursor movement. */
	c->live = c->o.tty && c->o.color != CONSOLE_COLOR_NEVER && !c->o.no_color_env &&
		  c->o.verbosity >= 0;
	c->base.ops = &console_ops;
	c->base.priv = c;
	*out = &c->base;
	return 0;
}
