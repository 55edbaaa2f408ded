/* Unit tests for the agent's PID-1 planning (fixtures/agent/agent_init.c):
 * the early mount plan, the kernel command line, the module list and its
 * load order, and the root switch plan. The executors cannot run here (they
 * need PID 1 in a VM); everything they act on is decided by these. */
#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "agent.h"
#include "agent_init.h"

static struct init_module mods[INIT_MAX_MODULES];
static size_t order[INIT_MAX_MODULES];

static long pos_of(const char *name, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (!strcmp(mods[order[i]].name, name))
			return (long)i;
	return -1;
}

START_TEST(test_mount_plan)
{
	const struct init_mount *m;
	size_t n = init_mount_plan(&m);
	ck_assert_uint_ge(n, 5);
	const char *want[] = {"/proc", "/sys", "/dev", "/tmp", "/run"};
	long at[5];
	for (int w = 0; w < 5; w++) {
		at[w] = -1;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(m[i].target, want[w]))
				at[w] = (long)i;
		ck_assert_msg(at[w] >= 0, "%s not mounted", want[w]);
	}
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(m[i].target, "/dev"))
			ck_assert_str_eq(m[i].fstype, "devtmpfs");
		/* Every nested mount comes after its parent. */
		if (!strncmp(m[i].target, "/dev/", 5))
			ck_assert_int_gt((long)i, at[2]);
		if (!strncmp(m[i].target, "/sys/", 5))
			ck_assert_int_gt((long)i, at[1]);
		if (!strcmp(m[i].fstype, "proc") || !strcmp(m[i].fstype, "sysfs"))
			ck_assert(m[i].flags & MS_NOEXEC);
	}
}
END_TEST

