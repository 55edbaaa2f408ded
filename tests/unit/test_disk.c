/* Layered copy-on-write disk: model-based test against a plain buffer, plus
 * hostile layer files (bad magic, checksum, version, wrong base, wrong
 * order, unfrozen lower, truncated file). */
#include "disk/disk.h"
#include "disk/layer_format.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DSIZE (1024 * 1024 + 512) /* odd tail block on purpose */

static char dir[64], base[PATH_MAX], l1[PATH_MAX], l2[PATH_MAX];

/* xorshift64*: a fixed-seed generator so failures reproduce. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/smol-test-disk-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(base, sizeof(base), "%s/base.img", dir);
	snprintf(l1, sizeof(l1), "%s/l1.layer", dir);
	snprintf(l2, sizeof(l2), "%s/l2.layer", dir);
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static uint8_t *make_base(uint64_t seed)
{
	uint8_t *m = malloc(DSIZE);
	ck_assert_ptr_nonnull(m);
	for (size_t i = 0; i < DSIZE; i++)
		m[i] = (uint8_t)(rnd(&seed) >> 56);
	int fd = open(base, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, m, DSIZE), DSIZE);
	close(fd);
	return m;
}

static struct disk *open_stack(const char *const *layers, size_t n, bool ro)
{
	struct disk_config cfg = {
	    .base_path = base, .layers = layers, .n_layers = n, .read_only = ro};
	struct disk *d = NULL;
	struct vmm_err err = {{0}};
	int rc = disk_open(&d, &cfg, &err);
	ck_assert_msg(rc == 0, "disk_open: %s", err.msg);
	return d;
}

static void check_equal(struct disk *d, const uint8_t *model)
{
	uint8_t *buf = malloc(DSIZE);
	ck_assert_int_eq(disk_read(d, 0, buf, DSIZE), 0);
	if (memcmp(buf, model, DSIZE) != 0) {
		size_t i = 0;
		while (buf[i] == model[i])
			i++;
		ck_abort_msg("byte %zu: disk %u model %u", i, buf[i], model[i]);
	}
	free(buf);
}

/* Random reads, writes, discards and write-zeroes, mirrored into model. */
static void random_ops(struct disk *d, uint8_t *model, uint64_t seed, int n)
{
	uint8_t *buf = malloc(3 * 4096 + 1024);
	for (int i = 0; i < n; i++) {
		uint64_t r = rnd(&seed);
		uint64_t len = 1 + rnd(&seed) % (3 * 4096 + 1024);
		uint64_t off = rnd(&seed) % DSIZE;
		if (r % 7 == 0)
			off &= ~4095ull; /* plenty of aligned cases too */
		if (off + len > DSIZE)
			len = DSIZE - off;
		switch (r % 5) {
		case 0:
		case 1:
			for (uint64_t k = 0; k < len; k++)
				buf[k] = (uint8_t)rnd(&seed);
			ck_assert_int_eq(disk_write(d, off, buf, len), 0);
			memcpy(model + off, buf, len);
			break;
		case 2:
			ck_assert_int_eq(disk_read(d, off, buf, len), 0);
			ck_assert_msg(!memcmp(buf, model + off, len),
				      "read at %llu+%llu differs (op %d)", (unsigned long long)off,
				      (unsigned long long)len, i);
			break;
		case 3:
			ck_assert_int_eq(disk_discard(d, off, len), 0);
			memset(model + off, 0, len);
			break;
		default:
			ck_assert_int_eq(disk_write_zeroes(d, off, len), 0);
			memset(model + off, 0, len);
			break;
		}
	}
	free(buf);
}

