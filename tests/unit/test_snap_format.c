/* .smolsnap format: writer/reader round trip, sparseness, and the hostile
 * cases next to the format code (bad magic, checksums, versions, truncation,
 * overlapping or out-of-file sections, fingerprint mismatches). */
#include "snapshot/snap_file.h"
#include "snapshot/snap_fingerprint.h"
#include "snapshot/snap_format.h"
#include "snapshot/snap_writer.h"
#include "util.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/snapfmt.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	util_rm_rf(tmpdir);
}

static struct snap_fingerprint test_fp(void)
{
	struct snap_fingerprint fp = {0};
	snap_fp_host_cpu(&fp);
	fp.tsc_khz = 2000000;
	fp.kvm_api = 12;
	return fp;
}

#define MEM_PAGES 64ull

/* Writes a snapshot with two small sections and a 64-page memory section in
 * which pages 3 and 40 hold data. */
static void write_sample(const char *path)
{
	struct snap_writer *w;
	struct vmm_err err = {{0}};
	ck_assert_int_eq(snap_writer_create(path, &w, &err), 0);
	ck_assert_int_eq(snap_writer_add(w, "config", SNAP_SEC_CONFIG, 1, "hello", 5, &err), 0);
	ck_assert_int_eq(snap_writer_add(w, "vcpu.0", SNAP_SEC_VCPU, 1, "regs!!!", 7, &err), 0);
	/* Guest RAM as the core makes it: a memfd mapped shared. */
	int mfd = memfd_create("snaptest", MFD_CLOEXEC);
	ck_assert_int_ge(mfd, 0);
	ck_assert_int_eq(ftruncate(mfd, MEM_PAGES * 4096ull), 0);
	uint8_t *mem = mmap(NULL, MEM_PAGES * 4096ull, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ck_assert_ptr_ne(mem, MAP_FAILED);
	memset(mem + 3 * 4096ull, 0xab, 4096);
	mem[40 * 4096ull + 17] = 1;
	mem[10 * 4096ull] = 0; /* allocated but zero: must still be a hole */
	/* Two ranges, like low and high RAM, the second without hole info. */
	struct snap_mem_range r[2] = {{mem, 32 * 4096ull, mfd, 0, false, false},
				      {mem + 32 * 4096ull, 32 * 4096ull, -1, 0, false, false}};
	struct snap_mem_stats st;
	ck_assert_int_eq(snap_writer_add_memory(w, 1, r, 2, &st, &err), 0);
	ck_assert_uint_eq(st.pages_total, MEM_PAGES);
	ck_assert_uint_eq(st.pages_written, 2);
	ck_assert_uint_ge(st.pages_skipped, 28); /* pages 0-2, 4-9, 11-31 never touched */
	munmap(mem, MEM_PAGES * 4096ull);
	close(mfd);
	struct snap_fingerprint fp = test_fp();
	ck_assert_msg(snap_writer_commit(w, &fp, &err) == 0, "%s", err.msg);
	snap_writer_destroy(w);
}

static void path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

START_TEST(roundtrip)
{
	char path[512];
	path_in(path, sizeof(path), "a.smolsnap");
	write_sample(path);
	struct snap_file *f;
	struct vmm_err err = {{0}};
	ck_assert_msg(snap_file_open(path, &f, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(f->hdr.section_count, 3);
	ck_assert_int_eq(f->hdr.major, SNAP_MAJOR);
	void *buf;
	size_t len;
	ck_assert_int_eq(snap_file_read_named(f, "vcpu.0", SNAP_SEC_VCPU, &buf, &len, &err), 0);
	ck_assert_uint_eq(len, 7);
	ck_assert_int_eq(memcmp(buf, "regs!!!", 7), 0);
	free(buf);
	ck_assert_int_eq(snap_file_read_named(f, "config", SNAP_SEC_VCPU, &buf, &len, &err),
			 -EINVAL);
	ck_assert_int_eq(snap_file_read_named(f, "nope", 0, &buf, &len, &err), -ENOENT);
	ck_assert_msg(snap_file_verify(f, &err) == 0, "%s", err.msg);

	const struct snap_section *m = snap_file_find(f, "memory");
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->offset % 4096, 0);
	ck_assert_uint_eq(m->length, MEM_PAGES * 4096ull);
	uint8_t *mem;
	ck_assert_int_eq(snap_file_map_memory(f, 0, m->length, (void **)&mem, &err), 0);
	ck_assert_uint_eq(mem[3 * 4096ull + 100], 0xab);
	ck_assert_uint_eq(mem[40 * 4096ull + 17], 1);
	ck_assert_uint_eq(mem[41 * 4096ull], 0);
	mem[0] = 7; /* private: must not reach the file */
	munmap(mem, m->length);
	ck_assert_int_eq(snap_file_map_memory(f, 4096, m->length, (void **)&mem, &err), -EINVAL);

	uint64_t alloc, apparent;
	ck_assert_int_eq(snap_file_sizes(f, &alloc, &apparent), 0);
	/* Sparse where the file system supports holes (tmpfs, ext4, xfs). */
	if (lseek(f->fd, (off_t)m->offset, SEEK_HOLE) < (off_t)(m->offset + m->length))
		ck_assert_uint_lt(alloc, apparent / 2);
	snap_file_close(f);

	ck_assert_int_eq(snap_file_open(path, &f, &err), 0);
	ck_assert_int_eq(snap_file_map_memory(f, 0, 4096, (void **)&mem, &err), 0);
	ck_assert_uint_eq(mem[0], 0);
	munmap(mem, 4096);
	snap_file_close(f);
}
END_TEST

/* Overwrites bytes at off in path. */
static void poke(const char *path, off_t off, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, data, len, off), (ssize_t)len);
	close(fd);
}

