/* Unit tests for vm_create's errors that come before KVM is touched
 * (vmm/core/vm.c): a bad config is refused with -EINVAL and one line in the
 * vmm_err that names the value and the valid range, nothing is printed, and
 * a NULL err is allowed. Host tier: no /dev/kvm needed. */
#include "smolvm/err.h"
#include "smolvm/vm.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <string.h>

static int create(struct vm_config *cfg, struct vmm_err *err)
{
	struct vm *vm = NULL;
	int rc = vm_create(cfg, &vm, err);
	ck_assert_ptr_null(vm);
	return rc;
}

START_TEST(bad_config)
{
	struct vm_config cfg;
	struct vmm_err err;

	vm_config_init(&cfg);
	cfg.ncpus = 0;
	ck_assert_int_eq(create(&cfg, &err), -EINVAL);
	ck_assert_msg(strstr(err.msg, "0 vCPUs: choose 1 to"), "message: %s", err.msg);
	ck_assert_int_eq(create(&cfg, NULL), -EINVAL);

	vm_config_init(&cfg);
	cfg.ncpus = VM_MAX_VCPUS + 1;
	ck_assert_int_eq(create(&cfg, &err), -EINVAL);
	ck_assert_msg(strstr(err.msg, "vCPUs: choose 1 to"), "message: %s", err.msg);

	vm_config_init(&cfg);
	cfg.mem_bytes = (16ull << 20) - 4096;
	ck_assert_int_eq(create(&cfg, &err), -EINVAL);
	ck_assert_msg(strstr(err.msg, "16773120 bytes of memory: choose 16 MiB to"), "message: %s",
		      err.msg);

	vm_config_init(&cfg);
	cfg.mem_bytes = (64ull << 20) + 1;
	ck_assert_int_eq(create(&cfg, &err), -EINVAL);
	ck_assert_msg(strstr(err.msg, "in whole pages"), "message: %s", err.msg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vm");
	TCase *tc = tcase_create("create");
	tcase_add_test(tc, bad_config);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
