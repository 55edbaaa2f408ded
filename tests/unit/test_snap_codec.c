/* Unit tests for the little-endian state codec (vmm/snapshot/snap_codec.c):
 * the exact bytes written, round trips, and sticky errors on short input. */
#include "snapshot/snap_codec.h"
#include "strbuf.h"

#include "check_main.h"
#include <check.h>
#include <string.h>

START_TEST(encodes_little_endian)
{
	struct strbuf sb = {0};
	struct snap_enc e;
	snap_enc_init(&e, &sb);
	snap_enc_u8(&e, 0x01);
	snap_enc_u16(&e, 0x0302);
	snap_enc_u32(&e, 0x07060504);
	snap_enc_u64(&e, 0x0f0e0d0c0b0a0908ull);
	snap_enc_bytes(&e, "\x10\x11", 2);
	snap_enc_bytes(&e, NULL, 0);
	ck_assert_int_eq(snap_enc_error(&e), 0);
	ck_assert_uint_eq(sb.len, 17);
	for (unsigned i = 0; i < 17; i++)
		ck_assert_uint_eq((uint8_t)sb.buf[i], i + 1);
	sb_release(&sb);
}
END_TEST

START_TEST(round_trip)
{
	struct strbuf sb = {0};
	struct snap_enc e;
	snap_enc_init(&e, &sb);
	snap_enc_u8(&e, 0xfe);
	snap_enc_u16(&e, 0xbeef);
	snap_enc_u32(&e, 0xdeadbeef);
	snap_enc_u64(&e, UINT64_MAX - 1);
	snap_enc_bytes(&e, "path", 4);
	ck_assert_int_eq(snap_enc_error(&e), 0);
	struct snap_dec d;
	snap_dec_init(&d, sb.buf, sb.len);
	ck_assert_uint_eq(snap_dec_u8(&d), 0xfe);
	ck_assert_uint_eq(snap_dec_u16(&d), 0xbeef);
	ck_assert_uint_eq(snap_dec_u32(&d), 0xdeadbeef);
	ck_assert_uint_eq(snap_dec_u64(&d), UINT64_MAX - 1);
	ck_assert_uint_eq(snap_dec_left(&d), 4);
	const uint8_t *p = snap_dec_bytes(&d, 4);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(memcmp(p, "path", 4), 0);
	ck_assert_uint_eq(snap_dec_left(&d), 0);
	ck_assert(snap_dec_ok(&d));
	sb_release(&sb);
}
END_TEST

START_TEST(short_input_sticks)
{
	const uint8_t buf[6] = {1, 2, 3, 4, 5, 6};
	struct snap_dec d;
	snap_dec_init(&d, buf, sizeof(buf));
	ck_assert_uint_eq(snap_dec_u32(&d), 0x04030201);
	/* 2 bytes left: a u32 does not fit; it reads 0 and the error sticks,
	 * even for the u16 that would have fitted. */
	ck_assert_uint_eq(snap_dec_u32(&d), 0);
	ck_assert(!snap_dec_ok(&d));
	ck_assert_uint_eq(snap_dec_u16(&d), 0);
	ck_assert_uint_eq(snap_dec_left(&d), 0);
	ck_assert_ptr_null(snap_dec_bytes(&d, 0));
	/* A length near SIZE_MAX cannot wrap the bounds check. */
	snap_dec_init(&d, buf, sizeof(buf));
	ck_assert_uint_eq(snap_dec_u8(&d), 1);
	ck_assert_ptr_null(snap_dec_bytes(&d, SIZE_MAX));
	ck_assert(!snap_dec_ok(&d));
	/* Empty input. */
	snap_dec_init(&d, buf, 0);
	ck_assert_uint_eq(snap_dec_u8(&d), 0);
	ck_assert(!snap_dec_ok(&d));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("snap_codec");
	TCase *tc = tcase_create("codec");
	tcase_add_test(tc, encodes_little_endian);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, short_input_sticks);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
