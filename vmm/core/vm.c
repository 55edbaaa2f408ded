/* vm: one KVM virtual machine (smolvm/vm.h). */
#include "core/vm_internal.h"

#include "arch/x86_64/cpu.h"
#include "core/evloop.h"
#include "core/gmem.h"
#include "devices/acpi_sleep.h"
#include "devices/debugexit.h"
#include "devices/i8042.h"
#include "devices/registry.h"
#include "devices/serial.h"
#include "devices/virtio/mmio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define KVM_TSS_ADDR 0xfffbd000ull /* 3 pages in the MMIO hole, Intel only */

void vm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_bytes = VM_DEFAULT_MEM;
	cfg->ncpus = 1;
	cfg->serial = VM_SERIAL_STDIO;
	cfg->rng = true;
}

int vm_config_add_device(struct vm_config *cfg, const char *kind, const char *arg)
{
	if (cfg->ndevices == VM_MAX_DEVICES)
		return -ENOSPC;
	cfg->devices[cfg->ndevices++] = (struct vm_device_spec){.kind = kind, .arg = arg};
	return 0;
}

static int vm_kvm_open(struct vm *vm, struct vmm_err *err)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return vmm_errf(err, -errno,
				"cannot open /dev/kvm: %s (is KVM enabled, and are you in the "
				"kvm group?)",
				strerror(errno));
	int api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION)
		return vmm_errf(err, -ENOTSUP, "/dev/kvm speaks API version %d, need %d", api,
				KVM_API_VERSION);
	int n = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (n <= 0)
		return vmm_errf(err, -ENOTSUP, "/dev/kvm: KVM_GET_VCPU_MMAP_SIZE gave %d", n);
	vm->run_size = (size_t)n;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return vmm_errf(err, -errno, "KVM_CREATE_VM: %s", strerror(errno));
	return 0;
}

static int vm_memory(struct vm *vm, struct vmm_err *err)
{
	int rc = gmem_create(vm->cfg.mem_bytes, &vm->mem);
	if (rc)
		return vmm_errf(err, rc, "cannot allocate %llu MiB of guest memory: %s",
				(unsigned long long)(vm->cfg.mem_bytes >> 20), strerror(-rc));
	for (unsigned i = 0; i < vm->mem->nregions; i++) {
		const struct gmem_region *r = &vm->mem->regions[i];
		struct kvm_userspace_memory_region mr = {
		    .slot = i,
		    .guest_phys_addr = r->gpa,
		    .memory_size = r->size,
		    .userspace_addr = (uint64_t)(uintptr_t)r->host,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) < 0)
			return vmm_errf(err, -errno, "KVM_SET_USER_MEMORY_REGION slot %u: %s", i,
					strerror(errno));
	}
	return 0;
}

static int vm_irqchip(struct vm *vm, struct vmm_err *err)
{
	/* Intel VMX needs a TSS area for real mode; AMD and PVM ignore it. */
	ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR);
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return vmm_errf(err, -errno,
				"KVM_CREATE_IRQCHIP: %s (an in-kernel IOAPIC/LAPIC is required)",
				strerror(errno));
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return vmm_errf(err, -errno, "KVM_CREATE_PIT2: %s", strerror(errno));
	return 0;
}

static void vm_run_deferred(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t cnt;
	(void)events;
	if (read(vm->defer_fd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return;
	for (;;) {
		pthread_mutex_lock(&vm->lock);
		if (vm->ndefer == 0) {
			pthread_mutex_unlock(&vm->lock);
			return;
		}
		void (*fn)(void *) = vm->defer[0].fn;
		void *op = vm->defer[0].opaque;
		memmove(&vm->defer[0], &vm->defer[1], --vm->ndefer * sizeof(vm->defer[0]));
		pthread_mutex_unlock(&vm->lock);
		fn(op);
	}
}

int vm_defer(struct vm *vm, void (*fn)(void *opaque), void *opaque)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->ndefer == VM_DEFER_MAX) {
		pthread_mutex_unlock(&vm->lock);
		return -EAGAIN;
	}
	vm->defer[vm->ndefer].fn = fn;
	vm->defer[vm->ndefer].opaque = opaque;
	vm->ndefer++;
	pthread_mutex_unlock(&vm->lock);
	uint64_t one = 1;
	return write(vm->defer_fd, &one, sizeof(one)) < 0 ? -errno : 0;
}

