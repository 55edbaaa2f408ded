/* reporter_builtin: constructors for every reporter the runner can attach.
 *
 * Each constructor returns 0 and a new reporter in *out, or -errno and leaves
 * *out untouched. The caller (the runner) passes the reporter to
 * reporter_set_add(), which takes it over; the reporter set destroys it.
 * Nothing here calls getenv() or isatty() except the *_from_env() helpers,
 * which the runner calls once at the command-line edge.
 *
 * Which stream goes where is the runner's decision: when TAP or JSON lines
 * go to stdout ("-"), the console reporter should be given stderr. */
#ifndef SMOL_REPORTERS_BUILTIN_H
#define SMOL_REPORTERS_BUILTIN_H

#include "reporter.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* ---- JUnit XML (--junit FILE) ------------------------------------------
 * Collects every result and writes the whole document at end(), atomically
 * (temporary file in the same directory + rename), so a killed run never
 * leaves half a report. path is copied. A run destroyed without end() writes
 * nothing. Fails with -EINVAL on an empty path. */
int junit_reporter_create(const char *path, struct reporter **out);

/* ---- TAP (--tap FILE|-, --tap-version 13|14) ----------------------------
 * Streams "ok"/"not ok" lines as results arrive and writes the plan at the
 * end. version is 13 or 14 (-EINVAL otherwise). path "-" means stdout; any
 * other path is created/truncated when the reporter is created (-errno from
 * fopen) and closed by destroy(); path itself is not kept. With "-", stdout
 * is only flushed. Infrastructure failure or an aborted run (run_summary's
 * aborted/infra_error) ends the stream with "Bail out!" instead of the plan. */
int tap_reporter_create(const char *path, unsigned version, struct reporter **out);

/* The same, writing to an open stream that stays owned by the caller (it
 * must outlive the reporter; the reporter only flushes it). */
int tap_reporter_create_stream(FILE *f, unsigned version, struct reporter **out);

/* ---- Console (default) ------------------------------------------------- */
enum console_color {
	CONSOLE_COLOR_AUTO,   /* colour when the stream is a TTY and NO_COLOR is unset */
	CONSOLE_COLOR_ALWAYS, /* --color=always */
	CONSOLE_COLOR_NEVER,  /* --color=never */
};

struct console_opts {
	/* -1 quiet (-q): failures and the summary only; 0 normal; 1 verbose
	 * (-v): passing tests' output too. */
	int verbosity;
	enum console_color color;
	bool tty;	     /* the stream is an interactive terminal: live status line */
	bool no_color_env;   /* NO_COLOR is set to a non-empty value (no-color.org) */
	unsigned slowest;    /* how many slowest tests to list at the end (0: none) */
	unsigned tail_lines; /* lines of output tail repeated per failure (0: default 20) */
	/* --failure-output full, or -v: every line the runner kept, not the
	 * tail (-v also for passing tests). Lines left out are always said
	 * with an "… N lines omitted …" marker. */
	bool full_output;
	/* Called once when the stream's reader went away: a write failed with
	 * EPIPE (a closed pipe) or EIO (a hung-up terminal), or the stream
	 * polls as closed (POLLERR/POLLHUP). err is -EPIPE or -EIO. The
	 * console writes nothing more; the runner cancels the run. NULL: none. */
	void (*reader_gone)(void *ctx, int err);
	void *reader_gone_ctx;
};

/* Fills o with defaults for stream f and the process environment: tty from
 * isatty(fileno(f)) and TERM != "dumb", no_color_env from NO_COLOR,
 * verbosity 0, colour AUTO, slowest 5, tail_lines 20. The runner then
 * applies -q/-v/--color on top. Never fails. */
void console_opts_from_env(struct console_opts *o, FILE *f);

/* Writes to f, which stays owned by the caller and must outlive the
 * reporter. o is copied; NULL means defaults for a non-TTY stream. */
int console_reporter_create(FILE *f, const struct console_opts *o, struct reporter **out);

/* Redraws the live status line (elapsed time) of a console reporter; the
 * runner calls it from its timer, about once a second. A no-op for a plain or
 * quiet console, except that every console checks there whether its
 * stream's reader went away (reader_gone). r must come from console_reporter_create(); -EINVAL for
 * any other reporter. */
int console_reporter_tick(struct reporter *r);

/* ---- GitHub Actions (GITHUB_ACTIONS=true, or --github) ----------------- */
struct gha_opts {
	FILE *out; /* workflow commands (::group::, ::error): normally stdout; borrowed */
	const char *step_summary; /* $GITHUB_STEP_SUMMARY to append Markdown to, or NULL */
	const char *output;	  /* $GITHUB_OUTPUT to append outputs to, or NULL */
	const char *junit_path;	  /* reported as the `junit` output, or NULL */
	const char *server_url;	  /* $GITHUB_SERVER_URL, for links in the summary, or NULL */
	const char *repository;	  /* $GITHUB_REPOSITORY ("owner/name"), or NULL */
	const char *sha;	  /* $GITHUB_SHA, or NULL: no links without all three */
	unsigned max_errors;	  /* ::error annotations before the ::notice (0: 10) */
	size_t summary_limit;	  /* bytes of Markdown at most (0: 1 MiB minus a margin) */
};

/* True when the environment says this is a GitHub Actions job
 * (GITHUB_ACTIONS=true). */
bool gha_detect_env(void);

/* Fills o from the environment (GITHUB_STEP_SUMMARY, GITHUB_OUTPUT,
 * GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_SHA), out = stdout, and zero
 * limits (defaults). The strings are borrowed from the environment. */
void gha_opts_from_env(struct gha_opts *o);

/* Every string in o is copied; out is borrowed and must outlive the
 * reporter. -EINVAL when o or o->out is NULL. The summary and output files
 * are opened for append only at end(). */
int gha_reporter_create(const struct gha_opts *o, struct reporter **out);

/* ---- JSON lines (--json FILE|-) -----------------------------------------
 * One JSON object per line: {"event":"begin",...} once, {"event":"result",...}
 * per attempt, {"event":"end",...} once. Strings are valid UTF-8 (invalid
 * bytes replaced by U+FFFD) with JSON escaping; ANSI escapes are kept as
 * \u001b so that consumers can choose. Every line is flushed when written.
 * path "-" means stdout; any other path is created/truncated here (-errno
 * from fopen) and closed by destroy(). */
int jsonl_reporter_create(const char *path, struct reporter **out);

/* The same, writing to a caller-owned stream that must outlive the reporter. */
int jsonl_reporter_create_stream(FILE *f, struct reporter **out);

#endif
