/* virtio-blk request handling on a mock split queue: reads and writes
 * through a layered disk, flush, GET_ID, discard / write-zeroes, and hostile
 * requests (out-of-range sectors, odd lengths, missing status byte, unknown
 * types, writes to a read-only disk). */
#include "devices/virtio/blk.h"
#include "disk/disk.h"
#include "smolvm/err.h"
#include "strbuf.h"
#include "vq_mock.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DSIZE (1u << 20)

static char dir[64], base[128], layer[128];
static struct vq_mock *m;
static struct vq vq;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/smol-test-blk-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(base, sizeof(base), "%s/base", dir);
	snprintf(layer, sizeof(layer), "%s/layer", dir);
	int fd = open(base, O_CREAT | O_WRONLY, 0644);
	ck_assert_int_eq(ftruncate(fd, DSIZE), 0);
	ck_assert_int_eq(pwrite(fd, "BASE", 4, 0), 4);
	close(fd);
	struct vmm_err err = {{0}};
	ck_assert_int_eq(disk_layer_create(layer, base, NULL, &err), 0);
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

static struct vblk *mkblk(bool ro)
{
	const char *layers[] = {layer};
	struct disk_config cfg = {
	    .base_path = base, .layers = layers, .n_layers = 1, .read_only = ro};
	struct disk *d;
	struct vmm_err err = {{0}};
	ck_assert_int_eq(disk_open(&d, &cfg, &err), 0);
	struct vblk *b;
	ck_assert_int_eq(vblk_create(d, &b), 0);
	return b;
}

/* Submits one request: header, optional out data, in space of in_len and a
 * status byte; returns the status and the used length. */
static uint8_t submit(struct vblk *b, uint32_t type, uint64_t sector, const void *odata,
		      uint32_t olen, uint64_t *in_gpa, uint32_t in_len, uint32_t *used_len)
{
	struct virtio_blk_outhdr h = {.type = type, .sector = sector};
	struct vq_mock_seg segs[4];
	unsigned n = 0;
	uint64_t hg = vq_mock_alloc(m, sizeof(h)), st = vq_mock_alloc(m, 1);
	gmem_write(m->mem, hg, &h, sizeof(h));
	gmem_write(m->mem, st, "\xee", 1);
	segs[n++] = (struct vq_mock_seg){hg, sizeof(h), false};
	if (olen) {
		uint64_t g = vq_mock_alloc(m, olen);
		gmem_write(m->mem, g, odata, olen);
		segs[n++] = (struct vq_mock_seg){g, olen, false};
	}
	if (in_len) {
		*in_gpa = vq_mock_alloc(m, in_len);
		segs[n++] = (struct vq_mock_seg){*in_gpa, in_len, true};
	}
	segs[n++] = (struct vq_mock_seg){st, 1, true};
	uint16_t head;
	ck_assert_int_eq(vq_mock_add_chain(m, segs, n, &head), 0);
	bool pushed;
	ck_assert_int_eq(vblk_process(b, &vq, &pushed), 0);
	ck_assert(pushed);
	uint32_t id, len;
	ck_assert_int_eq(vq_mock_get_used(m, (uint16_t)(vq_mock_used_idx(m) - 1), &id, &len), 0);
	ck_assert_uint_eq(id, head);
	if (used_len)
		*used_len = len;
	uint8_t s;
	gmem_read(m->mem, st, &s, 1);
	return s;
}

