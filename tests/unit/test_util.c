#include "util.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

START_TEST(duration_units)
{
	static const struct {
		const char *text;
		uint64_t ns;
	} ok[] = {
	    {"0", 0},
	    {"5", 5 * NSEC_PER_SEC},
	    {"5s", 5 * NSEC_PER_SEC},
	    {"1.5s", 1500 * NSEC_PER_MSEC},
	    {"250ms", 250 * NSEC_PER_MSEC},
	    {"10us", 10000},
	    {"7ns", 7},
	    {"2m", 120 * NSEC_PER_SEC},
	    {"1h", 3600 * NSEC_PER_SEC},
	    {"1m30s", 90 * NSEC_PER_SEC},
	    {"0.001s", NSEC_PER_MSEC},
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		uint64_t v = 1234;
		ck_assert_msg(util_parse_duration(ok[i].text, &v) == 0, "%s", ok[i].text);
		ck_assert_msg(v == ok[i].ns, "%s -> %llu", ok[i].text, (unsigned long long)v);
	}
}
END_TEST

START_TEST(duration_bad)
{
	static const char *bad[] = {"",	   "s",	  "-1s", "1.s",	   ".5s", "1x",
				    "1 s", "1s ", "5 ",	 "1.5.5s", "ms"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t v = 99;
		ck_assert_msg(util_parse_duration(bad[i], &v) == -EINVAL, "'%s' accepted", bad[i]);
		ck_assert_int_eq(v, 99);
	}
	uint64_t v;
	ck_assert_int_eq(util_parse_duration("99999999999999999999s", &v), -ERANGE);
	ck_assert_int_eq(util_parse_duration("9999999999h", &v), -ERANGE);
	ck_assert_int_eq(util_parse_duration(NULL, &v), -EINVAL);
}
END_TEST

