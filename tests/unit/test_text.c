/* test_text: the shared sanitiser every reporter relies on. */
#include "strbuf.h"
#include "text.h"

#include "check_main.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

static char *san(const char *in, size_t len, unsigned flags)
{
	struct strbuf sb = {0};
	char *out;
	ck_assert_int_eq(text_sanitize(&sb, in, len, flags), 0);
	ck_assert_int_eq(sb_detach(&sb, &out), 0);
	return out;
}

#define CHECK_SAN(in, flags, want)                                                                 \
	do {                                                                                       \
		char *got_ = san(in, sizeof(in) - 1, flags);                                       \
		ck_assert_msg(!strcmp(got_, want), "got '%s'", got_);                              \
		free(got_);                                                                        \
	} while (0)

START_TEST(test_utf8_repair)
{
	CHECK_SAN("plain é ü 日本 \xf0\x9f\x98\x80", 0, "plain é ü 日本 \xf0\x9f\x98\x80");
	CHECK_SAN("a\xff"
		  "b",
		  0,
		  "a\xef\xbf\xbd"
		  "b");
	/* Encoded surrogate D800: three maximal subparts. */
	CHECK_SAN("<\xed\xa0\x80>", 0, "<\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd>");
	/* Overlong '/' and a truncated sequence at the end. */
	CHECK_SAN("\xc0\xaf|\xe2\x82", 0, "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd");
	/* Above U+10FFFF. */
	CHECK_SAN("\xf4\x90\x80\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	/* Noncharacters U+FFFE/U+FFFF go; U+FFFD stays. */
	CHECK_SAN("\xef\xbf\xbe\xef\xbf\xbf\xef\xbf\xbd", 0, "\xef\xbf\xbd");
	CHECK_SAN("\xef\xbf\xbe", TEXT_KEEP_CTRL, "\xef\xbf\xbe");
}
END_TEST

START_TEST(test_ansi_and_controls)
{
	CHECK_SAN("\x1b[1;31mred\x1b[0m", 0, "red");
	CHECK_SAN("\x1b]8;;http://x\x1b\\link\x1b]8;;\x07!", 0, "link!");
	CHECK_SAN("a\x1b"
		  "7b\x1b(Bc",
		  0, "abc");
	CHECK_SAN("\xc2\x9b"
		  "2Kx",
		  0, "x"); /* C1 CSI */
	CHECK_SAN("n\0u\bl\x7f"
		  "l\xc2\x85",
		  0, "null");
	CHECK_SAN("a\r\nb\rc\td", 0, "a\nb\nc\td");
	CHECK_SAN("tail\x1b[", 0, "tail");
	/* An unterminated OSC ends at the line's end instead of eating the rest. */
	CHECK_SAN("a\x1b]0;title never ends\nline2\n", 0, "a\nline2\n");
	CHECK_SAN("\x1b]0;t\x1b\\x\x1b]8;;u\x1bXy", 0, "x");
	CHECK_SAN("\x1b[31mx\0", TEXT_KEEP_CTRL, "\x1b[31mx");
}
END_TEST

START_TEST(test_one_line)
{
	CHECK_SAN("  a\n\n b\tc  \n", TEXT_ONE_LINE, "a b c");
	CHECK_SAN("\x1b[1m \x1b[0m", TEXT_ONE_LINE, "");
}
END_TEST

START_TEST(test_tail_and_cut)
{
	const char *s = "one\ntwo\nthree\n";
	ck_assert_uint_eq(text_tail_offset(s, strlen(s), 2, 100), 4);
	ck_assert_uint_eq(text_tail_offset(s, strlen(s), 10, 100), 0);
	ck_assert_uint_eq(text_tail_offset(s, strlen(s), 10, 6), 8);
	/* Never starts inside a UTF-8 sequence. */
	const char *u = "ab\xc3\xa9z";
	ck_assert_uint_eq(text_tail_offset(u, strlen(u), 5, 2), 4);
	ck_assert_uint_eq(text_utf8_cut(u, strlen(u), 3), 2);
	ck_assert_uint_eq(text_utf8_cut(u, strlen(u), 4), 4);
	ck_assert_uint_eq(text_utf8_cut(u, strlen(u), 99), 5);
}
END_TEST

START_TEST(test_formats)
{
	char b[24];
	ck_assert_str_eq(text_format_seconds(0, b, sizeof(b)), "0.000");
	ck_assert_str_eq(text_format_seconds(1499999, b, sizeof(b)), "0.001");
	ck_assert_str_eq(text_format_seconds(1500000, b, sizeof(b)), "0.002");
	ck_assert_str_eq(text_format_seconds(12345678901234ull, b, sizeof(b)), "12345.679");
	ck_assert_str_eq(text_format_seconds(UINT64_MAX, b, sizeof(b)), "18446744073.710");
	ck_assert_int_eq(text_format_timestamp(0, b, sizeof(b)), 0);
	ck_assert_str_eq(b, "1970-01-01T00:00:00");
	ck_assert_int_eq(text_format_timestamp(1795000000ull * 1000000000ull, b, sizeof(b)), 0);
	ck_assert_str_eq(b, "2026-11-18T11:06:40");
	ck_assert_int_lt(text_format_timestamp(0, b, 10), 0);
}
END_TEST

START_TEST(test_output_join)
{
	struct result_output o = {.head = "head",
				  .head_len = 4,
				  .tail = "tail\n",
				  .tail_len = 5,
				  .total_bytes = 100,
				  .truncated = true};
	struct strbuf sb = {0};
	ck_assert_int_eq(text_output_join(&sb, &o), 0);
	ck_assert_str_eq(sb_str(&sb), "head\n[... 91 bytes omitted ...]\ntail\n");
	sb_release(&sb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("text");
	tcase_add_test(tc, test_utf8_repair);
	tcase_add_test(tc, test_ansi_and_controls);
	tcase_add_test(tc, test_one_line);
	tcase_add_test(tc, test_tail_and_cut);
	tcase_add_test(tc, test_formats);
	tcase_add_test(tc, test_output_join);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
