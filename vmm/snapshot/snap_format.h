/* snap_format: the .smolsnap on-disk layout, and its pure parser.
 *
 * A snapshot file is (all integers little-endian):
 *
 *   0      header, SNAP_HEADER_SIZE (4 KiB) bytes, see the offsets below
 *   4096   sections, each at an 8-byte aligned offset; the memory section at
 *          a page-aligned offset with a page-multiple length, zero pages
 *          left as holes so the file is sparse and mappable MAP_PRIVATE
 *   ...    the section table: section_count entries of SNAP_ENTRY_SIZE
 *          bytes, written last (sections are streamed before it)
 *
 * The header ends with an XXH3-64 of its first 4088 bytes; the table has its
 * own XXH3-64 in the header; each section has its XXH3-64 in its entry.
 * docs/snapshot.md describes every field; keep both in step.
 *
 * The parser works on buffers only (no I/O), so it is the fuzz target's
 * entry point and the one place where untrusted offsets become trusted. */
#ifndef SMOL_SNAP_FORMAT_H
#define SMOL_SNAP_FORMAT_H

#include "smolvm/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC	      "SMOLSNAP"
#define SNAP_MAGIC_LEN	      8
#define SNAP_MAJOR	      1
#define SNAP_MINOR	      0
#define SNAP_HEADER_SIZE      4096u
#define SNAP_PAGE_SIZE	      4096u
#define SNAP_ENTRY_SIZE	      64u
#define SNAP_NAME_MAX	      31u /* name field is 32 bytes, NUL-terminated */
#define SNAP_MAX_SECTIONS     1024u
#define SNAP_CPUID_VENDOR_LEN 12

/* Header field offsets. */
#define SNAP_OFF_MAGIC	     0
#define SNAP_OFF_MAJOR	     8	/* u16 */
#define SNAP_OFF_MINOR	     10 /* u16 */
#define SNAP_OFF_FLAGS	     12 /* u32 */
#define SNAP_OFF_HEADER_SIZE 16 /* u32 */
#define SNAP_OFF_COUNT	     20 /* u32 section count */
#define SNAP_OFF_TABLE	     24 /* u64 section table offset */
#define SNAP_OFF_FILE_SIZE   32 /* u64 apparent file size */
#define SNAP_OFF_TABLE_SUM   40 /* u64 XXH3-64 of the table */
#define SNAP_OFF_FP	     64 /* host fingerprint, SNAP_FP_SIZE bytes */
#define SNAP_OFF_HEADER_SUM  (SNAP_HEADER_SIZE - 8)

/* Fingerprint field offsets, relative to SNAP_OFF_FP. */
#define SNAP_FP_VENDOR	   0  /* char[12], CPUID leaf 0 ebx:edx:ecx */
#define SNAP_FP_SIGNATURE  12 /* u32, CPUID leaf 1 eax */
#define SNAP_FP_FAMILY	   16 /* u32, display family */
#define SNAP_FP_MODEL	   20 /* u32, display model */
#define SNAP_FP_STEPPING   24 /* u32 */
#define SNAP_FP_TSC_KHZ	   28 /* u32, guest TSC frequency */
#define SNAP_FP_KVM_API	   32 /* u32, KVM_GET_API_VERSION */
#define SNAP_FP_CPUID_NENT 36 /* u32, entries in the guest CPUID table */
#define SNAP_FP_CPUID_HASH 40 /* u64, XXH3-64 of the guest CPUID entries */
#define SNAP_FP_SIZE	   64

/* Section entry field offsets. */
#define SNAP_ENT_NAME	 0  /* char[32], NUL-terminated */
#define SNAP_ENT_TYPE	 32 /* u32 enum snap_section_type */
#define SNAP_ENT_VERSION 36 /* u32 per-section version */
#define SNAP_ENT_OFFSET	 40 /* u64 */
#define SNAP_ENT_LENGTH	 48 /* u64 */
#define SNAP_ENT_SUM	 56 /* u64 XXH3-64 of the section's bytes */

/* Header flags. Bits in SNAP_FLAGS_INCOMPAT that this build does not know
 * make the file unreadable; other unknown bits are ignored. */