struct vmm_err *vm_attach_err(struct vm *vm)
{
	return &vm->attach_err;
}

/* Attaches one device. Its reason, when it left one in vm_attach_err (it
 * names the option and the value), is the message; otherwise say which
 * device failed. */
static int attach(struct vm *vm, const struct vm_device_kind *k, const char *kind, const char *arg,
		  struct vmm_err *err)
{
	vm->attach_err.msg[0] = '\0';
	int rc = k ? k->attach(vm, arg) : -ENOENT;
	if (!rc)
		return 0;
	if (vm->attach_err.msg[0])
		return vmm_errf(err, rc, "%s", vm->attach_err.msg);
	return vmm_errf(err, rc, "attaching the %s device%s%s: %s", kind, arg ? " " : "",
			arg ? arg : "", strerror(-rc));
}

static int vm_devices(struct vm *vm, struct vmm_err *err)
{
	const struct vm_config *c = &vm->cfg;
	int in_fd = -1;
	vm->serial_fd = -1;
	if (c->serial == VM_SERIAL_STDIO) {
		vm->serial_fd = STDOUT_FILENO;
		in_fd = STDIN_FILENO;
	} else if (c->serial == VM_SERIAL_FILE) {
		vm->serial_fd =
		    open(c->serial_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (vm->serial_fd < 0)
			return vmm_errf(err, -errno, "--serial %s: %s", c->serial_path,
					strerror(errno));
		vm->serial_fd_owned = true;
	}
	int rc = serial_create(vm, X86_COM1_PORT, X86_COM1_GSI, vm->serial_fd, in_fd, &vm->serial);
	if (!rc)
		rc = i8042_create(vm, &vm->kbd);
	if (!rc)
		rc = debugexit_create(vm, &vm->dbg);
	if (!rc)
		rc = acpi_sleep_create(vm, &vm->sleep);
	if (rc)
		return vmm_errf(err, rc, "creating the legacy devices: %s", strerror(-rc));
	if (c->rng) {
		rc = attach(vm, vm_device_kind_find("rng"), "rng", NULL, err);
		if (rc)
			return rc;
	}
	for (unsigned i = 0; i < c->ndevices; i++) {
		const struct vm_device_kind *k = vm_device_kind_find(c->devices[i].kind);
		if (!k)
			return vmm_errf(err, -EINVAL, "unknown device kind '%s'",
					c->devices[i].kind);
		rc = attach(vm, k, c->devices[i].kind, c->devices[i].arg, err);
		if (rc)
			return rc;
	}
	return 0;
}

int vm_create(const struct vm_config *cfg, struct vm **out, struct vmm_err *err)
{
	if (cfg->ncpus == 0 || cfg->ncpus > VM_MAX_VCPUS)
		return vmm_errf(err, -EINVAL, "%u vCPUs: choose 1 to %d", cfg->ncpus, VM_MAX_VCPUS);
	if (cfg->mem_bytes < (16ull << 20) || cfg->mem_bytes % GMEM_PAGE_SIZE ||
	    cfg->mem_bytes > GMEM_MAX_RAM)
		return vmm_errf(
		    err, -EINVAL, "%llu bytes of memory: choose 16 MiB to %llu GiB in whole pages",
		    (unsigned long long)cfg->mem_bytes, (unsigned long long)(GMEM_MAX_RAM >> 30));
	struct vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return vmm_errf(err, -ENOMEM, "out of memory for the VM");
	vm->cfg = *cfg;
	vm->ncpus = cfg->ncpus;
	vm->kvm_fd = vm->vm_fd = vm->defer_fd = vm->serial_fd = -1;
	for (unsigned i = 0; i < VM_MAX_VCPUS; i++)
		vm->vcpus[i].fd = vm->vcpus[i].stats_fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);

	/* Order: KVM VM, memory, irqchip + PIT (before vCPUs, so each gets
	 * an in-kernel LAPIC), event loop, vCPUs, devices. */
	int rc = vcpu_signal_setup();
	if (rc)
		vmm_errf(err, rc, "installing the vCPU kick signal handler: %s", strerror(-rc));
	if (!rc)
		rc = vm_kvm_open(vm, err);
	if (!rc)
		rc = vm_memory(vm, err);
	if (!rc)
		rc = vm_irqchip(vm, err);
	if (!rc && (rc = evloop_create(&vm->el)))
		vmm_errf(err, rc, "creating the event loop: %s", strerror(-rc));
	if (!rc) {
		vm->defer_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		rc = vm->defer_fd < 0
			 ? -errno
			 : evloop_add(vm->el, vm->defer_fd, EPOLLIN, vm_run_deferred, vm);
		if (rc)
			vmm_errf(err, rc, "the event loop's deferred-work eventfd: %s",
				 strerror(-rc));
	}
	if (!rc && (rc = x86_cpuid_supported(vm->kvm_fd, &vm->cpuid)))
		vmm_errf(err, rc, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-rc));
	for (unsigned i = 0; i < vm->ncpus && !rc; i++)
		rc = vcpu_init(vm, i, err);
	if (!rc)
		rc = vm_devices(vm, err);
	if (rc) {
		vm_destroy(vm);
		return rc;
	}
	*out = vm;
	return 0;
}

