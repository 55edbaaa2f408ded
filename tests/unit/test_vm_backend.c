/* The vm backend's host-side logic (runner/backend/vm_backend.h): backend
 * selection, the kernel package lookup, the one-line refusals of bad
 * input (each naming the field or file), and the description of a dead
 * VM from its console. Nothing here needs /dev/kvm: the VM runs in the
 * kvm tier (tests/integration/runner_vm/). */
#include "backend/backend.h"
#include "backend/vm_backend.h"
#include "suite/suite.h"
#include "util.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[256];

static void setup_tmp(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/test_vm_backend.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void teardown_tmp(void)
{
	util_rm_rf(tmp);
}

static void touch(const char *dir, const char *name, const char *text)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ck_assert_int_eq(util_write_file_atomic(p, text, strlen(text), 0644), 0);
}

static void base_suite(struct suite *s)
{
	memset(s, 0, sizeof(*s));
	s->file = "suite.yaml";
	s->vm.cpus = 1;
	s->vm.memory = 512ull << 20;
}

START_TEST(kernel_deb_newest_cloud)
{
	char out[512];
	ck_assert_int_eq(vm_backend_find_kernel_deb(tmp, out, sizeof(out)), -ENOENT);
	ck_assert_int_eq(vm_backend_find_kernel_deb(NULL, out, sizeof(out)), -ENOENT);
	touch(tmp, "linux-image-6.1.0-9-cloud-amd64_6.1.27-1_amd64.deb", "a");
	touch(tmp, "linux-image-6.1.0-57-cloud-amd64_6.1.158-1_amd64.deb", "b");
	touch(tmp, "linux-image-6.1.0-99-amd64_6.1.200-1_amd64.deb", "generic: not ours");
	touch(tmp, "linux-image-6.1.0-60-cloud-amd64_6.1.160-1_amd64.deb.partial", "no");
	ck_assert_int_eq(vm_backend_find_kernel_deb(tmp, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "linux-image-6.1.0-57-cloud-amd64_6.1.158-1_amd64.deb"));
}
END_TEST

START_TEST(image_available_says_what_to_run)
{
	struct suite s;
	base_suite(&s);
	struct backend_opts o = {.kernel_cache_dir = tmp};
	char why[400];
	ck_assert(!vm_image_available(&s, &o, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "run ci/fetch-kernel"));
	ck_assert_ptr_nonnull(strstr(why, tmp));
	ck_assert_ptr_null(strchr(why, '\n'));
	s.vm.kernel = "/boot/vmlinuz-x";
	ck_assert(vm_image_available(&s, &o, why, sizeof(why)));
	s.vm.kernel = NULL;
	touch(tmp, "linux-image-6.1.0-57-cloud-amd64_6.1.158-1_amd64.deb", "b");
	ck_assert(vm_image_available(&s, &o, why, sizeof(why)));
}
END_TEST

/* backend_create for vm refuses bad input before it looks at KVM, so
 * these hold on any host. */
static int create(struct suite *s, const char *kdir, const char *smolvm, char *err, size_t len)
{
	struct backend_opts o = {.agent_path = "/nonexistent-agent",
				 .run_dir = tmp,
				 .smolvm_path = smolvm,
				 .cache_dir = tmp,
				 .kernel_cache_dir = kdir};
	struct backend *b = NULL;
	int rc = backend_create(SUITE_BACKEND_VM, s, &o, &b, err, len);
	if (rc)
		ck_assert_ptr_null(b);
	backend_destroy(b);
	return rc;
}

