/* Unit tests for the ACPI tables and the DSDT's AML (vmm/arch/x86_64/
 * acpi.c, aml.c): checksums, lengths, pointers, and the AML structure. */
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/layout.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint8_t buf[X86_ACPI_MAX];

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void config(struct acpi_config *c, unsigned ncpus, unsigned nvirtio)
{
	memset(c, 0, sizeof(*c));
	c->ncpus = ncpus;
	c->base_gpa = X86_ACPI_BASE;
	c->nvirtio = nvirtio;
	for (unsigned i = 0; i < nvirtio; i++)
		c->virtio[i] =
		    (struct acpi_virtio_window){X86_VIRTIO_BASE + 0x1000ull * i, 0x1000, 5 + i};
}

/* The table at gpa inside buf, checked: signature, length, checksum. */
static const uint8_t *table_at(uint64_t gpa, const char *sig)
{
	ck_assert_uint_ge(gpa, X86_ACPI_BASE);
	ck_assert_uint_lt(gpa, X86_ACPI_BASE + sizeof(buf));
	const uint8_t *t = buf + (gpa - X86_ACPI_BASE);
	ck_assert_int_eq(memcmp(t, sig, 4), 0);
	uint32_t len = rd32(t + 4);
	ck_assert_uint_ge(len, 36);
	ck_assert_uint_le(gpa - X86_ACPI_BASE + len, sizeof(buf));
	ck_assert_uint_eq(acpi_sum(t, len), 0);
	return t;
}

/* Decodes an AML PkgLength (ACPI 6.5 §20.2.4) at p; *n gets its size. */
static size_t pkglen(const uint8_t *p, size_t *n)
{
	unsigned extra = p[0] >> 6;
	size_t v = extra ? (p[0] & 0x0f) : (p[0] & 0x3f);
	for (unsigned i = 0; i < extra; i++)
		v |= (size_t)p[1 + i] << (4 + 8 * i);
	*n = 1 + extra;
	return v;
}

static unsigned count(const uint8_t *hay, size_t len, const void *needle, size_t n)
{
	unsigned c = 0;
	for (size_t i = 0; i + n <= len; i++)
		c += memcmp(hay + i, needle, n) == 0;
	return c;
}

/* Name (\_S5_, Package (2) { 5, Zero }): ACPI 6.5 §7.4.2 */
static const uint8_t s5_aml[] = {0x08, 0x5c, '_',  'S',	 '5',  '_',
				 0x12, 0x05, 0x02, 0x0a, 0x05, 0x00};

