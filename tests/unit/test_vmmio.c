/* Unit tests for the virtio-mmio transport (vmm/devices/virtio/mmio.c)
 * with virtio-rng behind it, in a real KVM VM that never runs a vCPU: the
 * test plays the guest driver through the VM's MMIO bus and guest memory,
 * and the VM's event loop runs on a thread. The VM's log sink (smolvm/err.h)
 * keeps the lines the transport logs, to check them. Needs /dev/kvm (skips
 * with 77 otherwise). */
#include "core/evloop.h"
#include "core/gmem.h"
#include "core/iobus.h"
#include "devices/virtio/mmio.h"
#include "smolvm/err.h"
#include "smolvm/vm.h"
#include "strbuf.h"
#include "util.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define R_MAGIC		0x000
#define R_VERSION	0x004
#define R_DEVICE_ID	0x008
#define R_DEV_FEAT	0x010
#define R_DEV_FEAT_SEL	0x014
#define R_DRV_FEAT	0x020
#define R_DRV_FEAT_SEL	0x024
#define R_QUEUE_SEL	0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM	0x038
#define R_QUEUE_READY	0x044
#define R_QUEUE_NOTIFY	0x050
#define R_INT_STATUS	0x060
#define R_INT_ACK	0x064
#define R_STATUS	0x070
#define R_DESC_LO	0x080
#define R_AVAIL_LO	0x090
#define R_USED_LO	0x0a0

#define DESC  0x10000ull
#define AVAIL 0x11000ull
#define USED  0x12000ull
#define BUF   0x20000ull
#define QN    8

static struct vm *vm;
static struct vmmio *t;
static pthread_t loop_thread;

/* What the VM logged (from the vCPU-less MMIO calls here and the event
 * loop's thread). */
#define LOG_KEEP 32
struct log_capture {
	pthread_mutex_t lock;
	unsigned n; /* lines logged, kept or not */
	char lines[LOG_KEEP][VMM_LOG_MAX];
};
static struct log_capture logged = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void capture(void *ctx, const char *line)
{
	struct log_capture *c = ctx;
	pthread_mutex_lock(&c->lock);
	if (c->n < LOG_KEEP)
		snprintf(c->lines[c->n], sizeof(c->lines[0]), "%s", line);
	c->n++;
	pthread_mutex_unlock(&c->lock);
}

static unsigned log_count(void)
{
	pthread_mutex_lock(&logged.lock);
	unsigned n = logged.n;
	pthread_mutex_unlock(&logged.lock);
	return n;
}

static void *loop_main(void *arg)
{
	(void)arg;
	evloop_run(vm_evloop(vm));
	return NULL;
}

static void setup(void)
{
	struct vm_config cfg;
	vm_config_init(&cfg);
	cfg.serial = VM_SERIAL_NONE;
	cfg.mem_bytes = 16ull << 20;
	cfg.log = (struct vmm_log){capture, &logged};
	logged.n = 0;
	ck_assert_int_eq(vm_create(&cfg, &vm, NULL), 0);
	ck_assert_uint_eq(vm_virtio_count(vm), 1);
	t = vm_virtio(vm, 0);
	ck_assert_int_eq(pthread_create(&loop_thread, NULL, loop_main, NULL), 0);
}

static void teardown(void)
{
	evloop_stop(vm_evloop(vm), 0);
	pthread_join(loop_thread, NULL);
	vm_destroy(vm);
}

static uint32_t rd(uint64_t off)
{
	uint32_t v = 0;
	iobus_dispatch(vm_mmio_bus(vm), vmmio_base(t) + off, &v, 4, false);
	return v;
}

static void wr(uint64_t off, uint32_t v)
{
	iobus_dispatch(vm_mmio_bus(vm), vmmio_base(t) + off, &v, 4, true);
}

static struct gmem *mem(void)
{
	return vm_gmem(vm);
}

