/* Unit tests for KVM's binary stats reader (vmm/core/vm_stats.c), on files
 * laid out as KVM_GET_STATS_FD's: the cumulative counters come out by
 * name, other kinds are skipped, and a file whose offsets or sizes do not
 * fit is refused rather than read past. */
#include "core/vm_stats.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NAME_SIZE 48

struct stat_def {
	const char *name;
	uint32_t flags;
	uint16_t size;
	uint64_t value;
};

/* Writes a stats file with the given descriptors to a new temporary file;
 * returns its fd (already unlinked). */
static int stats_file(const struct stat_def *d, unsigned n, uint32_t name_size)
{
	char path[] = "/tmp/smol-vmstats-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	size_t dsize = sizeof(struct kvm_stats_desc) + name_size;
	struct kvm_stats_header h = {
	    .name_size = name_size,
	    .num_desc = n,
	    .id_offset = sizeof(h),
	    .desc_offset = sizeof(h) + 16,
	    .data_offset = (uint32_t)(sizeof(h) + 16 + dsize * n),
	};
	ck_assert_int_eq(pwrite(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	uint8_t *desc = calloc(1, dsize);
	uint32_t off = 0;
	for (unsigned i = 0; i < n; i++) {
		struct kvm_stats_desc *k = (void *)desc;
		memset(desc, 0, dsize);
		k->flags = d[i].flags;
		k->size = d[i].size;
		k->offset = off;
		size_t len = strlen(d[i].name);
		memcpy(k->name, d[i].name, len < name_size ? len : name_size); /* may fill it */
		ck_assert_int_eq(pwrite(fd, desc, dsize, h.desc_offset + i * dsize),
				 (ssize_t)dsize);
		for (unsigned j = 0; j < d[i].size; j++)
			ck_assert_int_eq(pwrite(fd, &d[i].value, 8, h.data_offset + off + 8 * j),
					 8);
		off += 8u * d[i].size;
	}
	free(desc);
	return fd;
}

START_TEST(counters_by_name)
{
	const struct stat_def d[] = {
	    {"exits", KVM_STATS_TYPE_CUMULATIVE, 1, 1234},
	    {"halt_poll_ns_hist", KVM_STATS_TYPE_LINEAR_HIST, 32, 7}, /* skipped */
	    {"blocking", KVM_STATS_TYPE_INSTANT, 1, 1},		      /* skipped */
	    {"pf_taken", KVM_STATS_TYPE_CUMULATIVE, 1, 99},
	};
	int fd = stats_file(d, 4, NAME_SIZE);
	struct vm_stat st[8];
	unsigned n = 9;
	ck_assert_int_eq(vm_stats_read(fd, st, 8, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(st[0].name, "exits");
	ck_assert_uint_eq(st[0].value, 1234);
	ck_assert_str_eq(st[1].name, "pf_taken");
	ck_assert_uint_eq(st[1].value, 99);
	/* room for one: the rest are dropped, not written past out */
	ck_assert_int_eq(vm_stats_read(fd, st, 1, &n), 0);
	ck_assert_uint_eq(n, 1);
	close(fd);
}
END_TEST

START_TEST(long_name_is_cut)
{
	/* a name that fills name_size (no NUL), longer than vm_stat keeps */
	char longname[100];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	const struct stat_def d[] = {{longname, KVM_STATS_TYPE_CUMULATIVE, 1, 5}};
	int fd = stats_file(d, 1, 64);
	struct vm_stat st[1];
	unsigned n;
	ck_assert_int_eq(vm_stats_read(fd, st, 1, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(strlen(st[0].name), VM_STAT_NAME_MAX - 1);
	close(fd);
}
END_TEST

START_TEST(bad_layouts)
{
	const struct stat_def d[] = {{"exits", KVM_STATS_TYPE_CUMULATIVE, 1, 1}};
	struct vm_stat st[4];
	unsigned n;
	/* descriptors past the end of the file */
	int fd = stats_file(d, 1, NAME_SIZE);
	struct kvm_stats_header h;
	ck_assert_int_eq(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	h.num_desc = 3;
	ck_assert_int_eq(pwrite(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	ck_assert_int_eq(vm_stats_read(fd, st, 4, &n), -EPROTO);
	/* a counter whose data lies past the end */
	h.num_desc = 1;
	h.data_offset = 1u << 30;
	ck_assert_int_eq(pwrite(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	ck_assert_int_eq(vm_stats_read(fd, st, 4, &n), -EPROTO);
	/* sizes no KVM has */
	h.name_size = 0;
	ck_assert_int_eq(pwrite(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	ck_assert_int_eq(vm_stats_read(fd, st, 4, &n), -EPROTO);
	h.name_size = NAME_SIZE;
	h.num_desc = 1u << 20;
	ck_assert_int_eq(pwrite(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	ck_assert_int_eq(vm_stats_read(fd, st, 4, &n), -EPROTO);
	/* a file shorter than the header */
	ck_assert_int_eq(ftruncate(fd, 4), 0);
	ck_assert_int_eq(vm_stats_read(fd, st, 4, &n), -EPROTO);
	ck_assert_uint_eq(n, 0);
	close(fd);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("vm_stats");
	TCase *tc = tcase_create("stats");
	tcase_add_test(tc, counters_by_name);
	tcase_add_test(tc, long_name_is_cut);
	tcase_add_test(tc, bad_layouts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return smol_check_run(suite());
}