START_TEST(read_write)
{
	struct vblk *b = mkblk(false);
	uint8_t buf[4096], rd[4096];
	uint64_t g;
	uint32_t ulen;
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13);
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_IN, 0, NULL, 0, &g, 512, &ulen), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(ulen, 513);
	gmem_read(m->mem, g, rd, 4);
	ck_assert(!memcmp(rd, "BASE", 4));
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_OUT, 3, buf, 4096, NULL, 0, &ulen),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(ulen, 1);
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_IN, 3, NULL, 0, &g, 4096, NULL), VIRTIO_BLK_S_OK);
	gmem_read(m->mem, g, rd, 4096);
	ck_assert(!memcmp(rd, buf, 4096));
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL, 0, NULL),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_GET_ID, 0, NULL, 0, &g, 20, &ulen),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(ulen, 21);
	gmem_read(m->mem, g, rd, 20);
	ck_assert(!memcmp(rd, "smol-", 5));

	struct virtio_blk_discard_write_zeroes seg = {.sector = 3, .num_sectors = 8};
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_WRITE_ZEROES, 0, &seg, sizeof(seg), NULL, 0, NULL),
			  VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_IN, 3, NULL, 0, &g, 4096, NULL), VIRTIO_BLK_S_OK);
	gmem_read(m->mem, g, rd, 4096);
	memset(buf, 0, sizeof(buf));
	ck_assert(!memcmp(rd, buf, 4096));
	seg.flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_DISCARD, 0, &seg, sizeof(seg), NULL, 0, NULL),
			  VIRTIO_BLK_S_UNSUPP);
	seg.flags = 0;
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_DISCARD, 0, &seg, sizeof(seg), NULL, 0, NULL),
			  VIRTIO_BLK_S_OK);
	uint64_t feat = vblk_features(b);
	ck_assert(feat & (1ull << VIRTIO_BLK_F_FLUSH));
	ck_assert(!(feat & (1ull << VIRTIO_BLK_F_RO)));
	struct virtio_blk_config cfg;
	vblk_config_read(b, 0, &cfg, sizeof(cfg));
	ck_assert_uint_eq(cfg.capacity, DSIZE / 512);
	ck_assert(feat & (1ull << VIRTIO_BLK_F_TOPOLOGY));
	ck_assert(!(feat & (1ull << VIRTIO_BLK_F_BLK_SIZE)));
	ck_assert_uint_eq(cfg.physical_block_exp, 3);
	uint32_t tail = 0xffffffff;
	vblk_config_read(b, sizeof(cfg) + 100, &tail, 4);
	ck_assert_uint_eq(tail, 0);
	vblk_destroy(b);
}
END_TEST

START_TEST(hostile)
{
	struct vblk *b = mkblk(false);
	uint8_t buf[1024] = {0};
	uint64_t g;
	uint32_t cap = DSIZE / 512;
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_IN, cap, NULL, 0, &g, 512, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_IN, cap - 1, NULL, 0, &g, 1024, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_IN, UINT64_MAX, NULL, 0, &g, 512, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_OUT, UINT64_MAX / 256, buf, 512, NULL, 0, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_IN, 0, NULL, 0, &g, 100, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_OUT, 0, buf, 100, NULL, 0, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(submit(b, 99, 0, NULL, 0, NULL, 0, NULL), VIRTIO_BLK_S_UNSUPP);
	struct virtio_blk_discard_write_zeroes seg = {.sector = cap - 1, .num_sectors = 2};
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_DISCARD, 0, &seg, sizeof(seg), NULL, 0, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_DISCARD, 0, &seg, 7, NULL, 0, NULL),
			  VIRTIO_BLK_S_UNSUPP);
	seg = (struct virtio_blk_discard_write_zeroes){.sector = 0, .num_sectors = 1, .flags = 8};
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_WRITE_ZEROES, 0, &seg, sizeof(seg), NULL, 0, NULL),
			  VIRTIO_BLK_S_UNSUPP);

	/* No status byte: completed with nothing written, queue stays usable. */
	uint64_t hg = vq_mock_alloc(m, 16);
	struct vq_mock_seg one = {hg, 16, false};
	uint16_t head;
	ck_assert_int_eq(vq_mock_add_chain(m, &one, 1, &head), 0);
	bool pushed;
	ck_assert_int_eq(vblk_process(b, &vq, &pushed), 0);
	uint32_t id, len;
	ck_assert_int_eq(vq_mock_get_used(m, (uint16_t)(vq_mock_used_idx(m) - 1), &id, &len), 0);
	ck_assert_uint_eq(len, 0);
	/* Header short of 16 bytes. */
	uint64_t st = vq_mock_alloc(m, 1);
	struct vq_mock_seg two[] = {{hg, 8, false}, {st, 1, true}};
	ck_assert_int_eq(vq_mock_add_chain(m, two, 2, &head), 0);
	ck_assert_int_eq(vblk_process(b, &vq, &pushed), 0);
	ck_assert_int_eq(vq_mock_get_used(m, (uint16_t)(vq_mock_used_idx(m) - 1), &id, &len), 0);
	ck_assert_uint_eq(len, 0);
	/* A broken queue is reported, not crashed on. */
	ck_assert_int_eq(vq_mock_set_avail_idx(m, (uint16_t)(vq_mock_used_idx(m) + 1000)), 0);
	ck_assert_int_eq(vblk_process(b, &vq, &pushed), -EIO);
	vblk_destroy(b);
}
END_TEST

