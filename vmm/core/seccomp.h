/* seccomp: the VMM's syscall allowlist (DESIGN.md, "Process model").
 *
 * A small classic-BPF builder over the kernel uapi headers (linux/seccomp.h,
 * linux/filter.h, linux/audit.h); libseccomp is not a dependency. The
 * program checks, in this order: the architecture is x86_64 (else the
 * process is killed), the syscall is not an x32 one (nr >= 0x40000000:
 * killed), the number is on the allowlist (allowed). Anything else gets the
 * default action. Only syscall numbers are checked, never arguments (so an
 * allowed ioctl or socket call is allowed with any argument);
 * docs/hardening.md says why and lists what is allowed. */
#ifndef SMOLVM_SECCOMP_H
#define SMOLVM_SECCOMP_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmm_err;

/* Room for the fixed head (4 instructions), one compare per allowed
 * syscall and the two returns. */
#define SECCOMP_MAX_ALLOW 240
#define SECCOMP_MAX_INSNS (SECCOMP_MAX_ALLOW + 8)

/* A built filter: plain data, no resources to release. */
struct seccomp_prog {
	struct sock_filter insns[SECCOMP_MAX_INSNS];
	unsigned short len;
};

/* Builds into *out a program that allows the n syscall numbers in allow[]
 * (borrowed; duplicates are fine) and returns default_action
 * (SECCOMP_RET_TRAP, SECCOMP_RET_KILL_PROCESS, ...) for every other x86_64
 * syscall. Returns -EINVAL when n is 0 or above SECCOMP_MAX_ALLOW or a
 * number is negative or in the x32 range. */
int seccomp_prog_build(struct seccomp_prog *out, const int *allow, size_t n,
		       uint32_t default_action);

/* Installs p on the calling process for all its threads
 * (SECCOMP_FILTER_FLAG_TSYNC). Needs no_new_privs (smolvm's main sets it).
 * Returns 0 or -errno; -ESRCH when another thread could not be synced. A
 * filter cannot be removed: call this only where the process will never
 * need another syscall. */
int seccomp_prog_install(const struct seccomp_prog *p);

/* Installs the SIGSYS handler that, for a syscall the filter traps, writes
 * "smolvm: seccomp: blocked syscall N ..." to stderr and ends the process
 * with status 3 (the "VM failed" status of run and restore). The one
 * place the library writes to stderr itself: the process is ending inside
 * a signal handler, where only raw write(2) is safe and there is no caller
 * left to return to. Returns 0 or -errno. */
int seccomp_trap_handler_install(void);

/* The VMM's allowlist: the syscalls a built VM (vCPU threads, the event
 * loop, every device, snapshots over the control socket, teardown) makes,
 * plus in sanitizer builds what the ASan/UBSan/LSan runtime needs. *n_out
 * gets the count; the array is static and read-only. */
const int *vmm_seccomp_allowlist(size_t *n_out);

/* Installs the SIGSYS handler and then the VMM filter (default action
 * SECCOMP_RET_TRAP; SECCOMP_RET_LOG when SMOLVM_SECCOMP_LOG is set to a
 * non-empty value other than "0") for the whole process. Call it once the
 * VM is built, right before vm_run(). Returns 0, or -errno with one line
 * in err (may be NULL; smolvm/err.h) saying what failed and how to go on
 * without the filter. */
int vmm_seccomp_install(struct vmm_err *err);

/* True when SMOLVM_NO_SECCOMP is set to a non-empty value other than "0":
 * the user asked for no filter. */
bool vmm_seccomp_env_disabled(void);

#endif
