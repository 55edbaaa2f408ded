/* ACPI tables (acpi.h). Field offsets follow ACPI 6.5: §5.2.5.3 RSDP,
 * §5.2.6 SDT header, §5.2.8 XSDT, §5.2.9 FADT, §5.2.12 MADT. */
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/layout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SDT_HDR_LEN   36
#define RSDP_LEN      36
#define FADT_LEN      276
#define FADT_REVISION 6
#define FADT_MINOR    5

/* FADT flags (§5.2.9 Table 5.10) and IA-PC boot architecture flags. */
#define FADT_F_PWR_BUTTON    (1u << 4)
#define FADT_F_SLP_BUTTON    (1u << 5)
#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_HW_REDUCED    (1u << 20)
#define IAPC_8042	     (1u << 1)
#define IAPC_NO_VGA	     (1u << 2)
#define IAPC_NO_CMOS_RTC     (1u << 5)

uint8_t acpi_sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static void w16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void w32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void w64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void sdt_header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	w32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, "SMOLVM", 6);
	memcpy(t + 16, "SMOL", 4);
	memcpy(t + 20, sig, 4); /* OEM table id: "SMOL" + signature */
	w32(t + 24, 1);
	memcpy(t + 28, "SMOL", 4);
	w32(t + 32, 1);
	t[9] = 0;
	t[9] = (uint8_t)(0 - acpi_sum(t, len));
}

/* Generic Address Structure (§5.2.3.2). */
static void gas(uint8_t *p, uint8_t space, uint8_t bits, uint8_t access, uint64_t addr)
{
	p[0] = space;
	p[1] = bits;
	p[2] = 0;
	p[3] = access;
	w64(p + 4, addr);
}

static size_t build_madt(const struct acpi_config *cfg, uint8_t *t)
{
	size_t off = SDT_HDR_LEN;
	w32(t + off, (uint32_t)X86_LAPIC_ADDR);
	w32(t + off + 4, 1); /* PCAT_COMPAT: the in-kernel 8259s exist */
	off += 8;
	for (unsigned i = 0; i < cfg->ncpus; i++) { /* Processor Local APIC */
		t[off] = 0;
		t[off + 1] = 8;
		t[off + 2] = (uint8_t)i; /* ACPI processor UID */
		t[off + 3] = (uint8_t)i; /* APIC ID == vCPU index */
		w32(t + off + 4, 1);	 /* enabled */
		off += 8;
	}
	t[off] = 1; /* I/O APIC: id after the last LAPIC, GSI base 0 */
	t[off + 1] = 12;
	t[off + 2] = (uint8_t)cfg->ncpus;
	t[off + 3] = 0;
	w32(t + off + 4, (uint32_t)X86_IOAPIC_ADDR);
	w32(t + off + 8, 0);
	off += 12;
	t[off] = 2; /* Interrupt Source Override: ISA IRQ 0 (PIT) -> GSI 2 */
	t[off + 1] = 10;
	t[off + 2] = 0;
	t[off + 3] = 0;
	w32(t + off + 4, 2);
	w16(t + off + 8, 0);
	off += 10;
	t[off] = 4; /* Local APIC NMI: all processors, LINT1 */
	t[off + 1] = 6;
	t[off + 2] = 0xff;
	w16(t + off + 3, 0);
	t[off + 5] = 1;
	off += 6;
	sdt_header(t, "APIC", (uint32_t)off, 5);
	return off;
}

static void build_fadt(uint8_t *t, uint64_t dsdt_gpa)
{
	w32(t + 40, (uint32_t)dsdt_gpa); /* DSDT (32-bit) */
	t[45] = 0;			 /* preferred PM profile: unspecified */
	w16(t + 109, IAPC_8042 | IAPC_NO_VGA | IAPC_NO_CMOS_RTC);
	w32(t + 112,
	    FADT_F_HW_REDUCED | FADT_F_RESET_REG_SUP | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON);
	/* Reset register: writing 0xfe to the i8042 command port (SystemIO). */
	gas(t + 116, 1, 8, 1, 0x64);
	t[128] = 0xfe;
	/* Sleep control and status registers (FADT offsets 244 and 256, §4.8.3.7):
	 * with the DSDT's \_S5_ they are how a HW-reduced guest powers off
	 * (devices/acpi_sleep.h). */
	gas(t + 244, 1, 8, 1, X86_ACPI_SLEEP_PORT);
	gas(t + 256, 1, 8, 1, X86_ACPI_SLEEP_PORT + 1);
	t[131] = FADT_MINOR;
	w64(t + 140, dsdt_gpa);		  /* X_DSDT */
	memcpy(t + 268, "SMOLVM\0\0", 8); /* hypervisor vendor identity */
	sdt_header(t, "FACP", FADT_LEN, FADT_REVISION);
}

int acpi_build(const struct acpi_config *cfg, uint8_t *buf, size_t buflen, struct acpi_layout *out)
{
	if (cfg->ncpus == 0 || cfg->ncpus > 254 || cfg->nvirtio > ACPI_MAX_VIRTIO ||
	    cfg->base_gpa > UINT32_MAX - buflen)
		return -EINVAL;
	uint8_t *aml = NULL;
	size_t aml_len = 0;
	int err = acpi_dsdt_aml(cfg, &aml, &aml_len);
	if (err)
		return err;
	struct acpi_layout l = {0};
	/* RSDP, then each table on a 16-byte boundary. */
	l.rsdp = 0;
	l.xsdt = 48;
	l.fadt = l.xsdt + ((SDT_HDR_LEN + 2 * 8 + 15) & ~15ul);
	l.madt = l.fadt + ((FADT_LEN + 15) & ~15ul);
	size_t madt_len = SDT_HDR_LEN + 8 + 8ul * cfg->ncpus + 12 + 10 + 6;
	l.dsdt = l.madt + ((madt_len + 15) & ~15ul);
	l.len = l.dsdt + SDT_HDR_LEN + aml_len;
	if (l.len > buflen || SDT_HDR_LEN + aml_len > UINT32_MAX) {
		free(aml);
		return -ENOSPC;
	}
	memset(buf, 0, buflen);
	uint64_t base = cfg->base_gpa;

	memcpy(buf + l.dsdt + SDT_HDR_LEN, aml, aml_len);
	free(aml);
	sdt_header(buf + l.dsdt, "DSDT", (uint32_t)(SDT_HDR_LEN + aml_len), 2);

	build_madt(cfg, buf + l.madt);
	build_fadt(buf + l.fadt, base + l.dsdt);

	uint8_t *x = buf + l.xsdt;
	w64(x + SDT_HDR_LEN, base + l.fadt);
	w64(x + SDT_HDR_LEN + 8, base + l.madt);
	sdt_header(x, "XSDT", SDT_HDR_LEN + 16, 1);

	uint8_t *r = buf + l.rsdp;
	/* fixed-width signature fields, not strings (ACPI 6.x §5.2.5.3) */
	memcpy(r, "RSD PTR ", 8);     // NOLINT(bugprone-not-null-terminated-result)
	memcpy(r + 9, "SMOLVM", 6);   // NOLINT(bugprone-not-null-terminated-result)
	r[15] = 2; /* ACPI 2.0+ RSDP */
	w32(r + 16, 0);
	w32(r + 20, RSDP_LEN);
	w64(r + 24, base + l.xsdt);
	r[8] = (uint8_t)(0 - acpi_sum(r, 20));
	r[32] = (uint8_t)(0 - acpi_sum(r, RSDP_LEN));
	*out = l;
	return 0;
}
