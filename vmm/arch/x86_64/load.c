/* vm_load_kernel for x86_64: kernel, initrd, command line, ACPI tables,
 * boot page tables, zero page, boot vCPU registers. Every file is read and
 * validated before guest memory is written. */
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/boot.h"
#include "arch/x86_64/cpu.h"
#include "core/gmem.h"
#include "core/vm_internal.h"
#include "devices/virtio/mmio.h"
#include "strbuf.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KERNEL_MAX_BYTES (512ull << 20)

/* The command line the guest sees: the user's, then one
 * virtio_mmio.device=<size>@<base>:<irq> per window (Linux
 * drivers/virtio/virtio_mmio.c, CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES). */
static int build_cmdline(struct vm *vm, struct strbuf *sb)
{
	int err = sb_append_str(sb, vm->cfg.cmdline ? vm->cfg.cmdline : "");
	for (unsigned i = 0; i < vm->nvirtio && !err; i++)
		err = sb_printf(sb, "%svirtio_mmio.device=4K@0x%llx:%u", sb->len ? " " : "",
				(unsigned long long)vmmio_base(vm->virtio[i]),
				vmmio_gsi(vm->virtio[i]));
	return err;
}

static int build_acpi(struct vm *vm, uint8_t *buf, struct acpi_layout *l)
{
	struct acpi_config ac = {
	    .ncpus = vm->ncpus, .base_gpa = X86_ACPI_BASE, .nvirtio = vm->nvirtio};
	for (unsigned i = 0; i < vm->nvirtio; i++) {
		ac.virtio[i].base = vmmio_base(vm->virtio[i]);
		ac.virtio[i].size = VMMIO_WINDOW_SIZE;
		ac.virtio[i].gsi = vmmio_gsi(vm->virtio[i]);
	}
	return acpi_build(&ac, buf, X86_ACPI_MAX, l);
}

int vm_load_kernel(struct vm *vm, struct vmm_err *e)
{
	const struct vm_config *c = &vm->cfg;
	char *img = NULL, *initrd = NULL;
	size_t img_len = 0, initrd_len = 0;
	uint8_t *acpi = NULL;
	struct strbuf cmdline = {0};
	struct boot_params *bp = NULL;
	char why[256] = "";
	int err;

	if (!c->kernel_path) {
		return vmm_errf(e, -EINVAL, "no kernel given (--kernel PATH)");
	}
	err = util_read_file(c->kernel_path, KERNEL_MAX_BYTES, &img, &img_len);
	if (err) {
		vmm_errf(e, err, "cannot read kernel %s: %s", c->kernel_path,
			 err == -EFBIG ? "larger than 512 MiB" : strerror(-err));
		goto out;
	}
	uint64_t ram_end = vm->mem->regions[0].size;
	struct x86_kernel k;
	err = x86_kernel_parse((const uint8_t *)img, img_len, ram_end, &k, why, sizeof(why));
	if (err) {
		vmm_errf(e, err, "kernel %s: %s", c->kernel_path, why);
		goto out;
	}
	struct x86_boot_info info = {.cmdline_gpa = X86_CMDLINE, .rsdp_gpa = X86_ACPI_BASE};
	if (c->initrd_path) {
		err = util_read_file(c->initrd_path, ram_end, &initrd, &initrd_len);
		if (err) {
			vmm_errf(e, err, "cannot read initrd %s: %s", c->initrd_path,
				 err == -EFBIG ? "larger than guest RAM" : strerror(-err));
			goto out;
		}
		err = x86_initrd_place(&k, ram_end, initrd_len, &info.initrd_gpa, why, sizeof(why));
		if (err) {
			vmm_errf(e, err, "initrd %s: %s", c->initrd_path, why);
			goto out;
		}
		info.initrd_size = initrd_len;
	}
	err = build_cmdline(vm, &cmdline);
	if (err) {
		vmm_errf(e, err, "building the kernel command line: %s", strerror(-err));
		goto out;
	}
	if (cmdline.len > k.cmdline_max || cmdline.len >= X86_CMDLINE_MAX) {
		err = vmm_errf(e, -E2BIG, "command line is %zu bytes; this kernel takes at most %u",
			       cmdline.len, k.cmdline_max);
		goto out;
	}
	info.cmdline_len = (uint32_t)cmdline.len;
	acpi = malloc(X86_ACPI_MAX);
	bp = malloc(sizeof(*bp));
	if (!acpi || !bp) {
		err = vmm_errf(e, -ENOMEM, "out of memory for the boot data");
		goto out;
	}
	struct acpi_layout layout;
	err = build_acpi(vm, acpi, &layout);
	if (err) {
		vmm_errf(e, err, "building ACPI tables: %s", strerror(-err));
		goto out;
	}
	x86_boot_params(&k, vm->mem, &info, bp);

	/* Everything validated: now write guest memory. */
	err = x86_kernel_load(&k, (const uint8_t *)img, vm->mem);
	if (!err && initrd)
		err = gmem_write(vm->mem, info.initrd_gpa, initrd, initrd_len);
	if (!err)
		err = gmem_write(vm->mem, X86_CMDLINE, sb_str(&cmdline), cmdline.len + 1);
	if (!err)
		err = gmem_write(vm->mem, X86_ACPI_BASE, acpi, layout.len);
	if (!err)
		err = x86_boot_tables(vm->mem);
	if (!err)
		err = gmem_write(vm->mem, X86_ZERO_PAGE, bp, sizeof(*bp));
	if (err) {
		vmm_errf(e, err, "writing boot data into guest memory: %s", strerror(-err));
		goto out;
	}
	err = x86_boot_regs(vm->vcpus[0].fd, k.entry, X86_ZERO_PAGE);
	if (err) {
		vmm_errf(e, err, "setting the boot vCPU's registers: %s", strerror(-err));
		goto out;
	}
	vm->kernel_loaded = true;
out:
	free(bp);
	free(acpi);
	sb_release(&cmdline);
	free(initrd);
	free(img);
	return err;
}
