/* cache: the warm-environment cache (cache.h). */
#include "cache/cache.h"
#include "cache/cache_tree.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define CACHE_PATH		1024
#define CACHE_STAGING_MAX_AGE_S 3600
#define CACHE_MATERIAL_MAX	(1024u << 20)

int cache_open(const char *xdg_cache_home, const char *home, struct cache *c)
{
	struct strbuf sb = {0};
	int rc;
	c->dir = NULL;
	if (xdg_cache_home && xdg_cache_home[0] == '/')
		rc = sb_printf(&sb, "%s/smoltest", xdg_cache_home);
	else if (home && home[0] == '/')
		rc = sb_printf(&sb, "%s/.cache/smoltest", home);
	else
		return -ENOENT;
	if (rc)
		goto out;
	if ((rc = util_mkdir_p(sb_str(&sb), 0700)))
		goto out;
	char p[CACHE_PATH];
	snprintf(p, sizeof(p), "%s/entries", sb_str(&sb));
	if ((rc = util_mkdir_p(p, 0700)))
		goto out;
	snprintf(p, sizeof(p), "%s/tmp", sb_str(&sb));
	if ((rc = util_mkdir_p(p, 0700)))
		goto out;
	rc = sb_detach(&sb, &c->dir);
out:
	sb_release(&sb);
	return rc;
}

void cache_close(struct cache *c)
{
	free(c->dir);
	c->dir = NULL;
}

static void add_cmd(struct strbuf *sb, const struct suite_cmd *cmd)
{
	sb_printf(sb, "cmd shell=%d argc=%zu", cmd->shell, cmd->argc);
	for (size_t i = 0; i < cmd->argc; i++) {
		sb_append_char(sb, ' ');
		cache_escape(sb, cmd->argv[i]);
	}
	sb_append_char(sb, '\n');
}

int cache_key_material(const struct suite *s, const char *backend, const char *index_dir,
		       struct strbuf *sb)
{
	int rc = sb_printf(sb, "smoltest-cache-format %d\nbackend %s\nworkdir ",
			   CACHE_FORMAT_VERSION, backend);
	rc |= cache_escape(sb, s->workdir);
	rc |= sb_append_char(sb, '\n');
	for (size_t i = 0; i < s->n_env; i++) {
		rc |= sb_append_str(sb, "env ");
		rc |= cache_escape(sb, s->env[i]);
		rc |= sb_append_char(sb, '\n');
	}
	if (!strcmp(backend, "vm"))
		rc |=
		    sb_printf(sb, "vm cpus=%u mem=%llu kernel=%s initrd=%s rootfs=%s cmdline=%s\n",
			      s->vm.cpus, (unsigned long long)s->vm.memory,
			      s->vm.kernel ? s->vm.kernel : "", s->vm.initrd ? s->vm.initrd : "",
			      s->vm.rootfs ? s->vm.rootfs : "", s->vm.cmdline ? s->vm.cmdline : "");
	for (size_t i = 0; i < s->n_setup; i++) {
		add_cmd(sb, &s->setup[i].run);
		/* only when set: the material of steps without one is unchanged */
		if (s->setup[i].cwd) {
			sb_append_str(sb, "cwd ");
			cache_escape(sb, s->setup[i].cwd);
			sb_append_char(sb, '\n');
		}
	}
	/* tests_from listers: what they name is kept in the entry
	 * (CACHE_LISTED_FILE), so how they name it is part of the key; only
	 * when there are any, so that other suites' keys stay as they were */
	for (size_t i = 0; i < s->n_gens; i++) {
		const struct suite_gen *g = &s->gens[i];
		rc |= sb_append_str(sb, "tests_from ");
		add_cmd(sb, &g->list);
		if (g->list_cwd) {
			rc |= sb_append_str(sb, "tests_from cwd ");
			rc |= cache_escape(sb, g->list_cwd);
			rc |= sb_append_char(sb, '\n');
		}
		if (g->match.text) {
			rc |= sb_append_str(sb, "tests_from match ");
			rc |= cache_escape(sb, g->match.text);
			rc |= sb_append_char(sb, '\n');
		}
	}
	if (rc)
		return -ENOMEM;
	/* A read-only share is input to setup: its contents are in the key. A
	 * writable one is setup's (and the tests') output as much as input:
	 * keying its contents would miss after every run that writes it;
	 * cache.inputs names paths in it that are inputs. */
	for (size_t i = 0; !rc && i < s->n_shares; i++) {
		const struct suite_share *sh = &s->shares[i];
		rc = sb_append_str(sb, "share ");
		rc = rc ? rc : cache_escape(sb, sh->host);
		rc = rc ? rc : sb_append_str(sb, " -> ");
		rc = rc ? rc : cache_escape(sb, sh->guest);
		rc = rc ? rc
			: sb_printf(sb, " %s\n", sh->readonly ? "ro" : "rw (contents not keyed)");
		if (!rc && sh->readonly)
			rc = cache_tree_material(sh->host, index_dir, sb, NULL);
	}
	for (size_t i = 0; !rc && i < s->n_cache_inputs; i++) {
		rc = sb_append_str(sb, "input ");
		rc = rc ? rc : cache_escape(sb, s->cache_inputs[i]);
		rc = rc ? rc : sb_append_char(sb, '\n');
		rc = rc ? rc : cache_tree_material(s->cache_inputs[i], index_dir, sb, NULL);
	}
	return rc ? -ENOMEM : 0;
}