/* Driver init up to FEATURES_OK with the given features; returns status. */
static uint32_t negotiate(uint64_t features)
{
	wr(R_STATUS, 0);
	wr(R_STATUS, 1);
	wr(R_STATUS, 3);
	wr(R_DRV_FEAT_SEL, 0);
	wr(R_DRV_FEAT, (uint32_t)features);
	wr(R_DRV_FEAT_SEL, 1);
	wr(R_DRV_FEAT, (uint32_t)(features >> 32));
	wr(R_STATUS, 3 | 8);
	return rd(R_STATUS);
}

static void queue_setup(uint32_t num)
{
	wr(R_QUEUE_SEL, 0);
	wr(R_QUEUE_NUM, num);
	wr(R_DESC_LO, (uint32_t)DESC);
	wr(R_AVAIL_LO, (uint32_t)AVAIL);
	wr(R_USED_LO, (uint32_t)USED);
	wr(R_QUEUE_READY, 1);
}

static void post(uint16_t head, uint16_t avail_idx)
{
	ck_assert_int_eq(gmem_write_u16(mem(), AVAIL + 4 + 2 * (avail_idx % QN), head), 0);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	ck_assert_int_eq(gmem_write_u16(mem(), AVAIL + 2, (uint16_t)(avail_idx + 1)), 0);
	wr(R_QUEUE_NOTIFY, 0);
}

static bool wait_for(bool (*cond)(void))
{
	uint64_t end = util_now_ns() + 2 * NSEC_PER_SEC;
	while (util_now_ns() < end) {
		if (cond())
			return true;
		usleep(1000);
	}
	return cond();
}

static bool used_one(void)
{
	uint16_t idx = 0;
	gmem_read_u16(mem(), USED + 2, &idx);
	return idx >= 1;
}

