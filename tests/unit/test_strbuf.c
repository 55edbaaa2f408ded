#include "strbuf.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

START_TEST(append_and_detach)
{
	struct strbuf sb = {0};
	ck_assert_str_eq(sb_str(&sb), "");
	ck_assert_int_eq(sb_append_str(&sb, "abc"), 0);
	ck_assert_int_eq(sb_append_char(&sb, '-'), 0);
	ck_assert_int_eq(sb_printf(&sb, "%d/%s", 42, "x"), 0);
	ck_assert_str_eq(sb_str(&sb), "abc-42/x");
	ck_assert_uint_eq(sb.len, 8);
	/* embedded NUL bytes are kept, and the buffer stays terminated */
	ck_assert_int_eq(sb_append(&sb, "\0z", 2), 0);
	ck_assert_uint_eq(sb.len, 10);
	ck_assert_int_eq(sb.buf[9], 'z');
	ck_assert_int_eq(sb.buf[10], '\0');
	char *s;
	ck_assert_int_eq(sb_detach(&sb, &s), 0);
	ck_assert_ptr_null(sb.buf);
	ck_assert_int_eq(memcmp(s, "abc-42/x\0z", 11), 0);
	free(s);
	ck_assert_int_eq(sb_detach(&sb, &s), 0);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

/* A failed append is sticky: later appends do nothing and return the same
 * error, the contents stay what they were before it, and sb_error /
 * sb_detach report it once at the end; reset clears it. */
START_TEST(sticky_error)
{
	struct strbuf sb = {0};
	ck_assert_int_eq(sb_error(&sb), 0);
	ck_assert_int_eq(sb_append_str(&sb, "ok"), 0);
	/* A length no allocation can hold fails before reading data. */
	ck_assert_int_eq(sb_append(&sb, "", SIZE_MAX), -ENOMEM);
	ck_assert_int_eq(sb_error(&sb), -ENOMEM);
	ck_assert_int_eq(sb_append_str(&sb, "lost"), -ENOMEM);
	ck_assert_int_eq(sb_append_char(&sb, 'x'), -ENOMEM);
	ck_assert_int_eq(sb_printf(&sb, "%d", 7), -ENOMEM);
	ck_assert_str_eq(sb_str(&sb), "ok");
	ck_assert_uint_eq(sb.len, 2);
	ck_assert_int_eq(sb_error(&sb), -ENOMEM);

	sb_reset(&sb);
	ck_assert_int_eq(sb_error(&sb), 0);
	ck_assert_int_eq(sb_printf(&sb, "%s-%d", "again", 2), 0);
	ck_assert_str_eq(sb_str(&sb), "again-2");

	char *s = (char *)"untouched";
	sb_append(&sb, "", SIZE_MAX);
	ck_assert_int_eq(sb_detach(&sb, &s), -ENOMEM);
	ck_assert_str_eq(s, "untouched");
	ck_assert_ptr_null(sb.buf);
	ck_assert_int_eq(sb_error(&sb), 0); /* detach released it */
	ck_assert_int_eq(sb_append_str(&sb, "fresh"), 0);
	ck_assert_str_eq(sb_str(&sb), "fresh");

	/* A helper's failure joins the buffer's; the first one stays. */
	ck_assert_int_eq(sb_set_error(&sb, 0), 0);
	ck_assert_int_eq(sb_set_error(&sb, -EIO), -EIO);
	ck_assert_int_eq(sb_set_error(&sb, -ENOMEM), -EIO);
	ck_assert_int_eq(sb_append_str(&sb, "more"), -EIO);
	ck_assert_str_eq(sb_str(&sb), "fresh");
	sb_release(&sb);
	ck_assert_int_eq(sb_error(&sb), 0);
	sb_release(&sb);
}
END_TEST

START_TEST(grows_large)
{
	struct strbuf sb = {0};
	for (int i = 0; i < 100000; i++)
		ck_assert_int_eq(sb_append_char(&sb, (char)('a' + i % 26)), 0);
	ck_assert_uint_eq(sb.len, 100000);
	ck_assert_int_eq(sb.buf[99999], 'a' + 99999 % 26);
	sb_reset(&sb);
	ck_assert_str_eq(sb_str(&sb), "");
	sb_release(&sb);
	ck_assert_ptr_null(sb.buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("strbuf");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, append_and_detach);
	tcase_add_test(tc, grows_large);
	tcase_add_test(tc, sticky_error);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
