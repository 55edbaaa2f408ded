/* .smolmachine bundles: export/import round trip with sparse files, and the
 * hostile cases: truncated and corrupted bundles, path traversal, links,
 * a manifest that lies, files changed after the snapshot. */
#include "snapshot/snap_archive.h"
#include "snapshot/snap_bundle.h"
#include "snapshot/snap_config.h"
#include "snapshot/snap_file.h"
#include "snapshot/snap_fingerprint.h"
#include "snapshot/snap_writer.h"
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];
static char snap[512], bundle[512], kernel[512], layer[512];

static void write_file(const char *path, const void *data, size_t len, off_t extend_to)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	if (extend_to)
		ck_assert_int_eq(ftruncate(fd, extend_to), 0);
	close(fd);
}

/* A snapshot with 1 MiB of RAM (two data pages) whose config lists a kernel
 * and a sparse 8 MiB disk layer. */
static void make_snapshot(void)
{
	write_file(kernel, "KERNEL-IMAGE", 12, 0);
	write_file(layer, "LAYER", 5, 8ull << 20);
	struct snap_config cfg = {.nr_vcpus = 1, .mem_size = 1ull << 20, .nr_regions = 1};
	cfg.regions[0] = (struct snap_region){0, 1ull << 20, 0};
	ck_assert_int_eq(snap_config_add_file(&cfg, SNAP_FILE_KERNEL, kernel, 12, 0), 0);
	ck_assert_int_eq(snap_config_add_file(&cfg, SNAP_FILE_DISK_LAYER, layer, 8ull << 20, 0), 0);
	uint8_t *cbuf;
	size_t clen;
	ck_assert_int_eq(snap_config_encode(&cfg, &cbuf, &clen), 0);
	struct snap_writer *w;
	struct vmm_err err;
	ck_assert_int_eq(snap_writer_create(snap, &w, &err), 0);
	ck_assert_int_eq(snap_writer_add(w, "config", SNAP_SEC_CONFIG, 1, cbuf, clen, &err), 0);
	uint8_t *mem =
	    mmap(NULL, 1ull << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mem[0] = 1;
	mem[200 * 4096ull + 9] = 2;
	struct snap_mem_range r = {mem, 1ull << 20, -1, 0, false, false};
	ck_assert_int_eq(snap_writer_add_memory(w, 1, &r, 1, NULL, &err), 0);
	struct snap_fingerprint fp = {0};
	snap_fp_host_cpu(&fp);
	ck_assert_int_eq(snap_writer_commit(w, &fp, &err), 0);
	snap_writer_destroy(w);
	munmap(mem, 1ull << 20);
	free(cbuf);
	snap_config_release(&cfg);
}

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/snapbundle.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(snap, sizeof(snap), "%s/s.smolsnap", tmpdir);
	snprintf(bundle, sizeof(bundle), "%s/m.smolmachine", tmpdir);
	snprintf(kernel, sizeof(kernel), "%s/vmlinux", tmpdir);
	snprintf(layer, sizeof(layer), "%s/top.layer", tmpdir);
	make_snapshot();
}

static void teardown(void)
{
	util_rm_rf(tmpdir);
}

static bool same_file(const char *a, const char *b)
{
	char *x, *y;
	size_t nx, ny;
	ck_assert_int_eq(util_read_file(a, 64 << 20, &x, &nx), 0);
	ck_assert_int_eq(util_read_file(b, 64 << 20, &y, &ny), 0);
	bool same = nx == ny && memcmp(x, y, nx) == 0;
	free(x);
	free(y);
	return same;
}

