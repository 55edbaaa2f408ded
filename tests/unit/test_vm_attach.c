/* Unit tests for the devices' attach() errors (vmm/devices/virtio/{rng,blk,
 * vsock,fs}.c through vm_create): a bad --disk/--vsock/--share value is
 * refused with one line in vm_create's vmm_err that names the option and
 * the value, and the library prints nothing (issue 16: only the CLIs
 * print). Needs /dev/kvm, since the devices attach after the KVM VM exists
 * (skips with 77 otherwise). */
#include "smolvm/err.h"
#include "smolvm/vm.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* vm_create with one extra device (kind, arg) and no rng, with stderr sent
 * to a file to check that nothing was written there. Returns vm_create's
 * result; the VM, if one was built, is destroyed. */
static int create_with(const char *kind, const char *arg, struct vmm_err *err)
{
	struct vm_config cfg;
	vm_config_init(&cfg);
	cfg.serial = VM_SERIAL_NONE;
	cfg.mem_bytes = 16ull << 20;
	cfg.rng = false;
	ck_assert_int_eq(vm_config_add_device(&cfg, kind, arg), 0);

	char path[] = "/tmp/test_vm_attach.XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);

	struct vm *vm = NULL;
	memset(err, 0, sizeof(*err));
	int rc = vm_create(&cfg, &vm, err);

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	close(fd);
	ck_assert_msg(st.st_size == 0, "vm_create wrote %lld bytes to stderr",
		      (long long)st.st_size);
	vm_destroy(vm);
	return rc;
}

/* want_rc 0: any -errno. want_msg is the start of the line. */
static void refused(const char *kind, const char *arg, int want_rc, const char *want_msg)
{
	struct vmm_err err;
	int rc = create_with(kind, arg, &err);
	ck_assert_msg(want_rc ? rc == want_rc : rc < 0, "%s '%s': rc %d, want %d (%s)", kind,
		      arg ? arg : "(null)", rc, want_rc, err.msg);
	ck_assert_msg(!strncmp(err.msg, want_msg, strlen(want_msg)),
		      "%s '%s': message '%s', want '%s...'", kind, arg ? arg : "(null)", err.msg,
		      want_msg);
}

START_TEST(rng_takes_no_options)
{
	refused("rng", "x", -EINVAL, "virtio-rng takes no options (got 'x')");
}
END_TEST

START_TEST(disk_args)
{
	refused("blk", "", -EINVAL, "--disk needs PATH[,ro][,layer=LAYER]...");
	refused("blk", "a.img,bogus", -EINVAL,
		"--disk a.img,bogus: unknown option 'bogus' (want PATH[,ro][,layer=LAYER]...)");
	char many[512] = "a.img";
	for (int i = 0; i < 17; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), ",layer=l%d", i);
	char want[600];
	snprintf(want, sizeof(want), "--disk %s: more than 16 layers", many);
	refused("blk", many, -EINVAL, want);
	/* disk_open's own line, with the option in front */
	refused("blk", "/nonexistent/test_vm_attach.img", -ENOENT,
		"--disk /nonexistent/test_vm_attach.img: ");
}
END_TEST

START_TEST(vsock_args)
{
	refused("vsock", "3", -EINVAL, "--vsock '3': want CID,PATH (e.g. 3,/tmp/vm.vsock)");
	refused("vsock", "2,/tmp/x.sock", -EINVAL,
		"--vsock '2,/tmp/x.sock': CID must be 3..4294967294 (0-2 are reserved)");
	refused("vsock", "3,/nonexistent/test_vm_attach/v.sock", 0,
		"--vsock '3,/nonexistent/test_vm_attach/v.sock': cannot listen on "
		"/nonexistent/test_vm_attach/v.sock: ");
}
END_TEST

START_TEST(share_args)
{
	refused("fs", "nodir", -EINVAL,
		"--share 'nodir': want TAG=HOSTDIR[,ro] with a 1-36 byte TAG");
	refused("fs", "=/tmp", -EINVAL,
		"--share '=/tmp': want TAG=HOSTDIR[,ro] with a 1-36 byte TAG");
	refused("fs", "t=/nonexistent/test_vm_attach", 0,
		"--share 't=/nonexistent/test_vm_attach': share /nonexistent/test_vm_attach: ");
}
END_TEST

START_TEST(good_args_attach)
{
	struct vmm_err err;
	ck_assert_int_eq(create_with("rng", NULL, &err), 0);
	ck_assert_int_eq(create_with("fs", "t=/tmp,ro", &err), 0);
}
END_TEST

int main(void)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("SKIP: /dev/kvm is missing or not accessible\n");
		return 77;
	}
	Suite *s = suite_create("vm_attach");
	TCase *tc = tcase_create("attach");
	tcase_add_test(tc, rng_takes_no_options);
	tcase_add_test(tc, disk_args);
	tcase_add_test(tc, vsock_args);
	tcase_add_test(tc, share_args);
	tcase_add_test(tc, good_args_attach);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
