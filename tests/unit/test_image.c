/* Unit tests for the image builder: dependency ordering (moddb), the initrd
 * writer, the busybox applet list, decompression, and whole builds from
 * synthetic Debian packages, hostile ones included. */
#include "busybox.h"
#include "deb.h"
#include "image.h"
#include "initrd.h"
#include "kpkg.h"
#include "moddb.h"
#include "test_image_fake.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static void setup_tmp(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/smol-test-image.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown_tmp(void)
{
	util_rm_rf(tmpdir);
}

/* ---- moddb ---- */

static void add(struct moddb *db, const char *name, const char *deps)
{
	char *list[16], buf[256], path[128];
	size_t n = 0;
	snprintf(buf, sizeof(buf), "%s", deps);
	for (char *s = NULL, *t = strtok_r(buf, ",", &s); t; t = strtok_r(NULL, ",", &s))
		list[n++] = t;
	snprintf(path, sizeof(path), "lib/modules/1/kernel/%s.ko", name);
	ck_assert_int_eq(moddb_add(db, name, path, list, n), 0);
}

/* Resolves wanted (comma-separated) and returns the order joined by ' '. */
static int resolve(struct moddb *db, const char *wanted, char *out, size_t outlen, char *err)
{
	char *list[16], buf[256];
	size_t n = 0, cnt = 0, nb = 0;
	const struct moddb_module **order = NULL;
	snprintf(buf, sizeof(buf), "%s", wanted);
	for (char *s = NULL, *t = strtok_r(buf, ",", &s); t; t = strtok_r(NULL, ",", &s))
		list[n++] = t;
	int rc = moddb_resolve(db, list, n, &order, &cnt, &nb, err, 300);
	out[0] = '\0';
	for (size_t i = 0; !rc && i < cnt; i++) {
		strncat(out, order[i]->name, outlen - strlen(out) - 1);
		if (i + 1 < cnt)
			strncat(out, " ", outlen - strlen(out) - 1);
	}
	free(order);
	return rc;
}

START_TEST(order_dependencies_first)
{
	struct moddb *db;
	char out[256], err[300];
	ck_assert_int_eq(moddb_create(&db), 0);
	add(db, "virtiofs", "fuse,virtio,virtio_ring");
	add(db, "virtio", "virtio_ring");
	add(db, "virtio_ring", "");
	add(db, "fuse", "");
	add(db, "unused", "virtio");
	ck_assert_int_eq(resolve(db, "virtiofs,virtio", out, sizeof(out), err), 0);
	ck_assert_str_eq(out, "fuse virtio_ring virtio virtiofs");
	/* Asking again gives the same answer (marks are reset). */
	ck_assert_int_eq(resolve(db, "virtio", out, sizeof(out), err), 0);
	ck_assert_str_eq(out, "virtio_ring virtio");
	moddb_destroy(db);
	moddb_destroy(NULL);
}
END_TEST

START_TEST(builtin_modules_are_skipped)
{
	struct moddb *db;
	char out[256], err[300];
	size_t lines = 0;
	ck_assert_int_eq(moddb_create(&db), 0);
	add(db, "virtio_blk", "virtio,virtio_ring");
	add(db, "virtio_ring", "");
	const char builtin[] = "kernel/drivers/virtio/virtio.ko\n\nkernel/fs/fuse/fuse.ko\n";
	ck_assert_int_eq(moddb_load_builtin(db, builtin, strlen(builtin), err, sizeof(err)), 0);
	ck_assert(moddb_is_builtin(db, "virtio"));
	ck_assert_int_eq(resolve(db, "fuse,virtio_blk", out, sizeof(out), err), 0);
	ck_assert_str_eq(out, "virtio_ring virtio_blk");
	(void)lines;
	const char bad[] = "kernel/a.ko\nkernel/../etc/passwd\n";
	ck_assert_int_eq(moddb_load_builtin(db, bad, strlen(bad), err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "line 2"));
	moddb_destroy(db);
}
END_TEST

START_TEST(missing_dependency)
{
	struct moddb *db;
	char out[256], err[300];
	ck_assert_int_eq(moddb_create(&db), 0);
	add(db, "virtio_blk", "virtio");
	ck_assert_int_eq(resolve(db, "virtio_blk", out, sizeof(out), err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "virtio_blk"));
	ck_assert_ptr_nonnull(strstr(err, "depends on virtio,"));
	ck_assert_int_eq(resolve(db, "nosuch", out, sizeof(out), err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "nosuch"));
	moddb_destroy(db);
}
END_TEST

