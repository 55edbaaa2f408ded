/* Unit tests for the seccomp filter builder and installer
 * (vmm/core/seccomp.c) and the VMM allowlist (seccomp_allow.c). The
 * behaviour tests install real filters, each in a forked child, and check
 * how the child ends. */
#include "core/seccomp.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The few syscalls a child needs to report and leave. */
static const int base_allow[] = {SYS_read, SYS_write,  SYS_exit_group,
				 SYS_exit, SYS_getpid, SYS_rt_sigreturn};
#define NBASE (sizeof(base_allow) / sizeof(base_allow[0]))

START_TEST(test_structure)
{
	const int allow[] = {SYS_read, SYS_write, SYS_getpid};
	struct seccomp_prog p;
	ck_assert_int_eq(seccomp_prog_build(&p, allow, 3, SECCOMP_RET_KILL_PROCESS), 0);
	ck_assert_int_eq(p.len, 6 + 3 + 2);
	/* Arch first, killing on a mismatch. */
	ck_assert_uint_eq(p.insns[0].code, BPF_LD | BPF_W | BPF_ABS);
	ck_assert_uint_eq(p.insns[0].k, offsetof(struct seccomp_data, arch));
	ck_assert_uint_eq(p.insns[1].code, BPF_JMP | BPF_JEQ | BPF_K);
	ck_assert_uint_eq(p.insns[1].k, AUDIT_ARCH_X86_64);
	ck_assert_uint_eq(p.insns[1].jt, 1);
	ck_assert_uint_eq(p.insns[2].code, BPF_RET | BPF_K);
	ck_assert_uint_eq(p.insns[2].k, SECCOMP_RET_KILL_PROCESS);
	/* Then x32 numbers are killed. */
	ck_assert_uint_eq(p.insns[3].k, offsetof(struct seccomp_data, nr));
	ck_assert_uint_eq(p.insns[4].code, BPF_JMP | BPF_JGE | BPF_K);
	ck_assert_uint_eq(p.insns[4].k, 0x40000000u);
	ck_assert_uint_eq(p.insns[5].k, SECCOMP_RET_KILL_PROCESS);
	/* Every compare's match lands on the final ALLOW. */
	for (unsigned i = 0; i < 3; i++) {
		const struct sock_filter *f = &p.insns[6 + i];
		ck_assert_uint_eq(f->k, (unsigned)allow[i]);
		ck_assert_uint_eq(6 + i + 1 + f->jt, p.len - 1u);
		ck_assert_uint_eq(f->jf, 0);
	}
	ck_assert_uint_eq(p.insns[p.len - 2].k, SECCOMP_RET_KILL_PROCESS);
	ck_assert_uint_eq(p.insns[p.len - 1].k, SECCOMP_RET_ALLOW);
}
END_TEST

START_TEST(test_build_rejects)
{
	struct seccomp_prog p;
	int big[SECCOMP_MAX_ALLOW + 1];
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		big[i] = SYS_read;
	ck_assert_int_eq(seccomp_prog_build(&p, big, 0, SECCOMP_RET_TRAP), -EINVAL);
	ck_assert_int_eq(seccomp_prog_build(&p, big, SECCOMP_MAX_ALLOW + 1, SECCOMP_RET_TRAP),
			 -EINVAL);
	/* The largest list still fits the 8-bit jump offsets. */
	ck_assert_int_eq(seccomp_prog_build(&p, big, SECCOMP_MAX_ALLOW, SECCOMP_RET_TRAP), 0);
	ck_assert_uint_eq(p.insns[6].jt, SECCOMP_MAX_ALLOW);
	const int neg[] = {SYS_read, -1};
	ck_assert_int_eq(seccomp_prog_build(&p, neg, 2, SECCOMP_RET_TRAP), -EINVAL);
	const int x32[] = {SYS_read, 0x40000000 | SYS_read};
	ck_assert_int_eq(seccomp_prog_build(&p, x32, 2, SECCOMP_RET_TRAP), -EINVAL);
}
END_TEST

START_TEST(test_vmm_allowlist)
{
	size_t n;
	const int *a = vmm_seccomp_allowlist(&n);
	ck_assert_uint_gt(n, 20);
	ck_assert_uint_le(n, SECCOMP_MAX_ALLOW);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			ck_assert_msg(a[i] != a[j], "syscall %d listed twice", a[i]);
	/* What a VMM needs, and what it must never get in any build. */
	const int need[] = {SYS_ioctl, SYS_futex,      SYS_epoll_wait,
			    SYS_write, SYS_exit_group, SYS_tgkill};
	const int never[] = {SYS_execveat,	   SYS_mount,	SYS_setuid,
			     SYS_init_module,	   SYS_bpf,	SYS_process_vm_writev,
			     SYS_kexec_load,	   SYS_seccomp, SYS_unshare,
			     SYS_open_by_handle_at};
	for (size_t k = 0; k < sizeof(need) / sizeof(need[0]); k++) {
		bool found = false;
		for (size_t i = 0; i < n; i++)
			found |= a[i] == need[k];
		ck_assert_msg(found, "syscall %d missing", need[k]);
	}
	for (size_t k = 0; k < sizeof(never) / sizeof(never[0]); k++)
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(a[i] != never[k], "syscall %d allowed", never[k]);
	struct seccomp_prog p;
	ck_assert_int_eq(seccomp_prog_build(&p, a, n, SECCOMP_RET_TRAP), 0);
}
END_TEST