/* Re-seals the header after a deliberate edit, so the test reaches the check
 * behind the header checksum. */
static void reseal_header(const char *path)
{
	int fd = open(path, O_RDWR);
	uint8_t h[SNAP_HEADER_SIZE];
	ck_assert_int_eq(pread(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
	snap_put64(h + SNAP_OFF_HEADER_SUM, snap_hash(h, SNAP_OFF_HEADER_SUM));
	ck_assert_int_eq(pwrite(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
	close(fd);
}

static int open_err(const char *path, struct vmm_err *err)
{
	struct snap_file *f = NULL;
	int rc = snap_file_open(path, &f, err);
	snap_file_close(f);
	return rc;
}

START_TEST(bad_magic)
{
	char path[512];
	path_in(path, sizeof(path), "m.smolsnap");
	write_sample(path);
	poke(path, 0, "XMOLSNAP", 8);
	struct vmm_err err;
	ck_assert_int_eq(open_err(path, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "bad magic"));
	ck_assert_ptr_nonnull(strstr(err.msg, path));
}
END_TEST

START_TEST(header_checksum)
{
	char path[512];
	path_in(path, sizeof(path), "h.smolsnap");
	write_sample(path);
	poke(path, SNAP_OFF_FP + SNAP_FP_MODEL, "\x99", 1);
	struct vmm_err err;
	ck_assert_int_eq(open_err(path, &err), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err.msg, "header checksum"));
}
END_TEST

START_TEST(versions)
{
	char path[512];
	path_in(path, sizeof(path), "v.smolsnap");
	write_sample(path);
	uint8_t v[2];
	struct vmm_err err;
	snap_put16(v, SNAP_MAJOR + 1);
	poke(path, SNAP_OFF_MAJOR, v, 2);
	ck_assert_int_eq(open_err(path, &err), -EPROTONOSUPPORT);
	ck_assert_ptr_nonnull(strstr(err.msg, "newer"));
	snap_put16(v, 0);
	poke(path, SNAP_OFF_MAJOR, v, 2);
	ck_assert_int_eq(open_err(path, &err), -EPROTONOSUPPORT);
	ck_assert_ptr_nonnull(strstr(err.msg, "older"));
	/* A newer minor of the same major is readable. */
	snap_put16(v, SNAP_MAJOR);
	poke(path, SNAP_OFF_MAJOR, v, 2);
	snap_put16(v, SNAP_MINOR + 3);
	poke(path, SNAP_OFF_MINOR, v, 2);
	reseal_header(path);
	ck_assert_msg(open_err(path, &err) == 0, "%s", err.msg);
	/* An unknown incompatible flag is not. */
	uint8_t fl[4];
	snap_put32(fl, SNAP_FLAG_MEMORY_SPARSE | 0x00010000u);
	poke(path, SNAP_OFF_FLAGS, fl, 4);
	reseal_header(path);
	ck_assert_int_eq(open_err(path, &err), -EPROTONOSUPPORT);
}
END_TEST

START_TEST(truncated)
{
	char path[512];
	path_in(path, sizeof(path), "t.smolsnap");
	write_sample(path);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	struct vmm_err err;
	ck_assert_int_eq(truncate(path, st.st_size - 1), 0);
	ck_assert_int_eq(open_err(path, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "truncated"));
	ck_assert_int_eq(truncate(path, 100), 0);
	ck_assert_int_eq(open_err(path, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "truncated"));
	ck_assert_int_eq(truncate(path, 0), 0);
	ck_assert_int_eq(open_err(path, &err), -EINVAL);
	/* Trailing data is refused too. */
	write_sample(path);
	ck_assert_int_eq(truncate(path, st.st_size + 4096), 0);
	ck_assert_int_eq(open_err(path, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "trailing"));
}
END_TEST

START_TEST(corrupt_sections)
{
	char path[512];
	path_in(path, sizeof(path), "c.smolsnap");
	write_sample(path);
	struct snap_file *f;
	struct vmm_err err;
	ck_assert_int_eq(snap_file_open(path, &f, &err), 0);
	const struct snap_section *v = snap_file_find(f, "vcpu.0");
	const struct snap_section *m = snap_file_find(f, "memory");
	off_t voff = (off_t)v->offset, moff = (off_t)m->offset, toff = (off_t)f->hdr.table_offset;
	snap_file_close(f);

	poke(path, voff + 2, "X", 1);
	ck_assert_int_eq(snap_file_open(path, &f, &err), 0); /* lazily checked */
	void *buf;
	ck_assert_int_eq(snap_file_read_named(f, "vcpu.0", 0, &buf, NULL, &err), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err.msg, "vcpu.0"));
	ck_assert_int_eq(snap_file_verify(f, &err), -EBADMSG);
	snap_file_close(f);

	/* A flipped byte in a memory hole: open works, verify finds it. */
	write_sample(path);
	poke(path, moff + 20 * 4096ull + 5, "\x01", 1);
	ck_assert_int_eq(snap_file_open(path, &f, &err), 0);
	ck_assert_int_eq(snap_file_verify(f, &err), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err.msg, "memory"));
	snap_file_close(f);

	/* Table corruption is caught at open. */
	write_sample(path);
	poke(path, toff + 1, "Z", 1);
	ck_assert_int_eq(open_err(path, &err), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err.msg, "section table"));
}
END_TEST

