/* Unit tests for guest memory (vmm/core/gmem.c): layout around the MMIO
 * hole, and bounds checks that catch overflow and region straddling. */
#include "core/gmem.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(small_layout_and_bounds)
{
	struct gmem *gm;
	ck_assert_int_eq(gmem_create(1 << 20, &gm), 0);
	ck_assert_uint_eq(gm->nregions, 1);
	ck_assert_uint_eq(gmem_end(gm), 1 << 20);
	void *p;
	ck_assert_int_eq(gmem_ptr(gm, 0, 1 << 20, &p), 0);
	ck_assert_int_eq(gmem_ptr(gm, (1 << 20) - 1, 1, &p), 0);
	ck_assert_int_eq(gmem_ptr(gm, 1 << 20, 0, &p), 0);
	ck_assert_int_eq(gmem_ptr(gm, (1 << 20) - 1, 2, &p), -EFAULT);
	ck_assert_int_eq(gmem_ptr(gm, 1 << 20, 1, &p), -EFAULT);
	ck_assert_int_eq(gmem_ptr(gm, UINT64_MAX, 2, &p), -EFAULT);
	ck_assert_int_eq(gmem_ptr(gm, 16, UINT64_MAX, &p), -EFAULT);
	ck_assert_int_eq(gmem_ptr(gm, UINT64_MAX - 15, 16, &p), -EFAULT);
	uint32_t v = 0xdeadbeef;
	ck_assert_int_eq(gmem_write_u32(gm, 100, 0x12345678), 0);
	ck_assert_int_eq(gmem_read_u32(gm, 100, &v), 0);
	ck_assert_uint_eq(v, 0x12345678);
	ck_assert_int_eq(gmem_read_u32(gm, (1 << 20) - 2, &v), -EFAULT);
	ck_assert_uint_eq(v, 0x12345678); /* untouched on failure */
	uint8_t b[4] = {1, 2, 3, 4};
	ck_assert_int_eq(gmem_write(gm, (1 << 20) - 2, b, 4), -EFAULT);
	ck_assert_int_eq(gmem_fill(gm, 0, 0xab, 16), 0);
	ck_assert_int_eq(gmem_read(gm, 0, b, 4), 0);
	ck_assert_uint_eq(b[3], 0xab);
	/* anonymous RAM at a 2 MiB boundary, so that it can be huge pages */
	ck_assert_int_eq(gm->fd, -1);
	ck_assert_uint_eq((uintptr_t)gm->map % (2u << 20), 0);
	gmem_destroy(gm);
	gmem_destroy(NULL);
}
END_TEST

START_TEST(hole_split)
{
	struct gmem *gm;
	uint64_t ram = GMEM_MMIO_HOLE_START + (64ull << 20);
	ck_assert_int_eq(gmem_create(ram, &gm), 0);
	ck_assert_uint_eq(gm->nregions, 2);
	ck_assert_uint_eq(gm->regions[0].size, GMEM_MMIO_HOLE_START);
	ck_assert_uint_eq(gm->regions[1].gpa, GMEM_4G);
	ck_assert_uint_eq(gm->regions[1].fd_offset, GMEM_MMIO_HOLE_START);
	ck_assert_uint_eq(gmem_end(gm), GMEM_4G + (64ull << 20));
	void *p;
	/* the hole itself, and ranges straddling either edge, are refused */
	ck_assert_int_eq(gmem_ptr(gm, GMEM_MMIO_HOLE_START, 1, &p), -EFAULT);
	ck_assert_int_eq(gmem_ptr(gm, GMEM_MMIO_HOLE_START - 4, 8, &p), -EFAULT);
	ck_assert_int_eq(gmem_ptr(gm, GMEM_4G - 4, 8, &p), -EFAULT);
	ck_assert_int_eq(gmem_ptr(gm, GMEM_4G, 8, &p), 0);
	ck_assert_int_eq(gmem_write_u64(gm, GMEM_4G + 8, 42), 0);
	/* high RAM lives right after low RAM in the one mapping */
	uint64_t v = 0;
	memcpy(&v, gm->map + GMEM_MMIO_HOLE_START + 8, sizeof(v));
	ck_assert_uint_eq(v, 42);
	ck_assert_ptr_eq(gm->regions[1].host, gm->map + GMEM_MMIO_HOLE_START);
	gmem_destroy(gm);
}
END_TEST

START_TEST(bad_sizes)
{
	struct gmem *gm;
	ck_assert_int_eq(gmem_create(0, &gm), -EINVAL);
	ck_assert_int_eq(gmem_create(4097, &gm), -EINVAL);
	ck_assert_int_eq(gmem_create(GMEM_MAX_RAM + 4096, &gm), -EINVAL);
}
END_TEST

START_TEST(from_fd_private)
{
	char path[] = "/tmp/smol-gmem-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(ftruncate(fd, 3 * 4096), 0);
	ck_assert_int_eq(pwrite(fd, "snap", 4, 4096), 4);
	struct gmem *gm;
	ck_assert_int_eq(gmem_create_from_fd(fd, 4096, 4 * 4096, true, &gm), -EINVAL); /* short */
	ck_assert_int_eq(gmem_create_from_fd(fd, 100, 4096, true, &gm), -EINVAL); /* unaligned */
	ck_assert_int_eq(gmem_create_from_fd(fd, 4096, 2 * 4096, true, &gm), 0);
	char b[4];
	ck_assert_int_eq(gmem_read(gm, 0, b, 4), 0);
	ck_assert_int_eq(memcmp(b, "snap", 4), 0);
	ck_assert_int_eq(gmem_write(gm, 0, "fork", 4), 0);
	ck_assert_int_eq(pread(fd, b, 4, 4096), 4);
	ck_assert_int_eq(memcmp(b, "snap", 4), 0); /* copy-on-write: file unchanged */
	gmem_destroy(gm);
	close(fd);
}
END_TEST

static Suite *gmem_suite(void)
{
	Suite *s = suite_create("gmem");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, small_layout_and_bounds);
	tcase_add_test(tc, hole_split);
	tcase_add_test(tc, bad_sizes);
	tcase_add_test(tc, from_fd_private);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return smol_check_run(gmem_suite());
}