static uint64_t allocated(const char *path)
{
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

START_TEST(roundtrip)
{
	struct vmm_err err;
	ck_assert_msg(snap_bundle_export(snap, bundle, &err) == 0, "%s", err.msg);
	/* Sparse entries: the bundle is far smaller than the 9 MiB it holds. */
	struct stat st;
	ck_assert_int_eq(stat(bundle, &st), 0);
	ck_assert_int_lt(st.st_size, 64 << 10);

	char dir[512], p[600], q[600];
	snprintf(dir, sizeof(dir), "%s/imported", tmpdir);
	ck_assert_msg(snap_bundle_import(bundle, dir, &err) == 0, "%s", err.msg);
	snprintf(p, sizeof(p), "%s/snapshot.smolsnap", dir);
	ck_assert(same_file(snap, p));
	ck_assert_uint_lt(allocated(p), 256 << 10); /* memory came back sparse */
	struct snap_file *f;
	ck_assert_int_eq(snap_file_open(p, &f, &err), 0);
	ck_assert_int_eq(snap_file_verify(f, &err), 0);
	snap_file_close(f);
	snprintf(p, sizeof(p), "%s/files/1-top.layer", dir);
	ck_assert(same_file(layer, p));
	ck_assert_uint_lt(allocated(p), 1ull << 20);

	/* Restore resolves bundled copies next to the imported snapshot. */
	snprintf(p, sizeof(p), "%s/snapshot.smolsnap", dir);
	ck_assert_int_eq(snap_bundle_resolve(p, 0, kernel, q, sizeof(q)), 0);
	ck_assert_ptr_nonnull(strstr(q, "imported/files/0-vmlinux"));
	ck_assert_int_eq(snap_bundle_resolve(snap, 0, kernel, q, sizeof(q)), 0);
	ck_assert_str_eq(q, kernel);

	/* Importing twice into the same place is refused, and leaves it alone. */
	ck_assert_int_eq(snap_bundle_import(bundle, dir, &err), -EEXIST);
	ck_assert_int_eq(access(p, F_OK), 0);
}
END_TEST

/* A file recorded without a directory (snap_save: it sat next to the
 * snapshot) resolves next to wherever the snapshot is now. */
START_TEST(resolve_relative)
{
	char q[600];
	ck_assert_int_eq(snap_bundle_resolve("/cache/entries/k/snapshot.smolsnap", 3, "rootfs.layer",
					     q, sizeof(q)),
			 0);
	ck_assert_str_eq(q, "/cache/entries/k/rootfs.layer");
	ck_assert_int_eq(snap_bundle_resolve("snapshot.smolsnap", 3, "rootfs.layer", q, sizeof(q)),
			 0);
	ck_assert_str_eq(q, "./rootfs.layer");
	ck_assert_int_eq(snap_bundle_resolve("/a/snapshot.smolsnap", 3, "/b/base.img", q, sizeof(q)),
			 0);
	ck_assert_str_eq(q, "/b/base.img");
	ck_assert_int_eq(snap_bundle_resolve("/a/snapshot.smolsnap", 3, "x", q, 4), -ENAMETOOLONG);
}
END_TEST

START_TEST(changed_file)
{
	struct vmm_err err;
	write_file(kernel, "KERNEL-IMAGE-2", 14, 0);
	ck_assert_int_eq(snap_bundle_export(snap, bundle, &err), -ESTALE);
	ck_assert_ptr_nonnull(strstr(err.msg, "changed"));
	ck_assert_int_ne(access(bundle, F_OK), 0);
}
END_TEST

static void expect_import_fails(const char *why_substr)
{
	char dir[512];
	struct vmm_err err;
	snprintf(dir, sizeof(dir), "%s/imp", tmpdir);
	int rc = snap_bundle_import(bundle, dir, &err);
	if (getenv("SNAP_TEST_VERBOSE"))
		fprintf(stderr, "import error: %s\n", err.msg);
	ck_assert_int_lt(rc, 0);
	ck_assert_msg(strstr(err.msg, why_substr), "message \"%s\" lacks \"%s\"", err.msg,
		      why_substr);
	ck_assert_msg(strchr(err.msg, '\n') == NULL, "multi-line error");
	ck_assert_int_ne(access(dir, F_OK), 0); /* cleaned up */
}

START_TEST(truncated)
{
	struct vmm_err err;
	ck_assert_int_eq(snap_bundle_export(snap, bundle, &err), 0);
	struct stat st;
	ck_assert_int_eq(stat(bundle, &st), 0);
	ck_assert_int_eq(truncate(bundle, st.st_size / 2), 0);
	expect_import_fails(bundle);
	ck_assert_int_eq(truncate(bundle, 10), 0);
	expect_import_fails(bundle);
}
END_TEST

START_TEST(corrupted)
{
	struct vmm_err err;
	ck_assert_int_eq(snap_bundle_export(snap, bundle, &err), 0);
	struct stat st;
	ck_assert_int_eq(stat(bundle, &st), 0);
	int fd = open(bundle, O_RDWR);
	uint8_t b;
	off_t at = st.st_size / 3;
	ck_assert_int_eq(pread(fd, &b, 1, at), 1);
	b ^= 0x5a;
	ck_assert_int_eq(pwrite(fd, &b, 1, at), 1);
	close(fd);
	expect_import_fails("corrupt");
}
END_TEST

/* Writes a bundle by hand with the given entries. */
struct fake_entry {
	const char *name;
	unsigned type; /* AE_IFREG, AE_IFLNK, ... */
	const char *data;
	const char *link;
};

static void forge_bundle(const struct fake_entry *e, unsigned n)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_zstd(a);
	ck_assert_int_eq(archive_write_open_filename(a, bundle), ARCHIVE_OK);
	for (unsigned i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_filetype(ae, e[i].type);
		archive_entry_set_perm(ae, 0644);
		size_t len = e[i].data ? strlen(e[i].data) : 0;
		archive_entry_set_size(ae, (la_int64_t)len);
		if (e[i].link)
			archive_entry_set_symlink(ae, e[i].link);
		ck_assert_int_eq(archive_write_header(a, ae), ARCHIVE_OK);
		if (len)
			archive_write_data(a, e[i].data, len);
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
}

START_TEST(traversal)
{
	char outside[600];
	snprintf(outside, sizeof(outside), "%s/evil", tmpdir);
	static const char *names[] = {"../evil",       "files/../../evil", "/tmp/evil-abs",
				      "files/.hidden", "files/a/b",	   "other"};
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct fake_entry e[] = {{names[i], AE_IFREG, "x", NULL}};
		forge_bundle(e, 1);
		expect_import_fails("refusing entry");
		ck_assert_int_ne(access(outside, F_OK), 0);
	}
	struct fake_entry link[] = {{"files/0-vmlinux", AE_IFLNK, NULL, "/etc/passwd"}};
	forge_bundle(link, 1);
	expect_import_fails("not a regular file");
}
END_TEST