START_TEST(cycles)
{
	struct moddb *db;
	char out[256], err[300];
	ck_assert_int_eq(moddb_create(&db), 0);
	add(db, "a", "b");
	add(db, "b", "c");
	add(db, "c", "a");
	add(db, "self", "self");
	add(db, "top", "b");
	ck_assert_int_eq(resolve(db, "top", out, sizeof(out), err), -ELOOP);
	ck_assert_ptr_nonnull(strstr(err, "b -> c -> a -> b"));
	ck_assert_int_eq(resolve(db, "self", out, sizeof(out), err), -ELOOP);
	ck_assert_ptr_nonnull(strstr(err, "self -> self"));
	moddb_destroy(db);
}
END_TEST

START_TEST(duplicate_module_files)
{
	struct moddb *db;
	char out[256], err[300];
	ck_assert_int_eq(moddb_create(&db), 0);
	add(db, "fuse", "");
	add(db, "fuse", "");
	ck_assert_int_eq(resolve(db, "fuse", out, sizeof(out), err), -EEXIST);
	ck_assert_ptr_nonnull(strstr(err, "fuse"));
	moddb_destroy(db);
}
END_TEST

START_TEST(deep_chain_does_not_recurse)
{
	/* m0 -> m1 -> ... -> m19999: an explicit stack, not C recursion. */
	struct moddb *db;
	char name[32], dep[32], err[300];
	ck_assert_int_eq(moddb_create(&db), 0);
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		snprintf(dep, sizeof(dep), "m%d", i + 1);
		char *d[] = {dep};
		ck_assert_int_eq(moddb_add(db, name, name, d, i + 1 < 20000 ? 1 : 0), 0);
	}
	char *w[] = {"m0"};
	const struct moddb_module **order;
	size_t n, nb;
	ck_assert_int_eq(moddb_resolve(db, w, 1, &order, &n, &nb, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 20000);
	ck_assert_str_eq(order[0]->name, "m19999");
	ck_assert_str_eq(order[19999]->name, "m0");
	free(order);
	moddb_destroy(db);
}
END_TEST

/* ---- initrd ---- */

START_TEST(initrd_roundtrip)
{
	char path[300], err[256];
	struct strbuf man = {0};
	struct initrd *r;
	snprintf(path, sizeof(path), "%s/initrd", tmpdir);
	ck_assert_int_eq(initrd_create(path, INITRD_GZIP, &man, &r, err, sizeof(err)), 0);
	ck_assert_int_eq(initrd_add_dir(r, "/proc", 0555), 0);
	ck_assert_int_eq(initrd_add_file(r, "/lib/modules/x/a.ko", "hello", 5, 0644, "src"), 0);
	ck_assert_int_eq(initrd_add_symlink(r, "/bin/sh", "/bin/busybox"), 0);
	ck_assert_int_eq(initrd_add_chardev(r, "/dev/console", 0600, 5, 1), 0);
	ck_assert_int_eq(initrd_add_dir(r, "/proc", 0555), -EEXIST);
	ck_assert_int_eq(initrd_add_dir(r, "/lib", 0755), -EEXIST); /* made as a parent */
	ck_assert_int_eq(initrd_add_file(r, "/a/../b", "", 0, 0644, NULL), -EINVAL);
	ck_assert_int_eq(initrd_add_file(r, "relative", "", 0, 0644, NULL), -EINVAL);
	ck_assert_int_eq(initrd_add_file(r, "/a//b", "", 0, 0644, NULL), -EINVAL);
	ck_assert_int_eq(initrd_add_file(r, "/a/./b", "", 0, 0644, NULL), -EINVAL);
	ck_assert_int_eq(initrd_add_file(r, "/", "", 0, 0644, NULL), -EINVAL);
	ck_assert_int_eq(initrd_finish(r, err, sizeof(err)), 0);
	initrd_destroy(r);

	/* Read it back as an independent reader would. */
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	archive_read_support_filter_gzip(a);
	archive_read_support_format_cpio(a);
	ck_assert_int_eq(archive_read_open_filename(a, path, 4096), ARCHIVE_OK);
	const char *want[] = {
	    "proc", "lib",    "lib/modules", "lib/modules/x", "lib/modules/x/a.ko",
	    "bin",  "bin/sh", "dev",	     "dev/console"};
	size_t i = 0;
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		ck_assert_uint_lt(i, sizeof(want) / sizeof(want[0]));
		ck_assert_str_eq(archive_entry_pathname(e), want[i]);
		ck_assert_int_eq(archive_entry_uid(e), 0);
		if (!strcmp(want[i], "lib/modules/x/a.ko")) {
			char buf[16] = {0};
			ck_assert_int_eq(archive_read_data(a, buf, sizeof(buf)), 5);
			ck_assert_str_eq(buf, "hello");
		}
		if (!strcmp(want[i], "bin/sh"))
			ck_assert_str_eq(archive_entry_symlink(e), "/bin/busybox");
		if (!strcmp(want[i], "dev/console"))
			ck_assert_int_eq(archive_entry_rdevmajor(e), 5);
		i++;
	}
	ck_assert_uint_eq(i, sizeof(want) / sizeof(want[0]));
	ck_assert_int_eq(archive_format(a), ARCHIVE_FORMAT_CPIO_SVR4_NOCRC); /* newc */
	archive_read_free(a);

	ck_assert_ptr_nonnull(strstr(sb_str(&man), "file /lib/modules/x/a.ko size=5 xxh3="));
	ck_assert_ptr_nonnull(strstr(sb_str(&man), "symlink /bin/sh target=/bin/busybox"));
	ck_assert_ptr_nonnull(strstr(sb_str(&man), "compress=gzip"));
	sb_release(&man);
}
END_TEST