int vm_run(struct vm *vm, struct vm_exit *out)
{
	if (!vm->kernel_loaded && !vm->cfg.restore_path) {
		*out = (struct vm_exit){.kind = VM_EXIT_ERROR, .status = 3};
		snprintf(out->reason, sizeof(out->reason), "vm_run before vm_load_kernel");
		return -EINVAL;
	}
	pthread_mutex_lock(&vm->lock);
	vm->running = true;
	int err = 0;
	for (unsigned i = 0; i < vm->ncpus && !err; i++) {
		err = vcpu_start(&vm->vcpus[i]);
		if (!err)
			vm->nactive++;
	}
	pthread_mutex_unlock(&vm->lock);
	if (err) {
		vm_stop(vm, VM_EXIT_ERROR, 3, "could not start a vCPU thread");
	} else {
		int r = evloop_run(vm->el);
		if (r < 0)
			vm_stop(vm, VM_EXIT_ERROR, 3, "event loop failed");
	}
	/* Make sure every vCPU leaves, then join them. */
	pthread_mutex_lock(&vm->lock);
	vm->stop = true;
	vcpus_kick(vm);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (vm->vcpus[i].started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].started = false;
		}
	}
	pthread_mutex_lock(&vm->lock);
	vm->running = false;
	*out = vm->exit;
	pthread_mutex_unlock(&vm->lock);
	return err;
}

void vm_stop(struct vm *vm, enum vm_exit_kind kind, int status, const char *reason)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->exit_set) {
		vm->exit_set = true;
		vm->exit.kind = kind;
		vm->exit.status = status;
		snprintf(vm->exit.reason, sizeof(vm->exit.reason), "%s", reason ? reason : "");
	}
	vm->stop = true;
	vcpus_kick(vm);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	evloop_stop(vm->el, status);
}

int vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->running) {
		vm->pause_req = true;
		vcpus_kick(vm);
		while (vm->nparked < vm->nactive)
			pthread_cond_wait(&vm->cond, &vm->lock);
	}
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

void vm_request_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->running) {
		vm->pause_req = true;
		vcpus_kick(vm);
	}
	pthread_mutex_unlock(&vm->lock);
}

int vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_req = false;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	/* Devices first (they unregister from the loop and KVM), then vCPUs,
	 * memory, KVM. */
	for (unsigned i = vm->nvirtio; i > 0; i--)
		vmmio_destroy(vm->virtio[i - 1]);
	acpi_sleep_destroy(vm->sleep);
	debugexit_destroy(vm->dbg);
	i8042_destroy(vm->kbd);
	serial_destroy(vm->serial);
	if (vm->serial_fd_owned)
		close(vm->serial_fd);
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (vm->vcpus[i].vm)
			vcpu_fini(&vm->vcpus[i]);
	if (vm->defer_fd >= 0) {
		if (vm->el)
			evloop_del(vm->el, vm->defer_fd);
		close(vm->defer_fd);
	}
	evloop_destroy(vm->el);
	free(vm->cpuid);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	gmem_destroy(vm->mem);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

