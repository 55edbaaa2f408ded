/* cmd_cache: `smoltest cache ls|prune|rm|explain` over the warm-environment
 * cache (cache.h). */
#include "cache/cache.h"
#include "cache/runreg.h"
#include "cmd/commands.h"
#include "suite/suite.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: smoltest cache ls\n"
    "       smoltest cache prune [--older-than D] [--all]   (default: unused for 7 days)\n"
    "         entries, then default guest images no entry uses (unused for an hour at least)\n"
    "       smoltest cache rm KEY|PREFIX...\n"
    "       smoltest cache explain SUITE   (what changed since its latest entry)\n"
    "The cache lives in $XDG_CACHE_HOME/smoltest (default ~/.cache/smoltest).\n";

static int print_entry(void *ctx, const struct cache_entry_info *e)
{
	unsigned *n = ctx;
	char created[32], used[32];
	time_t c = (time_t)e->created_s, u = (time_t)e->used_s;
	struct tm tm;
	strftime(created, sizeof(created), "%Y-%m-%d %H:%M", gmtime_r(&c, &tm));
	strftime(used, sizeof(used), "%Y-%m-%d %H:%M", gmtime_r(&u, &tm));
	if (!(*n)++)
		printf("%-32s  %-8s  %10s  %-16s  %-16s  %s\n", "KEY", "BACKEND", "SIZE",
		       "CREATED (UTC)", "USED (UTC)", "SUITE");
	printf("%-32s  %-8s  %9.1fM  %-16s  %-16s  %s\n", e->key, e->backend,
	       (double)e->bytes / (1024.0 * 1024.0), created, used, e->suite);
	return 0;
}

struct match_ctx {
	const char *prefix;
	char key[CACHE_KEY_HEX + 1];
	unsigned matches;
};

static int match_prefix(void *ctx, const struct cache_entry_info *e)
{
	struct match_ctx *m = ctx;
	if (!strncmp(e->key, m->prefix, strlen(m->prefix))) {
		m->matches++;
		snprintf(m->key, sizeof(m->key), "%s", e->key);
	}
	return 0;
}

/* `cache explain SUITE`: the suite's inputs now against the material
 * stored with its most recently used entry. The backend's part (rootfs
 * identity, kernel hashes) is taken as stored: only `run` computes it. */
static int explain(struct cache *c, const char *file)
{
	struct suite_diag diag = {0};
	struct suite *s = NULL;
	char abs[PATH_MAX], key[CACHE_KEY_HEX + 1];
	char *old = NULL;
	struct strbuf now = {0}, d = {0};
	int rc = suite_load(file, &diag, &s), status = EXIT_INFRA;
	if (rc) {
		suite_diag_print(&diag);
		suite_diag_release(&diag);
		return EXIT_USAGE;
	}
	suite_diag_release(&diag);
	if (!realpath(file, abs))
		snprintf(abs, sizeof(abs), "%s", file);
	rc = cache_latest_for(c, abs, NULL, key);
	if (rc == -ENOENT) {
		printf("no cache entry was built from %s: the next run runs setup\n", abs);
		status = EXIT_OK;
		goto out;
	}
	if (!rc)
		rc = cache_read_material(c, key, &old);
	if (rc == -ENOENT) {
		printf("entry %s was made by an older smoltest that kept no key material\n", key);
		status = EXIT_OK;
		goto out;
	}
	if (rc)
		goto out;
	const char *backend_part = strstr(old, "\n" CACHE_BACKEND_MARK "\n");
	const char *bname = strstr(old, "\nbackend ");
	char be[32] = "";
	if (bname)
		sscanf(bname + 9, "%31s", be);
	char index_dir[PATH_MAX];
	snprintf(index_dir, sizeof(index_dir), "%s/index", c->dir);
	rc = cache_key_material(s, be, index_dir, &now);
	if (!rc)
		rc = sb_append_str(&now, backend_part ? backend_part + 1 : "");
	unsigned n = 0;
	if (!rc)
		rc = cache_diff(old, sb_str(&now), 1000, &d, &n);
	if (rc)
		goto out;
	if (!n) {
		struct strbuf why = {0};
		cache_key_summary(old, &why);
		printf("entry %s (backend %s) matches the suite's inputs now: the next run "
		       "uses it\n%s\n",
		       key, be, sb_str(&why));
		sb_release(&why);
	} else {
		printf("entry %s (backend %s): %u input%s changed since it was built; the next "
		       "run builds a new entry\n",
		       key, be, n, n == 1 ? "" : "s");
		cache_print_indented(stdout, sb_str(&d));
	}
	status = EXIT_OK;
out:
	if (status != EXIT_OK)
		fprintf(stderr, "smoltest cache explain: %s: %s\n", file, strerror(-rc));
	free(old);
	sb_release(&now);
	sb_release(&d);
	suite_destroy(s);
	return status;
}