START_TEST(initrd_abort_leaves_nothing)
{
	char path[300], err[256];
	struct strbuf man = {0};
	struct initrd *r;
	snprintf(path, sizeof(path), "%s/initrd", tmpdir);
	ck_assert_int_eq(initrd_create(path, INITRD_ZSTD, &man, &r, err, sizeof(err)), 0);
	ck_assert_int_eq(initrd_add_file(r, "/init", "x", 1, 0755, NULL), 0);
	initrd_destroy(r);
	initrd_destroy(NULL);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), -1);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s)\"", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	sb_release(&man);
}
END_TEST

/* ---- busybox list, bzImage, decompression ---- */

START_TEST(busybox_list)
{
	char **p, err[200];
	size_t n;
	const char ok[] = "bin/sh\nusr/bin/[\nusr/bin/[[\n\nsbin/ip\n";
	ck_assert_int_eq(busybox_parse_list(ok, strlen(ok), &p, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(p[0], "/bin/sh");
	ck_assert_str_eq(p[2], "/usr/bin/[[");
	busybox_free_list(p, n);
	const char *bad[] = {"bin/../etc/passwd\n", "/bin/sh\n", "bin//sh\n", "bin/$(reboot)\n",
			     "bin/a b\n",	    "\n\n",	 "bin/\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(
		    busybox_parse_list(bad[i], strlen(bad[i]), &p, &n, err, sizeof(err)) == -EINVAL,
		    "accepted %s", bad[i]);
	ck_assert_int_eq(busybox_list_applets("/nonexistent/busybox", &p, &n, err, sizeof(err)) < 0,
			 1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/busybox"));
	/* A program that prints nothing is not busybox. */
	ck_assert_int_eq(busybox_list_applets("/bin/true", &p, &n, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(bzimage_magic)
{
	size_t len;
	unsigned char *k = fake_bzimage(&len);
	ck_assert_int_eq(image_check_bzimage(k, len), 0);
	ck_assert_int_eq(image_check_bzimage(k, 0x207), -EINVAL);
	k[0x203] = 'x';
	ck_assert_int_eq(image_check_bzimage(k, len), -EINVAL);
	free(k);
}
END_TEST

/* A share's file swapped for a FIFO (or a device) between the cache key's
 * lstat and its open must not block the hash; a regular file hashes the
 * same through any path, a symlink included. */
START_TEST(hash_file_regular_only)
{
	char f[300], fifo[300], link[300];
	snprintf(f, sizeof(f), "%s/f", tmpdir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	ck_assert_int_eq(util_write_file_atomic(f, "abc", 3, 0644), 0);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_int_eq(symlink("f", link), 0);
	uint64_t h1 = 0, h2 = 1, size = 0;
	ck_assert_int_eq(image_hash_file(f, &h1, &size), 0);
	ck_assert_uint_eq(size, 3);
	ck_assert_int_eq(image_hash_file(link, &h2, NULL), 0);
	ck_assert_uint_eq(h1, h2);
	ck_assert_int_eq(image_hash_file(fifo, &h2, NULL), -EINVAL);
	ck_assert_int_eq(image_hash_file("/dev/zero", &h2, NULL), -EINVAL);
	ck_assert_int_eq(image_hash_file(tmpdir, &h2, NULL), -EINVAL);
}
END_TEST

START_TEST(decompress)
{
	size_t mlen, clen, olen;
	const char mi[] = "name=x";
	void *mod = fake_module(mi, sizeof(mi), &mlen), *out;
	const char *filters[] = {"xz", "zstd", "gzip"};
	for (size_t i = 0; i < 3; i++) {
		void *c = fake_compress(filters[i], mod, mlen, &clen);
		ck_assert_int_eq(deb_decompress(c, clen, 1 << 20, &out, &olen), 0);
		ck_assert_uint_eq(olen, mlen);
		ck_assert_mem_eq(out, mod, mlen);
		free(out);
		/* Output over the cap is refused (a decompression bomb). */
		ck_assert_int_eq(deb_decompress(c, clen, mlen - 1, &out, &olen), -EFBIG);
		/* Truncated compressed data is an error, not a short module. */
		ck_assert_int_lt(deb_decompress(c, clen / 2, 1 << 20, &out, &olen), 0);
		free(c);
	}
	ck_assert_int_eq(deb_decompress(mod, mlen, 1 << 20, &out, &olen), 0); /* plain ELF */
	free(out);
	ck_assert_int_eq(deb_decompress("garbage!", 8, 1 << 20, &out, &olen), -EINVAL);
	free(mod);
}
END_TEST

/* ---- whole builds from synthetic packages ---- */

#define REL	 "9.9.9-1-test"
#define MODDIR	 "./lib/modules/" REL "/kernel/"
#define VERMAGIC "vermagic=" REL " SMP mod_unload"

struct pkg {
	struct fake_file files[32];
	void *bufs[32];
	size_t n;
};

static void pkg_add(struct pkg *p, const char *path, void *data, size_t len)
{
	p->bufs[p->n] = data;
	p->files[p->n++] = (struct fake_file){path, data, len};
}

static void pkg_module(struct pkg *p, const char *path, const char *mi, size_t milen,
		       const char *filter)
{
	size_t len;
	void *m = fake_module(mi, milen, &len);
	if (filter) {
		size_t clen;
		void *c = fake_compress(filter, m, len, &clen);
		free(m);
		m = c;
		len = clen;
	}
	pkg_add(p, path, m, len);
}

#define MOD(p, path, text, filter) pkg_module(p, path, text, sizeof(text), filter)

/* Every module the builder wants by default, a few as compressed files;
 * virtio_ring built for another kernel when bad_vermagic. */
static void pkg_default_ex(struct pkg *p, bool bad_vermagic)
{
	size_t klen;
	void *kernel = fake_bzimage(&klen);
	pkg_add(p, "./boot/vmlinuz-" REL, kernel, klen);
	if (bad_vermagic)
		MOD(p, MODDIR "drivers/virtio/virtio_ring.ko",
		    "name=virtio_ring\0vermagic=9.9.9-1-testx SMP", NULL);
	else
		MOD(p, MODDIR "drivers/virtio/virtio_ring.ko",
		    "name=virtio_ring\0depends=\0" VERMAGIC, NULL);
	MOD(p, MODDIR "drivers/virtio/virtio.ko.xz", "name=virtio\0depends=virtio_ring\0" VERMAGIC,
	    "xz");
	MOD(p, MODDIR "drivers/virtio/virtio_mmio.ko.zst",
	    "name=virtio_mmio\0depends=virtio,virtio_ring\0" VERMAGIC, "zstd");
	MOD(p, MODDIR "drivers/block/virtio_blk.ko", "name=virtio_blk\0depends=virtio\0" VERMAGIC,
	    NULL);
	MOD(p, MODDIR "net/vmw_vsock/vsock.ko", "name=vsock\0" VERMAGIC, NULL);
	MOD(p, MODDIR "net/vmw_vsock/vmw_vsock_virtio_transport_common.ko",
	    "name=vmw_vsock_virtio_transport_common\0depends=vsock\0" VERMAGIC, NULL);
	MOD(p, MODDIR "net/vmw_vsock/vmw_vsock_virtio_transport.ko",
	    "name=vmw_vsock_virtio_transport\0depends=vmw_vsock_virtio_transport_common,"
	    "virtio\0" VERMAGIC,
	    NULL);
	MOD(p, MODDIR "fs/fuse/virtiofs.ko.gz", "name=virtiofs\0depends=fuse,virtio\0" VERMAGIC,
	    "gzip");
	MOD(p, MODDIR "fs/unrelated.ko", "name=unrelated\0depends=nothere\0" VERMAGIC, NULL);
	static const char builtin[] = "kernel/fs/fuse/fuse.ko\nkernel/fs/overlayfs/overlay.ko\n";
	pkg_add(p, "./lib/modules/" REL "/modules.builtin", strdup(builtin), strlen(builtin));
	static const char config[] = "# c\nCONFIG_RD_ZSTD=y\nCONFIG_RD_GZIP=y\n";
	pkg_add(p, "./boot/config-" REL, strdup(config), strlen(config));
}

static void pkg_default(struct pkg *p)
{
	pkg_default_ex(p, false);
}

static void pkg_free(struct pkg *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->bufs[i]);
}

static const char control[] =
    "Package: linux-image-" REL "\nVersion: 9.9.9-1\nArchitecture: amd64\n";

/* Writes the package and builds from it; returns image_build's result. */
static int build_pkg(struct pkg *p, struct image_result **r, char *err, size_t errlen)
{
	char deb[300], out[300];
	snprintf(deb, sizeof(deb), "%s/k.deb", tmpdir);
	snprintf(out, sizeof(out), "%s/out", tmpdir);
	fake_deb(deb, control, p->files, p->n);
	struct image_opts o = {
	    .kernel_deb = deb,
	    .busybox = "/bin/busybox",
	    .agent = "/bin/busybox",
	    .outdir = out,
	};
	return image_build(&o, r, err, errlen);
}

START_TEST(build_from_fake_package)
{
	if (access("/bin/busybox", X_OK) != 0) {
		fprintf(stderr, "skipping: no /bin/busybox (install busybox-static)\n");
		return;
	}
	struct pkg p = {0};
	struct image_result *r = NULL;
	char err[512] = "";
	pkg_default(&p);
	ck_assert_msg(build_pkg(&p, &r, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(r->kernel_release, REL);
	ck_assert_str_eq(r->version, "9.9.9-1");
	ck_assert_uint_eq(r->modules_seen, 9);
	const char *order[] = {"virtio_ring",
			       "virtio",
			       "virtio_mmio",
			       "virtio_blk",
			       "vsock",
			       "vmw_vsock_virtio_transport_common",
			       "vmw_vsock_virtio_transport",
			       "virtiofs"};
	ck_assert_uint_eq(r->norder, 8);
	for (size_t i = 0; i < 8; i++)
		ck_assert_str_eq(r->order[i], order[i]);
	ck_assert_uint_eq(r->nbuiltin, 2); /* fuse, overlay */
	ck_assert_uint_gt(r->napplets, 10);
	ck_assert_uint_eq(r->passes, 1); /* everything was kept on the index pass */
	image_result_destroy(r);

	char path[400], *text;
	size_t len;
	snprintf(path, sizeof(path), "%s/out/manifest", tmpdir);
	ck_assert_int_eq(util_read_file(path, 1 << 20, &text, &len), 0);
	ck_assert_ptr_nonnull(strstr(text, "smoltest-image-manifest 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nbuiltin fuse\n"));
	/* .ko.xz is stored decompressed, as .ko. */
	ck_assert_ptr_nonnull(strstr(text,
				     "\nmodule virtio path=/lib/modules/" REL
				     "/kernel/drivers/virtio/virtio.ko depends=virtio_ring\n"));
	free(text);
	pkg_free(&p);
}
END_TEST

/* Builds a package with the defaults plus one extra file, expects failure
 * with rc and a message containing what. */
static void expect_failure(const char *path, const char *mi, size_t milen, int rc, const char *what)
{
	struct pkg p = {0};
	struct image_result *r = NULL;
	char err[512] = "";
	pkg_default(&p);
	if (mi)
		pkg_module(&p, path, mi, milen, NULL);
	else
		pkg_add(&p, path, strdup("junk"), 4);
	int got = build_pkg(&p, &r, err, sizeof(err));
	ck_assert_msg(got == rc, "%s: got %d (%s)", path, got, err);
	ck_assert_msg(strstr(err, what), "%s: message '%s' lacks '%s'", path, err, what);
	ck_assert_ptr_null(r);
	pkg_free(&p);
	char initrd[400];
	snprintf(initrd, sizeof(initrd), "%s/out/initrd", tmpdir);
	ck_assert_int_eq(access(initrd, F_OK), -1);
}

START_TEST(hostile_packages)
{
	if (access("/bin/busybox", X_OK) != 0)
		return;
	static const char v[] = "name=virtio_blk\0depends=virtio\0" VERMAGIC;
	expect_failure("./boot/vmlinuz-other", NULL, 0, -EINVAL, "two kernels");
	expect_failure("./lib/modules/8.0/kernel/x.ko", "name=x\0" VERMAGIC,
		       sizeof("name=x\0" VERMAGIC), -EINVAL, "two kernel releases");
	expect_failure(MODDIR "x.ko", NULL, 0, -EINVAL, "x.ko is neither ELF"); /* junk */
	expect_failure(MODDIR "dup/virtio_blk.ko", v, sizeof(v), -EEXIST, "virtio_blk");
	static const char bad[] = "name=bad\0depends=a,,b\0" VERMAGIC;
	expect_failure(MODDIR "bad.ko", bad, sizeof(bad), -EINVAL, "depends=");
}
END_TEST

START_TEST(hostile_module_paths_and_versions)
{
	if (access("/bin/busybox", X_OK) != 0)
		return;
	/* A wanted module living outside the module tree through "..". */
	struct pkg p = {0};
	struct image_result *r = NULL;
	char err[512] = "";
	pkg_default(&p);
	MOD(&p, MODDIR "../../../../../etc/evil.ko", "name=evil\0" VERMAGIC, NULL);
	char deb[300], out[300];
	snprintf(deb, sizeof(deb), "%s/k.deb", tmpdir);
	snprintf(out, sizeof(out), "%s/out", tmpdir);
	fake_deb(deb, control, p.files, p.n);
	char *extra[] = {"evil"};
	struct image_opts o = {.kernel_deb = deb,
			       .busybox = "/bin/busybox",
			       .agent = "/bin/busybox",
			       .outdir = out,
			       .modules = extra,
			       .nmodules = 1};
	ck_assert_int_eq(image_build(&o, &r, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not clean"));
	/* A module path that would add a line to /etc/smoltest/modules. */
	pkg_free(&p);
	memset(&p, 0, sizeof(p));
	pkg_default(&p);
	MOD(&p, MODDIR "x\n/evil.ko", "name=evil\0" VERMAGIC, NULL);
	fake_deb(deb, control, p.files, p.n);
	ck_assert_int_eq(image_build(&o, &r, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not clean"));
	/* An extra module with a missing dependency. */
	extra[0] = "unrelated";
	ck_assert_int_eq(image_build(&o, &r, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "depends on nothere"));
	/* A bad module name on the command line. */
	extra[0] = "../x";
	ck_assert_int_eq(image_build(&o, &r, err, sizeof(err)), -EINVAL);
	/* A dynamic /init is refused. */
	extra[0] = "virtio";
	o.agent = "/bin/true";
	ck_assert_int_eq(image_build(&o, &r, err, sizeof(err)), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(err, "dynamically linked"));
	pkg_free(&p);

	/* A module built for another kernel. */
	struct pkg w = {0};
	pkg_default_ex(&w, true);
	fake_deb(deb, control, w.files, w.n);
	o.agent = "/bin/busybox";
	o.nmodules = 0;
	ck_assert_int_eq(image_build(&o, &r, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not kernel " REL));
	pkg_free(&w);
}
END_TEST

START_TEST(late_dependency_takes_a_second_pass)
{
	if (access("/bin/busybox", X_OK) != 0)
		return;
	/* extra_dep comes before extra in the tar, so the index pass cannot know
	 * it is needed when it sees it. */
	struct pkg p = {0};
	struct image_result *r = NULL;
	char err[512] = "", deb[300], out[300];
	pkg_default(&p);
	MOD(&p, MODDIR "a/extra_dep.ko", "name=extra_dep\0" VERMAGIC, NULL);
	MOD(&p, MODDIR "b/extra.ko", "name=extra\0depends=extra_dep\0" VERMAGIC, NULL);
	snprintf(deb, sizeof(deb), "%s/k.deb", tmpdir);
	snprintf(out, sizeof(out), "%s/out", tmpdir);
	fake_deb(deb, control, p.files, p.n);
	char *extra[] = {"extra"};
	struct image_opts o = {.kernel_deb = deb,
			       .busybox = "/bin/busybox",
			       .agent = "/bin/busybox",
			       .outdir = out,
			       .modules = extra,
			       .nmodules = 1};
	ck_assert_msg(image_build(&o, &r, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(r->passes, 2);
	ck_assert_uint_eq(r->norder, 10);
	ck_assert_str_eq(r->order[8], "extra_dep");
	ck_assert_str_eq(r->order[9], "extra");
	image_result_destroy(r);
	pkg_free(&p);
}
END_TEST

START_TEST(merged_usr_and_compressed_modules)
{
	/* Newer Debian packages ship modules under usr/lib/modules, compressed. */
	if (access("/bin/busybox", X_OK) != 0)
		return;
	struct pkg p = {0};
	static char paths[32][256];
	struct image_result *r = NULL;
	char err[512] = "";
	pkg_default(&p);
	for (size_t i = 0; i < p.n; i++) {
		if (strncmp(p.files[i].path, "./lib/modules/", 14) != 0)
			continue;
		snprintf(paths[i], sizeof(paths[i]), "./usr%s", p.files[i].path + 1);
		p.files[i].path = paths[i];
	}
	ck_assert_msg(build_pkg(&p, &r, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(r->norder, 8);
	ck_assert_uint_eq(r->nbuiltin, 2);
	image_result_destroy(r);
	char path[400], *text;
	size_t len;
	snprintf(path, sizeof(path), "%s/out/manifest", tmpdir);
	ck_assert_int_eq(util_read_file(path, 1 << 20, &text, &len), 0);
	/* In the image they live under /lib/modules, decompressed. */
	ck_assert_ptr_nonnull(strstr(text, "\nfile /lib/modules/" REL "/kernel/drivers/virtio/"
					   "virtio_mmio.ko size="));
	ck_assert_ptr_nonnull(strstr(text, "source=usr/lib/modules/" REL "/kernel/drivers/virtio/"
					   "virtio_mmio.ko.zst"));
	free(text);
	pkg_free(&p);
}
END_TEST

START_TEST(not_a_deb)
{
	char path[300], err[300];
	struct kpkg *k;
	snprintf(path, sizeof(path), "%s/x.deb", tmpdir);
	FILE *f = fopen(path, "w");
	fputs("!<arch>\nnot really\n", f);
	fclose(f);
	ck_assert_int_lt(kpkg_index(path, NULL, 0, &k, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, path));
	snprintf(path, sizeof(path), "%s/missing.deb", tmpdir);
	ck_assert_int_lt(kpkg_index(path, NULL, 0, &k, err, sizeof(err)), 0);
	/* A package without a kernel (a metapackage). */
	snprintf(path, sizeof(path), "%s/meta.deb", tmpdir);
	struct fake_file doc = {"./usr/share/doc/x/copyright", "x", 1};
	fake_deb(path, control, &doc, 1);
	ck_assert_int_eq(kpkg_index(path, NULL, 0, &k, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "metapackage"));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("image");
	TCase *tc = tcase_create("moddb");
	tcase_add_test(tc, order_dependencies_first);
	tcase_add_test(tc, builtin_modules_are_skipped);
	tcase_add_test(tc, missing_dependency);
	tcase_add_test(tc, cycles);
	tcase_add_test(tc, duplicate_module_files);
	tcase_add_test(tc, deep_chain_does_not_recurse);
	suite_add_tcase(s, tc);
	tc = tcase_create("pieces");
	tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
	tcase_add_test(tc, initrd_roundtrip);
	tcase_add_test(tc, initrd_abort_leaves_nothing);
	tcase_add_test(tc, busybox_list);
	tcase_add_test(tc, bzimage_magic);
	tcase_add_test(tc, hash_file_regular_only);
	tcase_add_test(tc, decompress);
	suite_add_tcase(s, tc);
	tc = tcase_create("build");
	tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
	tcase_add_test(tc, build_from_fake_package);
	tcase_add_test(tc, hostile_packages);
	tcase_add_test(tc, hostile_module_paths_and_versions);
	tcase_add_test(tc, late_dependency_takes_a_second_pass);
	tcase_add_test(tc, merged_usr_and_compressed_modules);
	tcase_add_test(tc, not_a_deb);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return smol_check_run(suite());
}