/* Builds a file image in memory from hand-made entries, with valid
 * checksums everywhere, so the layout checks themselves are exercised. */
static uint8_t *forge(const struct snap_section *secs, uint32_t n, uint64_t file_size,
		      uint64_t table_off)
{
	uint8_t *buf = calloc(1, file_size);
	ck_assert_ptr_nonnull(buf);
	for (uint32_t i = 0; i < n; i++)
		snap_entry_encode(&secs[i], buf + table_off + (size_t)i * SNAP_ENTRY_SIZE);
	struct snap_header h = {.major = SNAP_MAJOR,
				.minor = SNAP_MINOR,
				.flags = SNAP_FLAG_MEMORY_SPARSE,
				.section_count = n,
				.table_offset = table_off,
				.file_size = file_size};
	h.table_sum = snap_hash(buf + table_off, (size_t)n * SNAP_ENTRY_SIZE);
	snap_header_encode(&h, buf);
	return buf;
}

static int parse_forged(const struct snap_section *secs, uint32_t n, struct vmm_err *err)
{
	uint64_t size = 3 * 4096ull + 64ull * 4, toff = 3 * 4096ull;
	uint8_t *buf = forge(secs, n, size, toff);
	/* Section checksums of whatever lies at their offsets. */
	struct snap_section fixed[4];
	for (uint32_t i = 0; i < n; i++) {
		fixed[i] = secs[i];
		if (secs[i].offset <= size && secs[i].length <= size - secs[i].offset)
			fixed[i].checksum = snap_hash(buf + secs[i].offset, secs[i].length);
	}
	free(buf);
	buf = forge(fixed, n, size, toff);
	struct snap_header h;
	struct snap_section *out = NULL;
	int rc = snap_parse_buffer(buf, size, &h, &out, err);
	free(out);
	free(buf);
	return rc;
}

