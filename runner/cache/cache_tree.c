/* cache_tree: tree contents as cache-key material, with a stat index
 * (cache_tree.h). */
#include "cache/cache_tree.h"
#include "image.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define TREE_MAX_DEPTH 128
#define INDEX_MAX      (256u << 20)
/* a file modified this close to the scan may be written again within the
 * same timestamp tick without changing (size, mtime): never trust it */
#define RACY_NS (2ull * NSEC_PER_SEC)

struct tree_ent {
	char *rel; /* "" for the root, else "a/b" */
	struct stat st;
};

struct idx_ent {
	char *rel;
	uint64_t ino, size, mtime, ctime, hash;
};

struct tree {
	const char *root;
	struct tree_ent *e;
	size_t n, cap;
	struct idx_ent *idx;
	size_t n_idx;
	int rc; /* sticky: -ENOMEM */
};

int cache_escape(struct strbuf *sb, const char *s)
{
	int rc = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++)
		rc = (*p <= 0x20 || *p == '%' || *p == 0x7f) ? sb_printf(sb, "%%%02X", *p)
							     : sb_append_char(sb, (char)*p);
	return rc;
}

static uint64_t ts_ns(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * NSEC_PER_SEC + (uint64_t)t->tv_nsec;
}

static void tree_add(struct tree *t, const char *rel, const struct stat *st)
{
	if (t->rc)
		return;
	struct tree_ent *e = util_grow(t->e, &t->cap, t->n, sizeof(*e), 256);
	if (!e) {
		t->rc = -ENOMEM;
		return;
	}
	t->e = e;
	char *r = strdup(rel);
	if (!r) {
		t->rc = -ENOMEM;
		return;
	}
	t->e[t->n].rel = r;
	t->e[t->n].st = *st;
	t->n++;
}

static void tree_walk(struct tree *t, const char *rel, int depth)
{
	char path[PATH_MAX];
	struct stat st;
	if ((size_t)snprintf(path, sizeof(path), "%s%s%s", t->root, *rel ? "/" : "", rel) >=
	    sizeof(path))
		return;
	if (lstat(path, &st))
		return;
	tree_add(t, rel, &st);
	if (!S_ISDIR(st.st_mode) || depth >= TREE_MAX_DEPTH || t->rc)
		return;
	struct dirent **names = NULL;
	int n = scandir(path, &names, NULL, NULL);
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		if (strcmp(nm, ".") != 0 && strcmp(nm, "..") != 0 && strcmp(nm, ".git") != 0) {
			char child[PATH_MAX];
			if ((size_t)snprintf(child, sizeof(child), "%s%s%s", rel, *rel ? "/" : "",
					     nm) < sizeof(child))
				tree_walk(t, child, depth + 1);
		}
		free(names[i]);
	}
	free(names);
}

static int ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tree_ent *)a)->rel, ((const struct tree_ent *)b)->rel);
}

static int idx_cmp(const void *a, const void *b)
{
	return strcmp(((const struct idx_ent *)a)->rel, ((const struct idx_ent *)b)->rel);
}

static void index_path(const char *root, const char *index_dir, char *out, size_t len)
{
	snprintf(out, len, "%s/%016llx.idx", index_dir,
		 (unsigned long long)XXH3_64bits(root, strlen(root)));
}

/* The index is a cache of our own, but a file anyone could have written:
 * a line that does not parse is skipped (its file is hashed again). */
static void index_load(struct tree *t, const char *file)
{
	char *text = NULL;
	size_t len = 0;
	if (util_read_file(file, INDEX_MAX, &text, &len))
		return;
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	t->idx = calloc(lines ? lines : 1, sizeof(*t->idx));
	if (!t->idx)
		goto out;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		struct idx_ent e;
		int off = -1;
		if (sscanf(l, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNx64 " %n",
			   &e.ino, &e.size, &e.mtime, &e.ctime, &e.hash, &off) != 5 ||
		    off <= 0 || t->n_idx >= lines)
			continue;
		if (!(e.rel = strdup(l + off)))
			break;
		t->idx[t->n_idx++] = e;
	}
	qsort(t->idx, t->n_idx, sizeof(*t->idx), idx_cmp);
out:
	free(text);
}

static const struct idx_ent *index_find(const struct tree *t, const char *esc_rel)
{
	struct idx_ent key = {.rel = (char *)esc_rel};
	return t->n_idx ? bsearch(&key, t->idx, t->n_idx, sizeof(*t->idx), idx_cmp) : NULL;
}

static void tree_release(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->e[i].rel);
	free(t->e);
	for (size_t i = 0; i < t->n_idx; i++)
		free(t->idx[i].rel);
	free(t->idx);
}

/* The hash of one regular file (its struct stat in e), from the index when
 * (inode, size, mtime, ctime) match and the file is not racily new, else
 * read; its index line goes to idx when it may be trusted next time.
 * Returns 0, -ENOMEM, or the -errno of an unreadable file. */
