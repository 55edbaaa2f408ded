/* seccomp: a classic-BPF allowlist builder and its installer (seccomp.h).
 * The VMM's list itself is in seccomp_allow.c. */
#include "core/seccomp.h"

#include "smolvm/err.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Syscall numbers with this bit set are the x32 ABI's, which enter through
 * the same x86_64 entry point and AUDIT_ARCH (Documentation/userspace-api/
 * seccomp_filter.rst, "Pitfalls"): refuse them outright. */
#define SECCOMP_X32_BIT 0x40000000u

#define LD_ABS(off)    ((struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off)))
#define RET(k)	       ((struct sock_filter)BPF_STMT(BPF_RET | BPF_K, (k)))
#define JEQ(k, jt, jf) ((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (jt), (jf)))
#define JGE(k, jt, jf) ((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (k), (jt), (jf)))

int seccomp_prog_build(struct seccomp_prog *out, const int *allow, size_t n,
		       uint32_t default_action)
{
	if (n == 0 || n > SECCOMP_MAX_ALLOW)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (allow[i] < 0 || (uint32_t)allow[i] >= SECCOMP_X32_BIT)
			return -EINVAL;
	struct sock_filter *f = out->insns;
	size_t k = 0;
	/* The architecture first: a syscall number means nothing without it. */
	f[k++] = LD_ABS(offsetof(struct seccomp_data, arch));
	f[k++] = JEQ(AUDIT_ARCH_X86_64, 1, 0);
	f[k++] = RET(SECCOMP_RET_KILL_PROCESS);
	f[k++] = LD_ABS(offsetof(struct seccomp_data, nr));
	f[k++] = JGE(SECCOMP_X32_BIT, 0, 1);
	f[k++] = RET(SECCOMP_RET_KILL_PROCESS);
	/* One compare per allowed number; a match jumps over the rest and
	 * the default return to the ALLOW at the end (n - i <= 240 fits the
	 * 8-bit jump offset). */
	for (size_t i = 0; i < n; i++)
		f[k++] = JEQ((uint32_t)allow[i], (uint8_t)(n - i), 0);
	f[k++] = RET(default_action);
	f[k++] = RET(SECCOMP_RET_ALLOW);
	out->len = (unsigned short)k;
	return 0;
}

int seccomp_prog_install(const struct seccomp_prog *p)
{
	struct sock_fprog fp = {.len = p->len, .filter = (struct sock_filter *)p->insns};
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fp);
	if (r < 0)
		return -errno;
	/* With TSYNC a positive result is the id of a thread that could not
	 * be synced; the filter was not installed. */
	return r > 0 ? -ESRCH : 0;
}

/* Formats v in decimal at the end of buf[0..len) and returns where it
 * starts: async-signal-safe, unlike snprintf. */
static char *fmt_uint(char *buf, size_t len, unsigned long v)
{
	char *p = buf + len;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v && p > buf);
	return p;
}

/* SIGSYS from SECCOMP_RET_TRAP: one line naming the syscall, then the
 * "VM failed" status. Raw write and exit_group, both allowed: the libc
 * wrappers may be intercepted (ASan's _exit calls sigaltstack). */
static void seccomp_sigsys(int sig, siginfo_t *si, void *uctx)
{
	(void)sig;
	(void)uctx;
	static const char head[] = "smolvm: seccomp: blocked syscall ";
	static const char tail[] = " (see docs/hardening.md; --no-seccomp or SMOLVM_NO_SECCOMP=1 "
				   "turns the filter off to debug)\n";
	char num[24];
	char *p = fmt_uint(num, sizeof(num), (unsigned long)(unsigned)si->si_syscall);
	syscall(SYS_write, STDERR_FILENO, head, sizeof(head) - 1);
	syscall(SYS_write, STDERR_FILENO, p, (size_t)(num + sizeof(num) - p));
	syscall(SYS_write, STDERR_FILENO, tail, sizeof(tail) - 1);
	syscall(SYS_exit_group, 3);
}

int seccomp_trap_handler_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = seccomp_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL) < 0 ? -errno : 0;
}

bool vmm_seccomp_env_disabled(void)
{
	const char *v = getenv("SMOLVM_NO_SECCOMP");
	return v && *v && strcmp(v, "0") != 0;
}

int vmm_seccomp_install(struct vmm_err *e)
{
	struct seccomp_prog *p = malloc(sizeof(*p));
	if (!p)
		return vmm_errf(e, -ENOMEM, "out of memory for the seccomp filter");
	size_t n;
	const int *allow = vmm_seccomp_allowlist(&n);
	/* SMOLVM_SECCOMP_LOG=1: audit-log what would be trapped and go on
	 * (SECCOMP_RET_LOG), to refresh the list (docs/hardening.md). */
	const char *log = getenv("SMOLVM_SECCOMP_LOG");
	uint32_t action = log && *log && strcmp(log, "0") != 0 ? SECCOMP_RET_LOG : SECCOMP_RET_TRAP;
	int err = seccomp_prog_build(p, allow, n, action);
	if (!err)
		err = seccomp_trap_handler_install();
	if (!err)
		err = seccomp_prog_install(p);
	free(p);
	if (err)
		vmm_errf(e, err,
			 "cannot install the seccomp filter: %s (run with --no-seccomp to go "
			 "without it)",
			 strerror(-err));
	return err;
}
