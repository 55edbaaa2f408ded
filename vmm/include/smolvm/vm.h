/* libsmolvm: one KVM virtual machine.
 *
 * Life of a VM (the order is fixed and written out in vm_create):
 *
 *   struct vm_config cfg; vm_config_init(&cfg); ...fill...;
 *   vm_create(&cfg, &vm);        KVM VM, guest RAM (memfd), irqchip, PIT,
 *                                vCPUs, serial, i8042, debug-exit, and the
 *                                virtio devices in cfg.devices
 *   vm_load_kernel(vm);          kernel + initrd + cmdline + ACPI + boot
 *                                params + BSP registers (a snapshot restore
 *                                sets state instead: see "State" below)
 *   vm_run(vm, &exit);           vCPU threads + event loop until the guest
 *                                exits, resets, faults, or vm_stop()
 *   vm_destroy(vm);
 *
 * Threads: vm_run's caller runs the event loop (evloop.h); each vCPU has
 * its own thread doing KVM_RUN. Devices register fds on vm_evloop(vm). */
#ifndef SMOLVM_VM_H
#define SMOLVM_VM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smolvm/err.h"

struct vm;
struct gmem;
struct evloop;
struct iobus;
struct vmmio;
struct serial;
struct virtio_device_ops;

enum vm_serial_mode {
	VM_SERIAL_STDIO, /* guest console on stdout, stdin fed to the guest */
	VM_SERIAL_FILE,	 /* console appended to serial_path */
	VM_SERIAL_NONE,	 /* UART present, output discarded */
};

/* An extra device from the command line (--disk, --vsock, --share...).
 * kind names a row of vmm/devices/devices.def; arg is the option's text,
 * parsed by that device's create function. Both borrowed. */
struct vm_device_spec {
	const char *kind;
	const char *arg;
};

#define VM_MAX_DEVICES 16
#define VM_MAX_VCPUS   64
#define VM_DEFAULT_MEM (256ull << 20)

/* Kernel parameters a Linux guest wants with these devices: reboot through
 * the i8042 (ends the VM), a panic ends the VM, one UART. Callers add
 * console= and their own; docs/devices.md "Kernel command line for a
 * microVM" says why each, and why pci=off, i8042.* and tsc= are not here. */
#define SMOLVM_CMDLINE_MICROVM "reboot=k panic=-1 8250.nr_uarts=1"

/* Every pointer in vm_config is borrowed and must outlive the vm. */
struct vm_config {
	const char *kernel_path; /* bzImage or ELF64 */
	const char *initrd_path; /* NULL: none */
	const char *cmdline;	 /* NULL: "" */
	uint64_t mem_bytes;	 /* guest RAM, multiple of 4 KiB */
	unsigned ncpus;		 /* 1..VM_MAX_VCPUS */
	enum vm_serial_mode serial;
	const char *serial_path; /* VM_SERIAL_FILE only */
	bool rng;		 /* attach virtio-rng (default on) */

	unsigned ndevices;
	struct vm_device_spec devices[VM_MAX_DEVICES];

	/* Snapshot/restore (vmm/snapshot/, consumed there; the core only
	 * carries them). */
	const char *control_path;	    /* control socket; NULL: none */
	const char *snapshot_on_checkpoint; /* write a snapshot here when the guest checkpoints */
	bool exit_after_snapshot;	    /* end the VM after that snapshot */
	const char *restore_path;	    /* restore from this .smolsnap instead of booting */

	/* Where devices report what happens while the guest runs (a driver
	 * that broke a queue, ...): smolvm/err.h. Zero: dropped. */
	struct vmm_log log;
};

/* Defaults: 256 MiB, 1 vCPU, serial on stdio, rng on, no devices. */
void vm_config_init(struct vm_config *cfg);

/* Appends a device spec (both strings borrowed). -ENOSPC when full. */
int vm_config_add_device(struct vm_config *cfg, const char *kind, const char *arg);

