/* The cache key's tree contents (cache_tree) and its explanations
 * (cache_explain): one changed byte is a different key, the stat index
 * spares re-reading unchanged files and never hides a change, hostile file
 * names stay one line, and a diff names what changed. */
#include "cache/cache.h"
#include "cache/cache_tree.h"
#include "util.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char root[64], idx[128];

static void put(const char *rel, const char *text)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	ck_assert_int_eq(util_write_file_atomic(p, text, strlen(text), 0644), 0);
}

static char *material(struct cache_tree_stats *st)
{
	struct strbuf sb = {0};
	ck_assert_int_eq(cache_tree_material(root, idx, &sb, st), 0);
	char *out = NULL;
	ck_assert_int_eq(sb_detach(&sb, &out), 0);
	return out;
}

static void setup_tree(void)
{
	snprintf(root, sizeof(root), "/tmp/smoltest-tree.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	snprintf(idx, sizeof(idx), "%s.idx", root);
	char p[256];
	snprintf(p, sizeof(p), "%s/d", root);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/.git", root);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	put("a.c", "int main(void) { return 0; }\n");
	put("d/b.h", "#define B 1\n");
	put(".git/index", "changes on every git status");
	snprintf(p, sizeof(p), "%s/link", root);
	ck_assert_int_eq(symlink("d/b.h", p), 0);
}

static void teardown_tree(void)
{
	util_rm_rf(root);
	util_rm_rf(idx);
}

START_TEST(escape)
{
	struct strbuf sb = {0};
	ck_assert_int_eq(cache_escape(&sb, "a b\n%\x7f/c"), 0);
	ck_assert_str_eq(sb_str(&sb), "a%20b%0A%25%7F/c");
	sb_release(&sb);
}
END_TEST

START_TEST(tree_lines)
{
	struct cache_tree_stats st;
	char *m = material(&st);
	ck_assert_uint_eq(st.entries, 5); /* root, a.c, d, d/b.h, link; not .git */
	ck_assert_ptr_null(strstr(m, ".git"));
	char want[256];
	snprintf(want, sizeof(want), "file %s/link l d/b.h\n", root);
	ck_assert_ptr_nonnull(strstr(m, want));
	snprintf(want, sizeof(want), "file %s/d d 755\n", root);
	ck_assert_ptr_nonnull(strstr(m, want));
	/* sorted by path: a.c before d before d/b.h before link */
	ck_assert(strstr(m, "/a.c ") < strstr(m, "/d d "));
	ck_assert(strstr(m, "/d/b.h ") < strstr(m, "/link "));
	free(m);
	/* a hostile name stays one escaped line */
	put("evil\nfile x", "x");
	m = material(&st);
	ck_assert_ptr_nonnull(strstr(m, "/evil%0Afile%20x f 644 "));
	free(m);
	/* a missing root is one line, not an error */
	struct strbuf sb = {0};
	ck_assert_int_eq(cache_tree_material("/nonexistent/smoltest", NULL, &sb, NULL), 0);
	ck_assert_str_eq(sb_str(&sb), "file /nonexistent/smoltest missing\n");
	sb_release(&sb);
}
END_TEST

START_TEST(one_byte_same_size_and_mtime)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/a.c", root);
	struct stat before;
	ck_assert_int_eq(stat(p, &before), 0);
	char *m1 = material(NULL);
	put("a.c", "int main(void) { return 1; }\n"); /* one byte, same size */
	/* put the old mtime back: metadata alone can no longer tell */
	struct timespec ts[2] = {before.st_atim, before.st_mtim};
	ck_assert_int_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
	char *m2 = material(NULL);
	ck_assert_str_ne(m1, m2);
	struct strbuf d = {0};
	unsigned n = 0;
	ck_assert_int_eq(cache_diff(m1, m2, 10, &d, &n), 0);
	ck_assert_uint_eq(n, 1);
	char want[256];
	snprintf(want, sizeof(want), "changed %s/a.c\n", root);
	ck_assert_str_eq(sb_str(&d), want);
	sb_release(&d);
	free(m1);
	free(m2);
}
END_TEST

START_TEST(index_spares_unchanged_files)
{
	struct cache_tree_stats st;
	char *m1 = material(&st);
	ck_assert_uint_eq(st.hashed, 2); /* fresh files: always read */
	/* past the racy window, the index is trusted */
	sleep(3);
	char *m2 = material(&st);
	ck_assert_str_eq(m1, m2);
	ck_assert_uint_eq(st.hashed, 2); /* the first index held nothing trusted */
	char *m3 = material(&st);
	ck_assert_str_eq(m1, m3);
	ck_assert_uint_eq(st.hashed, 0);
	/* a rewrite with the same size and old mtime: ctime and inode differ */
	char p[256];
	snprintf(p, sizeof(p), "%s/d/b.h", root);
	struct stat before;
	ck_assert_int_eq(stat(p, &before), 0);
	put("d/b.h", "#define B 2\n");
	struct timespec ts[2] = {before.st_atim, before.st_mtim};
	ck_assert_int_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
	char *m4 = material(&st);
	ck_assert_uint_eq(st.hashed, 1);
	ck_assert_str_ne(m1, m4);
	free(m1);
	free(m2);
	free(m3);
	free(m4);
}
END_TEST

