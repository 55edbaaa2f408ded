/* The inside of struct vm, shared by the core's files (vm.c, vcpu.c) and
 * the arch loader. Nothing outside vmm/core and vmm/arch includes this. */
#ifndef SMOL_VM_INTERNAL_H
#define SMOL_VM_INTERNAL_H

#include "arch/x86_64/layout.h"
#include "core/iobus.h"
#include "smolvm/err.h"
#include "smolvm/vm.h"

#include <pthread.h>
#include <stdbool.h>

struct serial;
struct i8042;
struct debugexit;

struct vcpu {
	struct vm *vm;
	unsigned idx;
	int fd;
	struct kvm_run *run; /* mmap'd, run_size bytes */
	int stats_fd;	     /* KVM_GET_STATS_FD (vm_stats.h), -1 until opened */
	pthread_t thread;
	bool started;
};

#define VM_DEFER_MAX 64

struct vm {
	struct vm_config cfg; /* copy; strings borrowed from the caller */
	int kvm_fd, vm_fd;
	size_t run_size;
	struct gmem *mem;
	struct evloop *el;
	struct iobus pio, mmio;
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID */
	unsigned ncpus;
	struct vcpu vcpus[VM_MAX_VCPUS];

	struct serial *serial;
	int serial_fd; /* owned when serial_fd_owned */
	bool serial_fd_owned;
	struct i8042 *kbd;
	struct debugexit *dbg;
	struct acpi_sleep *sleep;
	unsigned nvirtio;
	struct vmmio *virtio[X86_VIRTIO_MAX];
	bool kernel_loaded;
	/* Why the device being attached failed (vm_attach_err): filled by
	 * vm_add_virtio or by the device's attach(), reported by vm_create. */
	struct vmm_err attach_err;

	/* Run control; lock guards everything below. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool running;	  /* vCPU threads started */
	bool pause_req;	  /* vCPUs should park */
	bool stop;	  /* vCPUs should exit */
	unsigned nactive; /* vCPU threads still looping */
	unsigned nparked; /* of those, parked */
	bool exit_set;
	struct vm_exit exit;
	uint64_t first_exit_ns; /* CLOCK_MONOTONIC of the first vCPU exit */

	int defer_fd; /* eventfd on the loop */
	unsigned ndefer;
	struct {
		void (*fn)(void *);
		void *opaque;
	} defer[VM_DEFER_MAX];
};

/* vcpu.c */
/* Creates vCPU idx with its CPUID, MSRs and FPU state; -errno with one
 * line in err (may be NULL). */
int vcpu_init(struct vm *vm, unsigned idx, struct vmm_err *err);
void vcpu_fini(struct vcpu *v);
int vcpu_start(struct vcpu *v);
/* Makes every vCPU leave KVM_RUN soon (immediate_exit + signal). Lock held. */
void vcpus_kick(struct vm *vm);
/* Installs the no-op handler of the kick signal (process-wide, idempotent). */
int vcpu_signal_setup(void);

#endif