#define SNAP_FLAG_MEMORY_SPARSE 0x1u /* zero pages are holes (always set) */
#define SNAP_FLAGS_KNOWN	0x1u
#define SNAP_FLAGS_INCOMPAT	0xffff0000u

enum snap_section_type {
	SNAP_SEC_CONFIG = 1, /* "config": VM shape, memory map, device list */
	SNAP_SEC_VCPU = 2,   /* "vcpu.N": one vCPU's KVM state */
	SNAP_SEC_VM = 3,     /* "vm": PIC, IOAPIC, PIT, kvmclock */
	SNAP_SEC_DEVICE = 4, /* "dev.<name>": one device's state */
	SNAP_SEC_MEMORY = 5, /* "memory": guest RAM, page aligned, sparse */
	SNAP_SEC_NOTE = 6,   /* free-form text, ignored on restore */
	SNAP_SEC_LEGACY = 7, /* "serial.com1": a legacy (non-virtio) device's state */
};

struct snap_fingerprint {
	char vendor[SNAP_CPUID_VENDOR_LEN + 1]; /* NUL-terminated */
	uint32_t signature;
	uint32_t family, model, stepping;
	uint32_t tsc_khz;
	uint32_t kvm_api;
	uint32_t cpuid_nent;
	uint64_t cpuid_hash;
};

struct snap_header {
	uint16_t major, minor;
	uint32_t flags;
	uint32_t section_count;
	uint64_t table_offset;
	uint64_t file_size;
	uint64_t table_sum;
	struct snap_fingerprint fp;
};

struct snap_section {
	char name[SNAP_NAME_MAX + 1];
	uint32_t type;
	uint32_t version;
	uint64_t offset;
	uint64_t length;
	uint64_t checksum;
};

/* Little-endian field access; p must have room for the width. */
uint16_t snap_get16(const uint8_t *p);
uint32_t snap_get32(const uint8_t *p);
uint64_t snap_get64(const uint8_t *p);
void snap_put16(uint8_t *p, uint16_t v);
void snap_put32(uint8_t *p, uint32_t v);
void snap_put64(uint8_t *p, uint64_t v);

/* XXH3-64 of buf (seed 0): the checksum used everywhere in the format. */
uint64_t snap_hash(const void *buf, size_t len);

/* Encodes h into out[SNAP_HEADER_SIZE], including the header checksum. */
void snap_header_encode(const struct snap_header *h, uint8_t *out);

/* Encodes one table entry into out[SNAP_ENTRY_SIZE]. s->name must be a
 * valid section name (snap_name_valid). */
void snap_entry_encode(const struct snap_section *s, uint8_t *out);

/* True when name is 1..SNAP_NAME_MAX bytes of [a-z0-9._-]. */
bool snap_name_valid(const char *name);

/* Parses and validates the header in buf[len] (len >= SNAP_HEADER_SIZE):
 * magic, major version, unknown incompatible flags, header size, checksum,
 * and the section table's position against actual_size (the file's real
 * size, so a truncated file is named as such). Fills *out. */
int snap_header_parse(const uint8_t *buf, size_t len, uint64_t actual_size, struct snap_header *out,
		      struct vmm_err *err);

/* Parses the section table in buf[len] (exactly h->section_count entries)
 * that belongs to header h: checks the table checksum, every name (valid,
 * unique), every offset/length against overflow and the file size, that no
 * section overlaps the header, the table or another section, and that the
 * memory section is page aligned. Fills out[h->section_count]. */
int snap_table_parse(const struct snap_header *h, const uint8_t *buf, size_t len,
		     struct snap_section *out, struct vmm_err *err);

/* Looks up a section by name in secs[n]; NULL when absent. Borrowed. */
const struct snap_section *snap_section_find(const struct snap_section *secs, uint32_t n,
					     const char *name);

/* Parses a whole snapshot held in memory (header, table, every section's
 * checksum). The fuzz target's entry point; also used by tests. On success
 * *out_secs is a malloc'd array of h->section_count entries owned by the
 * caller. */
int snap_parse_buffer(const uint8_t *buf, size_t len, struct snap_header *out_h,
		      struct snap_section **out_secs, struct vmm_err *err);

#endif
