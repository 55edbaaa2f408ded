/* Unit tests for the root file system builder: OCI / docker-save JSON and
 * layer application (whiteouts, opaque directories) on hostile layers:
 * "..", absolute names, symlink and hard link escapes, device nodes. */
#include "ocijson.h"
#include "rootfs.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256], root[300], outside[300];
static int root_fd = -1;

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/smol-test-rootfs.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(root, sizeof(root), "%s/root", tmpdir);
	snprintf(outside, sizeof(outside), "%s/outside", tmpdir);
	ck_assert_int_eq(mkdir(root, 0755), 0);
	ck_assert_int_eq(mkdir(outside, 0755), 0);
	root_fd = open(root, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(root_fd, 0);
}

static void teardown(void)
{
	close(root_fd);
	util_rm_rf(tmpdir);
}

struct ent {
	const char *name;
	char type;	  /* f file, d dir, l symlink, h hard link, c char device */
	const char *data; /* contents, or link target */
};

/* Writes a (gzip-compressed when gz) tar of ents and returns an open fd. */
static int layer(const struct ent *ents, size_t n, int gz)
{
	char path[400];
	static int seq;
	snprintf(path, sizeof(path), "%s/layer%d.tar", tmpdir, seq++);
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	archive_write_set_format_pax_restricted(a);
	if (gz)
		archive_write_add_filter_gzip(a);
	ck_assert_int_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		archive_entry_clear(e);
		archive_entry_set_pathname(e, ents[i].name);
		archive_entry_set_perm(e, 0644);
		switch (ents[i].type) {
		case 'f':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_size(e, (la_int64_t)strlen(ents[i].data));
			break;
		case 'd':
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, 0755);
			break;
		case 'l':
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, ents[i].data);
			break;
		case 'h':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, ents[i].data);
			break;
		case 'c':
			archive_entry_set_filetype(e, AE_IFCHR);
			archive_entry_set_rdevmajor(e, 1);
			archive_entry_set_rdevminor(e, 3);
			break;
		}
		ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
		if (ents[i].type == 'f')
			archive_write_data(a, ents[i].data, strlen(ents[i].data));
	}
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(e);
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	return fd;
}

static int apply(const struct ent *ents, size_t n, int gz, char *err, struct rootfs_result *r)
{
	int fd = layer(ents, n, gz);
	int rc = rootfs_apply_layer(root_fd, fd, "test-layer", r, err, 300);
	close(fd);
	return rc;
}

#define APPLY(arr, gz, err, r) apply(arr, sizeof(arr) / sizeof(arr[0]), gz, err, r)

static int exists(const char *base, const char *rel)
{
	char p[600];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", base, rel);
	return lstat(p, &st) == 0;
}

START_TEST(layers_and_whiteouts)
{
	char err[300] = "";
	struct rootfs_result r = {0};
	const struct ent l1[] = {
	    {"bin", 'd', NULL},	     {"bin/sh", 'f', "sh"},	   {"./etc/passwd", 'f', "root"},
	    {"a/x", 'f', "x"},	     {"a/sub/y", 'f', "y"},	   {"/abs", 'f', "abs"},
	    {"dev/null", 'c', NULL}, {"link", 'l', "/etc/passwd"},
	};
	const struct ent l2[] = {
	    {"a/.wh..wh..opq", 'f', ""}, {"a/z", 'f', "z"},	   {"etc/.wh.passwd", 'f', ""},
	    {"hl", 'h', "bin/sh"},	 {".wh.nothere", 'f', ""},
	};
	ck_assert_msg(APPLY(l1, 0, err, &r) == 0, "%s", err);
	ck_assert_msg(APPLY(l2, 1, err, &r) == 0, "%s", err);
	ck_assert_uint_eq(r.layers, 2);
	ck_assert_uint_eq(r.whiteouts, 3);
	ck_assert_uint_eq(r.skipped, 1); /* dev/null */
	ck_assert(exists(root, "bin/sh"));
	ck_assert(exists(root, "abs")); /* absolute names land inside the root */
	ck_assert(!exists(root, "etc/passwd"));
	ck_assert(exists(root, "etc"));
	ck_assert(!exists(root, "a/x"));
	ck_assert(!exists(root, "a/sub"));
	ck_assert(exists(root, "a/z"));
	ck_assert(!exists(root, "a/.wh..wh..opq"));
	ck_assert(!exists(root, "dev/null"));
	ck_assert(exists(root, "link"));
	char p[600], *text;
	size_t len;
	snprintf(p, sizeof(p), "%s/hl", root);
	ck_assert_int_eq(util_read_file(p, 100, &text, &len), 0);
	ck_assert_str_eq(text, "sh");
	free(text);
}
END_TEST