START_TEST(model_two_layers)
{
	uint8_t *model = make_base(42);
	struct vmm_err err = {{0}};
	ck_assert_int_eq(disk_layer_create(l1, base, NULL, &err), 0);
	const char *s1[] = {l1};
	struct disk *d = open_stack(s1, 1, false);
	random_ops(d, model, 7, 1500);
	check_equal(d, model);
	ck_assert_int_eq(disk_flush(d), 0);
	disk_destroy(d);

	/* Base untouched by layered writes. */
	uint8_t *orig = make_base(42);
	free(orig);

	ck_assert_int_eq(disk_layer_freeze(l1, &err), 0);
	ck_assert_int_eq(disk_layer_create(l2, base, l1, &err), 0);
	const char *s2[] = {l1, l2};
	d = open_stack(s2, 2, false);
	check_equal(d, model); /* survives reopen */
	random_ops(d, model, 99, 1500);
	check_equal(d, model);
	disk_destroy(d);

	d = open_stack(s2, 2, true);
	check_equal(d, model);
	uint8_t b = 1;
	ck_assert_int_eq(disk_write(d, 0, &b, 1), -EROFS);
	ck_assert_int_eq(disk_discard(d, 0, 4096), -EROFS);
	disk_destroy(d);

	struct disk_layer_info info;
	ck_assert_int_eq(disk_layer_stat(l2, &info, &err), 0);
	ck_assert_uint_gt(info.allocated_blocks, 0);
	ck_assert_uint_le(info.allocated_blocks, (DSIZE + 4095) / 4096);
	ck_assert_uint_eq(info.hdr.disk_size, DSIZE);
	ck_assert(!(info.hdr.flags & LAYER_FLAG_FROZEN));
	free(model);
}
END_TEST

START_TEST(raw_writable)
{
	uint8_t *model = make_base(5);
	struct disk *d = open_stack(NULL, 0, false);
	random_ops(d, model, 11, 800);
	check_equal(d, model);
	disk_destroy(d);
	d = open_stack(NULL, 0, true);
	check_equal(d, model);
	disk_destroy(d);
	free(model);
}
END_TEST

START_TEST(bounds)
{
	uint8_t *model = make_base(1);
	struct vmm_err err = {{0}};
	ck_assert_int_eq(disk_layer_create(l1, base, NULL, &err), 0);
	const char *s1[] = {l1};
	struct disk *d = open_stack(s1, 1, false);
	uint8_t b[16];
	ck_assert_int_eq(disk_read(d, DSIZE, b, 1), -EINVAL);
	ck_assert_int_eq(disk_read(d, DSIZE - 8, b, 16), -EINVAL);
	ck_assert_int_eq(disk_write(d, UINT64_MAX - 4, b, 16), -EINVAL);
	ck_assert_int_eq(disk_discard(d, 4096, UINT64_MAX), -EINVAL);
	ck_assert_int_eq(disk_read(d, DSIZE, b, 0), 0);
	/* The layer is locked while open: a second writer is refused. */
	struct disk *d2 = NULL;
	struct disk_config cfg = {.base_path = base, .layers = s1, .n_layers = 1};
	ck_assert_int_eq(disk_open(&d2, &cfg, &err), -EBUSY);
	ck_assert_ptr_null(d2);
	uint8_t serial[20];
	disk_serial(d, serial);
	ck_assert(!memcmp(serial, "smol-", 5));
	disk_destroy(d);
	disk_destroy(NULL);
	free(model);
}
END_TEST

static void expect_open_fail(const char *const *layers, size_t n, bool ro, int want,
			     const char *needle)
{
	struct disk_config cfg = {
	    .base_path = base, .layers = layers, .n_layers = n, .read_only = ro};
	struct disk *d = NULL;
	struct vmm_err err = {{0}};
	int rc = disk_open(&d, &cfg, &err);
	ck_assert_msg(rc == want, "rc %d want %d (%s)", rc, want, err.msg);
	ck_assert_ptr_null(d);
	ck_assert_msg(strstr(err.msg, needle), "message '%s' lacks '%s'", err.msg, needle);
}

static void patch(const char *path, off_t off, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, data, len, off), (ssize_t)len);
	close(fd);
}

