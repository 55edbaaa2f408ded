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

static int vm_kvm_open(struct vm *vm)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int err = -errno;
		fprintf(stderr,
			"smolvm: cannot open /dev/kvm: %s (is KVM enabled, and are you in the "
			"kvm group?)\n",
			strerror(errno));
		return err;
	}
	int api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		fprintf(stderr, "smolvm: /dev/kvm speaks API version %d, need %d\n", api,
			KVM_API_VERSION);
		return -ENOTSUP;
	}
	int n = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (n <= 0)
		return -ENOTSUP;
	vm->run_size = (size_t)n;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		int err = -errno;
		fprintf(stderr, "smolvm: KVM_CREATE_VM: %s\n", strerror(errno));
		return err;
	}
	return 0;
}

static int vm_memory(struct vm *vm)
{
	int err = gmem_create(vm->cfg.mem_bytes, &vm->mem);
	if (err) {
		fprintf(stderr, "smolvm: cannot allocate %llu MiB of guest memory: %s\n",
			(unsigned long long)(vm->cfg.mem_bytes >> 20), strerror(-err));
		return err;
	}
	for (unsigned i = 0; i < vm->mem->nregions; i++) {
		const struct gmem_region *r = &vm->mem->regions[i];
		struct kvm_userspace_memory_region mr = {
		    .slot = i,
		    .guest_phys_addr = r->gpa,
		    .memory_size = r->size,
		    .userspace_addr = (uint64_t)(uintptr_t)r->host,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) < 0) {
			err = -errno;
			fprintf(stderr, "smolvm: KVM_SET_USER_MEMORY_REGION slot %u: %s\n", i,
				strerror(errno));
			return err;
		}
	}
	return 0;
}

static int vm_irqchip(struct vm *vm)
{
	/* Intel VMX needs a TSS area for real mode; AMD and PVM ignore it. */
	ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR);
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		int err = -errno;
		fprintf(stderr,
			"smolvm: KVM_CREATE_IRQCHIP: %s (an in-kernel IOAPIC/LAPIC is required)\n",
			strerror(errno));
		return err;
	}
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		int err = -errno;
		fprintf(stderr, "smolvm: KVM_CREATE_PIT2: %s\n", strerror(errno));
		return err;
	}
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

static int vm_devices(struct vm *vm)
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
		if (vm->serial_fd < 0) {
			int err = -errno;
			fprintf(stderr, "smolvm: --serial %s: %s\n", c->serial_path,
				strerror(errno));
			return err;
		}
		vm->serial_fd_owned = true;
	}
	int err = serial_create(vm, X86_COM1_PORT, X86_COM1_GSI, vm->serial_fd, in_fd, &vm->serial);
	if (!err)
		err = i8042_create(vm, &vm->kbd);
	if (!err)
		err = debugexit_create(vm, &vm->dbg);
	if (!err)
		err = acpi_sleep_create(vm, &vm->sleep);
	if (err) {
		fprintf(stderr, "smolvm: creating the legacy devices: %s\n", strerror(-err));
		return err;
	}
	if (c->rng) {
		const struct vm_device_kind *k = vm_device_kind_find("rng");
		err = k ? k->attach(vm, NULL) : -ENOENT;
		if (err)
			return err;
	}
	for (unsigned i = 0; i < c->ndevices; i++) {
		const struct vm_device_kind *k = vm_device_kind_find(c->devices[i].kind);
		if (!k) {
			fprintf(stderr, "smolvm: unknown device kind '%s'\n", c->devices[i].kind);
			return -EINVAL;
		}
		err = k->attach(vm, c->devices[i].arg);
		if (err)
			return err;
	}
	return 0;
}

int vm_create(const struct vm_config *cfg, struct vm **out)
{
	if (cfg->ncpus == 0 || cfg->ncpus > VM_MAX_VCPUS) {
		fprintf(stderr, "smolvm: %u vCPUs: choose 1 to %d\n", cfg->ncpus, VM_MAX_VCPUS);
		return -EINVAL;
	}
	if (cfg->mem_bytes < (16ull << 20) || cfg->mem_bytes % GMEM_PAGE_SIZE ||
	    cfg->mem_bytes > GMEM_MAX_RAM) {
		fprintf(stderr,
			"smolvm: %llu bytes of memory: choose 16 MiB to %llu GiB in whole pages\n",
			(unsigned long long)cfg->mem_bytes,
			(unsigned long long)(GMEM_MAX_RAM >> 30));
		return -EINVAL;
	}
	struct vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->cfg = *cfg;
	vm->ncpus = cfg->ncpus;
	vm->kvm_fd = vm->vm_fd = vm->defer_fd = vm->serial_fd = -1;
	for (unsigned i = 0; i < VM_MAX_VCPUS; i++)
		vm->vcpus[i].fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);

	/* Order: KVM VM, memory, irqchip + PIT (before vCPUs, so each gets
	 * an in-kernel LAPIC), event loop, vCPUs, devices. */
	int err = vcpu_signal_setup();
	if (!err)
		err = vm_kvm_open(vm);
	if (!err)
		err = vm_memory(vm);
	if (!err)
		err = vm_irqchip(vm);
	if (!err)
		err = evloop_create(&vm->el);
	if (!err) {
		vm->defer_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		err = vm->defer_fd < 0
			  ? -errno
			  : evloop_add(vm->el, vm->defer_fd, EPOLLIN, vm_run_deferred, vm);
	}
	if (!err) {
		err = x86_cpuid_supported(vm->kvm_fd, &vm->cpuid);
		if (err)
			fprintf(stderr, "smolvm: KVM_GET_SUPPORTED_CPUID: %s\n", strerror(-err));
	}
	for (unsigned i = 0; i < vm->ncpus && !err; i++)
		err = vcpu_init(vm, i);
	if (!err)
		err = vm_devices(vm);
	if (err) {
		vm_destroy(vm);
		return err;
	}
	*out = vm;
	return 0;
}

int vm_run(struct vm *vm, struct vm_exit *out)
{
	if (!vm->kernel_loaded && !vm->cfg.restore_path) {
		fprintf(stderr, "smolvm: vm_run before vm_load_kernel\n");
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
		fprintf(stderr, "smolvm: cannot add virtio-%s: %s\n", ops->name,
			vm->kernel_loaded ? "the kernel is already loaded"
					  : "all virtio-mmio slots are used");
		if (ops->destroy)
			ops->destroy(dev);
		return vm->kernel_loaded ? -EBUSY : -ENOSPC;
	}
	uint64_t base = X86_VIRTIO_BASE + (uint64_t)vm->nvirtio * VMMIO_WINDOW_SIZE;
	uint32_t gsi = X86_VIRTIO_GSI0 + vm->nvirtio;
	struct vmmio *t;
	int err = vmmio_create(vm, base, gsi, ops, dev, &t);
	if (err) {
		fprintf(stderr, "smolvm: virtio-%s at 0x%llx: %s\n", ops->name,
			(unsigned long long)base, strerror(-err));
		return err;
	}
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