int cmd_cache(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "ls") != 0 && strcmp(sub, "prune") != 0 && strcmp(sub, "rm") != 0 &&
	    strcmp(sub, "explain") != 0) {
		fprintf(stderr, "smoltest cache: unknown subcommand '%s'\n%s", sub, usage);
		return EXIT_USAGE;
	}
	uint64_t max_age_s = 7ull * 24 * 3600;
	if (!strcmp(sub, "prune")) {
		for (int i = 2; i < argc; i++) {
			uint64_t ns;
			if (!strcmp(argv[i], "--all")) {
				max_age_s = 0;
			} else if (!strcmp(argv[i], "--older-than") && i + 1 < argc &&
				   util_parse_duration(argv[i + 1], &ns) == 0) {
				max_age_s = ns / NSEC_PER_SEC;
				i++;
			} else {
				fprintf(stderr, "smoltest cache prune: bad argument '%s'\n%s",
					argv[i], usage);
				return EXIT_USAGE;
			}
		}
	} else if (!strcmp(sub, "ls") && argc > 2) {
		fprintf(stderr, "smoltest cache ls: takes no arguments\n");
		return EXIT_USAGE;
	} else if (!strcmp(sub, "explain") && argc != 3) {
		fprintf(stderr, "smoltest cache explain: give one suite file\n");
		return EXIT_USAGE;
	} else if (!strcmp(sub, "rm") && argc < 3) {
		fprintf(stderr,
			"smoltest cache rm: give one or more keys (see smoltest cache ls)\n");
		return EXIT_USAGE;
	}

	struct cache c;
	int rc = cache_open(getenv("XDG_CACHE_HOME"), getenv("HOME"), &c);
	if (rc) {
		fprintf(stderr,
			"smoltest cache: cannot open the cache (set XDG_CACHE_HOME or "
			"HOME): %s\n",
			strerror(-rc));
		return EXIT_INFRA;
	}
	int status = EXIT_OK;
	if (!strcmp(sub, "explain")) {
		status = explain(&c, argv[2]);
	} else if (!strcmp(sub, "ls")) {
		unsigned n = 0;
		rc = cache_list(&c, print_entry, &n);
		if (!rc && !n)
			printf("the cache in %s is empty\n", c.dir);
	} else if (!strcmp(sub, "prune")) {
		unsigned removed = 0, busy = 0;
		/* what killed runs left behind (runreg.h), one line per run */
		runreg_reap(c.dir, stderr, NULL);
		rc = cache_prune(&c, max_age_s, &removed, &busy);
		printf("removed %u entr%s%s", removed, removed == 1 ? "y" : "ies",
		       busy ? "" : "\n");
		if (busy)
			printf("; %u in use by a running smoltest kept\n", busy);
		/* then the default guest images no remaining entry was built from */
		unsigned images = 0;
		uint64_t bytes = 0;
		int r = cache_prune_images(&c, max_age_s, &images, &bytes);
		if (images)
			printf("removed %u guest image%s no entry uses (%.1f MiB)\n", images,
			       images == 1 ? "" : "s", (double)bytes / (1 << 20));
		rc = rc ? rc : r;
	} else {
		for (int i = 2; i < argc; i++) {
			struct match_ctx m = {.prefix = argv[i]};
			if (!*argv[i] || cache_list(&c, match_prefix, &m) || m.matches != 1) {
				fprintf(stderr,
					"smoltest cache rm: '%s' matches %u entries; give a "
					"unique key or prefix\n",
					argv[i], m.matches);
				status = EXIT_USAGE;
				continue;
			}
			int r = cache_remove(&c, m.key);
			if (r) {
				fprintf(stderr, "smoltest cache rm: %s: %s\n", m.key,
					r == -EBUSY ? "in use by a running smoltest"
						    : strerror(-r));
				status = EXIT_INFRA;
			} else {
				printf("removed %s\n", m.key);
			}
		}
	}
	if (rc) {
		fprintf(stderr, "smoltest cache %s: %s\n", sub, strerror(-rc));
		status = EXIT_INFRA;
	}
	cache_close(&c);
	return status;
}
