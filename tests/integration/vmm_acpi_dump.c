/* vmm_acpi_dump DIR [NCPUS NVIRTIO]: writes the ACPI tables libsmolvm
 * builds to DIR/{rsdp,xsdt,facp,apic,dsdt}.dat so that they can be checked
 * with `iasl -d` (tests/integration/vmm_iasl.sh). */
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/layout.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int dump(const char *dir, const char *name, const uint8_t *p, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	int err = util_write_file_atomic(path, p, len, 0644);
	if (err)
		fprintf(stderr, "vmm_acpi_dump: %s: %s\n", path, strerror(-err));
	return err;
}

static uint32_t len32(const uint8_t *t)
{
	return (uint32_t)t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24;
}

int main(int argc, char **argv)
{
	if (argc != 2 && argc != 4) {
		fprintf(stderr, "usage: vmm_acpi_dump DIR [NCPUS NVIRTIO]\n");
		return 2;
	}
	struct acpi_config c = {.ncpus = argc == 4 ? (unsigned)atoi(argv[2]) : 2,
				.base_gpa = X86_ACPI_BASE,
				.nvirtio = argc == 4 ? (unsigned)atoi(argv[3]) : 3};
	if (c.nvirtio > ACPI_MAX_VIRTIO) {
		fprintf(stderr, "vmm_acpi_dump: at most %d virtio windows\n", ACPI_MAX_VIRTIO);
		return 2;
	}
	for (unsigned i = 0; i < c.nvirtio; i++)
		c.virtio[i] = (struct acpi_virtio_window){X86_VIRTIO_BASE + 0x1000ull * i, 0x1000,
							  X86_VIRTIO_GSI0 + i};
	static uint8_t buf[X86_ACPI_MAX];
	struct acpi_layout l;
	int err = acpi_build(&c, buf, sizeof(buf), &l);
	if (err) {
		fprintf(stderr, "vmm_acpi_dump: acpi_build: %s\n", strerror(-err));
		return 1;
	}
	if (util_mkdir_p(argv[1], 0755))
		return 1;
	if (dump(argv[1], "rsdp", buf + l.rsdp, 36) ||
	    dump(argv[1], "xsdt", buf + l.xsdt, len32(buf + l.xsdt)) ||
	    dump(argv[1], "facp", buf + l.fadt, len32(buf + l.fadt)) ||
	    dump(argv[1], "apic", buf + l.madt, len32(buf + l.madt)) ||
	    dump(argv[1], "dsdt", buf + l.dsdt, len32(buf + l.dsdt)))
		return 1;
	return 0;
}
