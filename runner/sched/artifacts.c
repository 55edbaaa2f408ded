/* artifacts: artifact collection script and its output (artifacts.h). */
#include "backend/backend.h"
#include "sched/artifacts.h"
#include "strbuf.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* $1 = cwd, $2 = the byte budget in KiB, then the globs. IFS is a newline
 * so that a glob with spaces stays one word; unquoted $pat still undergoes
 * pathname expansion. A match that would take the total past the budget is
 * not copied ("B" line with its size in KiB): the guest's disk usage (du -k)
 * is measured before anything reaches the host. */
static const char collect_script[] =
    "cd \"$1\" || exit 0\n"
    "max=$2; used=0\n"
    "shift 2\n"
    "dest=" BACKEND_GUEST_ARTIFACTS "\n"
    "IFS='\n'\n"
    "for pat in \"$@\"; do\n"
    "  found=0\n"
    "  for f in $pat; do\n"
    "    if [ -e \"$f\" ] || [ -L \"$f\" ]; then\n"
    "      k=$(du -sk -- \"$f\" 2>/dev/null | cut -f1); k=${k:-0}\n"
    "      if [ $((used + k)) -gt \"$max\" ]; then\n"
    "        printf 'B\\t%s\\t%s\\t%s\\n' \"$pat\" \"$k\" \"$f\"; found=1; continue\n"
    "      fi\n"
    "      d=$(dirname -- \"$f\")\n"
    "      if mkdir -p -- \"$dest/$d\" && cp -R -P -- \"$f\" \"$dest/$d/\"; then\n"
    "        printf 'F\\t%s\\t%s\\n' \"$pat\" \"$f\"; found=1; used=$((used + k))\n"
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

int artifacts_argv(char *const *globs, size_t n, const char *cwd, uint64_t max_bytes, char ***out)
{
	char **v = calloc(n + 7, sizeof(*v));
	char kib[24];
	if (!max_bytes)
		max_bytes = ARTIFACTS_MAX_DEFAULT;
	if (!v)
		return -ENOMEM;
	v[0] = "/bin/sh";
	v[1] = "-c";
	v[2] = (char *)collect_script;
	v[3] = "sh";
	snprintf(kib, sizeof(kib), "%llu", (unsigned long long)(max_bytes / 1024));
	if (!(v[4] = strdup(cwd)) || !(v[5] = strdup(kib)))
		goto oom;
	for (size_t i = 0; i < n; i++)
		if (!(v[6 + i] = strdup(globs[i])))
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

/* "B<TAB>glob<TAB>KiB<TAB>path": a match the script refused for its size;
 * rest is "KiB<TAB>path". False when it does not parse. Only the first is
 * told (the message has room for one path). */
static bool refused(struct artifacts_result *r, const char *rest, size_t len, uint64_t max)
{
	const char *t = memchr(rest, '\t', len);
	if (!t || t == rest || !path_ok(t + 1, len - (size_t)(t + 1 - rest)))
		return false;
	for (const char *d = rest; d < t; d++)
		if (*d < '0' || *d > '9')
			return false;
	if (r->n_refused++)
		return true;
	if (!max)
		max = ARTIFACTS_MAX_DEFAULT;
	snprintf(r->refused, sizeof(r->refused),
		 "artifact '%.*s' (%.*s KiB) not collected: the test's artifacts would pass "
		 "artifacts_max (%llu KiB); raise artifacts_max in the suite or collect less",
		 (int)(len - (size_t)(t + 1 - rest)), t + 1, (int)(t - rest), rest,
		 (unsigned long long)(max / 1024));
	/* the path is the test's: no control characters on our console */
	for (char *m = r->refused; *m; m++)
		if ((unsigned char)*m < 0x20 || *m == 0x7f)
			*m = '?';
	return true;
}

int artifacts_parse(const char *output, char *const *globs, size_t n, const char *host_dir,
		    uint64_t max_bytes, struct artifacts_result *out)
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
			} else if (g < n && line[0] == 'B' && t1 == line + 1 && t2 &&
				   refused(out, t2 + 1, (size_t)(end - t2 - 1), max_bytes)) {
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

/* Adds the disk usage of everything below the open directory dfd (taken
 * over) to *sum; symlinks are not followed, depth is capped. */
static int usage_walk(int dfd, unsigned depth, uint64_t *sum)
{
	DIR *d = fdopendir(dfd);
	int rc = 0;
	if (!d) {
		close(dfd);
		return -errno;
	}
	for (struct dirent *e; !rc && (e = readdir(d));) {
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue; /* gone meanwhile */
		*sum += (uint64_t)st.st_blocks * 512;
		if (!S_ISDIR(st.st_mode))
			continue;
		if (depth >= ARTIFACTS_MAX_DEPTH)
			return closedir(d), -ELOOP;
		int sub =
		    openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0)
			rc = usage_walk(sub, depth + 1, sum);
	}
	closedir(d);
	return rc;
}

int artifacts_dir_usage(const char *dir, uint64_t *bytes)
{
	*bytes = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	return usage_walk(fd, 0, bytes);
}

int artifacts_finish(const char *output, char *const *globs, size_t n, const char *host_dir,
		     uint64_t max_bytes, struct artifacts_result *out, char *msg, size_t msglen)
{
	uint64_t used = 0;
	if (!max_bytes)
		max_bytes = ARTIFACTS_MAX_DEFAULT;
	int rc = artifacts_parse(output, globs, n, host_dir, max_bytes, out);
	if (rc) {
		snprintf(msg, msglen, "could not collect artifacts: %s", strerror(-rc));
		return rc;
	}
	if (!host_dir[0])
		return 0;
	rc = artifacts_dir_usage(host_dir, &used);
	if (rc || used > max_bytes) {
		/* written straight into the share while the test ran, or a
		 * tree we cannot measure: none of it is kept, and no artifact is
		 * reported (a missing one would hide the message) */
		util_rm_rf(host_dir);
		for (size_t i = 0; i < out->n; i++) {
			free((char *)out->items[i].pattern);
			free((char *)out->items[i].host_path);
		}
		out->n = out->n_missing = 0;
		if (rc)
			snprintf(msg, msglen, "artifacts removed: cannot measure %.200s: %s",
				 host_dir, strerror(-rc));
		else
			snprintf(msg, msglen,
				 "artifacts removed: %.200s holds %llu KiB, over artifacts_max "
				 "(%llu KiB); the test wrote into its artifact directory",
				 host_dir, (unsigned long long)(used / 1024),
				 (unsigned long long)(max_bytes / 1024));
		return 0;
	}
	if (out->refused[0])
		snprintf(msg, msglen, "%s", out->refused);
	return 0;
}
