/* acpi: the ACPI tables the guest firmware would provide (ACPI 6.5):
 * RSDP, XSDT, FADT (HW_REDUCED_ACPI, reset register on the i8042), MADT
 * (one LAPIC per vCPU, the IOAPIC, ISA overrides, LINT1 NMI) and a DSDT
 * whose AML is emitted here: COM1 (PNP0501), the i8042 (PNP0303 keyboard,
 * PNP0F13 aux) and one LNRO0005 device per
 * virtio-mmio window with its memory and interrupt resources. */
#ifndef SMOL_X86_ACPI_H
#define SMOL_X86_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_VIRTIO 16

struct acpi_virtio_window {
	uint64_t base;
	uint32_t size;
	uint32_t gsi;
};

struct acpi_config {
	unsigned ncpus;	   /* 1..255 */
	uint64_t base_gpa; /* where the blob will be copied (RSDP first) */
	unsigned nvirtio;
	struct acpi_virtio_window virtio[ACPI_MAX_VIRTIO];
};

/* Offsets of each table inside the blob (for tests and the loader). */
struct acpi_layout {
	size_t rsdp, xsdt, fadt, madt, dsdt;
	size_t len; /* total bytes */
};

/* Builds all tables into buf (buflen bytes, zeroed first), with every
 * pointer computed from cfg->base_gpa. -EINVAL on a bad config,
 * -ENOSPC when buf is too small. */
int acpi_build(const struct acpi_config *cfg, uint8_t *buf, size_t buflen, struct acpi_layout *out);

/* Sum of len bytes mod 256 (0 for a valid table). */
uint8_t acpi_sum(const uint8_t *p, size_t len);

/* AML for the DSDT body (everything after the 36-byte header), appended to
 * *out (malloc'd, caller frees). For tests and acpi_build. */
int acpi_dsdt_aml(const struct acpi_config *cfg, uint8_t **out, size_t *out_len);

#endif