START_TEST(tables_consistent)
{
	struct acpi_config c;
	config(&c, 4, 3);
	struct acpi_layout l;
	ck_assert_int_eq(acpi_build(&c, buf, sizeof(buf), &l), 0);
	const uint8_t *r = buf + l.rsdp;
	ck_assert_int_eq(memcmp(r, "RSD PTR ", 8), 0);
	ck_assert_uint_eq(acpi_sum(r, 20), 0);
	ck_assert_uint_eq(acpi_sum(r, 36), 0);
	ck_assert_uint_eq(r[15], 2);
	ck_assert_uint_eq(rd32(r + 20), 36);

	const uint8_t *x = table_at(rd64(r + 24), "XSDT");
	ck_assert_uint_eq(rd32(x + 4), 36 + 16);
	const uint8_t *f = table_at(rd64(x + 36), "FACP");
	const uint8_t *m = table_at(rd64(x + 44), "APIC");
	ck_assert_uint_eq(rd32(f + 4), 276);
	ck_assert_uint_eq(f[8], 6);
	ck_assert(rd32(f + 112) & (1u << 20)); /* HW_REDUCED_ACPI */
	ck_assert(rd32(f + 112) & (1u << 10)); /* RESET_REG_SUP */
	ck_assert_uint_eq(f[116], 1);	       /* reset register in SystemIO */
	ck_assert_uint_eq(rd64(f + 120), 0x64);
	ck_assert_uint_eq(f[128], 0xfe);
	/* sleep control and status registers: SystemIO bytes at the ports
	 * devices/acpi_sleep.c serves */
	ck_assert_uint_eq(f[244], 1);
	ck_assert_uint_eq(f[245], 8);
	ck_assert_uint_eq(rd64(f + 248), X86_ACPI_SLEEP_PORT);
	ck_assert_uint_eq(f[256], 1);
	ck_assert_uint_eq(rd64(f + 260), X86_ACPI_SLEEP_PORT + 1);
	ck_assert_uint_eq(rd64(f + 140), rd32(f + 40)); /* X_DSDT == DSDT */
	const uint8_t *d = table_at(rd64(f + 140), "DSDT");

	/* MADT: LAPIC address, one enabled LAPIC per vCPU with APIC ID ==
	 * index, one IOAPIC, the IRQ0 override and the LINT1 NMI. */
	ck_assert_uint_eq(rd32(m + 36), X86_LAPIC_ADDR);
	unsigned lapic = 0, ioapic = 0, iso = 0, nmi = 0;
	uint32_t mlen = rd32(m + 4);
	for (uint32_t off = 44; off < mlen; off += m[off + 1]) {
		ck_assert_uint_ge(m[off + 1], 2);
		ck_assert_uint_le(off + m[off + 1], mlen);
		switch (m[off]) {
		case 0:
			ck_assert_uint_eq(m[off + 3], lapic);
			ck_assert_uint_eq(rd32(m + off + 4), 1);
			lapic++;
			break;
		case 1:
			ck_assert_uint_eq(rd32(m + off + 4), X86_IOAPIC_ADDR);
			ioapic++;
			break;
		case 2:
			ck_assert_uint_eq(m[off + 3], 0);
			ck_assert_uint_eq(rd32(m + off + 4), 2);
			iso++;
			break;
		case 4:
			nmi++;
			break;
		default:
			ck_abort_msg("unexpected MADT entry type %u", m[off]);
		}
	}
	ck_assert_uint_eq(lapic, 4);
	ck_assert_uint_eq(ioapic, 1);
	ck_assert_uint_eq(iso, 1);
	ck_assert_uint_eq(nmi, 1);

	/* DSDT: one Scope(\_SB), then Name(\_S5_, Package(2){5, 0}) to the end. */
	uint32_t dlen = rd32(d + 4);
	ck_assert_uint_eq(d[36], 0x10);
	size_t n;
	size_t plen = pkglen(d + 37, &n);
	ck_assert_uint_eq(37 + plen + sizeof(s5_aml), dlen);
	ck_assert_int_eq(memcmp(d + 37 + plen, s5_aml, sizeof(s5_aml)), 0);
	ck_assert_int_eq(memcmp(d + 37 + n, "\\_SB_", 5), 0);
	ck_assert_uint_eq(count(d, dlen, "LNRO0005", 9), 3);
	static const uint8_t pnp0501[] = {0x0c, 0x41, 0xd0, 0x05, 0x01};
	ck_assert_uint_eq(count(d, dlen, pnp0501, sizeof(pnp0501)), 1);
	/* the i8042: keyboard (PNP0303) with ports 0x60/0x64 and IRQ 1, aux
	 * (PNP0F13) with IRQ 12 */
	static const uint8_t pnp0303[] = {0x0c, 0x41, 0xd0, 0x03, 0x03};
	static const uint8_t pnp0f13[] = {0x0c, 0x41, 0xd0, 0x0f, 0x13};
	static const uint8_t kbd_io[] = {0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01, 0x01, 0x47, 0x01,
					 0x64, 0x00, 0x64, 0x00, 0x01, 0x01, 0x22, 0x02, 0x00};
	static const uint8_t irq12[] = {0x22, 0x00, 0x10};
	ck_assert_uint_eq(count(d, dlen, pnp0303, sizeof(pnp0303)), 1);
	ck_assert_uint_eq(count(d, dlen, pnp0f13, sizeof(pnp0f13)), 1);
	ck_assert_uint_eq(count(d, dlen, kbd_io, sizeof(kbd_io)), 1);
	ck_assert_uint_eq(count(d, dlen, irq12, sizeof(irq12)), 1);
	ck_assert_uint_eq(count(d, dlen, "V002", 4), 1);
	/* Memory32Fixed of window 2 and its Interrupt {7} */
	static const uint8_t mem2[] = {0x86, 0x09, 0x00, 0x01, 0x00, 0x20,
				       0x00, 0xd0, 0x00, 0x10, 0x00, 0x00};
	ck_assert_uint_eq(count(d, dlen, mem2, sizeof(mem2)), 1);
	static const uint8_t irq7[] = {0x89, 0x06, 0x00, 0x03, 0x01, 0x07, 0x00, 0x00, 0x00};
	ck_assert_uint_eq(count(d, dlen, irq7, sizeof(irq7)), 1);
	ck_assert_uint_eq(l.len, l.dsdt + dlen);
}
END_TEST

START_TEST(many_devices_use_long_pkglength)
{
	/* 16 windows make the scope longer than 63 bytes, so the multi-byte
	 * PkgLength form is exercised and must still decode. */
	struct acpi_config c;
	config(&c, 1, ACPI_MAX_VIRTIO);
	struct acpi_layout l;
	ck_assert_int_eq(acpi_build(&c, buf, sizeof(buf), &l), 0);
	const uint8_t *d = buf + l.dsdt;
	size_t n;
	size_t plen = pkglen(d + 37, &n);
	ck_assert_uint_ge(n, 2);
	ck_assert_uint_eq(37 + plen + sizeof(s5_aml), rd32(d + 4));
	ck_assert_uint_eq(acpi_sum(d, rd32(d + 4)), 0);
	ck_assert_uint_eq(count(d, rd32(d + 4), "LNRO0005", 9), ACPI_MAX_VIRTIO);
}
END_TEST

START_TEST(bad_configs)
{
	struct acpi_config c;
	struct acpi_layout l;
	config(&c, 0, 1);
	ck_assert_int_eq(acpi_build(&c, buf, sizeof(buf), &l), -EINVAL);
	config(&c, 255, 1);
	ck_assert_int_eq(acpi_build(&c, buf, sizeof(buf), &l), -EINVAL);
	config(&c, 1, 1);
	c.nvirtio = ACPI_MAX_VIRTIO + 1;
	ck_assert_int_eq(acpi_build(&c, buf, sizeof(buf), &l), -EINVAL);
	config(&c, 1, 1);
	c.virtio[0].base = 0x1ffffffffull; /* above 4 GiB: not a Memory32Fixed */
	ck_assert_int_eq(acpi_build(&c, buf, sizeof(buf), &l), -EINVAL);
	config(&c, 1, 1);
	c.virtio[0].base = 0xfffff000;
	c.virtio[0].size = 0x2000; /* wraps past 4 GiB */
	ck_assert_int_eq(acpi_build(&c, buf, sizeof(buf), &l), -EINVAL);
	config(&c, 2, 2);
	ck_assert_int_eq(acpi_build(&c, buf, 200, &l), -ENOSPC);
}
END_TEST

static Suite *acpi_suite(void)
{
	Suite *s = suite_create("acpi");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, tables_consistent);
	tcase_add_test(tc, many_devices_use_long_pkglength);
	tcase_add_test(tc, bad_configs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return smol_check_run(acpi_suite());
}
