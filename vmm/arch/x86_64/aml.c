/* The DSDT's AML, written byte by byte (ACPI 6.5 §20 "ACPI Machine
 * Language Specification", §6.4 resource descriptors). The equivalent ASL:
 *
 *   DefinitionBlock ("", "DSDT", 2, "SMOLVM", "SMOLDSDT", 1) {
 *     Scope (\_SB) {
 *       Device (COM1) {
 *         Name (_HID, EisaId ("PNP0501"))  Name (_UID, 1)
 *         Name (_CRS, ResourceTemplate () { IO (Decode16, 0x3F8, 0x3F8, 8, 8) IRQNoFlags () {4} })
 *       }
 *       Device (KBD0) {                        // the i8042's keyboard port
 *         Name (_HID, EisaId ("PNP0303"))
 *         Name (_CRS, ResourceTemplate () {
 *           IO (Decode16, 0x60, 0x60, 1, 1) IO (Decode16, 0x64, 0x64, 1, 1) IRQNoFlags () {1} })
 *       }
 *       Device (MOU0) {                        // its aux port's interrupt
 *         Name (_HID, EisaId ("PNP0F13"))
 *         Name (_CRS, ResourceTemplate () { IRQNoFlags () {12} })
 *       }
 *       Device (Vnnn) {                        // one per virtio-mmio window
 *         Name (_HID, "LNRO0005")  Name (_UID, n)
 *         Name (_CRS, ResourceTemplate () {
 *           Memory32Fixed (ReadWrite, base, size)
 *           Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { gsi } })
 *       }
 *     }
 *     Name (\_S5, Package (2) { 5, 0 })       // power-off (devices/acpi_sleep.h)
 *   } */
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/layout.h"
#include "devices/acpi_sleep.h"
#include "strbuf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define AML_ZERO       0x00
#define AML_ONE	       0x01
#define AML_NAME       0x08
#define AML_BYTE       0x0a
#define AML_WORD       0x0b
#define AML_DWORD      0x0c
#define AML_STRING     0x0d
#define AML_SCOPE      0x10
#define AML_BUFFER     0x11
#define AML_PACKAGE    0x12
#define AML_EXT_PREFIX 0x5b
#define AML_DEVICE     0x82
#define AML_ROOT       0x5c

static int put8(struct strbuf *sb, uint8_t v)
{
	return sb_append(sb, &v, 1);
}

static int put_le(struct strbuf *sb, uint64_t v, unsigned n)
{
	uint8_t b[8];
	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return sb_append(sb, b, n);
}

/* §20.2.4 PkgLength: the length counts itself. 1 byte up to 63; otherwise
 * the lead byte holds the byte count in bits 7:6 and the low nibble. */
static int put_pkglen(struct strbuf *sb, size_t body)
{
	for (unsigned extra = 0; extra <= 3; extra++) {
		size_t total = body + 1 + extra;
		size_t limit = extra == 0 ? 0x3f : (1ul << (4 + 8 * extra)) - 1;
		if (total > limit)
			continue;
		if (extra == 0)
			return put8(sb, (uint8_t)total);
		int err = put8(sb, (uint8_t)((extra << 6) | (total & 0xf)));
		for (unsigned i = 0; i < extra && !err; i++)
			err = put8(sb, (uint8_t)(total >> (4 + 8 * i)));
		return err;
	}
	return -E2BIG;
}

/* §20.2.3 integer data: the shortest encoding. */
static int put_int(struct strbuf *sb, uint64_t v)
{
	if (v == 0)
		return put8(sb, AML_ZERO);
	if (v == 1)
		return put8(sb, AML_ONE);
	if (v <= 0xff)
		return put8(sb, AML_BYTE) ?: put_le(sb, v, 1);
	if (v <= 0xffff)
		return put8(sb, AML_WORD) ?: put_le(sb, v, 2);
	return put8(sb, AML_DWORD) ?: put_le(sb, v, 4);
}

static int put_nameseg(struct strbuf *sb, const char name[4])
{
	return sb_append(sb, name, 4);
}

/* Name (seg, <encoded object in obj>) */
static int put_name(struct strbuf *sb, const char seg[4], const struct strbuf *obj)
{
	return put8(sb, AML_NAME) ?: put_nameseg(sb, seg) ?: sb_append(sb, obj->buf, obj->len);
}

static int put_name_int(struct strbuf *sb, const char seg[4], uint64_t v)
{
	struct strbuf o = {0};
	int err = put_int(&o, v) ?: put_name(sb, seg, &o);
	sb_release(&o);
	return err;
}

