/* virtio-fs device core on a mock queue: FUSE requests in chains, hostile
 * chains (length lies, no reply room), config space, snapshot round trip. */
#include "devices/virtio/fs.h"
#include "fs/vfs.h"
#include "smolvm/err.h"
#include "strbuf.h"
#include "vq_mock.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <linux/virtio_fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static struct vq_mock *m;
static struct vq vq;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/smol-test-fsdev-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char p[128];
	snprintf(p, sizeof(p), "%s/host-to-probe.txt", dir);
	FILE *f = fopen(p, "w");
	fputs("hi\n", f);
	fclose(f);
	ck_assert_int_eq(vq_mock_create(64, 4 << 20, &m), 0);
	ck_assert_int_eq(vq_mock_setup(m, &vq, false), 0);
}

static void teardown(void)
{
	vq_mock_destroy(m);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct vfsdev *mkdev_at(const char *root, const char *tag, bool ro)
{
	struct vfs *fs;
	struct vmm_err err;
	ck_assert_int_eq(vfs_create(root, ro, NULL, &fs, &err), 0);
	struct vfsdev *d;
	ck_assert_int_eq(vfsdev_create(fs, tag, ro, &d), 0);
	return d;
}

static struct vfsdev *mkdev(const char *tag, bool ro)
{
	return mkdev_at(dir, tag, ro);
}

/* One request chain: readable [hdr+arg] (hdr.len = claimed, 0: real) and a
 * writable reply area of out_cap bytes. Returns the used length and the
 * reply's error. */
static uint32_t req(struct vfsdev *d, uint32_t op, uint64_t nodeid, const void *arg, uint32_t alen,
		    uint32_t claimed, uint32_t out_cap, int *error, uint64_t *reply_gpa)
{
	struct fuse_in_header h = {.len = claimed ? claimed : (uint32_t)(sizeof(h) + alen),
				   .opcode = op,
				   .unique = 42,
				   .nodeid = nodeid};
	uint64_t in = vq_mock_alloc(m, sizeof(h) + alen),
		 out = out_cap ? vq_mock_alloc(m, out_cap) : 0;
	gmem_write(m->mem, in, &h, sizeof(h));
	if (alen)
		gmem_write(m->mem, in + sizeof(h), arg, alen);
	struct vq_mock_seg segs[2] = {{in, (uint32_t)(sizeof(h) + alen), false},
				      {out, out_cap, true}};
	uint16_t head;
	ck_assert_int_eq(vq_mock_add_chain(m, segs, out_cap ? 2 : 1, &head), 0);
	bool pushed;
	ck_assert_int_eq(vfsdev_process(d, &vq, &pushed), 0);
	ck_assert(pushed);
	uint32_t id, len;
	vq_mock_get_used(m, (uint16_t)(vq_mock_used_idx(m) - 1), &id, &len);
	ck_assert_uint_eq(id, head);
	if (len >= sizeof(struct fuse_out_header)) {
		struct fuse_out_header oh;
		gmem_read(m->mem, out, &oh, sizeof(oh));
		ck_assert_uint_eq(oh.unique, 42);
		ck_assert_uint_eq(oh.len, len);
		*error = oh.error;
	}
	if (reply_gpa)
		*reply_gpa = out + sizeof(struct fuse_out_header);
	return len;
}

static void init(struct vfsdev *d)
{
	struct fuse_init_in in = {.major = 7, .minor = 31};
	int err = 1;
	ck_assert_uint_gt(req(d, FUSE_INIT, 0, &in, sizeof(in), 0, 256, &err, NULL), 16);
	ck_assert_int_eq(err, 0);
}

START_TEST(requests)
{
	struct vfsdev *d = mkdev("probe", false);
	struct virtio_fs_config cfg;
	vfsdev_config_read(d, 0, &cfg, sizeof(cfg));
	ck_assert(!memcmp(cfg.tag, "probe\0", 6));
	ck_assert_uint_eq(cfg.num_request_queues, 1);
	init(d);
	int err = 1;
	uint64_t g;
	ck_assert_uint_eq(req(d, FUSE_LOOKUP, 1, "host-to-probe.txt", 18, 0, 256, &err, &g),
			  16 + sizeof(struct fuse_entry_out));
	ck_assert_int_eq(err, 0);
	struct fuse_entry_out e;
	gmem_read(m->mem, g, &e, sizeof(e));
	ck_assert_uint_eq(e.attr.size, 3);
	/* Length lie: EINVAL reply, not a crash or a hang. */
	ck_assert_uint_eq(req(d, FUSE_LOOKUP, 1, "x", 2, 5000, 256, &err, NULL), 16);
	ck_assert_int_eq(err, -EINVAL);
	ck_assert_uint_eq(req(d, FUSE_LOOKUP, 1, "x", 2, 10, 256, &err, NULL), 16);
	ck_assert_int_eq(err, -EINVAL);
	/* No room for a reply: completed empty. FORGET: no reply. */
	ck_assert_uint_eq(req(d, FUSE_LOOKUP, 1, "x", 2, 0, 0, &err, NULL), 0);
	ck_assert_uint_eq(req(d, FUSE_LOOKUP, 1, "x", 2, 0, 8, &err, NULL), 0);
	struct fuse_forget_in fi = {.nlookup = 1};
	ck_assert_uint_eq(req(d, FUSE_FORGET, e.nodeid, &fi, sizeof(fi), 0, 64, &err, NULL), 0);
	/* A device reset starts the session over: INIT needed, nodes gone. */
	ck_assert_uint_gt(req(d, FUSE_LOOKUP, 1, "host-to-probe.txt", 18, 0, 256, &err, NULL), 16);
	vfsdev_reset(d);
	ck_assert_uint_eq(req(d, FUSE_LOOKUP, 1, "host-to-probe.txt", 18, 0, 256, &err, NULL), 16);
	ck_assert_int_eq(err, -EIO);
	init(d);
	struct fuse_getattr_in ga = {0};
	ck_assert_uint_eq(req(d, FUSE_GETATTR, e.nodeid, &ga, sizeof(ga), 0, 256, &err, NULL), 16);
	ck_assert_int_eq(err, -ENOENT);
	/* Reply larger than the room: the handler reports ERANGE. */
	ck_assert_uint_eq(req(d, FUSE_LOOKUP, 1, "host-to-probe.txt", 18, 0, 40, &err, NULL), 16);
	ck_assert_int_eq(err, -ERANGE);
	vfsdev_destroy(d);
	vfsdev_destroy(NULL);
}
END_TEST

START_TEST(snapshot)
{
	struct vfsdev *d = mkdev("probe", false);
	init(d);
	int err = 1;
	uint64_t g;
	/* Look up and open a file, make a directory: the guest will keep
	 * using these ids after the restore. */
	ck_assert_uint_gt(req(d, FUSE_LOOKUP, 1, "host-to-probe.txt", 18, 0, 256, &err, &g), 16);
	struct fuse_entry_out e;
	gmem_read(m->mem, g, &e, sizeof(e));
	struct fuse_open_in oi = {.flags = O_RDWR};
	ck_assert_uint_gt(req(d, FUSE_OPEN, e.nodeid, &oi, sizeof(oi), 0, 256, &err, &g), 16);
	struct fuse_open_out oo;
	gmem_read(m->mem, g, &oo, sizeof(oo));
	struct fuse_mkdir_in mi = {.mode = 0755};
	uint8_t mk[sizeof(mi) + 4];
	memcpy(mk, &mi, sizeof(mi));
	memcpy(mk + sizeof(mi), "sub", 4);
	ck_assert_uint_gt(req(d, FUSE_MKDIR, 1, mk, sizeof(mk), 0, 256, &err, &g), 16);
	struct fuse_entry_out sub;
	gmem_read(m->mem, g, &sub, sizeof(sub));
	struct strbuf blob = {0};
	ck_assert_int_eq(vfsdev_save(d, &blob), 0);
	vfsdev_destroy(d);

	d = mkdev("probe", false);
	ck_assert_int_eq(vfsdev_restore(d, blob.buf, blob.len, NULL), 0);
	/* No INIT, same node id, same file handle. */
	struct fuse_read_in ri = {.fh = oo.fh, .size = 64};
	ck_assert_uint_eq(req(d, FUSE_READ, e.nodeid, &ri, sizeof(ri), 0, 256, &err, &g), 16 + 3);
	ck_assert_int_eq(err, 0);
	char txt[4] = {0};
	gmem_read(m->mem, g, txt, 3);
	ck_assert_str_eq(txt, "hi\n");
	struct fuse_getattr_in ga = {0};
	ck_assert_uint_gt(req(d, FUSE_GETATTR, sub.nodeid, &ga, sizeof(ga), 0, 256, &err, NULL),
			  16);
	ck_assert_int_eq(err, 0);
	/* Hostile blobs: truncated, wrong tag, wrong ro, garbage tail. */
	ck_assert_int_eq(vfsdev_restore(d, blob.buf, blob.len, NULL), -EINVAL); /* not fresh */
	vfsdev_destroy(d);
	d = mkdev("probe", false);
	ck_assert_int_eq(vfsdev_restore(d, blob.buf, blob.len - 1, NULL), -EINVAL);
	ck_assert_int_eq(vfsdev_restore(d, blob.buf, 10, NULL), -EINVAL);
	for (size_t n = 0; n < blob.len; n++) /* every truncation, and nothing applied */
		ck_assert_int_eq(vfsdev_restore(d, blob.buf, n, NULL), -EINVAL);
	struct vmm_err trunc;
	ck_assert_int_eq(vfsdev_restore(d, blob.buf, blob.len - 1, &trunc), -EINVAL);
	ck_assert_msg(strncmp(trunc.msg, "share 'probe': virtio-fs state: ", 32) == 0, "%s",
		      trunc.msg);
	ck_assert_int_eq(vfsdev_restore(d, blob.buf, blob.len, NULL), 0);
	vfsdev_destroy(d);
	d = mkdev("probe", false);
	vfsdev_destroy(d);
	d = mkdev("other", false);
	struct vmm_err why;
	ck_assert_int_eq(vfsdev_restore(d, blob.buf, blob.len, &why), -EINVAL);
	ck_assert_str_eq(why.msg, "share 'probe' was saved, this VM has 'other'; give the same "
				  "--share tags and ro flags");
	ck_assert_int_eq(vfsdev_restore(d, blob.buf, blob.len - 1, &why), -EINVAL);
	ck_assert_str_eq(why.msg, "share 'probe' was saved, this VM has 'other'; give the same "
				  "--share tags and ro flags");
	vfsdev_destroy(d);
	d = mkdev("probe", true);
	ck_assert_int_eq(vfsdev_restore(d, blob.buf, blob.len, NULL), -EINVAL);
	vfsdev_destroy(d);
	/* A path that climbs out of the share is refused by openat2 and the
	 * node simply does not come back. */
	d = mkdev("probe", false);
	char *evil = malloc(blob.len + 64);
	size_t hdr = 8 + 36; /* vfsdev header */
	memcpy(evil, blob.buf, hdr);
	uint32_t vh[4] = {0x31534656u, 31, 1, 0};
	memcpy(evil + hdr, vh, sizeof(vh));
	struct {
		uint64_t nodeid, nlookup;
		uint32_t pathlen, pad;
	} sn = {5, 1, 13, 0};
	memcpy(evil + hdr + sizeof(vh), &sn, sizeof(sn));
	memcpy(evil + hdr + sizeof(vh) + sizeof(sn), "../etc/passwd", 13); /* NOLINT */
	ck_assert_int_eq(vfsdev_restore(d, evil, hdr + sizeof(vh) + sizeof(sn) + 13, NULL), 0);
	struct fuse_getattr_in ga2 = {0};
	ck_assert_uint_eq(req(d, FUSE_GETATTR, 5, &ga2, sizeof(ga2), 0, 256, &err, NULL), 16);
	ck_assert_int_eq(err, -ENOENT);
	free(evil);
	vfsdev_destroy(d);
	sb_release(&blob);
	struct vfs *fs;
	ck_assert_int_eq(vfs_create(dir, false, NULL, &fs, NULL), 0);
	ck_assert_int_eq(vfsdev_create(fs, "this-tag-is-much-longer-than-36-bytes", false, &d),
			 -EINVAL);
}
END_TEST

/* The vm backend shares the host's / as the guest's root: nodes below a
 * share root of "/" come back after a restore (they were all dropped). */
START_TEST(snapshot_of_host_root)
{
	struct vfsdev *d = mkdev_at("/", "root", true);
	init(d);
	int err = 1;
	uint64_t g;
	ck_assert_uint_gt(req(d, FUSE_LOOKUP, 1, "tmp", 4, 0, 256, &err, &g), 16);
	ck_assert_int_eq(err, 0);
	struct fuse_entry_out e;
	gmem_read(m->mem, g, &e, sizeof(e));
	struct strbuf blob = {0};
	ck_assert_int_eq(vfsdev_save(d, &blob), 0);
	vfsdev_destroy(d);
	d = mkdev_at("/", "root", true);
	ck_assert_int_eq(vfsdev_restore(d, blob.buf, blob.len, NULL), 0);
	struct fuse_getattr_in ga = {0};
	ck_assert_uint_gt(req(d, FUSE_GETATTR, e.nodeid, &ga, sizeof(ga), 0, 256, &err, NULL), 16);
	ck_assert_int_eq(err, 0);
	vfsdev_destroy(d);
	sb_release(&blob);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fsdev");
	TCase *tc = tcase_create("fsdev");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, requests);
	tcase_add_test(tc, snapshot);
	tcase_add_test(tc, snapshot_of_host_root);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