START_TEST(corrupt_index)
{
	char *m1 = material(NULL);
	/* overwrite every index file with garbage */
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "for f in %s/*.idx; do printf 'garbage\\n1 2 3\\n1 1 1 1 zz a.c\\n' > $f; done",
		 idx);
	ck_assert_int_eq(system(cmd), 0);
	char *m2 = material(NULL);
	ck_assert_str_eq(m1, m2);
	free(m1);
	free(m2);
}
END_TEST

/* One file's hash (a kernel, an initrd, a rootfs image) through the same
 * kind of index: a file left alone is not read again (shown by planting a
 * wrong hash in its index line, which is then believed), and any rewrite
 * is read again. */
START_TEST(file_hash_index)
{
	char p[256], cmd[700];
	snprintf(p, sizeof(p), "%s/a.c", root);
	uint64_t h0, h1, h2;
	ck_assert_int_eq(cache_file_hash(p, idx, &h0), 0);
	ck_assert_int_eq(cache_file_hash(p, NULL, &h1), 0);
	ck_assert(h0 == h1);
	ck_assert_int_eq(cache_file_hash(root, idx, &h1), -EINVAL); /* a directory */
	ck_assert_int_eq(cache_file_hash("/nonexistent/smoltest", idx, &h1), -ENOENT);
	sleep(3); /* past the racy window: now the index remembers it */
	ck_assert_int_eq(cache_file_hash(p, idx, &h1), 0);
	ck_assert(h0 == h1);
	snprintf(cmd, sizeof(cmd),
		 "set -e; n=0; for f in %s/*.idx; do grep -q ' %016llx $' $f || continue; "
		 "sed -i 's/ %016llx $/ 00000000000000aa /' $f; n=$((n+1)); done; [ $n = 1 ]",
		 idx, (unsigned long long)h0, (unsigned long long)h0);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(cache_file_hash(p, idx, &h2), 0);
	ck_assert(h2 == 0xaa);
	put("a.c", "int main(void) { return 2; }\n"); /* same size, new inode */
	ck_assert_int_eq(cache_file_hash(p, idx, &h2), 0);
	ck_assert(h2 != 0xaa && h2 != h0);
}
END_TEST