START_TEST(layout_checks)
{
	struct vmm_err err;
	struct snap_section ok[2] = {
	    {.name = "config", .type = SNAP_SEC_CONFIG, .offset = 4096, .length = 100},
	    {.name = "memory", .type = SNAP_SEC_MEMORY, .offset = 8192, .length = 4096},
	};
	ck_assert_msg(parse_forged(ok, 2, &err) == 0, "%s", err.msg);

	struct snap_section s[2];
	memcpy(s, ok, sizeof(s));
	s[0].length = 5000; /* runs into memory */
	ck_assert_int_eq(parse_forged(s, 2, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "overlap"));

	memcpy(s, ok, sizeof(s));
	s[0].offset = 100; /* inside the header */
	ck_assert_int_eq(parse_forged(s, 2, &err), -EINVAL);

	memcpy(s, ok, sizeof(s));
	s[0].offset = UINT64_MAX - 10; /* offset + length overflows */
	s[0].length = 100;
	ck_assert_int_eq(parse_forged(s, 2, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "outside"));

	memcpy(s, ok, sizeof(s));
	s[0].offset = 3 * 4096ull + 8; /* inside the table */
	s[0].length = 8;
	ck_assert_int_eq(parse_forged(s, 2, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "table"));

	memcpy(s, ok, sizeof(s));
	s[1].offset = 8192 + 512; /* memory not page aligned */
	s[1].length = 512;
	ck_assert_int_eq(parse_forged(s, 2, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "aligned"));

	memcpy(s, ok, sizeof(s));
	strcpy(s[1].name, "config"); /* duplicate */
	s[1].type = SNAP_SEC_CONFIG;
	ck_assert_int_eq(parse_forged(s, 2, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "twice"));

	memcpy(s, ok, sizeof(s));
	strcpy(s[0].name, "../x"); /* bad name */
	ck_assert_int_eq(parse_forged(s, 2, &err), -EINVAL);
	memcpy(s, ok, sizeof(s));
	s[0].name[0] = '\0';
	ck_assert_int_eq(parse_forged(s, 2, &err), -EINVAL);
}
END_TEST

START_TEST(header_limits)
{
	struct vmm_err err;
	struct snap_section one = {
	    .name = "config", .type = SNAP_SEC_CONFIG, .offset = 4096, .length = 8};
	/* Table offset beyond the file. */
	uint8_t *buf = forge(&one, 1, 8192, 4096 + 64);
	struct snap_header h;
	snap_put64(buf + SNAP_OFF_TABLE, 1ull << 40);
	snap_put64(buf + SNAP_OFF_HEADER_SUM, snap_hash(buf, SNAP_OFF_HEADER_SUM));
	ck_assert_int_eq(snap_header_parse(buf, 8192, 8192, &h, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "section table"));
	/* Absurd and zero section counts. */
	snap_put64(buf + SNAP_OFF_TABLE, 4096 + 64);
	snap_put32(buf + SNAP_OFF_COUNT, 0xffffffffu);
	snap_put64(buf + SNAP_OFF_HEADER_SUM, snap_hash(buf, SNAP_OFF_HEADER_SUM));
	ck_assert_int_eq(snap_header_parse(buf, 8192, 8192, &h, &err), -EINVAL);
	snap_put32(buf + SNAP_OFF_COUNT, 0);
	snap_put64(buf + SNAP_OFF_HEADER_SUM, snap_hash(buf, SNAP_OFF_HEADER_SUM));
	ck_assert_int_eq(snap_header_parse(buf, 8192, 8192, &h, &err), -EINVAL);
	/* Short buffer. */
	ck_assert_int_eq(snap_header_parse(buf, 100, 100, &h, &err), -EINVAL);
	free(buf);
}
END_TEST