void cache_key_hash(const struct strbuf *material, char out[CACHE_KEY_HEX + 1])
{
	XXH128_hash_t h = XXH3_128bits(material->buf ? material->buf : "", material->len);
	snprintf(out, CACHE_KEY_HEX + 1, "%016llx%016llx", (unsigned long long)h.high64,
		 (unsigned long long)h.low64);
}

static bool key_ok(const char *key)
{
	if (strlen(key) != CACHE_KEY_HEX)
		return false;
	for (const char *k = key; *k; k++)
		if (!((*k >= '0' && *k <= '9') || (*k >= 'a' && *k <= 'f')))
			return false;
	return true;
}

static int open_lock(struct cache *c, const char *key, int op, int *fd_out)
{
	char p[CACHE_PATH];
	snprintf(p, sizeof(p), "%s/entries/%s.lock", c->dir, key);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, op) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	*fd_out = fd;
	return 0;
}

int cache_lookup(struct cache *c, const char *key, bool *hit, char *path, size_t len, int *lock_fd)
{
	if (!key_ok(key))
		return -EINVAL;
	int rc = open_lock(c, key, LOCK_SH, lock_fd);
	if (rc)
		return rc;
	char m[CACHE_PATH];
	snprintf(path, len, "%s/entries/%s", c->dir, key);
	snprintf(m, sizeof(m), "%s/manifest", path);
	*hit = access(m, F_OK) == 0;
	return 0;
}

int cache_stage(struct cache *c, const char *key, char *out, size_t len)
{
	if ((size_t)snprintf(out, len, "%s/tmp/%s.XXXXXX", c->dir, key) >= len)
		return -ENAMETOOLONG;
	if (!mkdtemp(out))
		return -errno;
	return 0;
}

int cache_commit(struct cache *c, const char *key, const char *staging, const char *manifest,
		 const struct strbuf *material, char *out, size_t len)
{
	char p[CACHE_PATH];
	snprintf(p, sizeof(p), "%s/key", staging);
	int rc = util_write_file_atomic(p, sb_str(material), material->len, 0600);
	if (rc)
		goto fail;
	snprintf(p, sizeof(p), "%s/manifest", staging);
	rc = util_write_file_atomic(p, manifest, strlen(manifest), 0600);
	if (rc)
		goto fail;
	snprintf(out, len, "%s/entries/%s", c->dir, key);
	if (rename(staging, out)) {
		rc = -errno;
		if (rc == -EEXIST || rc == -ENOTEMPTY) {
			util_rm_rf(staging); /* another run won the race; use its entry */
			return 0;
		}
		goto fail;
	}
	cache_touch(c, key);
	return 0;
fail:
	util_rm_rf(staging);
	return rc;
}

void cache_touch(struct cache *c, const char *key)
{
	char p[CACHE_PATH];
	snprintf(p, sizeof(p), "%s/entries/%s/used", c->dir, key);
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		futimens(fd, NULL);
		close(fd);
	}
}

static uint64_t du(const char *path, int depth)
{
	struct stat st;
	if (lstat(path, &st))
		return 0;
	uint64_t total = (uint64_t)st.st_blocks * 512;
	if (!S_ISDIR(st.st_mode) || depth > 128)
		return total;
	DIR *d = opendir(path);
	if (!d)
		return total;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char child[CACHE_PATH * 4];
		if ((size_t)snprintf(child, sizeof(child), "%s/%s", path, e->d_name) <
		    sizeof(child))
			total += du(child, depth + 1);
	}
	closedir(d);
	return total;
}

static void manifest_field(const char *text, const char *name, char *out, size_t len)
{
	out[0] = '\0';
	size_t n = strlen(name);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, name, n) && l[n] == ' ') {
			const char *v = l + n + 1, *e = strchr(v, '\n');
			size_t vl = e ? (size_t)(e - v) : strlen(v);
			if (vl >= len)
				vl = len - 1;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return;
		}
}