START_TEST(diff_and_summary)
{
	const char *was =
	    "smoltest-cache-format 2\nbackend sandbox\nworkdir /\n"
	    "cmd shell=1 argc=1 make\n"
	    "share /s -> /src ro\nfile /s d 755\nfile /s/a f 644 01\nfile /s/b f 644 02\n"
	    "-- backend --\nsandbox rootfs=/\n";
	const char *now =
	    "smoltest-cache-format 2\nbackend sandbox\nworkdir /\n"
	    "cmd shell=1 argc=1 make%20-j2\n"
	    "share /s -> /src ro\nfile /s d 755\nfile /s/b f 644 03\nfile /s/c f 644 04\n"
	    "-- backend --\nsandbox rootfs=/\n";
	struct strbuf d = {0};
	unsigned n = 0;
	ck_assert_int_eq(cache_diff(was, now, 10, &d, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_ptr_nonnull(strstr(sb_str(&d), "removed /s/a\n"));
	ck_assert_ptr_nonnull(strstr(sb_str(&d), "changed /s/b\n"));
	ck_assert_ptr_nonnull(strstr(sb_str(&d), "added /s/c\n"));
	ck_assert_ptr_nonnull(strstr(
	    sb_str(&d), "changed: cmd shell=1 argc=1 make  ->  cmd shell=1 argc=1 make%20-j2"));
	sb_reset(&d);
	ck_assert_int_eq(cache_diff(was, now, 1, &d, &n), 0);
	ck_assert_ptr_nonnull(strstr(sb_str(&d), "... 3 more\n"));
	sb_reset(&d);
	ck_assert_int_eq(cache_diff(was, was, 10, &d, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(d.len, 0);
	ck_assert_int_eq(cache_key_summary(was, &d), 0);
	ck_assert_ptr_nonnull(strstr(sb_str(&d), "backend sandbox"));
	ck_assert_ptr_nonnull(strstr(sb_str(&d), "share /s -> /src ro: 3 entries xxh3 "));
	ck_assert_ptr_nonnull(strstr(sb_str(&d), "1 setup step, 0 env, sandbox rootfs=/"));
	sb_release(&d);
}
END_TEST

/* images/<key>/ with its manifest last used `ago` seconds ago */
static void image_at(const char *name, time_t ago)
{
	char p[256];
	snprintf(p, sizeof(p), "smoltest/images/%s", name);
	char d[320];
	snprintf(d, sizeof(d), "%s/%s", root, p);
	ck_assert_int_eq(util_mkdir_p(d, 0755), 0);
	snprintf(p + strlen(p), sizeof(p) - strlen(p), "/manifest");
	put(p, "kernel vmlinuz\n");
	struct timespec t[2] = {{.tv_sec = time(NULL) - ago}, {.tv_sec = time(NULL) - ago}};
	snprintf(d + strlen(d), sizeof(d) - strlen(d), "/manifest");
	ck_assert_int_eq(utimensat(AT_FDCWD, d, t, 0), 0);
	d[strlen(d) - strlen("/manifest")] = '\0';
	ck_assert_int_eq(utimensat(AT_FDCWD, d, t, 0), 0);
}

static bool image_there(const char *name)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/smoltest/images/%s", root, name);
	return access(p, F_OK) == 0;
}

START_TEST(prune_images)
{
	const char *named = "11111111111111111111111111111111";
	const char *unused = "22222222222222222222222222222222";
	const char *fresh = "33333333333333333333333333333333";
	struct cache c;
	ck_assert_int_eq(cache_open(root, NULL, &c), 0);
	/* an entry built from `named`; another whose material only looks alike */
	char p[256];
	snprintf(p, sizeof(p), "%s/smoltest/entries/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", root);
	ck_assert_int_eq(util_mkdir_p(p, 0700), 0);
	put("smoltest/entries/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/key",
	    "format 2\n-- backend --\nvm kernel=1 "
	    "initrd=2\nimage=11111111111111111111111111111111\n");
	snprintf(p, sizeof(p), "%s/smoltest/entries/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", root);
	ck_assert_int_eq(util_mkdir_p(p, 0700), 0);
	put("smoltest/entries/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/key",
	    "-- backend "
	    "--\nimage=222222222222222222222222222222220\nximage="
	    "22222222222222222222222222222222\n");
	image_at(named, 30 * 24 * 3600);
	image_at(unused, 2 * 3600);
	image_at(fresh, 60);
	image_at(".build-44444444444444444444444444444444.AbCdEf", 2 * 3600);
	image_at(".build-55555555555555555555555555555555.AbCdEf", 60);
	image_at("not-a-key", 30 * 24 * 3600);
	unsigned removed = 9;
	uint64_t bytes = 9;
	/* unused for 2 h: kept when the limit is 7 days */
	ck_assert_int_eq(cache_prune_images(&c, 7 * 24 * 3600, &removed, &bytes), 0);
	ck_assert_uint_eq(removed, 0);
	ck_assert(image_there(unused));
	ck_assert(!image_there(".build-44444444444444444444444444444444.AbCdEf"));
	ck_assert(image_there(".build-55555555555555555555555555555555.AbCdEf"));
	/* --all: the unused one goes; the named and the just-used stay */
	ck_assert_int_eq(cache_prune_images(&c, 0, &removed, &bytes), 0);
	ck_assert_uint_eq(removed, 1);
	ck_assert_uint_gt(bytes, 0);
	ck_assert(!image_there(unused));
	ck_assert(image_there(named));
	ck_assert(image_there(fresh));
	ck_assert(image_there("not-a-key"));
	/* the entry goes: so does its image */
	snprintf(p, sizeof(p), "%s/smoltest/entries/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", root);
	ck_assert_int_eq(util_rm_rf(p), 0);
	ck_assert_int_eq(cache_prune_images(&c, 0, &removed, &bytes), 0);
	ck_assert_uint_eq(removed, 1);
	ck_assert(!image_there(named));
	/* an entry whose material cannot be read keeps every image */
	image_at(unused, 2 * 3600);
	snprintf(p, sizeof(p), "%s/smoltest/entries/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/key", root);
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	ck_assert_int_eq(cache_prune_images(&c, 0, &removed, &bytes), 0);
	ck_assert_uint_eq(removed, 0);
	ck_assert(image_there(unused));
	cache_close(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("tree");
	tcase_add_checked_fixture(tc, setup_tree, teardown_tree);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, escape);
	tcase_add_test(tc, tree_lines);
	tcase_add_test(tc, one_byte_same_size_and_mtime);
	tcase_add_test(tc, index_spares_unchanged_files);
	tcase_add_test(tc, corrupt_index);
	tcase_add_test(tc, file_hash_index);
	tcase_add_test(tc, diff_and_summary);
	tcase_add_test(tc, prune_images);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