/* How a VM ended. */
enum vm_exit_kind {
	VM_EXIT_NONE = 0,
	VM_EXIT_DEBUG_PORT, /* guest wrote status to port 0x501 */
	VM_EXIT_RESET,	    /* i8042 reset, ACPI reset register or S5: clean, status 0 */
	VM_EXIT_SHUTDOWN,   /* KVM_EXIT_SHUTDOWN: triple fault */
	VM_EXIT_ERROR,	    /* KVM error, internal error, unhandled exit */
	VM_EXIT_STOPPED,    /* vm_stop() from the host side */
};

/* Errors while the guest runs have no caller to return to: they end the
 * VM, and the reason is the run's result, which the CLI prints. Long
 * enough for a failed checkpoint snapshot's whole vmm_err line. */
#define VM_EXIT_REASON_MAX 512

struct vm_exit {
	enum vm_exit_kind kind;
	int status;			 /* process exit status for smolvm run */
	char reason[VM_EXIT_REASON_MAX]; /* one line, for errors */
};

/* Builds the VM described by cfg (see the order above). On failure returns
 * -errno with one line in err (which may be NULL; smolvm/err.h) naming the
 * step that failed, on what, and what to do; nothing is left behind and
 * nothing is printed. -EINVAL means the config is wrong (the user's to
 * fix). A device that does not attach leaves its own line (naming the
 * option and the value) in err (devices/registry.h). */
int vm_create(const struct vm_config *cfg, struct vm **out, struct vmm_err *err);

/* Loads the kernel (and initrd) named by the config, builds the ACPI tables
 * and the boot parameters for the devices attached so far, and sets the
 * boot vCPU's registers for the 64-bit entry. A malformed image is rejected
 * before guest memory is touched. Returns 0, or -errno with one line in err
 * (which may be NULL) naming the file and what is wrong with it; -EINVAL,
 * -E2BIG, -ENOENT and -EFBIG are the user's to fix. */
int vm_load_kernel(struct vm *vm, struct vmm_err *err);

/* Starts the vCPU threads and runs the event loop on the calling thread
 * until the VM ends; *out says how. Returns 0 when the VM ran (whatever the
 * guest did), -errno when it could not start (out->reason says why). */
int vm_run(struct vm *vm, struct vm_exit *out);

/* Ends a running VM from any thread with kind/status (first call wins). */
void vm_stop(struct vm *vm, enum vm_exit_kind kind, int status, const char *reason);

/* Joins every thread, destroys devices, frees memory, closes KVM fds.
 * NULL is a no-op. */
void vm_destroy(struct vm *vm);

/* ---- accessors (borrowed pointers, valid until vm_destroy) ---- */
const struct vm_config *vm_config(const struct vm *vm);
struct gmem *vm_gmem(struct vm *vm);
struct evloop *vm_evloop(struct vm *vm);
struct iobus *vm_pio_bus(struct vm *vm);
struct iobus *vm_mmio_bus(struct vm *vm);
int vm_fd(const struct vm *vm);	    /* the KVM VM fd */
int vm_kvm_fd(const struct vm *vm); /* /dev/kvm */
/* CLOCK_MONOTONIC ns of the first vCPU exit (0 if none yet): the CLIs'
 * SMOLVM_TIMINGS line and the boot benchmark. */
uint64_t vm_first_exit_ns(struct vm *vm);
unsigned vm_ncpus(const struct vm *vm);
/* The config's log sink (smolvm/err.h), for vmm_logf from any thread. */
const struct vmm_log *vm_log(const struct vm *vm);
struct serial *vm_serial(struct vm *vm); /* COM1; serial_save/restore (devices/serial.h) */

/* Attaches a virtio device on the next free virtio-mmio window and GSI;
 * dev is taken over as in vmmio_create. Only before vm_load_kernel (the
 * ACPI tables and cmdline describe the windows). *out may be NULL. */