static int indexed_hash(struct tree *t, const struct tree_ent *e, const char *path,
			const char *esc_rel, uint64_t now, uint64_t *out, struct strbuf *idx,
			struct cache_tree_stats *stats)
{
	uint64_t mtime = ts_ns(&e->st.st_mtim), ctime = ts_ns(&e->st.st_ctim), h = 0;
	const struct idx_ent *ie = index_find(t, esc_rel);
	bool racy = mtime + RACY_NS > now || ctime + RACY_NS > now;
	if (ie && !racy && ie->ino == (uint64_t)e->st.st_ino &&
	    ie->size == (uint64_t)e->st.st_size && ie->mtime == mtime && ie->ctime == ctime) {
		h = ie->hash;
	} else {
		uint64_t size = 0;
		int rc = image_hash_file(path, &h, &size);
		if (rc)
			return rc;
		stats->hashed++;
		stats->bytes += size;
		struct stat now_st;
		/* changed while being read: the key is right for this moment,
		 * but the index must not remember it */
		if (stat(path, &now_st) || ts_ns(&now_st.st_mtim) != mtime ||
		    now_st.st_size != e->st.st_size)
			racy = true;
	}
	*out = h;
	if (!racy &&
	    sb_printf(idx, "%llu %llu %llu %llu %016llx %s\n", (unsigned long long)e->st.st_ino,
		      (unsigned long long)e->st.st_size, (unsigned long long)mtime,
		      (unsigned long long)ctime, (unsigned long long)h, esc_rel))
		return -ENOMEM;
	return 0;
}

/* One regular file's line. */
static int file_line(struct tree *t, const struct tree_ent *e, const char *esc_rel, uint64_t now,
		     struct strbuf *sb, struct strbuf *idx, struct cache_tree_stats *stats)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", t->root, e->rel);
	uint64_t h;
	int rc = indexed_hash(t, e, path, esc_rel, now, &h, idx, stats);
	if (rc == -ENOMEM)
		return rc;
	if (rc)
		return sb_printf(sb, " f %o unreadable:%d\n", (unsigned)e->st.st_mode & 07777, -rc);
	return sb_printf(sb, " f %o %016llx\n", (unsigned)e->st.st_mode & 07777,
			 (unsigned long long)h);
}

static int ent_line(struct tree *t, const struct tree_ent *e, uint64_t now, struct strbuf *sb,
		    struct strbuf *idx, struct cache_tree_stats *stats)
{
	struct strbuf rel = {0};
	int rc = cache_escape(&rel, e->rel);
	rc = rc ? rc : sb_append_str(sb, "file ");
	rc = rc ? rc : cache_escape(sb, t->root);
	if (!rc && *e->rel) {
		rc = sb_append_char(sb, '/');
		rc = rc ? rc : sb_append_str(sb, sb_str(&rel));
	}
	if (rc)
		goto out;
	unsigned mode = (unsigned)e->st.st_mode & 07777;
	if (S_ISDIR(e->st.st_mode)) {
		rc = sb_printf(sb, " d %o\n", mode);
	} else if (S_ISREG(e->st.st_mode)) {
		rc = file_line(t, e, sb_str(&rel), now, sb, idx, stats);
	} else if (S_ISLNK(e->st.st_mode)) {
		char path[PATH_MAX], target[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", t->root, e->rel);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		rc = sb_append_str(sb, " l ");
		rc = rc ? rc : cache_escape(sb, target);
		rc = rc ? rc : sb_append_char(sb, '\n');
	} else {
		rc = sb_printf(sb, " o %o\n", (unsigned)e->st.st_mode);
	}
out:
	sb_release(&rel);
	return rc;
}

int cache_tree_material(const char *root, const char *index_dir, struct strbuf *sb,
			struct cache_tree_stats *stats)
{
	struct cache_tree_stats dummy;
	struct tree t = {.root = root};
	struct strbuf idx = {0};
	char idx_file[PATH_MAX] = "";
	int rc;
	if (!stats)
		stats = &dummy;
	memset(stats, 0, sizeof(*stats));
	uint64_t now = util_wall_ns();
	tree_walk(&t, "", 0);
	if (t.rc) {
		rc = t.rc;
		goto out;
	}
	if (!t.n) {
		rc = sb_append_str(sb, "file ");
		rc = rc ? rc : cache_escape(sb, root);
		rc = rc ? rc : sb_append_str(sb, " missing\n");
		goto out;
	}
	qsort(t.e, t.n, sizeof(*t.e), ent_cmp);
	if (index_dir) {
		index_path(root, index_dir, idx_file, sizeof(idx_file));
		index_load(&t, idx_file);
	}
	stats->entries = t.n;
	rc = 0;
	for (size_t i = 0; !rc && i < t.n; i++)
		rc = ent_line(&t, &t.e[i], now, sb, &idx, stats);
	/* a failed write only costs hashing again next time */
	if (!rc && index_dir && util_mkdir_p(index_dir, 0700) == 0)
		(void)util_write_file_atomic(idx_file, sb_str(&idx), idx.len, 0600);
out:
	sb_release(&idx);
	tree_release(&t);
	return rc;
}

int cache_file_hash(const char *path, const char *index_dir, uint64_t *hash)
{
	char real[PATH_MAX];
	struct tree_ent e = {.rel = ""};
	if (!realpath(path, real) || stat(real, &e.st))
		return -errno;
	if (!S_ISREG(e.st.st_mode))
		return -EINVAL;
	struct cache_tree_stats stats = {0};
	struct tree t = {.root = real};
	struct strbuf idx = {0};
	char idx_file[PATH_MAX] = "";
	if (index_dir) {
		index_path(real, index_dir, idx_file, sizeof(idx_file));
		index_load(&t, idx_file);
	}
	int rc = indexed_hash(&t, &e, real, "", util_wall_ns(), hash, &idx, &stats);
	/* a failed write only costs hashing again next time */
	if (!rc && index_dir && stats.hashed && util_mkdir_p(index_dir, 0700) == 0)
		(void)util_write_file_atomic(idx_file, sb_str(&idx), idx.len, 0600);
	sb_release(&idx);
	tree_release(&t);
	return rc;
}