START_TEST(dotdot_is_refused)
{
	char err[300] = "";
	const struct ent bad[] = {{"a/../../escape", 'f', "x"}};
	ck_assert_int_eq(APPLY(bad, 0, err, NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "leaves the root"));
	ck_assert(!exists(tmpdir, "escape"));
	const struct ent badwh[] = {{"../.wh.outside", 'f', ""}};
	ck_assert_int_eq(APPLY(badwh, 0, err, NULL), -EINVAL);
	ck_assert(exists(tmpdir, "outside"));
	const struct ent badhl[] = {{"hl", 'h', "../outside"}};
	ck_assert_int_eq(APPLY(badhl, 0, err, NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "hard link"));
}
END_TEST

START_TEST(symlink_escapes_are_refused)
{
	char err[300] = "";
	/* A symlink to a host directory, then a file "through" it. */
	const struct ent l1[] = {{"evil", 'l', outside}};
	ck_assert_int_eq(APPLY(l1, 0, err, NULL), 0);
	const struct ent l2[] = {{"evil/pwned", 'f', "x"}};
	/* libarchive (SECURE_SYMLINKS with UNLINK) replaces the symlink by a
	 * real directory rather than writing through it: fine, as long as
	 * nothing lands outside. */
	ck_assert_int_eq(APPLY(l2, 0, err, NULL), 0);
	ck_assert(!exists(outside, "pwned"));
	ck_assert(exists(root, "evil/pwned"));
	struct stat st;
	char ev[400];
	snprintf(ev, sizeof(ev), "%s/evil", root);
	ck_assert_int_eq(lstat(ev, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	/* Put the escaping symlink back for the whiteout cases. */
	ck_assert_int_eq(util_rm_rf(ev), 0);
	ck_assert_int_eq(symlink(outside, ev), 0);
	/* A whiteout through the symlink must not delete host files. */
	char p[600];
	snprintf(p, sizeof(p), "%s/keep", outside);
	FILE *f = fopen(p, "w");
	fclose(f);
	const struct ent l3[] = {{"evil/.wh.keep", 'f', ""}};
	ck_assert_int_lt(APPLY(l3, 0, err, NULL), 0);
	ck_assert_ptr_nonnull(strstr(err, "symlink"));
	ck_assert(exists(outside, "keep"));
	const struct ent l4[] = {{"evil/.wh..wh..opq", 'f', ""}};
	ck_assert_int_lt(APPLY(l4, 0, err, NULL), 0);
	ck_assert(exists(outside, "keep"));
	/* Relative escapes too. */
	const struct ent l5[] = {{"up", 'l', "../outside"}, {"up/pwned2", 'f', "x"}};
	APPLY(l5, 0, err, NULL);
	ck_assert(!exists(outside, "pwned2"));
}
END_TEST

START_TEST(not_a_tar)
{
	char p[400], err[300];
	snprintf(p, sizeof(p), "%s/junk", tmpdir);
	FILE *f = fopen(p, "w");
	fputs("this is not a tar archive at all", f);
	fclose(f);
	int fd = open(p, O_RDONLY);
	ck_assert_int_lt(rootfs_apply_layer(root_fd, fd, "junk", NULL, err, sizeof(err)), 0);
	close(fd);
}
END_TEST

START_TEST(docker_json)
{
	char **l, err[300];
	size_t n;
	const char good[] = "[{\"Config\":\"c.json\",\"RepoTags\":[\"a:1\"],"
			    "\"Layers\":[\"l1/layer.tar\",\"blobs/sha256/ab\"]}]";
	ck_assert_int_eq(oci_docker_layers(good, strlen(good), &l, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(l[1], "blobs/sha256/ab");
	oci_free_list(l, n);
	const char *bad[] = {
	    "[{\"Layers\":[\"../../etc/passwd\"]}]",
	    "[{\"Layers\":[\"/etc/passwd\"]}]",
	    "[{\"Layers\":[\"a//b\"]}]",
	    "[{\"Layers\":[]}]",
	    "[{\"Layers\":[[\"nested\"]]}]",
	    "[{\"Layers\":[\"a\"]},{\"Layers\":[\"b\"]}]",
	    "{\"Layers\":[\"a\"]}",
	    "[{\"Layers\":[\"a\"",
	    "",
	    "\"just a string\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(oci_docker_layers(bad[i], strlen(bad[i]), &l, &n, err, sizeof(err)) <
				  0,
			      "accepted %s", bad[i]);
}
END_TEST

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

START_TEST(oci_json)
{
	char *p, **l, err[300];
	int is_index;
	size_t n;
	/* Pretty-printed with tabs, as Go's encoder writes it. */
	const char index[] =
	    "{\n\t\"schemaVersion\": 2,\n\t\"manifests\": [\n\t\t{\"mediaType\": "
	    "\"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"sha256:" H64
	    "\", \"platform\": {\"os\": \"linux\", \"architecture\": \"arm64\"}},\n\t\t"
	    "{\"mediaType\": \"application/vnd.oci.image.index.v1+json\", \"digest\": "
	    "\"sha256:" H64 "\", \"platform\": {\"os\": \"linux\", \"architecture\": "
	    "\"amd64\"}}\n\t]\n}";
	ck_assert_int_eq(oci_index_pick(index, strlen(index), &p, &is_index, err, sizeof(err)), 0);
	ck_assert_str_eq(p, "blobs/sha256/" H64);
	ck_assert_int_eq(is_index, 1);
	free(p);
	const char two[] =
	    "{\"manifests\":[{\"digest\":\"sha256:" H64 "\"},{\"digest\":\"sha256:" H64 "\"}]}";
	ck_assert_int_eq(oci_index_pick(two, strlen(two), &p, &is_index, err, sizeof(err)),
			 -EINVAL);
	const char baddigest[] = "{\"manifests\":[{\"digest\":\"sha256:../../../etc/passwd\"}]}";
	ck_assert_int_eq(
	    oci_index_pick(baddigest, strlen(baddigest), &p, &is_index, err, sizeof(err)), -EINVAL);
	const char md5[] = "{\"manifests\":[{\"digest\":\"md5:" H64 "\"}]}";
	ck_assert_int_eq(oci_index_pick(md5, strlen(md5), &p, &is_index, err, sizeof(err)),
			 -EINVAL);

	const char man[] =
	    "{\"layers\":[{\"digest\":\"sha256:" H64 "\"},{\"digest\":\"sha256:" H64 "\"}]}";
	ck_assert_int_eq(oci_manifest_layers(man, strlen(man), &l, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
	oci_free_list(l, n);
	const char upper[] = "{\"layers\":[{\"digest\":\"sha256:"
			     "0123456789ABCDEF0123456789abcdef"
			     "0123456789abcdef0123456789abcdef"
			     "\"}]}";
	ck_assert_int_eq(oci_manifest_layers(upper, strlen(upper), &l, &n, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(oci_manifest_layers("{}", 2, &l, &n, err, sizeof(err)), -EINVAL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("image_rootfs");
	TCase *tc = tcase_create("layers");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, layers_and_whiteouts);
	tcase_add_test(tc, dotdot_is_refused);
	tcase_add_test(tc, symlink_escapes_are_refused);
	tcase_add_test(tc, not_a_tar);
	suite_add_tcase(s, tc);
	tc = tcase_create("json");
	tcase_add_test(tc, docker_json);
	tcase_add_test(tc, oci_json);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return smol_check_run(suite());
}
