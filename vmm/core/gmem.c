/* gmem: guest RAM in one mapping, split around the MMIO hole (gmem.h). */
#include "core/gmem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void gmem_layout(struct gmem *gm, uint64_t ram_size)
{
	uint64_t low = ram_size < GMEM_MMIO_HOLE_START ? ram_size : GMEM_MMIO_HOLE_START;

	gm->nregions = 0;
	gm->regions[gm->nregions++] =
	    (struct gmem_region){.gpa = 0, .size = low, .fd_offset = 0, .host = gm->map};
	if (ram_size > low)
		gm->regions[gm->nregions++] = (struct gmem_region){.gpa = GMEM_4G,
								   .size = ram_size - low,
								   .fd_offset = low,
								   .host = gm->map + low};
}

static int gmem_map(int fd, uint64_t fd_offset, uint64_t ram_size, bool private_map,
		    struct gmem **out)
{
	struct gmem *gm = calloc(1, sizeof(*gm));
	if (!gm)
		return -ENOMEM;
	gm->fd = fd;
	gm->ram_size = ram_size;
	gm->private_map = private_map;
	/* MAP_NORESERVE: guest RAM is touched lazily; a 4 GiB guest that uses
	 * 100 MiB costs 100 MiB. */
	void *map =
	    mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		 (private_map ? MAP_PRIVATE : MAP_SHARED) | MAP_NORESERVE, fd, (off_t)fd_offset);
	if (map == MAP_FAILED) {
		int err = -errno;
		free(gm);
		return err;
	}
	gm->map = map;
	gmem_layout(gm, ram_size);
	*out = gm;
	return 0;
}

static int gmem_size_ok(uint64_t ram_size)
{
	if (ram_size == 0 || ram_size % GMEM_PAGE_SIZE || ram_size > GMEM_MAX_RAM)
		return -EINVAL;
	return 0;
}

/* Guest RAM of a booted VM is private anonymous memory, mapped at a 2 MiB
 * aligned address and advised for transparent huge pages: KVM backs the
 * guest with 2 MiB nested pages where the host has a huge page, so a
 * booting kernel takes one nested page fault per 2 MiB it touches instead
 * of one per 4 KiB (the Debian cloud kernel's boot to init took about
 * 26 000 of them with a memfd, whose shmem pages are 4 KiB unless the
 * host's shmem_enabled says otherwise, and 622 like this, in the nested
 * test host; QEMU backs RAM the same way). The
 * advice is best effort: a host with THP off gets 4 KiB pages, as before.
 * A snapshot finds the pages never touched with /proc/self/pagemap
 * (snap_writer.h), as it did with the memfd's holes. */
#define GMEM_HUGE_PAGE (2ull << 20)

int gmem_create(uint64_t ram_size, struct gmem **out)
{
	int err = gmem_size_ok(ram_size);
	if (err)
		return err;
	struct gmem *gm = calloc(1, sizeof(*gm));
	if (!gm)
		return -ENOMEM;
	/* Over-allocate by one huge page, then trim to an aligned start:
	 * only a 2 MiB aligned host range can be a huge page, and KVM maps a
	 * 2 MiB guest page only where gpa and host address agree mod 2 MiB. */
	size_t span = ram_size + GMEM_HUGE_PAGE;
	uint8_t *raw = mmap(NULL, span, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED) {
		err = -errno;
		free(gm);
		return err;
	}
	uintptr_t start = ((uintptr_t)raw + GMEM_HUGE_PAGE - 1) & ~(uintptr_t)(GMEM_HUGE_PAGE - 1);
	size_t head = start - (uintptr_t)raw;
	if (head)
		munmap(raw, head);
	if (span - head > ram_size)
		munmap((uint8_t *)start + ram_size, span - head - ram_size);
	madvise((void *)start, ram_size, MADV_HUGEPAGE);
	gm->fd = -1;
	gm->ram_size = ram_size;
	gm->map = (uint8_t *)start;
	gmem_layout(gm, ram_size);
	*out = gm;
	return 0;
}

int gmem_create_from_fd(int fd, uint64_t fd_offset, uint64_t ram_size, bool private_map,
			struct gmem **out)
{
	int err = gmem_size_ok(ram_size);
	if (err)
		return err;
	if (fd_offset % GMEM_PAGE_SIZE)
		return -EINVAL;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size < 0 || fd_offset > (uint64_t)st.st_size ||
	    ram_size > (uint64_t)st.st_size - fd_offset)
		return -EINVAL;
	int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup_fd < 0)
		return -errno;
	err = gmem_map(dup_fd, fd_offset, ram_size, private_map, out);
	if (err) {
		close(dup_fd);
		return err;
	}
	/* Region fd offsets are relative to the file, not the mapping. */
	for (unsigned i = 0; i < (*out)->nregions; i++)
		(*out)->regions[i].fd_offset += fd_offset;
	return 0;
}

void gmem_destroy(struct gmem *gm)
{
	if (!gm)
		return;
	if (gm->map)
		munmap(gm->map, gm->ram_size);
	if (gm->fd >= 0)
		close(gm->fd);
	free(gm);
}

static const struct gmem_region *gmem_find(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
	/* Overflow first: gpa + len must not wrap. */
	if (len > UINT64_MAX - gpa)
		return NULL;
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gmem_region *r = &gm->regions[i];
		if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa))
			return r;
	}
	return NULL;
}

bool gmem_range_ok(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
	return gmem_find(gm, gpa, len) != NULL;
}

int gmem_ptr(const struct gmem *gm, uint64_t gpa, uint64_t len, void **out)
{
	const struct gmem_region *r = gmem_find(gm, gpa, len);
	if (!r)
		return -EFAULT;
	*out = r->host + (gpa - r->gpa);
	return 0;
}

int gmem_read(const struct gmem *gm, uint64_t gpa, void *dst, size_t len)
{
	void *p;
	int err = gmem_ptr(gm, gpa, len, &p);
	if (err)
		return err;
	memcpy(dst, p, len);
	return 0;
}

int gmem_write(const struct gmem *gm, uint64_t gpa, const void *src, size_t len)
{
	void *p;
	int err = gmem_ptr(gm, gpa, len, &p);
	if (err)
		return err;
	memcpy(p, src, len);
	return 0;
}

int gmem_fill(const struct gmem *gm, uint64_t gpa, int c, size_t len)
{
	void *p;
	int err = gmem_ptr(gm, gpa, len, &p);
	if (err)
		return err;
	memset(p, c, len);
	return 0;
}

/* x86 hosts only (see vmm/arch): host order is little endian, so the
 * fixed-width helpers are plain copies. */
#define GMEM_RW(bits)                                                                              \
	int gmem_read_u##bits(const struct gmem *gm, uint64_t gpa, uint##bits##_t *out)            \
	{                                                                                          \
		return gmem_read(gm, gpa, out, sizeof(*out));                                      \
	}                                                                                          \
	int gmem_write_u##bits(const struct gmem *gm, uint64_t gpa, uint##bits##_t v)              \
	{                                                                                          \
		return gmem_write(gm, gpa, &v, sizeof(v));                                         \
	}
GMEM_RW(16)
GMEM_RW(32)
GMEM_RW(64)

uint64_t gmem_end(const struct gmem *gm)
{
	const struct gmem_region *r = &gm->regions[gm->nregions - 1];
	return r->gpa + r->size;
}