START_TEST(writer_rejects)
{
	char path[512];
	path_in(path, sizeof(path), "w.smolsnap");
	struct snap_writer *w;
	struct vmm_err err;
	ck_assert_int_eq(snap_writer_create(path, &w, &err), 0);
	ck_assert_int_eq(snap_writer_add(w, "Bad/Name", SNAP_SEC_NOTE, 1, "x", 1, &err), -EINVAL);
	ck_assert_int_eq(snap_writer_add(w, "note", SNAP_SEC_NOTE, 1, "x", 1, &err), 0);
	ck_assert_int_eq(snap_writer_add(w, "note", SNAP_SEC_NOTE, 1, "x", 1, &err), -EEXIST);
	/* Refused before anything is read: the pointer is never dereferenced. */
	static const uint8_t pages[2 * 4096] __attribute__((aligned(4096))) = {1};
	struct snap_mem_range r = {pages + 1, 4096ull, -1, 0, false, false};
	ck_assert_int_eq(snap_writer_add_memory(w, 1, &r, 1, NULL, &err), -EINVAL);
	snap_writer_destroy(w); /* uncommitted: no file left behind */
	ck_assert_int_ne(access(path, F_OK), 0);
	snap_writer_destroy(NULL);
	snap_file_close(NULL);
}
END_TEST

START_TEST(fingerprint)
{
	struct snap_fingerprint a = test_fp(), b = a;
	struct vmm_err err, warn;
	ck_assert_int_eq(snap_fp_compare(&a, &b, false, &warn, &err), 0);
	ck_assert_str_eq(warn.msg, "");
	b.stepping = a.stepping + 1;
	ck_assert_int_eq(snap_fp_compare(&a, &b, false, &warn, &err), 0);
	ck_assert_ptr_nonnull(strstr(warn.msg, "stepping"));
	b = a;
	b.model = a.model + 1;
	ck_assert_int_eq(snap_fp_compare(&a, &b, false, &warn, &err), -EXDEV);
	ck_assert_ptr_nonnull(strstr(err.msg, "model"));
	b = a;
	memcpy(b.vendor, "GenuineIntel", 12);
	memcpy(a.vendor, "AuthenticAMD", 12);
	ck_assert_int_eq(snap_fp_compare(&a, &b, false, &warn, &err), -EXDEV);
	ck_assert_ptr_nonnull(strstr(err.msg, "GenuineIntel"));
	b = a;
	b.tsc_khz = a.tsc_khz + 100; /* 50 ppm: calibration jitter */
	ck_assert_int_eq(snap_fp_compare(&a, &b, false, &warn, &err), 0);
	b.tsc_khz = a.tsc_khz * 2;
	ck_assert_int_eq(snap_fp_compare(&a, &b, false, &warn, &err), -EXDEV);
	ck_assert_ptr_nonnull(strstr(err.msg, "TSC"));
	ck_assert_int_eq(snap_fp_compare(&a, &b, true, &warn, &err), 0);

	struct kvm_cpuid_entry2 saved[2] = {
	    {.function = 1, .ecx = (1u << 31) | (1u << 0), .edx = 1u << 25},
	    {.function = 7, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = 1u << 5},
	};
	struct kvm_cpuid_entry2 host[2];
	memcpy(host, saved, sizeof(host));
	host[0].ecx = 1u << 0; /* hypervisor bit is the VMM's own */
	ck_assert_int_eq(snap_fp_cpuid_check(saved, 2, host, 2, &err), 0);
	host[1].ebx = 0; /* AVX2 gone */
	ck_assert_int_eq(snap_fp_cpuid_check(saved, 2, host, 2, &err), -EXDEV);
	ck_assert_ptr_nonnull(strstr(err.msg, "0x7.0 ebx bit 5"));
	ck_assert_uint_ne(snap_fp_cpuid_hash(saved, 2), snap_fp_cpuid_hash(host, 2));
}
END_TEST

/* A restored VM's RAM: a MAP_PRIVATE mapping of a sparse file. Pages the
 * process wrote (its own copies) must be saved even where the file has a
 * hole; untouched pages read as the file. */