static int entry_info(struct cache *c, const char *key, struct cache_entry_info *e)
{
	char p[CACHE_PATH], *text = NULL, num[32];
	struct stat st;
	memset(e, 0, sizeof(*e));
	snprintf(e->key, sizeof(e->key), "%s", key);
	snprintf(p, sizeof(p), "%s/entries/%s/manifest", c->dir, key);
	int rc = util_read_file(p, 65536, &text, NULL);
	if (rc)
		return rc;
	manifest_field(text, "suite", e->suite, sizeof(e->suite));
	manifest_field(text, "backend", e->backend, sizeof(e->backend));
	manifest_field(text, "path", e->path, sizeof(e->path));
	manifest_field(text, "created", num, sizeof(num));
	e->created_s = strtoull(num, NULL, 10);
	free(text);
	snprintf(p, sizeof(p), "%s/entries/%s/used", c->dir, key);
	if (stat(p, &st) == 0) {
		e->used_s = (uint64_t)st.st_mtime;
		e->used_ns =
		    (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
	} else {
		e->used_s = e->created_s;
		e->used_ns = e->created_s * 1000000000u;
	}
	snprintf(p, sizeof(p), "%s/entries/%s", c->dir, key);
	e->bytes = du(p, 0);
	return 0;
}

int cache_list(struct cache *c, int (*fn)(void *ctx, const struct cache_entry_info *e), void *ctx)
{
	char p[CACHE_PATH];
	snprintf(p, sizeof(p), "%s/entries", c->dir);
	struct dirent **names = NULL;
	int n = scandir(p, &names, NULL, alphasort);
	if (n < 0)
		return -errno;
	int rc = 0;
	for (int i = 0; i < n; i++) {
		struct cache_entry_info e;
		if (!rc && key_ok(names[i]->d_name) && entry_info(c, names[i]->d_name, &e) == 0)
			rc = fn(ctx, &e);
		free(names[i]);
	}
	free(names);
	return rc;
}

int cache_remove(struct cache *c, const char *key)
{
	if (!key_ok(key))
		return -EINVAL;
	char p[CACHE_PATH];
	snprintf(p, sizeof(p), "%s/entries/%s", c->dir, key);
	if (access(p, F_OK))
		return -ENOENT;
	int fd = -1;
	int rc = open_lock(c, key, LOCK_EX | LOCK_NB, &fd);
	if (rc)
		return rc;
	/* rename away first so that a lookup never sees a half-deleted entry */
	char tmp[CACHE_PATH];
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s.deleting.%d", c->dir, key, (int)getpid());
	rc = rename(p, tmp) ? -errno : util_rm_rf(tmp);
	snprintf(p, sizeof(p), "%s/entries/%s.lock", c->dir, key);
	unlink(p);
	close(fd);
	return rc;
}

struct prune_ctx {
	struct cache *c;
	uint64_t now, max_age;
	unsigned removed, busy;
};

static int prune_one(void *ctx, const struct cache_entry_info *e)
{
	struct prune_ctx *p = ctx;
	if (p->max_age && e->used_s + p->max_age > p->now)
		return 0;
	int rc = cache_remove(p->c, e->key);
	if (rc == 0)
		p->removed++;
	else if (rc == -EBUSY)
		p->busy++;
	return 0;
}

int cache_prune(struct cache *c, uint64_t max_age_s, unsigned *removed, unsigned *busy)
{
	struct prune_ctx p = {c, (uint64_t)time(NULL), max_age_s, 0, 0};
	int rc = cache_list(c, prune_one, &p);
	/* staging directories of runs that died: old enough to be abandoned */
	char dir[CACHE_PATH];
	snprintf(dir, sizeof(dir), "%s/tmp", c->dir);
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			char q[CACHE_PATH * 2];
			struct stat st;
			if (e->d_name[0] == '.')
				continue;
			snprintf(q, sizeof(q), "%s/%s", dir, e->d_name);
			/* a fresh one may belong to a run building right now */
			if (lstat(q, &st) == 0 &&
			    (uint64_t)st.st_mtime + CACHE_STAGING_MAX_AGE_S < p.now)
				util_rm_rf(q);
		}
		closedir(d);
	}
	/* lock files of entries that were never committed (a failed or
	 * interrupted setup), unless a run holds them right now */
	snprintf(dir, sizeof(dir), "%s/entries", c->dir);
	d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			size_t n = strlen(e->d_name);
			char key[CACHE_KEY_HEX + 1], q[CACHE_PATH * 2];
			if (n != CACHE_KEY_HEX + 5 ||
			    strcmp(e->d_name + CACHE_KEY_HEX, ".lock") != 0)
				continue;
			memcpy(key, e->d_name, CACHE_KEY_HEX);
			key[CACHE_KEY_HEX] = '\0';
			snprintf(q, sizeof(q), "%s/%s", dir, key);
			int fd = -1;
			if (!key_ok(key) || access(q, F_OK) == 0 ||
			    open_lock(c, key, LOCK_EX | LOCK_NB, &fd))
				continue;
			snprintf(q, sizeof(q), "%s/%s", dir, e->d_name);
			unlink(q);
			close(fd);
		}
		closedir(d);
	}
	*removed = p.removed;
	*busy = p.busy;
	return rc;
}