/* Child side: installs a filter of base_allow with the default action
 * action (and the SIGSYS handler when trap_handler); _exits 10-13 when
 * that fails. */
static void child_install(uint32_t action, bool trap_handler)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		_exit(10);
	if (trap_handler && seccomp_trap_handler_install())
		_exit(11);
	struct seccomp_prog p;
	if (seccomp_prog_build(&p, base_allow, NBASE, action))
		_exit(12);
	if (seccomp_prog_install(&p))
		_exit(13);
}

/* Forks a child that runs fn with stderr on a pipe; returns its wait
 * status and what it wrote to stderr in err. */
static int run_child(void (*fn)(void), char *err, size_t errlen)
{
	int pfd[2];
	ck_assert_int_eq(pipe(pfd), 0);
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(pfd[0]);
		if (dup2(pfd[1], STDERR_FILENO) < 0)
			_exit(14);
		fn();
		_exit(0);
	}
	close(pfd[1]);
	size_t got = 0;
	ssize_t r;
	while (got + 1 < errlen && (r = read(pfd[0], err + got, errlen - 1 - got)) > 0)
		got += (size_t)r;
	err[got] = '\0';
	close(pfd[0]);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return st;
}

static void allowed_then_forbidden_trap(void)
{
	child_install(SECCOMP_RET_TRAP, true);
	if (syscall(SYS_getpid) <= 0) /* allowed: returns */
		_exit(20);
	syscall(SYS_getppid); /* not listed: the handler exits 3 */
	_exit(21);
}

START_TEST(test_trap_names_syscall)
{
	char err[512];
	int st = run_child(allowed_then_forbidden_trap, err, sizeof(err));
	ck_assert_msg(WIFEXITED(st), "child not exited: status 0x%x", st);
	ck_assert_int_eq(WEXITSTATUS(st), 3);
	char want[64];
	snprintf(want, sizeof(want), "smolvm: seccomp: blocked syscall %d ", SYS_getppid);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "stderr: %s", err);
	ck_assert_ptr_nonnull(strstr(err, "--no-seccomp"));
	ck_assert_ptr_eq(strchr(err, '\n'), err + strlen(err) - 1); /* one line */
}
END_TEST

static void forbidden_kill(void)
{
	child_install(SECCOMP_RET_KILL_PROCESS, false);
	syscall(SYS_getppid);
	_exit(21);
}

START_TEST(test_kill_default)
{
	char err[64];
	int st = run_child(forbidden_kill, err, sizeof(err));
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "status 0x%x", st);
}
END_TEST

static void x32_call(void)
{
	child_install(SECCOMP_RET_TRAP, true);
	/* getpid is allowed, but not through the x32 ABI: killed, not
	 * trapped. */
	syscall(0x40000000 | SYS_getpid);
	_exit(21);
}

START_TEST(test_x32_killed)
{
	char err[256];
	int st = run_child(x32_call, err, sizeof(err));
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "status 0x%x, stderr %s", st, err);
	ck_assert_str_eq(err, "");
}
END_TEST

static void *late_thread(void *arg)
{
	const int *fds = arg; /* go-pipe read end, ready-pipe write end */
	char c = 'r';
	/* Tell the main thread we are past thread start-up (whose
	 * rt_sigprocmask the test filter does not allow), then wait. */
	if (write(fds[1], &c, 1) != 1 || read(fds[0], &c, 1) != 1)
		_exit(16);
	syscall(SYS_getppid); /* trapped if TSYNC covered this thread */
	_exit(22);
}

/* A thread that exists before the filter goes in is covered too
 * (SECCOMP_FILTER_FLAG_TSYNC): it waits on a pipe that the main thread
 * writes after installing, then makes a forbidden syscall. */
static void tsync_child(void)
{
	static int go[2], ready[2], fds[2];
	char c;
	if (pipe(go) || pipe(ready))
		_exit(15);
	fds[0] = go[0];
	fds[1] = ready[1];
	pthread_t t;
	if (pthread_create(&t, NULL, late_thread, fds) || read(ready[0], &c, 1) != 1)
		_exit(15);
	child_install(SECCOMP_RET_TRAP, true);
	if (write(go[1], "x", 1) != 1)
		_exit(17);
	/* Leave only the main thread: the process ends with the other's
	 * status, 3 from the handler or 22 without TSYNC. */
	syscall(SYS_exit, 0);
}

START_TEST(test_tsync_covers_threads)
{
	char err[512];
	int st = run_child(tsync_child, err, sizeof(err));
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 3, "status 0x%x, stderr %s", st, err);
	char want[64];
	snprintf(want, sizeof(want), "smolvm: seccomp: blocked syscall %d ", SYS_getppid);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "stderr: %s", err);
}
END_TEST

static Suite *seccomp_suite(void)
{
	Suite *s = suite_create("seccomp");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_structure);
	tcase_add_test(tc, test_build_rejects);
	tcase_add_test(tc, test_vmm_allowlist);
	tcase_add_test(tc, test_trap_names_syscall);
	tcase_add_test(tc, test_kill_default);
	tcase_add_test(tc, test_x32_killed);
	tcase_add_test(tc, test_tsync_covers_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return smol_check_run(seccomp_suite());
}