static bool needs_reset(void)
{
	return rd(R_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
}

START_TEST(identity_registers)
{
	ck_assert_uint_eq(rd(R_MAGIC), 0x74726976);
	ck_assert_uint_eq(rd(R_VERSION), 2);
	ck_assert_uint_eq(rd(R_DEVICE_ID), 4);
	wr(R_DEV_FEAT_SEL, 1);
	ck_assert(rd(R_DEV_FEAT) & 1); /* VERSION_1 is bit 32 */
	wr(R_QUEUE_SEL, 0);
	ck_assert_uint_gt(rd(R_QUEUE_NUM_MAX), 0);
	wr(R_QUEUE_SEL, 5); /* rng has one queue */
	ck_assert_uint_eq(rd(R_QUEUE_NUM_MAX), 0);
	/* a 16-bit access to a register is not allowed (§4.2.2.2): reads 0 */
	uint16_t half = 0xffff;
	iobus_dispatch(vm_mmio_bus(vm), vmmio_base(t) + R_MAGIC, &half, 2, false);
	ck_assert_uint_eq(half, 0);
}
END_TEST

START_TEST(feature_negotiation)
{
	/* a bit the device did not offer: FEATURES_OK stays clear */
	ck_assert_uint_eq(negotiate(VIRTIO_FEAT_VERSION_1 | 1) & 8, 0);
	/* a legacy driver without VERSION_1 is refused */
	ck_assert_uint_eq(negotiate(0) & 8, 0);
	ck_assert_uint_eq(negotiate(VIRTIO_FEAT_VERSION_1) & 8, 8);
	wr(R_STATUS, 0);
	ck_assert_uint_eq(rd(R_STATUS), 0);
}
END_TEST

START_TEST(rng_request_and_interrupt)
{
	ck_assert_uint_eq(negotiate(VIRTIO_FEAT_VERSION_1) & 8, 8);
	queue_setup(QN);
	ck_assert_uint_eq(rd(R_QUEUE_READY), 1);
	wr(R_STATUS, 15);
	ck_assert_uint_eq(rd(R_STATUS), 15);
	/* one 32-byte device-writable buffer */
	ck_assert_int_eq(gmem_write_u64(mem(), DESC, BUF), 0);
	ck_assert_int_eq(gmem_write_u32(mem(), DESC + 8, 32), 0);
	ck_assert_int_eq(gmem_write_u16(mem(), DESC + 12, VRING_DESC_F_WRITE), 0);
	post(0, 0);
	ck_assert(wait_for(used_one));
	uint32_t id, len;
	ck_assert_int_eq(gmem_read_u32(mem(), USED + 4, &id), 0);
	ck_assert_int_eq(gmem_read_u32(mem(), USED + 8, &len), 0);
	ck_assert_uint_eq(id, 0);
	ck_assert_uint_eq(len, 32);
	uint8_t b[32];
	ck_assert_int_eq(gmem_read(mem(), BUF, b, 32), 0);
	bool varied = false;
	for (int i = 1; i < 32; i++)
		varied |= b[i] != b[0];
	ck_assert(varied);
	ck_assert_uint_eq(rd(R_INT_STATUS) & 1, 1);
	wr(R_INT_ACK, 1);
	ck_assert_uint_eq(rd(R_INT_STATUS), 0);
	/* queue layout is frozen while ready (§4.2.2.1) */
	wr(R_QUEUE_NUM, 2);
	ck_assert_uint_eq(rd(R_QUEUE_READY), 1);

	/* snapshot round trip */
	struct strbuf sb = {0};
	ck_assert_int_eq(vmmio_save(t, &sb), 0);
	ck_assert_int_eq(vmmio_restore(t, sb.buf, sb.len, NULL), 0);
	ck_assert_uint_eq(rd(R_STATUS), 15);
	ck_assert_uint_eq(rd(R_QUEUE_READY), 1);
	ck_assert_int_eq(vmmio_restore(t, sb.buf, sb.len - 1, NULL), -EINVAL);
	ck_assert_int_eq(vmmio_restore(t, sb.buf, 10, NULL), -EINVAL);
	sb.buf[0] ^= 0xff; /* magic */
	ck_assert_int_eq(vmmio_restore(t, sb.buf, sb.len, NULL), -EINVAL);
	sb.buf[0] ^= 0xff;
	sb.buf[4] = 9; /* version */
	ck_assert_int_eq(vmmio_restore(t, sb.buf, sb.len, NULL), -EINVAL);
	sb.buf[4] = 1;
	sb.buf[24] |= 0x01; /* driver feature bit 0, never offered */
	ck_assert_int_eq(vmmio_restore(t, sb.buf, sb.len, NULL), -EINVAL);
	sb.buf[24] &= (char)~0x01;
	/* a failed restore changed nothing: the queue still works */
	ck_assert_uint_eq(rd(R_STATUS), 15);
	ck_assert_uint_eq(rd(R_QUEUE_READY), 1);
	sb_release(&sb);
}
END_TEST

START_TEST(looping_chain_needs_reset)
{
	ck_assert_uint_eq(negotiate(VIRTIO_FEAT_VERSION_1) & 8, 8);
	queue_setup(QN);
	wr(R_STATUS, 15);
	ck_assert_int_eq(gmem_write_u64(mem(), DESC, BUF), 0);
	ck_assert_int_eq(gmem_write_u32(mem(), DESC + 8, 32), 0);
	ck_assert_int_eq(gmem_write_u16(mem(), DESC + 12, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE),
			 0);
	ck_assert_int_eq(gmem_write_u16(mem(), DESC + 14, 0), 0); /* next = itself */
	post(0, 0);
	ck_assert(wait_for(needs_reset));
	ck_assert_uint_eq(rd(R_INT_STATUS) & 2, 2); /* config-change interrupt */
	/* one line in the VM's log, naming the device; the broken queue
	 * notified again before any reset adds none */
	post(0, 1);
	usleep(50 * 1000);
	ck_assert_uint_eq(log_count(), 1);
	char want[VMM_LOG_MAX];
	snprintf(want, sizeof(want), "virtio-rng at 0x%llx: ", (unsigned long long)vmmio_base(t));
	ck_assert_msg(!strncmp(logged.lines[0], want, strlen(want)), "line: %s", logged.lines[0]);
	const char *end = "; the device needs a reset";
	size_t n = strlen(logged.lines[0]);
	ck_assert_msg(n > strlen(end) && !strcmp(logged.lines[0] + n - strlen(end), end),
		      "line: %s", logged.lines[0]);
	uint16_t idx = 1;
	ck_assert_int_eq(gmem_read_u16(mem(), USED + 2, &idx), 0);
	ck_assert_uint_eq(idx, 0); /* nothing was consumed */
	wr(R_STATUS, 0);	   /* the driver resets; everything is clean again */
	ck_assert_uint_eq(rd(R_STATUS), 0);
	ck_assert_uint_eq(rd(R_INT_STATUS), 0);
	ck_assert_uint_eq(rd(R_QUEUE_READY), 0);
}
END_TEST

/* A driver that breaks the device and resets it in a loop gets one line
 * per reset cycle, at most 8 in the device's life, the 8th saying so
 * (tests/integration/guestfuzz checks the same cap from a real guest). */
START_TEST(needs_reset_lines_are_capped)
{
	char first[VMM_LOG_MAX];
	snprintf(first, sizeof(first),
		 "virtio-rng at 0x%llx: driver enabled queue 0 with an invalid layout (size 3, "
		 "desc 0x%llx, avail 0x%llx, used 0x%llx); the device needs a reset",
		 (unsigned long long)vmmio_base(t), DESC, AVAIL, USED);
	for (unsigned cycle = 0; cycle < 12; cycle++) {
		ck_assert_uint_eq(negotiate(VIRTIO_FEAT_VERSION_1) & 8, 8);
		queue_setup(3);
		queue_setup(3); /* twice in one cycle: still one line */
		wr(R_STATUS, 15);
		ck_assert(needs_reset());
		ck_assert_uint_eq(log_count(), cycle < 8 ? cycle + 1 : 8);
	}
	for (unsigned i = 0; i < 7; i++)
		ck_assert_str_eq(logged.lines[i], first);
	char last[VMM_LOG_MAX + 64];
	snprintf(last, sizeof(last), "%s (later ones on this device are not reported)", first);
	ck_assert_str_eq(logged.lines[7], last);
}
END_TEST

START_TEST(bad_queue_layouts)
{
	uint32_t nums[] = {3, 4096, 0xffffffffu};
	for (unsigned i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		ck_assert_uint_eq(negotiate(VIRTIO_FEAT_VERSION_1) & 8, 8);
		queue_setup(nums[i]);
		ck_assert_uint_eq(rd(R_QUEUE_READY), 0);
		wr(R_STATUS, 15);
		ck_assert(needs_reset());
	}
	/* rings outside guest RAM */
	ck_assert_uint_eq(negotiate(VIRTIO_FEAT_VERSION_1) & 8, 8);
	wr(R_QUEUE_SEL, 0);
	wr(R_QUEUE_NUM, QN);
	wr(R_DESC_LO, 0xfffff000u);
	wr(R_AVAIL_LO, (uint32_t)AVAIL);
	wr(R_USED_LO, (uint32_t)USED);
	wr(R_QUEUE_READY, 1);
	ck_assert_uint_eq(rd(R_QUEUE_READY), 0);
	/* misaligned used ring */
	ck_assert_uint_eq(negotiate(VIRTIO_FEAT_VERSION_1) & 8, 8);
	wr(R_QUEUE_NUM, QN);
	wr(R_DESC_LO, (uint32_t)DESC);
	wr(R_USED_LO, (uint32_t)USED + 2);
	wr(R_QUEUE_READY, 1);
	ck_assert_uint_eq(rd(R_QUEUE_READY), 0);
}
END_TEST

static Suite *vmmio_suite(void)
{
	Suite *s = suite_create("vmmio");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, identity_registers);
	tcase_add_test(tc, feature_negotiation);
	tcase_add_test(tc, rng_request_and_interrupt);
	tcase_add_test(tc, looping_chain_needs_reset);
	tcase_add_test(tc, needs_reset_lines_are_capped);
	tcase_add_test(tc, bad_queue_layouts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("SKIP: /dev/kvm is missing or not accessible\n");
		return 77;
	}
	return smol_check_run(vmmio_suite());
}
