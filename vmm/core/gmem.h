/* gmem: guest physical memory.
 *
 * Guest RAM is one host mapping: private anonymous memory advised for
 * huge pages (a booted VM), or a file mapped MAP_PRIVATE (a fork of a
 * snapshot). The guest physical layout splits it around the MMIO hole
 * below 4 GiB:
 *
 *   [0, min(ram, GMEM_MMIO_HOLE_START))          low RAM, offset 0
 *   [GMEM_MMIO_HOLE_START, 4 GiB)                MMIO hole (virtio, IOAPIC, LAPIC)
 *   [4 GiB, 4 GiB + rest)                        high RAM, offset after low RAM
 *
 * Every access from the VMM to guest memory goes through the helpers below.
 * They reject a range whose gpa + len overflows, and a range that does not
 * lie entirely inside one region; they never fault on guest-controlled
 * values. The functions are safe to call from any thread (the layout never
 * changes after creation); concurrent guest writes to the same bytes are the
 * guest's problem, not a VMM safety problem. */
#ifndef SMOL_GMEM_H
#define SMOL_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GMEM_MAX_REGIONS     2
#define GMEM_MMIO_HOLE_START 0xc0000000ull /* 3 GiB */
#define GMEM_4G		     0x100000000ull
#define GMEM_PAGE_SIZE	     4096ull
/* Largest guest RAM we accept (keeps every gpa well away from 2^64). */
#define GMEM_MAX_RAM (1ull << 40)

struct gmem_region {
	uint64_t gpa;	    /* guest physical start */
	uint64_t size;	    /* bytes */
	uint64_t fd_offset; /* offset in the backing fd (anonymous: in the mapping) */
	uint8_t *host;	    /* host address of gpa (inside the one mapping) */
};

struct gmem {
	int fd;		   /* backing file, owned; -1 for anonymous RAM */
	uint64_t ram_size; /* total RAM bytes (sum of region sizes) */
	uint8_t *map;	   /* one mapping of the whole fd, owned */
	bool private_map;  /* fd mapped MAP_PRIVATE (fork from snapshot) vs MAP_SHARED */
	unsigned nregions;
	struct gmem_region regions[GMEM_MAX_REGIONS];
};

/* Creates ram_size bytes of zeroed guest RAM: private anonymous memory at a
 * 2 MiB aligned address, advised for transparent huge pages (fd -1), laid
 * out as described above. ram_size must
 * be a non-zero multiple of GMEM_PAGE_SIZE and at most GMEM_MAX_RAM
 * (-EINVAL otherwise). On success *out is owned by the caller
 * (gmem_destroy). On failure nothing is left allocated. */
int gmem_create(uint64_t ram_size, struct gmem **out);

/* Like gmem_create, but maps an existing file: fd (borrowed; duplicated
 * internally, so the caller may close its copy) must be at least
 * fd_offset + ram_size bytes. With private_map the mapping is MAP_PRIVATE
 * (copy-on-write: forks share the file's pages until they write). Used by
 * snapshot restore. -EINVAL on a short file or bad size. */
int gmem_create_from_fd(int fd, uint64_t fd_offset, uint64_t ram_size, bool private_map,
			struct gmem **out);

/* Unmaps and closes. NULL is a no-op. */
void gmem_destroy(struct gmem *gm);

/* Returns in *out the host address of [gpa, gpa + len), which must lie inside
 * one region. len may be 0 (then gpa must still be inside or at the end of a
 * region). -EFAULT when the range is outside RAM, straddles two regions, or
 * gpa + len overflows. The pointer stays valid until gmem_destroy. */
int gmem_ptr(const struct gmem *gm, uint64_t gpa, uint64_t len, void **out);

/* True when [gpa, gpa + len) lies inside one region (no overflow). */
bool gmem_range_ok(const struct gmem *gm, uint64_t gpa, uint64_t len);

/* Copies between guest memory and a host buffer. -EFAULT as gmem_ptr, in
 * which case nothing is copied. */
int gmem_read(const struct gmem *gm, uint64_t gpa, void *dst, size_t len);
int gmem_write(const struct gmem *gm, uint64_t gpa, const void *src, size_t len);
/* Sets len bytes at gpa to byte c. */
int gmem_fill(const struct gmem *gm, uint64_t gpa, int c, size_t len);

/* Little-endian fixed-width accessors (guest memory is LE on x86 and in
 * virtio 1.x). -EFAULT as gmem_ptr; *out untouched on failure. */
int gmem_read_u16(const struct gmem *gm, uint64_t gpa, uint16_t *out);
int gmem_read_u32(const struct gmem *gm, uint64_t gpa, uint32_t *out);
int gmem_read_u64(const struct gmem *gm, uint64_t gpa, uint64_t *out);
int gmem_write_u16(const struct gmem *gm, uint64_t gpa, uint16_t v);
int gmem_write_u32(const struct gmem *gm, uint64_t gpa, uint32_t v);
int gmem_write_u64(const struct gmem *gm, uint64_t gpa, uint64_t v);

/* The highest guest physical address + 1 of RAM (end of the last region). */
uint64_t gmem_end(const struct gmem *gm);

#endif