START_TEST(private_file_memory)
{
	char src[512], path[512];
	path_in(src, sizeof(src), "ram.bin");
	path_in(path, sizeof(path), "p.smolsnap");
	int fd = open(src, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 16 * 4096ull), 0);
	ck_assert_int_eq(pwrite(fd, "file-data", 9, 5 * 4096), 9); /* page 5: data */
	uint8_t *mem = mmap(NULL, 16 * 4096ull, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ck_assert_ptr_ne(mem, MAP_FAILED);
	mem[2 * 4096 + 1] = 0x42;		   /* private copy of a page in a hole */
	mem[5 * 4096] = 'F';			   /* private copy of a data page */
	(void)*(volatile uint8_t *)&mem[9 * 4096]; /* read-only touch of a hole */
	struct snap_writer *w;
	struct vmm_err err;
	ck_assert_int_eq(snap_writer_create(path, &w, &err), 0);
	struct snap_mem_range r = {mem, 16 * 4096ull, fd, 0, true, false};
	struct snap_mem_stats st;
	ck_assert_msg(snap_writer_add_memory(w, 1, &r, 1, &st, &err) == 0, "%s", err.msg);
	struct snap_fingerprint fp = test_fp();
	ck_assert_int_eq(snap_writer_commit(w, &fp, &err), 0);
	snap_writer_destroy(w);
	ck_assert_uint_eq(st.pages_written, 2);
	ck_assert_uint_ge(st.pages_skipped, 13);

	struct snap_file *f;
	ck_assert_int_eq(snap_file_open(path, &f, &err), 0);
	ck_assert_int_eq(snap_file_verify(f, &err), 0);
	uint8_t *m2;
	ck_assert_int_eq(snap_file_map_memory(f, 0, 16 * 4096ull, (void **)&m2, &err), 0);
	ck_assert_int_eq(memcmp(m2, mem, 16 * 4096ull), 0);
	ck_assert_uint_eq(m2[2 * 4096 + 1], 0x42);
	ck_assert_int_eq(memcmp(m2 + 5 * 4096, "File-data", 9), 0);
	munmap(m2, 16 * 4096ull);
	snap_file_close(f);
	munmap(mem, 16 * 4096ull);
	close(fd);
}
END_TEST

/* A booted VM's RAM: private anonymous memory. Pages never touched are
 * skipped without reading (pagemap); touched pages are read, written when
 * not zero, and a page read but never written (the shared zero page) is
 * compared and left a hole. gmem's own RAM is saved the same way. */
START_TEST(anonymous_memory)
{
	char path[512];
	path_in(path, sizeof(path), "a.smolsnap");
	const uint64_t len = 64 * 4096ull;
	uint8_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ck_assert_ptr_ne(mem, MAP_FAILED);
	madvise(mem, len, MADV_NOHUGEPAGE); /* 4 KiB granularity for the counts */
	mem[3 * 4096 + 7] = 0x42;
	mem[40 * 4096] = 'A';
	memset(mem + 41 * 4096, 0, 16);		    /* touched, still zero */
	(void)*(volatile uint8_t *)&mem[50 * 4096]; /* read-only touch */
	struct snap_writer *w;
	struct vmm_err err;
	ck_assert_int_eq(snap_writer_create(path, &w, &err), 0);
	struct snap_mem_range r = {mem, len, -1, 0, false, true};
	struct snap_mem_stats st;
	ck_assert_msg(snap_writer_add_memory(w, 1, &r, 1, &st, &err) == 0, "%s", err.msg);
	struct snap_fingerprint fp = test_fp();
	ck_assert_int_eq(snap_writer_commit(w, &fp, &err), 0);
	snap_writer_destroy(w);
	ck_assert_uint_eq(st.pages_total, 64);
	ck_assert_uint_eq(st.pages_written, 2);
	ck_assert_uint_eq(st.pages_skipped, 60); /* all but pages 3, 40, 41 and 50 */

	struct snap_file *f;
	ck_assert_int_eq(snap_file_open(path, &f, &err), 0);
	ck_assert_int_eq(snap_file_verify(f, &err), 0);
	uint8_t *m2;
	ck_assert_int_eq(snap_file_map_memory(f, 0, len, (void **)&m2, &err), 0);
	ck_assert_int_eq(memcmp(m2, mem, len), 0);
	munmap(m2, len);
	snap_file_close(f);
	munmap(mem, len);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("snap_format");
	TCase *tc = tcase_create("format");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, roundtrip);
	tcase_add_test(tc, bad_magic);
	tcase_add_test(tc, header_checksum);
	tcase_add_test(tc, versions);
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, corrupt_sections);
	tcase_add_test(tc, layout_checks);
	tcase_add_test(tc, header_limits);
	tcase_add_test(tc, writer_rejects);
	tcase_add_test(tc, fingerprint);
	tcase_add_test(tc, private_file_memory);
	tcase_add_test(tc, anonymous_memory);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return smol_check_run(suite());
}