int vm_add_virtio(struct vm *vm, const struct virtio_device_ops *ops, void *dev, struct vmmio **out)
{
	if (vm->kernel_loaded || vm->nvirtio == X86_VIRTIO_MAX) {
		int rc = vmm_errf(&vm->attach_err, vm->kernel_loaded ? -EBUSY : -ENOSPC,
				  "cannot add virtio-%s: %s", ops->name,
				  vm->kernel_loaded ? "the kernel is already loaded"
						    : "all virtio-mmio slots are used");
		if (ops->destroy)
			ops->destroy(dev);
		return rc;
	}
	uint64_t base = X86_VIRTIO_BASE + (uint64_t)vm->nvirtio * VMMIO_WINDOW_SIZE;
	uint32_t gsi = X86_VIRTIO_GSI0 + vm->nvirtio;
	struct vmmio *t;
	int err = vmmio_create(vm, base, gsi, ops, dev, &t);
	if (err)
		return vmm_errf(&vm->attach_err, err, "virtio-%s at 0x%llx: %s", ops->name,
				(unsigned long long)base, strerror(-err));
	vm->virtio[vm->nvirtio++] = t;
	if (out)
		*out = t;
	return 0;
}

int vm_irq_line(struct vm *vm, uint32_t gsi, int level)
{
	struct kvm_irq_level irq = {.irq = gsi, .level = (uint32_t)level};
	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

const struct vm_config *vm_config(const struct vm *vm)
{
	return &vm->cfg;
}

struct gmem *vm_gmem(struct vm *vm)
{
	return vm->mem;
}

struct evloop *vm_evloop(struct vm *vm)
{
	return vm->el;
}

struct iobus *vm_pio_bus(struct vm *vm)
{
	return &vm->pio;
}

struct iobus *vm_mmio_bus(struct vm *vm)
{
	return &vm->mmio;
}

int vm_fd(const struct vm *vm)
{
	return vm->vm_fd;
}

int vm_kvm_fd(const struct vm *vm)
{
	return vm->kvm_fd;
}

unsigned vm_ncpus(const struct vm *vm)
{
	return vm->ncpus;
}

const struct vmm_log *vm_log(const struct vm *vm)
{
	return &vm->cfg.log;
}

struct serial *vm_serial(struct vm *vm)
{
	return vm->serial;
}

struct i8042 *vm_i8042(struct vm *vm)
{
	return vm->kbd;
}

unsigned vm_virtio_count(const struct vm *vm)
{
	return vm->nvirtio;
}

struct vmmio *vm_virtio(struct vm *vm, unsigned i)
{
	return i < vm->nvirtio ? vm->virtio[i] : NULL;
}

uint64_t vm_first_exit_ns(struct vm *vm)
{
	return __atomic_load_n(&vm->first_exit_ns, __ATOMIC_RELAXED);
}

int vm_get_state(struct vm *vm, struct vm_state *st)
{
	memset(st, 0, sizeof(*st));
	st->pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
	st->pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	st->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &st->pic_master) < 0 ||
	    ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &st->pic_slave) < 0 ||
	    ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &st->ioapic) < 0 ||
	    ioctl(vm->vm_fd, KVM_GET_PIT2, &st->pit) < 0 ||
	    ioctl(vm->vm_fd, KVM_GET_CLOCK, &st->clock) < 0)
		return -errno;
	return 0;
}

int vm_set_state(struct vm *vm, const struct vm_state *st)
{
	if (st->pic_master.chip_id != KVM_IRQCHIP_PIC_MASTER ||
	    st->pic_slave.chip_id != KVM_IRQCHIP_PIC_SLAVE ||
	    st->ioapic.chip_id != KVM_IRQCHIP_IOAPIC)
		return -EINVAL;
	struct kvm_clock_data clock = st->clock;
	clock.flags = 0; /* only the clock value is restorable everywhere */
	if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &st->pic_master) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &st->pic_slave) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &st->ioapic) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_PIT2, &st->pit) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return -errno;
	return 0;
}