int vm_add_virtio(struct vm *vm, const struct virtio_device_ops *ops, void *dev,
		  struct vmmio **out);
/* Where a device's attach() (devices/registry.h) leaves why it failed,
 * instead of printing: vm_create hands that line to its caller.
 * vm_add_virtio fills it itself. */
struct vmm_err *vm_attach_err(struct vm *vm);
unsigned vm_virtio_count(const struct vm *vm);
struct vmmio *vm_virtio(struct vm *vm, unsigned i);

/* Asserts (level 1) or deasserts (0) an interrupt line (KVM_IRQ_LINE). */
int vm_irq_line(struct vm *vm, uint32_t gsi, int level);

/* Runs fn(opaque) on the event-loop thread soon (from any thread,
 * including a vCPU thread that must not wait for itself). */
int vm_defer(struct vm *vm, void (*fn)(void *opaque), void *opaque);

/* ---- pausing and state (for snapshots) ---- */

/* Kicks every vCPU out of KVM_RUN (immediate_exit + a signal) and waits
 * until all are parked at a safe point: no vCPU is inside KVM_RUN or a
 * device handler. Must not be called from a vCPU thread (use vm_defer).
 * Before vm_run, or when already paused, returns 0 at once. */
int vm_pause(struct vm *vm);

/* Asks every vCPU to park, without waiting: safe on a vCPU thread (an I/O
 * handler), whose vCPU then parks before it runs another guest instruction.
 * vm_pause() on another thread waits for the parking. */
void vm_request_pause(struct vm *vm);

/* Lets paused vCPUs continue. */
int vm_resume(struct vm *vm);

#define VCPU_MAX_MSRS  256
#define VCPU_MAX_CPUID 128

/* The 4 KiB area KVM_GET_XSAVE / KVM_SET_XSAVE transfer (struct
 * kvm_xsave's region). Newer uapi headers end struct kvm_xsave with a
 * flexible array, which cannot sit inside another struct. */
struct vcpu_xsave {
	__u32 region[1024];
};

/* Everything KVM keeps for one vCPU, in KVM's own structs. */
struct vcpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct vcpu_xsave xsave;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp_state;
	struct kvm_vcpu_events events;
	struct kvm_debugregs debugregs;
	uint32_t nmsrs;
	struct kvm_msr_entry msrs[VCPU_MAX_MSRS];
	uint32_t ncpuid;
	struct kvm_cpuid_entry2 cpuid[VCPU_MAX_CPUID];
};

/* Reads vCPU idx's state. The VM must be paused (or not yet running).
 * -EBUSY if it is running, -EINVAL on a bad idx, -errno from KVM. */
int vcpu_get_state(struct vm *vm, unsigned idx, struct vcpu_state *st);

/* Reads only vCPU idx's CPUID table (KVM_GET_CPUID2) into out[max]; *n
 * gets the count. What a guest sees, which can be wider than
 * KVM_GET_SUPPORTED_CPUID (PVM adds host bits). -E2BIG when max is short. */
int vcpu_get_cpuid(struct vm *vm, unsigned idx, struct kvm_cpuid_entry2 *out, uint32_t max,
		   uint32_t *n);

/* Writes vCPU idx's state in the order KVM needs: CPUID; MP state; regs
 * before vcpu events; sregs before LAPIC; LAPIC before MSRs; TSC before
 * TSC-deadline (MSRs are written in the order given, so put TSC first).
 * The VM must be paused. */
int vcpu_set_state(struct vm *vm, unsigned idx, const struct vcpu_state *st);

/* VM-wide in-kernel device state. */
struct vm_state {
	struct kvm_irqchip pic_master; /* chip_id KVM_IRQCHIP_PIC_MASTER */
	struct kvm_irqchip pic_slave;
	struct kvm_irqchip ioapic;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
};

int vm_get_state(struct vm *vm, struct vm_state *st);
int vm_set_state(struct vm *vm, const struct vm_state *st);

#endif