START_TEST(test_cmdline)
{
	struct init_cmdline c;
	char err[256];
	ck_assert_int_eq(init_cmdline_parse("console=ttyS0 quiet\n", &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.listen, "vsock:1024");
	ck_assert_str_eq(c.modules, INIT_DEFAULT_MODULES);
	ck_assert_str_eq(c.root, "");
	ck_assert_int_eq(init_cmdline_parse("smoltest.root=/dev/vda smoltest.rootfstype=erofs "
					    "smoltest.listen=vsock:5000 smoltest.modules=/m.list",
					    &c, err, sizeof(err)),
			 0);
	ck_assert_str_eq(c.root, "/dev/vda");
	ck_assert(!c.root_virtiofs);
	ck_assert_str_eq(c.rootfstype, "erofs");
	ck_assert_str_eq(c.listen, "vsock:5000");
	ck_assert_str_eq(c.modules, "/m.list");
	ck_assert_int_eq(init_cmdline_parse("smoltest.root=virtiofs:rootfs", &c, err, sizeof(err)),
			 0);
	ck_assert(c.root_virtiofs);
	ck_assert_str_eq(c.root, "rootfs");
	/* Hostile values. */
	ck_assert_int_eq(init_cmdline_parse("smoltest.root=vda", &c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "smoltest.root"));
	ck_assert_int_eq(init_cmdline_parse("smoltest.root=virtiofs:", &c, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(init_cmdline_parse("smoltest.listen=", &c, err, sizeof(err)), -EINVAL);
	char longv[600] = "smoltest.modules=/";
	memset(longv + strlen(longv), 'x', 500);
	ck_assert_int_eq(init_cmdline_parse(longv, &c, err, sizeof(err)), -EINVAL);
	/* Other keys, even similar ones, are ignored. */
	ck_assert_int_eq(init_cmdline_parse("smoltest.rootx=1 smoltest.other=2 root=/dev/sda", &c,
					    err, sizeof(err)),
			 0);
	ck_assert_str_eq(c.root, "");
}
END_TEST

START_TEST(test_module_name)
{
	char n[64];
	ck_assert_int_eq(
	    init_module_name(
		"/lib/modules/6.1/kernel/net/vmw_vsock/vmw_vsock_virtio_transport.ko.xz", n,
		sizeof(n)),
	    0);
	ck_assert_str_eq(n, "vmw_vsock_virtio_transport");
	ck_assert_int_eq(init_module_name("virtio-mmio.ko", n, sizeof(n)), 0);
	ck_assert_str_eq(n, "virtio_mmio");
	ck_assert_int_eq(init_module_name("fuse", n, sizeof(n)), 0);
	ck_assert_str_eq(n, "fuse");
	ck_assert_int_eq(init_module_name("/x/.ko", n, sizeof(n)), -EINVAL);
	ck_assert_int_eq(init_module_name("abcdefgh.ko", n, 4), -ENAMETOOLONG);
}
END_TEST

START_TEST(test_modules_order)
{
	/* Listed in the wrong order on purpose: the agent must put every
	 * dependency first. virtio_ring is built in (not listed). */
	const char *list = "# smoltest module list\n"
			   "/lib/modules/k/vmw_vsock_virtio_transport.ko.xz "
			   "vmw_vsock_virtio_transport_common vsock virtio_ring\n"
			   "/lib/modules/k/virtio_blk.ko virtio virtio_ring\n"
			   "\n"
			   "/lib/modules/k/vmw_vsock_virtio_transport_common.ko.xz vsock\n"
			   "/lib/modules/k/virtio.ko\n"
			   "/lib/modules/k/vsock.ko.zst\n"
			   "/lib/modules/k/virtiofs.ko fuse,virtio\n"
			   "/lib/modules/k/fuse.ko\n";
	size_t n;
	char err[256];
	ck_assert_int_eq(
	    init_modules_parse(list, strlen(list), mods, INIT_MAX_MODULES, &n, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(n, 7);
	ck_assert(mods[0].compressed);
	ck_assert(!mods[1].compressed);
	ck_assert_uint_eq(mods[5].ndeps, 2);
	ck_assert_int_eq(init_modules_order(mods, n, order, err, sizeof(err)), 0);
	/* Each module exactly once. */
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			ck_assert_uint_ne(order[i], order[j]);
	ck_assert_int_lt(pos_of("vsock", n), pos_of("vmw_vsock_virtio_transport_common", n));
	ck_assert_int_lt(pos_of("vmw_vsock_virtio_transport_common", n),
			 pos_of("vmw_vsock_virtio_transport", n));
	ck_assert_int_lt(pos_of("virtio", n), pos_of("virtio_blk", n));
	ck_assert_int_lt(pos_of("fuse", n), pos_of("virtiofs", n));
	ck_assert_int_lt(pos_of("virtio", n), pos_of("virtiofs", n));
	/* A list already in order keeps its order. */
	const char *sorted = "/a/x.ko\n/a/y.ko x\n/a/z.ko y\n";
	ck_assert_int_eq(init_modules_parse(sorted, strlen(sorted), mods, INIT_MAX_MODULES, &n, err,
					    sizeof(err)),
			 0);
	ck_assert_int_eq(init_modules_order(mods, n, order, err, sizeof(err)), 0);
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(order[i], i);
}
END_TEST

/* The list exactly as `smoltest image build` writes it for the Debian 6.1
 * cloud kernel (fixtures/image/image.c): load order, dependencies named. */
START_TEST(test_modules_image_builder_format)
{
	const char *list =
	    "/lib/modules/6.1.0-56-cloud-amd64/kernel/drivers/virtio/virtio_ring.ko\n"
	    "/lib/modules/6.1.0-56-cloud-amd64/kernel/drivers/virtio/virtio.ko virtio_ring\n"
	    "/lib/modules/6.1.0-56-cloud-amd64/kernel/drivers/virtio/virtio_mmio.ko virtio "
	    "virtio_ring\n"
	    "/lib/modules/6.1.0-56-cloud-amd64/kernel/drivers/block/virtio_blk.ko virtio "
	    "virtio_ring\n"
	    "/lib/modules/6.1.0-56-cloud-amd64/kernel/net/vmw_vsock/vsock.ko\n"
	    "/lib/modules/6.1.0-56-cloud-amd64/kernel/net/vmw_vsock/"
	    "vmw_vsock_virtio_transport_common.ko vsock\n"
	    "/lib/modules/6.1.0-56-cloud-amd64/kernel/net/vmw_vsock/vmw_vsock_virtio_transport.ko "
	    "virtio vmw_vsock_virtio_transport_common virtio_ring vsock\n"
	    "/lib/modules/6.1.0-56-cloud-amd64/kernel/fs/fuse/fuse.ko\n"
	    "/lib/modules/6.1.0-56-cloud-amd64/kernel/fs/fuse/virtiofs.ko fuse virtio virtio_ring\n"
	    "/lib/modules/6.1.0-56-cloud-amd64/kernel/fs/overlayfs/overlay.ko\n";
	size_t n;
	char err[256];
	ck_assert_int_eq(
	    init_modules_parse(list, strlen(list), mods, INIT_MAX_MODULES, &n, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(n, 10);
	ck_assert_int_eq(init_modules_order(mods, n, order, err, sizeof(err)), 0);
	/* Already in load order: kept as is. */
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(order[i], i);
	ck_assert_str_eq(mods[6].name, "vmw_vsock_virtio_transport");
	ck_assert_uint_eq(mods[6].ndeps, 4);
	ck_assert(!mods[6].compressed);
}
END_TEST

START_TEST(test_modules_hostile)
{
	size_t n;
	char err[256];
	const char *cyc = "/m/a.ko b\n/m/b.ko c\n/m/c.ko a\n/m/d.ko\n";
	ck_assert_int_eq(
	    init_modules_parse(cyc, strlen(cyc), mods, INIT_MAX_MODULES, &n, err, sizeof(err)), 0);
	ck_assert_int_eq(init_modules_order(mods, n, order, err, sizeof(err)), -ELOOP);
	ck_assert_ptr_nonnull(strstr(err, "cycle"));
	const char *self = "/m/a.ko a\n";
	ck_assert_int_eq(
	    init_modules_parse(self, strlen(self), mods, INIT_MAX_MODULES, &n, err, sizeof(err)),
	    0);
	ck_assert_int_eq(init_modules_order(mods, n, order, err, sizeof(err)), -ELOOP);
	const char *dup = "/m/a.ko\n/n/a.ko.xz\n";
	ck_assert_int_eq(
	    init_modules_parse(dup, strlen(dup), mods, INIT_MAX_MODULES, &n, err, sizeof(err)), 0);
	ck_assert_int_eq(init_modules_order(mods, n, order, err, sizeof(err)), -EEXIST);
	const char *rel = "m/a.ko\n";
	ck_assert_int_eq(
	    init_modules_parse(rel, strlen(rel), mods, INIT_MAX_MODULES, &n, err, sizeof(err)),
	    -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "line 1"));
	const char *notko = "/m/a.txt\n";
	ck_assert_int_eq(
	    init_modules_parse(notko, strlen(notko), mods, INIT_MAX_MODULES, &n, err, sizeof(err)),
	    -EINVAL);
	const char nul[] = "/m/a.ko\n/m/b\0.ko\n";
	ck_assert_int_eq(
	    init_modules_parse(nul, sizeof(nul) - 1, mods, INIT_MAX_MODULES, &n, err, sizeof(err)),
	    -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "line 2"));
	/* Too many dependencies, too many modules, too-long lines. */
	char many[4000] = "/m/a.ko";
	for (int i = 0; i < 40; i++)
		strcat(many, " d");
	ck_assert_int_eq(
	    init_modules_parse(many, strlen(many), mods, INIT_MAX_MODULES, &n, err, sizeof(err)),
	    -E2BIG);
	const char *three = "/m/a.ko\n/m/b.ko\n/m/c.ko\n";
	ck_assert_int_eq(init_modules_parse(three, strlen(three), mods, 2, &n, err, sizeof(err)),
			 -E2BIG);
	char *longline = malloc(10000);
	memset(longline, 'a', 9999);
	longline[0] = '/';
	longline[9999] = '\0';
	ck_assert_int_eq(
	    init_modules_parse(longline, 9999, mods, INIT_MAX_MODULES, &n, err, sizeof(err)),
	    -EINVAL);
	free(longline);
	/* Empty and comment-only lists are fine. */
	ck_assert_int_eq(init_modules_parse("", 0, mods, INIT_MAX_MODULES, &n, err, sizeof(err)),
			 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(
	    init_modules_parse("# x\n\n", 5, mods, INIT_MAX_MODULES, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_root_plan)
{
	struct init_cmdline c;
	struct init_step steps[32];
	size_t n;
	char err[64];
	ck_assert_int_eq(init_cmdline_parse("", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(init_root_plan(&c, steps, 32, &n), -EINVAL);
	ck_assert_int_eq(init_cmdline_parse("smoltest.root=/dev/vda", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(init_root_plan(&c, steps, 32, &n), 0);
	ck_assert_uint_gt(n, 8);
	/* The lower layer is the read-only root, the overlay combines it with
	 * a tmpfs upper, the API file systems move over, and the switch is last. */
	long lower = -1, overlay = -1, tmpfs = -1, movedev = -1;
	for (size_t i = 0; i < n; i++) {
		if (steps[i].op == INIT_MOUNT && !strcmp(steps[i].a, "/dev/vda")) {
			lower = (long)i;
			ck_assert_str_eq(steps[i].fstype, "ext4");
			ck_assert(steps[i].flags & MS_RDONLY);
		}
		if (steps[i].op == INIT_MOUNT && !strcmp(steps[i].fstype, "tmpfs"))
			tmpfs = (long)i;
		if (steps[i].op == INIT_MOUNT && !strcmp(steps[i].fstype, "overlay")) {
			overlay = (long)i;
			ck_assert_ptr_nonnull(strstr(steps[i].data, "lowerdir=/newroot/lower"));
			ck_assert_ptr_nonnull(strstr(steps[i].data, "upperdir=/newroot/rw/upper"));
		}
		if (steps[i].op == INIT_MOVE && !strcmp(steps[i].a, "/dev"))
			movedev = (long)i;
	}
	ck_assert(lower >= 0 && tmpfs > lower && overlay > tmpfs && movedev > overlay);
	ck_assert_int_eq(steps[n - 1].op, INIT_SWITCH);
	ck_assert_str_eq(steps[n - 1].a, "/newroot/root");
	/* virtio-fs root. */
	ck_assert_int_eq(init_cmdline_parse("smoltest.root=virtiofs:myroot", &c, err, sizeof(err)),
			 0);
	ck_assert_int_eq(init_root_plan(&c, steps, 32, &n), 0);
	ck_assert_str_eq(steps[3].a, "myroot");
	ck_assert_str_eq(steps[3].fstype, "virtiofs");
	/* Too little room. */
	ck_assert_int_eq(init_root_plan(&c, steps, 4, &n), -E2BIG);
}
END_TEST

/* The OOM counter the agent compares around an EXEC (agent_oom_kills):
 * cgroup v2 memory.events, v1 memory.oom_control, reread from the start
 * of the same fd, and what is no count at all. */
START_TEST(test_oom_kills)
{
	char path[] = "/tmp/smol-oom-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	const struct {
		const char *text;
		int64_t want;
	} cases[] = {
	    {"low 0\nhigh 0\nmax 12\noom 2\noom_kill 3\noom_group_kill 1\n", 3},
	    {"oom_kill_disable 0\nunder_oom 0\noom_kill 7\n", 7}, /* cgroup v1 */
	    {"oom_kill 0\n", 0},
	    {"low 0\noom 1\n", -1},		 /* no oom_kill line */
	    {"xoom_kill 5\noom_killed 6\n", -1}, /* only the exact key */
	    {"oom_kill -4\n", -1},
	    {"oom_kill x\n", -1},
	    {"", -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].text);
		ck_assert_int_eq(ftruncate(fd, 0), 0);
		ck_assert_int_eq(pwrite(fd, cases[i].text, n, 0), (ssize_t)n);
		/* the offset is wherever the last read left it */
		ck_assert_int_eq((int)agent_oom_kills(fd), (int)cases[i].want);
	}
	close(fd);
	ck_assert_int_eq((int)agent_oom_kills(-1), -1);
}
END_TEST

/* The ceiling on a VM's EXEC cgroup (agent_exec_memory_max): MemAvailable
 * less the reserve (MemTotal / 16 within 16..256 MiB), half of it when that
 * leaves less, page-aligned; no ceiling from text it cannot trust. */
START_TEST(test_exec_memory_max)
{
	const struct {
		const char *text;
		uint64_t want_kib;
	} cases[] = {
	    /* a 128M guest: the 16 MiB floor */
	    {"MemTotal:         100000 kB\nMemFree:  70000 kB\nMemAvailable:      80000 kB\n",
	     80000 - 16384},
	    /* 1 GiB: MemTotal / 16 */
	    {"MemTotal: 1048576 kB\nMemAvailable: 900000 kB\n", 900000 - 65536},
	    /* 8 GiB: the 256 MiB cap */
	    {"MemAvailable: 8000000 kB\nMemTotal: 8388608 kB\n", 8000000 - 262144},
	    /* rounded down to a page */
	    {"MemTotal: 100000 kB\nMemAvailable: 80001 kB\n", 63616},
	    /* less than twice the reserve available: half of it */
	    {"MemTotal: 100000 kB\nMemAvailable: 20000 kB\n", 10000},
	    {"MemTotal: 100000 kB\n", 0},
	    {"MemAvailable: 80000 kB\n", 0},
	    {"MemTotal: 100000 kB\nMemAvailable: 100001 kB\n", 0},
	    {"MemTotal: 100000 MB\nMemAvailable: 80000 kB\n", 0},
	    {"MemTotal: x kB\nMemAvailable: 80000 kB\n", 0},
	    {"MemTotalX: 100000 kB\nMemAvailableX: 80000 kB\n", 0},
	    {"MemTotal: 99999999999999999999 kB\nMemAvailable: 80000 kB\n", 0},
	    {"", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(agent_exec_memory_max(cases[i].text) == cases[i].want_kib << 10,
			      "case %zu: %llu", i,
			      (unsigned long long)agent_exec_memory_max(cases[i].text));
}
END_TEST

/* The pids ceiling (agent_exec_pids_max): half of threads-max, none for a
 * table too small to halve. */
START_TEST(test_exec_pids_max)
{
	ck_assert_uint_eq(agent_exec_pids_max(734), 367); /* a 128M guest */
	ck_assert_uint_eq(agent_exec_pids_max(3915), 1957);
	ck_assert_uint_eq(agent_exec_pids_max(2 * AGENT_PIDS_MIN), AGENT_PIDS_MIN);
	ck_assert_uint_eq(agent_exec_pids_max(2 * AGENT_PIDS_MIN - 1), 0);
	ck_assert_uint_eq(agent_exec_pids_max(0), 0);
}
END_TEST

static Suite *init_suite(void)
{
	Suite *s = suite_create("agent_init");
	TCase *tc = tcase_create("plan");
	tcase_add_test(tc, test_mount_plan);
	tcase_add_test(tc, test_cmdline);
	tcase_add_test(tc, test_module_name);
	tcase_add_test(tc, test_modules_order);
	tcase_add_test(tc, test_modules_image_builder_format);
	tcase_add_test(tc, test_modules_hostile);
	tcase_add_test(tc, test_root_plan);
	tcase_add_test(tc, test_oom_kills);
	tcase_add_test(tc, test_exec_memory_max);
	tcase_add_test(tc, test_exec_pids_max);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return smol_check_run(init_suite());
}