static int put_name_string(struct strbuf *sb, const char seg[4], const char *s)
{
	struct strbuf o = {0};
	int err = put8(&o, AML_STRING) ?: sb_append(&o, s, strlen(s) + 1) ?: put_name(sb, seg, &o);
	sb_release(&o);
	return err;
}

/* EisaId(): three letters of 5 bits and four hex digits, stored big endian
 * (ACPI 6.5 §19.6.35). "PNP0501" -> 0x0105D041 as a little-endian DWORD. */
static uint32_t eisa_id(const char *id)
{
	uint32_t hex = (uint32_t)strtoul(id + 3, NULL, 16);
	uint32_t v = (uint32_t)(id[0] - 0x40) << 26 | (uint32_t)(id[1] - 0x40) << 21 |
		     (uint32_t)(id[2] - 0x40) << 16 | (hex & 0xffff);
	return __builtin_bswap32(v);
}

static int put_name_eisa(struct strbuf *sb, const char seg[4], const char *id)
{
	struct strbuf o = {0};
	int err = put8(&o, AML_DWORD) ?: put_le(&o, eisa_id(id), 4) ?: put_name(sb, seg, &o);
	sb_release(&o);
	return err;
}

/* Name (_CRS, Buffer () { descriptors..., EndTag }) */
static int put_crs(struct strbuf *sb, const struct strbuf *desc)
{
	struct strbuf body = {0}, obj = {0};
	/* §6.4.2.9 End Tag: 0x79, checksum 0 ("treated as valid"). */
	int err = put_int(&body, desc->len + 2) ?: sb_append(&body, desc->buf, desc->len) ?:
		  put8(&body, 0x79) ?: put8(&body, 0x00);
	err = err ?: put8(&obj, AML_BUFFER) ?: put_pkglen(&obj, body.len) ?:
		      sb_append(&obj, body.buf, body.len) ?: put_name(sb, "_CRS", &obj);
	sb_release(&body);
	sb_release(&obj);
	return err;
}

/* Device (seg) { body } or Scope (name) { body } */
static int put_block(struct strbuf *sb, bool device, const uint8_t *name, size_t name_len,
		     const struct strbuf *body)
{
	int err = device ? put8(sb, AML_EXT_PREFIX) ?: put8(sb, AML_DEVICE) : put8(sb, AML_SCOPE);
	return err ?: put_pkglen(sb, name_len + body->len) ?: sb_append(sb, name, name_len) ?:
		      sb_append(sb, body->buf, body->len);
}

static int put_com1(struct strbuf *sb)
{
	struct strbuf dev = {0}, res = {0};
	/* §6.4.2.5 I/O port descriptor (Decode16, min, max, align 8, len 8),
	 * §6.4.2.1 IRQ descriptor without flags (mask bit 4). */
	static const uint8_t io[] = {0x47,
				     0x01,
				     X86_COM1_PORT & 0xff,
				     X86_COM1_PORT >> 8,
				     X86_COM1_PORT & 0xff,
				     X86_COM1_PORT >> 8,
				     0x08,
				     0x08};
	static const uint8_t irq[] = {0x22, 1u << X86_COM1_GSI, 0x00};
	int err = sb_append(&res, io, sizeof(io)) ?: sb_append(&res, irq, sizeof(irq));
	err = err ?: put_name_eisa(&dev, "_HID", "PNP0501") ?: put_name_int(&dev, "_UID", 1) ?:
		      put_crs(&dev, &res) ?: put_block(sb, true, (const uint8_t *)"COM1", 4, &dev);
	sb_release(&dev);
	sb_release(&res);
	return err;
}

/* Device (seg) { _HID EisaId(hid), _CRS (res) } */
static int put_pnp(struct strbuf *sb, const char seg[4], const char *hid, const struct strbuf *res)
{
	struct strbuf dev = {0};
	int err = put_name_eisa(&dev, "_HID", hid) ?: put_crs(&dev, res) ?:
		  put_block(sb, true, (const uint8_t *)seg, 4, &dev);
	sb_release(&dev);
	return err;
}

/* The i8042 (devices/i8042.h). Under HW_REDUCED_ACPI Linux sets up no
 * legacy ISA IRQs, so its i8042 driver can only request IRQ 1 and 12 once
 * PNP devices name them (drivers/input/serio/i8042-acpipnpio.h,
 * i8042_pnp_init: the keyboard's first IO resource is the data port, the
 * second the command port; the mouse gives only its IRQ). Without the
 * PNP0F13 Linux warns "PS/2 appears to have AUX port disabled". */
