#include "snap_config.h"
#include "snap_format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const char *snap_file_role_name(uint32_t role)
{
	switch (role) {
	case SNAP_FILE_KERNEL:
		return "kernel";
	case SNAP_FILE_INITRD:
		return "initrd";
	case SNAP_FILE_DISK_BASE:
		return "disk-base";
	case SNAP_FILE_DISK_LAYER:
		return "disk-layer";
	}
	return "unknown";
}

int snap_config_add_file(struct snap_config *cfg, uint32_t role, const char *path, uint64_t size,
			 uint64_t xxh3)
{
	if (cfg->nr_files == SNAP_MAX_FILES)
		return -E2BIG;
	size_t n = strlen(path);
	if (n == 0 || n >= SNAP_PATH_MAX)
		return -EINVAL;
	struct snap_file_ref *r = &cfg->files[cfg->nr_files];
	r->path = strdup(path);
	if (!r->path)
		return -ENOMEM;
	r->role = role;
	r->size = size;
	r->xxh3 = xxh3;
	cfg->nr_files++;
	return 0;
}

void snap_config_release(struct snap_config *cfg)
{
	for (uint32_t i = 0; i < cfg->nr_files; i++) {
		free(cfg->files[i].path);
		cfg->files[i].path = NULL;
	}
	cfg->nr_files = 0;
}

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

int snap_config_encode(const struct snap_config *cfg, uint8_t **out, size_t *out_len)
{
	size_t len = 24 + (size_t)cfg->nr_regions * 24;
	for (uint32_t i = 0; i < cfg->nr_files; i++)
		len += 24 + pad8(strlen(cfg->files[i].path));
	uint8_t *b = calloc(1, len), *p = b;
	if (!b)
		return -ENOMEM;
	snap_put32(p, cfg->nr_vcpus);
	snap_put32(p + 4, cfg->nr_regions);
	snap_put32(p + 8, cfg->nr_files);
	snap_put64(p + 16, cfg->mem_size);
	p += 24;
	for (uint32_t i = 0; i < cfg->nr_regions; i++, p += 24) {
		snap_put64(p, cfg->regions[i].gpa);
		snap_put64(p + 8, cfg->regions[i].size);
		snap_put64(p + 16, cfg->regions[i].mem_offset);
	}
	for (uint32_t i = 0; i < cfg->nr_files; i++) {
		size_t n = strlen(cfg->files[i].path);
		snap_put32(p, cfg->files[i].role);
		snap_put32(p + 4, (uint32_t)n);
		snap_put64(p + 8, cfg->files[i].size);
		snap_put64(p + 16, cfg->files[i].xxh3);
		memcpy(p + 24, cfg->files[i].path, n);
		p += 24 + pad8(n);
	}
	*out = b;
	*out_len = len;
	return 0;
}

int snap_config_decode(const uint8_t *buf, size_t len, uint64_t memory_len, struct snap_config *cfg,
		       struct vmm_err *err)
{
	memset(cfg, 0, sizeof(*cfg));
	if (len < 24)
		return vmm_errf(err, -EINVAL, "config section is %zu bytes, too short", len);
	uint32_t nv = snap_get32(buf), nr = snap_get32(buf + 4), nf = snap_get32(buf + 8);
	cfg->mem_size = snap_get64(buf + 16);
	if (nv == 0 || nv > SNAP_MAX_VCPUS)
		return vmm_errf(err, -EINVAL, "config: nr_vcpus %u is outside 1..%u", nv,
				SNAP_MAX_VCPUS);
	if (nr == 0 || nr > SNAP_MAX_REGIONS || nf > SNAP_MAX_FILES)
		return vmm_errf(err, -EINVAL,
				"config: %u memory regions / %u files is outside the "
				"limits (1..%u / %u)",
				nr, nf, SNAP_MAX_REGIONS, SNAP_MAX_FILES);
	cfg->nr_vcpus = nv;
	size_t pos = 24;
	if ((len - pos) / 24 < nr)
		return vmm_errf(err, -EINVAL, "config: %u regions do not fit in %zu bytes", nr,
				len);
	uint64_t total = 0;
	for (uint32_t i = 0; i < nr; i++, pos += 24) {
		struct snap_region r = {snap_get64(buf + pos), snap_get64(buf + pos + 8),
					snap_get64(buf + pos + 16)};
		if (r.size == 0 || (r.gpa | r.size | r.mem_offset) % SNAP_PAGE_SIZE ||
		    r.gpa + r.size < r.gpa || r.mem_offset > memory_len ||
		    r.size > memory_len - r.mem_offset)
			return vmm_errf(err, -EINVAL,
					"config: region %u (gpa %#" PRIx64 " size %#" PRIx64
					" at %#" PRIx64 ") is unaligned or outside the %" PRIu64
					"-byte memory section",
					i, r.gpa, r.size, r.mem_offset, memory_len);
		for (uint32_t j = 0; j < i; j++) {
			const struct snap_region *o = &cfg->regions[j];
			if (r.gpa < o->gpa + o->size && o->gpa < r.gpa + r.size)
				return vmm_errf(err, -EINVAL,
						"config: regions %u and %u overlap in guest memory",
						j, i);
		}
		total += r.size;
		cfg->regions[i] = r;
	}
	cfg->nr_regions = nr;
	if (total != cfg->mem_size)
		return vmm_errf(err, -EINVAL,
				"config: regions add up to %" PRIu64 " bytes, mem_size is %" PRIu64,
				total, cfg->mem_size);
	for (uint32_t i = 0; i < nf; i++) {
		if (len - pos < 24) {
			snap_config_release(cfg);
			return vmm_errf(err, -EINVAL, "config: file %u is cut off", i);
		}
		uint32_t role = snap_get32(buf + pos), n = snap_get32(buf + pos + 4);
		uint64_t size = snap_get64(buf + pos + 8), sum = snap_get64(buf + pos + 16);
		pos += 24;
		if (n == 0 || n >= SNAP_PATH_MAX || pad8(n) > len - pos ||
		    memchr(buf + pos, 0, n)) {
			snap_config_release(cfg);
			return vmm_errf(err, -EINVAL, "config: file %u has a bad path (length %u)",
					i, n);
		}
		/* a length-delimited field with no NUL: copy exactly n bytes */
		char *p = malloc((size_t)n + 1);
		if (p) {
			memcpy(p, buf + pos, n);
			p[n] = '\0';
		}
		if (!p) {
			snap_config_release(cfg);
			return vmm_errf(err, -ENOMEM, "out of memory");
		}
		cfg->files[cfg->nr_files++] = (struct snap_file_ref){role, size, sum, p};
		pos += pad8(n);
	}
	if (pos != len) {
		snap_config_release(cfg);
		return vmm_errf(err, -EINVAL, "config: %zu unexpected trailing bytes", len - pos);
	}
	return 0;
}
