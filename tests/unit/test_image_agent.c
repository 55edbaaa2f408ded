/* Contract test between the image builder and the agent: the module list
 * `smoltest image build` writes (/etc/smoltest/modules) is parsed by the
 * agent's own parser (fixtures/agent/agent_init.h) into the same modules, and
 * the agent's ordering keeps the builder's dependencies-first order. */
#include "agent_init.h"
#include "image.h"
#include "test_image_fake.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include "check_main.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REL    "9.9.9-1-test"
#define MODDIR "./lib/modules/" REL "/kernel/"
#define VM     "\0vermagic=" REL " SMP"

struct mod {
	const char *path;
	const char *modinfo;
	size_t len;
};

#define M(path, text)                                                                              \
	{                                                                                          \
		MODDIR path, text VM, sizeof(text VM)                                              \
	}

static const struct mod mods[] = {
    M("fs/fuse/virtiofs.ko", "name=virtiofs\0depends=fuse,virtio,virtio_ring"),
    M("drivers/virtio/virtio_ring.ko", "name=virtio_ring\0depends="),
    M("drivers/virtio/virtio.ko", "name=virtio\0depends=virtio_ring"),
    M("drivers/virtio/virtio_mmio.ko", "name=virtio_mmio\0depends=virtio,virtio_ring"),
    M("drivers/block/virtio_blk.ko", "name=virtio_blk\0depends=virtio,virtio_ring"),
    M("net/vmw_vsock/vsock.ko", "name=vsock"),
    M("net/vmw_vsock/vmw_vsock_virtio_transport_common.ko",
      "name=vmw_vsock_virtio_transport_common\0depends=vsock"),
    M("net/vmw_vsock/vmw_vsock_virtio_transport.ko",
      "name=vmw_vsock_virtio_transport\0depends=virtio,vmw_vsock_virtio_transport_common,virtio_"
      "ring,vsock"),
    M("fs/fuse/fuse.ko", "name=fuse"),
    M("fs/overlayfs/overlay.ko", "name=overlay\0depends=crc32c"), /* crc32c built in */
};

/* Reads one file out of a cpio (any compression) into a malloc'd string. */
static char *cpio_file(const char *initrd, const char *name)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char *out = NULL;
	archive_read_support_filter_all(a);
	archive_read_support_format_cpio(a);
	ck_assert_int_eq(archive_read_open_filename(a, initrd, 65536), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		if (strcmp(archive_entry_pathname(e), name))
			continue;
		size_t len = (size_t)archive_entry_size(e);
		out = calloc(1, len + 1);
		ck_assert_int_eq(archive_read_data(a, out, len), (la_ssize_t)len);
		break;
	}
	archive_read_free(a);
	return out;
}

START_TEST(agent_reads_the_builders_list)
{
	if (access("/bin/busybox", X_OK) != 0) {
		fprintf(stderr, "skipping: no /bin/busybox (install busybox-static)\n");
		return;
	}
	char dir[] = "/tmp/smol-test-image-agent.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	struct fake_file files[16];
	void *bufs[16];
	size_t n = 0, klen;
	bufs[n] = fake_bzimage(&klen);
	files[n] = (struct fake_file){"./boot/vmlinuz-" REL, bufs[n], klen};
	n++;
	for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++, n++) {
		size_t len;
		bufs[n] = fake_module(mods[i].modinfo, mods[i].len, &len);
		files[n] = (struct fake_file){mods[i].path, bufs[n], len};
	}
	static const char builtin[] = "kernel/crypto/crc32c.ko\n";
	files[n++] =
	    (struct fake_file){"./lib/modules/" REL "/modules.builtin", builtin, strlen(builtin)};
	char deb[200], out[200], initrd[220];
	snprintf(deb, sizeof(deb), "%s/k.deb", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(initrd, sizeof(initrd), "%s/initrd", out);
	fake_deb(deb, "Package: linux-image-test\nVersion: 1\n", files, n);

	struct image_opts o = {
	    .kernel_deb = deb, .busybox = "/bin/busybox", .agent = "/bin/busybox", .outdir = out};
	struct image_result *r = NULL;
	char err[512] = "";
	ck_assert_msg(image_build(&o, &r, err, sizeof(err)) == 0, "%s", err);

	char *list = cpio_file(initrd, "etc/smoltest/modules");
	ck_assert_ptr_nonnull(list);
	static struct init_module parsed[INIT_MAX_MODULES];
	size_t count = 0, order[INIT_MAX_MODULES];
	ck_assert_msg(init_modules_parse(list, strlen(list), parsed, INIT_MAX_MODULES, &count, err,
					 sizeof(err)) == 0,
		      "agent rejects the list: %s\n%s", err, list);
	ck_assert_uint_eq(count, r->norder);
	ck_assert_int_eq(init_modules_order(parsed, count, order, err, sizeof(err)), 0);
	for (size_t i = 0; i < count; i++) {
		ck_assert_str_eq(parsed[i].name, r->order[i]);
		ck_assert_uint_eq(order[i], i); /* already dependencies-first */
		ck_assert(!parsed[i].compressed);
	}
	/* overlay lists its built-in dependency; the agent treats it as such. */
	ck_assert_str_eq(parsed[count - 1].name, "overlay");
	ck_assert_uint_eq(parsed[count - 1].ndeps, 1);
	ck_assert_str_eq(parsed[count - 1].deps[0], "crc32c");

	free(list);
	image_result_destroy(r);
	for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]) + 1; i++)
		free(bufs[i]);
	util_rm_rf(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("image_agent");
	TCase *tc = tcase_create("contract");
	tcase_add_test(tc, agent_reads_the_builders_list);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