START_TEST(bad_input_named)
{
	struct suite s;
	char err[BACKEND_ERR_MAX];
	base_suite(&s);
	s.vm.memory = 64ull << 20;
	ck_assert_int_eq(create(&s, tmp, "/bin/true", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "vm.memory 64M is too small"));
	ck_assert_ptr_nonnull(strstr(err, "suite.yaml"));

	base_suite(&s);
	ck_assert_int_eq(create(&s, tmp, "/bin/true", err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "run ci/fetch-kernel"));

	base_suite(&s);
	ck_assert_int_eq(create(&s, tmp, NULL, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "smolvm"));

	base_suite(&s);
	s.vm.kernel = "/nonexistent/vmlinuz";
	s.vm.initrd = "/nonexistent/initrd";
	ck_assert_int_eq(create(&s, tmp, "/bin/true", err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "vm.kernel /nonexistent/vmlinuz"));

	base_suite(&s);
	s.vm.kernel = "/bin/true";
	ck_assert_int_eq(create(&s, tmp, "/bin/true", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "vm.kernel is given without vm.initrd"));

	base_suite(&s);
	struct suite_share sh = {
	    .host = "/nonexistent/share", .guest = "/x", .readonly = true, .line = 7};
	s.shares = &sh;
	s.n_shares = 1;
	ck_assert_int_eq(create(&s, tmp, "/bin/true", err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(
	    strstr(err, "suite.yaml:7: shares: host directory /nonexistent/share"));

	base_suite(&s);
	s.vm.rootfs = "/nonexistent/x.ext4";
	ck_assert_int_eq(create(&s, tmp, "/bin/true", err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "suite.yaml: vm.rootfs /nonexistent/x.ext4: No such"));
}
END_TEST

/* Writes a file of 4 KiB with magic at off (NULL: zeros). */
static void image_file(const char *path, const void *magic, size_t mlen, off_t off)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 4096), 0);
	if (magic)
		ck_assert_int_eq(pwrite(fd, magic, mlen, off), (ssize_t)mlen);
	close(fd);
}

START_TEST(rootfs_checked)
{
	struct suite s;
	char path[PATH_MAX], type[8], err[512], p[600], real[PATH_MAX];
	base_suite(&s);
	s.dir = tmp;
	ck_assert_ptr_nonnull(realpath(tmp, real));

	/* relative to the suite's directory; the type from the magic */
	snprintf(p, sizeof(p), "%s/r.ext4", tmp);
	image_file(p, "\x53\xef", 2, 1080);
	s.vm.rootfs = "r.ext4";
	ck_assert_int_eq(vm_backend_rootfs_resolve(&s, path, sizeof(path), type, sizeof(type), err,
						   sizeof(err)),
			 0);
	ck_assert_str_eq(type, "ext4");
	ck_assert_ptr_nonnull(strstr(path, real));
	ck_assert_int_eq(path[0], '/');

	snprintf(p, sizeof(p), "%s/r.erofs", tmp);
	image_file(p, "\xe2\xe1\xf5\xe0", 4, 1024);
	s.vm.rootfs = p;
	ck_assert_int_eq(vm_backend_rootfs_resolve(&s, path, sizeof(path), type, sizeof(type), err,
						   sizeof(err)),
			 0);
	ck_assert_str_eq(type, "erofs");

	/* neither magic, a short file, a directory, a comma */
	image_file(p, NULL, 0, 0);
	ck_assert_int_eq(vm_backend_rootfs_resolve(&s, path, sizeof(path), type, sizeof(type), err,
						   sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "is neither an ext4 nor an erofs image"));
	snprintf(p, sizeof(p), "%s/short", tmp);
	ck_assert_int_eq(util_write_file_atomic(p, "\x53\xef", 2, 0644), 0);
	ck_assert_int_eq(vm_backend_rootfs_resolve(&s, path, sizeof(path), type, sizeof(type), err,
						   sizeof(err)),
			 -EINVAL);
	s.vm.rootfs = tmp;
	ck_assert_int_eq(vm_backend_rootfs_resolve(&s, path, sizeof(path), type, sizeof(type), err,
						   sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "is not a regular file"));
	snprintf(p, sizeof(p), "%s/a,b.ext4", tmp);
	image_file(p, "\x53\xef", 2, 1080);
	s.vm.rootfs = p;
	ck_assert_int_eq(vm_backend_rootfs_resolve(&s, path, sizeof(path), type, sizeof(type), err,
						   sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "contains ',' or '='"));
	/* the path must fit the caller's buffer */
	snprintf(p, sizeof(p), "%s/r.ext4", tmp);
	s.vm.rootfs = p;
	ck_assert_int_eq(
	    vm_backend_rootfs_resolve(&s, path, 4, type, sizeof(type), err, sizeof(err)),
	    -ENAMETOOLONG);
}
END_TEST