/* Whether some entry's key material names the image: an entry whose
 * material cannot be read keeps every image (it cannot be told apart). */
static bool image_named(struct cache *c, const char *image)
{
	char dir[CACHE_PATH], needle[CACHE_KEY_HEX + 16];
	snprintf(needle, sizeof(needle), "\n" CACHE_IMAGE_REF "%s\n", image);
	snprintf(dir, sizeof(dir), "%s/entries", c->dir);
	DIR *d = opendir(dir);
	if (!d)
		return true;
	bool named = false;
	struct dirent *e;
	while (!named && (e = readdir(d))) {
		char q[CACHE_PATH * 2], *text = NULL;
		if (!key_ok(e->d_name))
			continue;
		snprintf(q, sizeof(q), "%s/%s/key", dir, e->d_name);
		int rc = util_read_file(q, CACHE_MATERIAL_MAX, &text, NULL);
		named = rc ? rc != -ENOENT : strstr(text, needle) != NULL;
		free(text);
	}
	closedir(d);
	return named;
}

int cache_prune_images(struct cache *c, uint64_t max_age_s, unsigned *removed, uint64_t *bytes)
{
	uint64_t now = (uint64_t)time(NULL);
	uint64_t age = max_age_s > CACHE_STAGING_MAX_AGE_S ? max_age_s : CACHE_STAGING_MAX_AGE_S;
	char dir[CACHE_PATH];
	*removed = 0;
	*bytes = 0;
	snprintf(dir, sizeof(dir), "%s/images", c->dir);
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char q[CACHE_PATH * 2], m[CACHE_PATH * 2 + 16];
		struct stat st;
		/* what a build or a prune that died left */
		bool build =
		    !strncmp(e->d_name, ".build-", 7) || !strncmp(e->d_name, ".deleting-", 10);
		if (!build && !key_ok(e->d_name))
			continue;
		snprintf(q, sizeof(q), "%s/%s", dir, e->d_name);
		snprintf(m, sizeof(m), "%s/manifest", q);
		/* when it was last used: a run touches the manifest (vm_image.c);
		 * a build directory's own mtime */
		if ((build ? lstat(q, &st) : stat(m, &st)) && lstat(q, &st))
			continue;
		if ((uint64_t)st.st_mtime + (build ? CACHE_STAGING_MAX_AGE_S : age) > now ||
		    (!build && image_named(c, e->d_name)))
			continue;
		/* renamed away first (in the same directory: images/ may be a link to
		 * another file system), so that a run never sees half an image */
		char tmp[CACHE_PATH * 2];
		snprintf(tmp, sizeof(tmp), "%s/.deleting-%s.%d", dir, e->d_name, (int)getpid());
		uint64_t size = du(q, 0);
		int r = rename(q, tmp) ? -errno : util_rm_rf(tmp);
		if (r == -ENOENT)
			continue; /* another prune took it */
		if (r) {
			rc = rc ? rc : r;
			continue;
		}
		if (!build) {
			(*removed)++;
			*bytes += size;
		}
	}
	closedir(d);
	return rc;
}

int cache_current_for(struct cache *c, const struct suite *s, const char *suite_abs,
		      char key_out[CACHE_KEY_HEX + 1], char *path, size_t len)
{
	char *old = NULL, be[32] = "", index_dir[CACHE_PATH];
	struct strbuf now = {0};
	int rc = cache_latest_for(c, suite_abs, NULL, key_out);
	if (!rc)
		rc = cache_read_material(c, key_out, &old);
	if (rc)
		goto out;
	const char *mark = strstr(old, "\n" CACHE_BACKEND_MARK "\n");
	const char *bname = strstr(old, "\nbackend ");
	if (!mark || !bname || sscanf(bname + 9, "%31s", be) != 1) {
		rc = -ENOENT;
		goto out;
	}
	snprintf(index_dir, sizeof(index_dir), "%s/index", c->dir);
	rc = cache_key_material(s, be, index_dir, &now);
	if (rc)
		goto out;
	/* the suite's part ends with the newline before the mark */
	size_t n = (size_t)(mark - old) + 1;
	if (now.len != n || memcmp(now.buf, old, n)) {
		rc = -ENOENT;
		goto out;
	}
	if ((size_t)snprintf(path, len, "%s/entries/%s", c->dir, key_out) >= len)
		rc = -ENAMETOOLONG;
out:
	free(old);
	sb_release(&now);
	return rc;
}