START_TEST(read_only)
{
	struct vblk *b = mkblk(true);
	uint8_t buf[512] = {1};
	uint64_t g;
	ck_assert(vblk_features(b) & (1ull << VIRTIO_BLK_F_RO));
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_OUT, 0, buf, 512, NULL, 0, NULL),
			  VIRTIO_BLK_S_IOERR);
	struct virtio_blk_discard_write_zeroes seg = {.sector = 0, .num_sectors = 1};
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_WRITE_ZEROES, 0, &seg, sizeof(seg), NULL, 0, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_DISCARD, 0, &seg, sizeof(seg), NULL, 0, NULL),
			  VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_IN, 0, NULL, 0, &g, 512, NULL), VIRTIO_BLK_S_OK);
	gmem_read(m->mem, g, buf, 4);
	ck_assert(!memcmp(buf, "BASE", 4));
	ck_assert_uint_eq(submit(b, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL, 0, NULL),
			  VIRTIO_BLK_S_OK);
	vblk_destroy(b);
	vblk_destroy(NULL);
}
END_TEST

/* The snapshot blob: 16 little-endian bytes; a blob from another disk, of
 * another version or of another size is refused. */
START_TEST(state_blob)
{
	struct strbuf sb = {0};
	struct vmm_err err;
	ck_assert_int_eq(vblk_state_save(2048, true, &sb), 0);
	ck_assert_uint_eq(sb.len, 16);
	const uint8_t want[16] = {1, 0, 0, 0, 1, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0};
	ck_assert_int_eq(memcmp(sb.buf, want, 16), 0);
	ck_assert_int_eq(vblk_state_check(sb.buf, sb.len, 2048, true, &err), 0);
	ck_assert_int_eq(vblk_state_check(sb.buf, sb.len, 2049, true, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "the disk was 2048 sectors read-only when saved, now 2049 "
				  "sectors read-only; restore with the same disk stack");
	ck_assert_int_eq(vblk_state_check(sb.buf, sb.len, 2048, false, &err), -EINVAL);
	for (size_t n = 0; n < sb.len; n++)
		ck_assert_int_eq(vblk_state_check(sb.buf, n, 2048, true, &err), -EINVAL);
	ck_assert_int_eq(sb_append(&sb, "", 1), 0);
	ck_assert_int_eq(vblk_state_check(sb.buf, sb.len, 2048, true, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "dev.blk state is 17 bytes, expected 16");
	sb.buf[0] = 2; /* version */
	ck_assert_int_eq(vblk_state_check(sb.buf, 16, 2048, true, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "dev.blk state version 2, this smolvm reads 1");
	ck_assert_int_eq(vblk_state_check(sb.buf, 16, 2048, true, NULL), -EINVAL);
	sb_release(&sb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("blk");
	TCase *tc = tcase_create("blk");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, read_write);
	tcase_add_test(tc, hostile);
	tcase_add_test(tc, read_only);
	tcase_add_test(tc, state_blob);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
