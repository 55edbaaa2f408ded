/* pending: reporters not written yet answer -ENOSYS so that the runner can
 * link against reporters.h while they are being written. Each function moves
 * to its own file when its reporter lands; this file then goes away. */
#include "reporters.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void console_opts_from_env(struct console_opts *o, FILE *f)
{
	const char *term = getenv("TERM");
	const char *nc = getenv("NO_COLOR");
	memset(o, 0, sizeof(*o));
	o->tty = isatty(fileno(f)) && !(term && !strcmp(term, "dumb"));
	o->no_color_env = nc && *nc;
	o->slowest = 5;
	o->tail_lines = 20;
}

int console_reporter_create(FILE *f, const struct console_opts *o, struct reporter **out)
{
	(void)f;
	(void)o;
	(void)out;
	return -ENOSYS;
}

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

int gha_reporter_create(const struct gha_opts *o, struct reporter **out)
{
	(void)o;
	(void)out;
	return -ENOSYS;
}

int jsonl_reporter_create(const char *path, struct reporter **out)
{
	(void)path;
	(void)out;
	return -ENOSYS;
}

int jsonl_reporter_create_stream(FILE *f, struct reporter **out)
{
	(void)f;
	(void)out;
	return -ENOSYS;
}