START_TEST(lying_manifest)
{
	struct fake_entry e[] = {
	    {"files/0-k", AE_IFREG, "abc", NULL},
	    {"manifest", AE_IFREG, "smolmachine 1\nentry files/0-k 3 0000000000000001\n", NULL},
	};
	forge_bundle(e, 2);
	expect_import_fails("corrupt");
	struct fake_entry missing[] = {
	    {"manifest", AE_IFREG, "smolmachine 1\nentry snapshot.smolsnap 3 0000000000000001\n",
	     NULL},
	};
	forge_bundle(missing, 1);
	expect_import_fails("does not contain");
	struct fake_entry nomanifest[] = {{"files/0-k", AE_IFREG, "abc", NULL}};
	forge_bundle(nomanifest, 1);
	expect_import_fails("no manifest");
	struct fake_entry version[] = {{"manifest", AE_IFREG, "smolmachine 9\n", NULL}};
	forge_bundle(version, 1);
	expect_import_fails("smolmachine 1");
}
END_TEST

START_TEST(config_codec)
{
	struct snap_config cfg = {.nr_vcpus = 2, .mem_size = 3ull << 20, .nr_regions = 2};
	cfg.regions[0] = (struct snap_region){0, 2ull << 20, 0};
	cfg.regions[1] = (struct snap_region){1ull << 32, 1ull << 20, 2ull << 20};
	ck_assert_int_eq(snap_config_add_file(&cfg, SNAP_FILE_DISK_BASE, "/a/base.img", 7, 9), 0);
	uint8_t *buf;
	size_t len;
	ck_assert_int_eq(snap_config_encode(&cfg, &buf, &len), 0);
	struct snap_config out;
	struct vmm_err err;
	ck_assert_msg(snap_config_decode(buf, len, 3ull << 20, &out, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(out.nr_vcpus, 2);
	ck_assert_uint_eq(out.regions[1].gpa, 1ull << 32);
	ck_assert_str_eq(out.files[0].path, "/a/base.img");
	snap_config_release(&out);
	/* Memory section too small for the regions. */
	ck_assert_int_eq(snap_config_decode(buf, len, 2ull << 20, &out, &err), -EINVAL);
	/* Every truncation is refused without reading past the end. */
	for (size_t l = 0; l < len; l++)
		ck_assert_int_eq(snap_config_decode(buf, l, 3ull << 20, &out, &err), -EINVAL);
	/* Overlapping regions. */
	snap_put64(buf + 24 + 24, 4096);
	ck_assert_int_eq(snap_config_decode(buf, len, 3ull << 20, &out, &err), -EINVAL);
	free(buf);
	snap_config_release(&cfg);
}
END_TEST

/* smolvm calls libarchive through dlopen (snap_archive.h). This test links
 * libarchive: every entry of the table must have archive.h's prototype (a
 * mismatch is an incompatible-pointer error at -Werror here), and the
 * table must hold the very functions the linked library exports. */
START_TEST(archive_table)
{
	struct snap_archive la;
	struct vmm_err err = {0};
	ck_assert_int_eq(snap_archive_open(&la, &err), 0);
#define CHECK_ENTRY(ret, name, params)                                                             \
	{                                                                                          \
		ret(*linked) params = name;                                                        \
		ck_assert_msg(la.name == linked, "%s", #name);                                     \
	}
	SNAP_ARCHIVE_FUNCS(CHECK_ENTRY)
#undef CHECK_ENTRY
	snap_archive_close(&la);
	ck_assert_ptr_null(la.dl);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("snap_bundle");
	TCase *tc = tcase_create("bundle");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, roundtrip);
	tcase_add_test(tc, changed_file);
	tcase_add_test(tc, resolve_relative);
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, corrupted);
	tcase_add_test(tc, traversal);
	tcase_add_test(tc, lying_manifest);
	tcase_add_test(tc, config_codec);
	tcase_add_test(tc, archive_table);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return smol_check_run(suite());
}