START_TEST(size_units)
{
	uint64_t v;
	ck_assert_int_eq(util_parse_size("512", &v), 0);
	ck_assert_uint_eq(v, 512);
	ck_assert_int_eq(util_parse_size("512M", &v), 0);
	ck_assert_uint_eq(v, 512ull << 20);
	ck_assert_int_eq(util_parse_size("2GiB", &v), 0);
	ck_assert_uint_eq(v, 2ull << 30);
	ck_assert_int_eq(util_parse_size("4k", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(util_parse_size("1TB", &v), 0);
	ck_assert_uint_eq(v, 1ull << 40);
	ck_assert_int_eq(util_parse_size("64B", &v), 0);
	ck_assert_uint_eq(v, 64);
	ck_assert_int_eq(util_parse_size("", &v), -EINVAL);
	ck_assert_int_eq(util_parse_size("M", &v), -EINVAL);
	ck_assert_int_eq(util_parse_size("1X", &v), -EINVAL);
	ck_assert_int_eq(util_parse_size("1MM", &v), -EINVAL);
	ck_assert_int_eq(util_parse_size("-1", &v), -EINVAL);
	ck_assert_int_eq(util_parse_size("99999999999T", &v), -ERANGE);
}
END_TEST

START_TEST(u64_range)
{
	uint64_t v;
	ck_assert_int_eq(util_parse_u64("17", 1, 64, &v), 0);
	ck_assert_uint_eq(v, 17);
	ck_assert_int_eq(util_parse_u64("0", 1, 64, &v), -ERANGE);
	ck_assert_int_eq(util_parse_u64("65", 1, 64, &v), -ERANGE);
	ck_assert_int_eq(util_parse_u64("1a", 1, 64, &v), -EINVAL);
	ck_assert_int_eq(util_parse_u64("", 1, 64, &v), -EINVAL);
	ck_assert_int_eq(util_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
}
END_TEST

START_TEST(format_duration)
{
	char buf[32];
	ck_assert_str_eq(util_format_duration(250 * NSEC_PER_MSEC, buf, sizeof(buf)), "250ms");
	ck_assert_str_eq(util_format_duration(1250 * NSEC_PER_MSEC, buf, sizeof(buf)), "1.25s");
	ck_assert_str_eq(util_format_duration(184 * NSEC_PER_SEC, buf, sizeof(buf)), "3m04s");
	ck_assert_str_eq(util_format_duration(3720 * NSEC_PER_SEC, buf, sizeof(buf)), "1h02m");
}
END_TEST

static char tmpdir[64];

static void make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/smol-util-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

START_TEST(files_roundtrip)
{
	make_tmpdir();
	char path[128], *data = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/a/b/c", tmpdir);
	ck_assert_int_eq(util_mkdir_p(path, 0755), 0);
	ck_assert_int_eq(util_mkdir_p(path, 0755), 0); /* exists: fine */
	snprintf(path, sizeof(path), "%s/a/b/c/file", tmpdir);
	ck_assert_int_eq(util_write_file_atomic(path, "hello", 5, 0640), 0);
	ck_assert_int_eq(util_read_file(path, 1024, &data, &len), 0);
	ck_assert_uint_eq(len, 5);
	ck_assert_str_eq(data, "hello");
	free(data);
	ck_assert_int_eq(util_read_file(path, 3, &data, &len), -EFBIG);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0640);
	/* mkdir -p over a file is ENOTDIR, not success */
	ck_assert_int_eq(util_mkdir_p(path, 0755), -ENOTDIR);
	/* rm -rf does not follow symlinks out of the tree */
	char outside[128], link[160];
	snprintf(outside, sizeof(outside), "%s-outside", tmpdir);
	ck_assert_int_eq(mkdir(outside, 0755), 0);
	snprintf(link, sizeof(link), "%s/a/escape", tmpdir);
	ck_assert_int_eq(symlink(outside, link), 0);
	ck_assert_int_eq(util_rm_rf(tmpdir), 0);
	ck_assert_int_eq(access(tmpdir, F_OK), -1);
	ck_assert_int_eq(access(outside, F_OK), 0);
	rmdir(outside);
	ck_assert_int_eq(util_rm_rf(tmpdir), 0); /* missing: fine */
	ck_assert_int_eq(util_read_file(path, 1024, &data, &len), -ENOENT);
}
END_TEST

START_TEST(grow_arrays)
{
	size_t cap = 0;
	int *v = NULL;
	for (size_t n = 0; n < 100; n++) {
		int *nv = util_grow(v, &cap, n, sizeof(*v), 4);
		ck_assert_ptr_nonnull(nv);
		v = nv;
		ck_assert_uint_gt(cap, n);
		v[n] = (int)n;
	}
	ck_assert_uint_eq(cap, 128);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(v[i], i);
	/* room already: the same array, cap unchanged */
	ck_assert_ptr_eq(util_grow(v, &cap, 127, sizeof(*v), 4), v);
	ck_assert_uint_eq(cap, 128);
	/* a size that cannot be represented: NULL, and the array is kept */
	size_t huge = SIZE_MAX / 2 + 1;
	ck_assert_ptr_null(util_grow(v, &huge, huge, 1, 4));
	ck_assert_uint_eq(huge, SIZE_MAX / 2 + 1);
	size_t c2 = 128;
	ck_assert_ptr_null(util_grow(v, &c2, 128, SIZE_MAX / 128, 4));
	ck_assert_uint_eq(c2, 128);
	ck_assert_int_eq(v[99], 99);
	free(v);
}
END_TEST

START_TEST(read_exact_eof)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(util_write_all(p[1], "abc", 3), 0);
	close(p[1]);
	char buf[8];
	ck_assert_int_eq(util_read_exact(p[0], buf, 2), 0);
	ck_assert_int_eq(util_read_exact(p[0], buf, 2), -EPIPE);
	close(p[0]);
	ck_assert_int_eq(util_set_nonblock(p[0], true), -EBADF);
}
END_TEST

START_TEST(positioned_io)
{
	FILE *f = tmpfile();
	ck_assert_ptr_nonnull(f);
	int fd = fileno(f);
	ck_assert_int_eq(util_pwrite_all(fd, "world", 5, 6), 0);
	ck_assert_int_eq(util_pwrite_all(fd, "hello", 5, 0), 0);
	char buf[16] = {0};
	ck_assert_int_eq(util_pread_exact(fd, buf, 11, 0), 0);
	ck_assert_int_eq(memcmp(buf, "hello\0world", 11), 0);	   /* the gap reads as zero */
	ck_assert_int_eq(util_pread_exact(fd, buf, 4, 8), -EPIPE); /* runs past EOF */
	ck_assert_int_eq(util_pread_exact(fd, buf, 0, 100), 0);
	fclose(f);
	ck_assert_int_eq(util_pread_exact(-1, buf, 1, 0), -EBADF);
	ck_assert_int_eq(util_pwrite_all(-1, buf, 1, 0), -EBADF);
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, duration_units);
	tcase_add_test(tc, duration_bad);
	tcase_add_test(tc, size_units);
	tcase_add_test(tc, u64_range);
	tcase_add_test(tc, format_duration);
	suite_add_tcase(s, tc);
	tc = tcase_create("io");
	tcase_add_test(tc, files_roundtrip);
	tcase_add_test(tc, read_exact_eof);
	tcase_add_test(tc, grow_arrays);
	tcase_add_test(tc, positioned_io);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return smol_check_run(util_suite());
}