static int put_i8042(struct strbuf *sb)
{
	struct strbuf kbd = {0}, mou = {0};
	static const uint8_t io_data[] = {0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01, 0x01};
	static const uint8_t io_cmd[] = {0x47, 0x01, 0x64, 0x00, 0x64, 0x00, 0x01, 0x01};
	static const uint8_t irq1[] = {0x22, 1u << 1, 0x00};
	static const uint8_t irq12[] = {0x22, 0x00, 1u << (12 - 8)};
	int err = sb_append(&kbd, io_data, sizeof(io_data)) ?:
		  sb_append(&kbd, io_cmd, sizeof(io_cmd)) ?: sb_append(&kbd, irq1, sizeof(irq1)) ?:
		  sb_append(&mou, irq12, sizeof(irq12)) ?: put_pnp(sb, "KBD0", "PNP0303", &kbd) ?:
		  put_pnp(sb, "MOU0", "PNP0F13", &mou);
	sb_release(&kbd);
	sb_release(&mou);
	return err;
}

static int put_virtio(struct strbuf *sb, unsigned i, const struct acpi_virtio_window *w)
{
	struct strbuf dev = {0}, res = {0};
	char seg[5] = {'V', (char)('0' + i / 100), (char)('0' + i / 10 % 10), (char)('0' + i % 10),
		       0};
	/* §6.4.3.4 Memory32Fixed: 0x86, length 9, RW, base, size.
	 * §6.4.3.6 Extended Interrupt: 0x89, length 6, flags
	 * (consumer | edge, active high, exclusive), one interrupt. */
	int err = put8(&res, 0x86) ?: put_le(&res, 9, 2) ?: put8(&res, 0x01) ?:
		  put_le(&res, w->base, 4) ?: put_le(&res, w->size, 4) ?: put8(&res, 0x89) ?:
		  put_le(&res, 6, 2) ?: put8(&res, 0x03) ?: put8(&res, 1) ?: put_le(&res, w->gsi, 4);
	err = err ?: put_name_string(&dev, "_HID", "LNRO0005") ?: put_name_int(&dev, "_UID", i) ?:
		      put_crs(&dev, &res) ?: put_block(sb, true, (const uint8_t *)seg, 4, &dev);
	sb_release(&dev);
	sb_release(&res);
	return err;
}

/* Name (\_S5_, Package (2) { SLP_TYPa, SLP_TYPb }): §7.4.2 System \_Sx
 * states. With the FADT's sleep control register it lets the guest power
 * off; b is unused under HW_REDUCED_ACPI. */
static int put_s5(struct strbuf *sb)
{
	struct strbuf body = {0}, obj = {0};
	int err = put8(&body, 2) ?: put_int(&body, ACPI_SLEEP_TYPE_S5) ?: put_int(&body, 0);
	err = err ?: put8(&obj, AML_PACKAGE) ?: put_pkglen(&obj, body.len) ?:
		      sb_append(&obj, body.buf, body.len) ?: put8(sb, AML_NAME) ?:
		      put8(sb, AML_ROOT) ?: put_nameseg(sb, "_S5_") ?:
		      sb_append(sb, obj.buf, obj.len);
	sb_release(&body);
	sb_release(&obj);
	return err;
}

int acpi_dsdt_aml(const struct acpi_config *cfg, uint8_t **out, size_t *out_len)
{
	if (cfg->nvirtio > ACPI_MAX_VIRTIO)
		return -EINVAL;
	for (unsigned i = 0; i < cfg->nvirtio; i++)
		if (cfg->virtio[i].base > UINT32_MAX || cfg->virtio[i].size == 0 ||
		    cfg->virtio[i].size > UINT32_MAX - cfg->virtio[i].base)
			return -EINVAL;
	struct strbuf sb_scope = {0}, sb = {0};
	static const uint8_t sb_name[] = {AML_ROOT, '_', 'S', 'B', '_'};
	int err = put_com1(&sb_scope) ?: put_i8042(&sb_scope);
	for (unsigned i = 0; i < cfg->nvirtio && !err; i++)
		err = put_virtio(&sb_scope, i, &cfg->virtio[i]);
	err = err ?: put_block(&sb, false, sb_name, sizeof(sb_name), &sb_scope) ?: put_s5(&sb);
	sb_release(&sb_scope);
	if (err) {
		sb_release(&sb);
		return err;
	}
	*out_len = sb.len;
	char *s;
	err = sb_detach(&sb, &s);
	if (err)
		return err;
	*out = (uint8_t *)s;
	return 0;
}
