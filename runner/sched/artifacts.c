/* artifacts: artifact collection script and its output (artifacts.h). */
#include "backend/backend.h"
#include "sched/artifacts.h"
#include "strbuf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* $1 = cwd, then the globs. IFS is a newline so that a glob with spaces
 * stays one word; unquoted $pat still undergoes pathname expansion. */
static const char collect_script[] =
    "cd \"$1\" || exit 0\n"
    "shift\n"
    "dest=" BACKEND_GUEST_ARTIFACTS "\n"
    "IFS='\n'\n"
    "for pat in \"$@\"; do\n"
    "  found=0\n"
    "  for f in $pat; do\n"
    "    if [ -e \"$f\" ] || [ -L \"$f\" ]; then\n"
    "      d=$(dirname -- \"$f\")\n"
    "      if mkdir -p -- \"$dest/$d\" && cp -R -P -- \"$f\" \"$dest/$d/\"; then\n"
    "        printf 'F\\t%s\\t%s\\n' \"$pat\" \"$f\"; found=1\n"
    "      fi\n"
    "    fi\n"
    "  done\n"
    "  [ \"$found\" = 1 ] || printf 'M\\t%s\\n' \"$pat\"\n"
    "done\n";

void artifacts_argv_free(char **argv)
{
	if (!argv)
		return;
	for (size_t i = 4; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

int artifacts_argv(char *const *globs, size_t n, const char *cwd, char ***out)
{
	char **v = calloc(n + 6, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v[0] = "/bin/sh";
	v[1] = "-c";
	v[2] = (char *)collect_script;
	v[3] = "sh";
	if (!(v[4] = strdup(cwd)))
		goto oom;
	for (size_t i = 0; i < n; i++)
		if (!(v[5 + i] = strdup(globs[i])))
			goto oom;
	*out = v;
	return 0;
oom:
	artifacts_argv_free(v);
	return -ENOMEM;
}

void artifacts_result_release(struct artifacts_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free((char *)r->items[i].pattern);
		free((char *)r->items[i].host_path);
	}
	free(r->items);
	memset(r, 0, sizeof(*r));
}

static int add(struct artifacts_result *r, const char *pat, size_t patlen, const char *host)
{
	struct result_artifact *it = realloc(r->items, (r->n + 1) * sizeof(*it));
	if (!it)
		return -ENOMEM;
	r->items = it;
	it = &r->items[r->n];
	memset(it, 0, sizeof(*it));
	it->pattern = strndup(pat, patlen);
	if (!it->pattern)
		return -ENOMEM;
	if (host && !(it->host_path = strdup(host))) {
		free((char *)it->pattern);
		return -ENOMEM;
	}
	it->missing = host == NULL;
	r->n++;
	if (!host)
		r->n_missing++;
	return 0;
}

static bool path_ok(const char *p, size_t n)
{
	if (!n || memchr(p, '\0', n))
		return false;
	/* no ".." component: a crafted file name must not make us print a
	 * path outside the artifact directory */
	for (size_t i = 0; i + 1 < n; i++)
		if (p[i] == '.' && p[i + 1] == '.' && (i == 0 || p[i - 1] == '/') &&
		    (i + 2 == n || p[i + 2] == '/'))
			return false;
	return true;
}

int artifacts_parse(const char *output, char *const *globs, size_t n, const char *host_dir,
		    struct artifacts_result *out)
{
	bool *seen = calloc(n ? n : 1, sizeof(*seen));
	int rc = 0;
	memset(out, 0, sizeof(*out));
	if (!seen)
		return -ENOMEM;
	for (const char *line = output; !rc && line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		const char *t1 = memchr(line, '\t', len);
		if (t1 && len >= 2) {
			const char *pat = t1 + 1;
			const char *end = line + len;
			const char *t2 = memchr(pat, '\t', (size_t)(end - pat));
			size_t patlen = (size_t)((t2 ? t2 : end) - pat);
			size_t g;
			for (g = 0; g < n; g++)
				if (strlen(globs[g]) == patlen && !memcmp(globs[g], pat, patlen))
					break;
			if (g < n && line[0] == 'F' && t1 == line + 1 && t2 &&
			    out->n < ARTIFACTS_MAX_FILES &&
			    path_ok(t2 + 1, (size_t)(end - t2 - 1))) {
				struct strbuf sb = {0};
				const char *f = t2 + 1;
				size_t flen = (size_t)(end - f);
				while (flen > 2 && f[0] == '.' && f[1] == '/') {
					f += 2;
					flen -= 2;
				}
				rc = sb_printf(&sb, "%s%s%.*s", host_dir, f[0] == '/' ? "" : "/",
					       (int)flen, f);
				if (!rc)
					rc = add(out, pat, patlen, sb_str(&sb));
				sb_release(&sb);
				seen[g] = true;
			} else if (g < n && line[0] == 'M' && t1 == line + 1 && !t2 && !seen[g]) {
				rc = add(out, pat, patlen, NULL);
				seen[g] = true;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	for (size_t g = 0; !rc && g < n; g++)
		if (!seen[g])
			rc = add(out, globs[g], strlen(globs[g]), NULL);
	free(seen);
	if (rc)
		artifacts_result_release(out);
	return rc;
}