START_TEST(hostile_layers)
{
	uint8_t *model = make_base(3);
	struct vmm_err err = {{0}};
	const char *s1[] = {l1}, *s2[] = {l1, l2}, *s21[] = {l2, l1};

	ck_assert_int_eq(disk_layer_create(l1, base, NULL, &err), 0);
	ck_assert_int_eq(disk_layer_create(l1, base, NULL, &err), -EEXIST);
	/* Stacking on an unfrozen layer is refused at create time. */
	ck_assert_int_eq(disk_layer_create(l2, base, l1, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "not frozen"));
	ck_assert_int_eq(access(l2, F_OK), -1);

	ck_assert_int_eq(disk_layer_freeze(l1, &err), 0);
	ck_assert_int_eq(disk_layer_freeze(l1, &err), 0);
	expect_open_fail(s1, 1, false, -EROFS, "frozen");
	struct disk *d = open_stack(s1, 1, true);
	disk_destroy(d);
	ck_assert_int_eq(disk_layer_create(l2, base, l1, &err), 0);
	expect_open_fail(s21, 2, false, -EINVAL, "not created on");

	/* Wrong base: same size, different content. */
	uint8_t x = 0x5a;
	patch(base, 0, &x, 1);
	expect_open_fail(s2, 2, false, -EINVAL, "identity mismatch");
	patch(base, 0, model, 1);
	d = open_stack(s2, 2, false);
	disk_destroy(d);

	/* Corrupt header byte: checksum. */
	uint8_t hdr[LAYER_HEADER_SIZE];
	int fd = open(l2, O_RDONLY);
	ck_assert_int_eq(pread(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	close(fd);
	uint8_t bad = hdr[20] ^ 1;
	patch(l2, 20, &bad, 1);
	expect_open_fail(s2, 2, false, -EINVAL, "checksum");
	patch(l2, 0, "XMOLLAYR", 8);
	expect_open_fail(s2, 2, false, -EINVAL, "bad magic");
	patch(l2, 0, hdr, sizeof(hdr));
	uint8_t v2[4] = {2, 0, 0, 0};
	patch(l2, 8, v2, 4);
	expect_open_fail(s2, 2, false, -EINVAL, "version");
	patch(l2, 0, hdr, sizeof(hdr));
	ck_assert_int_eq(truncate(l2, 8192), 0);
	expect_open_fail(s2, 2, false, -EINVAL, "truncated");
	ck_assert_int_eq(truncate(l2, 100), 0);
	expect_open_fail(s2, 2, false, -EINVAL, "4096-byte");

	/* Base with a size that is not a multiple of 512. */
	ck_assert_int_eq(truncate(base, 1000), 0);
	expect_open_fail(NULL, 0, true, -EINVAL, "multiple of 512");
	free(model);
}
END_TEST

START_TEST(header_codec)
{
	struct layer_header h, g;
	uint8_t id[16] = {1, 2, 3}, lo[16] = {9}, buf[LAYER_HEADER_SIZE];
	const char *why = NULL;
	ck_assert_int_eq(layer_header_init(&h, 0, id, LAYER_LOWER_BASE, lo), -EINVAL);
	ck_assert_int_eq(layer_header_init(&h, 1000, id, LAYER_LOWER_BASE, lo), -EINVAL);
	ck_assert_int_eq(layer_header_init(&h, LAYER_MAX_DISK_SIZE + 512, id, LAYER_LOWER_BASE, lo),
			 -EINVAL);
	ck_assert_int_eq(layer_header_init(&h, 1 << 30, id, LAYER_LOWER_LAYER, lo), 0);
	layer_header_encode(&h, buf);
	ck_assert_int_eq(layer_header_decode(buf, sizeof(buf), &g, &why), 0);
	ck_assert_uint_eq(g.disk_size, 1 << 30);
	ck_assert_uint_eq(g.bitmap_len, 32768);
	ck_assert_uint_eq(g.data_offset, 4096 + 32768);
	ck_assert(!memcmp(g.layer_id, id, 16) && !memcmp(g.lower_id, lo, 16));
	ck_assert_int_eq(layer_header_decode(buf, 100, &g, &why), -EINVAL);
	buf[4000] = 1; /* reserved bytes must stay zero even with a fixed checksum */
	ck_assert_int_eq(layer_header_decode(buf, sizeof(buf), &g, &why), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("disk");
	TCase *tc = tcase_create("disk");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, model_two_layers);
	tcase_add_test(tc, raw_writable);
	tcase_add_test(tc, bounds);
	tcase_add_test(tc, hostile_layers);
	tcase_add_test(tc, header_codec);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