START_TEST(detect)
{
	struct suite s;
	base_suite(&s);
	struct backend_opts o = {.kernel_cache_dir = tmp, .smolvm_path = "/bin/true"};
	enum suite_backend k;
	char note[512], why[400];
	backend_detect(SUITE_BACKEND_VM, &s, &o, &k, note, sizeof(note));
	ck_assert_int_eq(k, SUITE_BACKEND_VM);
	ck_assert_str_eq(note, "");
	backend_detect(SUITE_BACKEND_SANDBOX, &s, &o, &k, note, sizeof(note));
	ck_assert_int_eq(k, SUITE_BACKEND_SANDBOX);
	backend_detect(SUITE_BACKEND_AUTO, &s, &o, &k, note, sizeof(note));
	if (!backend_kvm_usable(why, sizeof(why))) {
		ck_assert_int_eq(k, SUITE_BACKEND_SANDBOX);
		ck_assert_ptr_nonnull(strstr(note, "backend auto: using the sandbox backend"));
		ck_assert_ptr_nonnull(strstr(note, why));
	} else {
		/* no kernel package in tmp: the sandbox, saying what to run */
		ck_assert_int_eq(k, SUITE_BACKEND_SANDBOX);
		ck_assert_ptr_nonnull(strstr(note, "ci/fetch-kernel"));
		touch(tmp, "linux-image-6.1.0-57-cloud-amd64_6.1.158-1_amd64.deb", "b");
		backend_detect(SUITE_BACKEND_AUTO, &s, &o, &k, note, sizeof(note));
		ck_assert_int_eq(k, SUITE_BACKEND_VM);
		ck_assert_str_eq(note, "");
	}
	ck_assert_ptr_null(strchr(note, '\n'));
}
END_TEST

START_TEST(describe_dead_vm)
{
	char buf[1024];
	touch(tmp, "console.log",
	      "[    0.1] booting\n[    1.0] Kernel panic - not syncing: VFS: Unable to mount "
	      "root fs\n[    1.1] CPU: 0 PID: 1\n[    1.2] ---[ end Kernel panic ]---\n\n");
	touch(tmp, "vmm.log", "smolvm: something\nsmolvm: guest reset\n");
	vm_backend_describe(tmp, 0, true, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "the guest kernel panicked"));
	ck_assert_ptr_nonnull(strstr(buf, "smolvm exited with status 0"));
	ck_assert_ptr_nonnull(strstr(buf, "smolvm: smolvm: guest reset"));
	ck_assert_ptr_nonnull(strstr(buf, "Unable to mount root fs | [    1.1] CPU: 0"));
	ck_assert_ptr_null(strstr(buf, "booting"));
	ck_assert_ptr_null(strchr(buf, '\n'));
	/* killed, no console */
	char sub[300];
	snprintf(sub, sizeof(sub), "%s/none", tmp);
	mkdir(sub, 0700);
	vm_backend_describe(sub, SIGKILL, true, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "killed by signal 9"));
	ck_assert_ptr_nonnull(strstr(buf, "no console output"));
	/* a tiny buffer is cut, never overrun */
	char small[16];
	vm_backend_describe(tmp, 0, true, small, sizeof(small));
	ck_assert_uint_lt(strlen(small), sizeof(small));
}
END_TEST

START_TEST(spawn_and_wait)
{
	char log[300];
	snprintf(log, sizeof(log), "%s/spawn.log", tmp);
	/* the ready pipe's write end is the child's VMB_READY_FD */
	const char *argv[] = {"/bin/sh", "-c",
			      "echo out; echo err >&2; echo ready >&" VMB_READY_FD_STR "; exit 7",
			      NULL};
	pid_t pid;
	char err[200];
	int ready[2];
	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	ck_assert_int_eq(vm_backend_spawn(NULL, argv, log, ready[1], &pid, err, sizeof(err)), 0);
	close(ready[1]);
	char said[16] = "";
	ck_assert_int_eq(read(ready[0], said, sizeof(said) - 1), 6);
	ck_assert_str_eq(said, "ready\n");
	ck_assert_int_eq(read(ready[0], said, sizeof(said)), 0); /* no other copy left open */
	close(ready[0]);
	int st;
	ck_assert_int_eq(vm_backend_wait(pid, -1, 0, &st), 0);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 7);
	char *text = NULL;
	ck_assert_int_eq(util_read_file(log, 4096, &text, NULL), 0);
	ck_assert_str_eq(text, "out\nerr\n");
	free(text);
	/* a control socket that is not there */
	char sock[300];
	snprintf(sock, sizeof(sock), "%s/none.sock", tmp);
	ck_assert_int_lt(vm_backend_control(sock, "snapshot /x", 100, NULL, 0, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "control socket"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vm_backend");
	TCase *tc = tcase_create("vm_backend");
	tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
	tcase_add_test(tc, kernel_deb_newest_cloud);
	tcase_add_test(tc, image_available_says_what_to_run);
	tcase_add_test(tc, bad_input_named);
	tcase_add_test(tc, rootfs_checked);
	tcase_add_test(tc, detect);
	tcase_add_test(tc, describe_dead_vm);
	tcase_add_test(tc, spawn_and_wait);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
