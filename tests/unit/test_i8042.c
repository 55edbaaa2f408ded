/* Unit tests for the i8042 keyboard controller (vmm/devices/i8042.c),
 * driven through a port-I/O bus of its own with a recording host, so no
 * /dev/kvm is needed. The happy path is the exact sequence Linux 6.1's
 * drivers/input/serio/i8042.c and keyboard/atkbd.c perform at boot. */
#include "core/iobus.h"
#include "devices/i8042.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define DATA   0x60
#define STATUS 0x64

#define STR_OBF	    0x01
#define STR_IBF	    0x02
#define STR_SYS	    0x04
#define STR_CMD	    0x08
#define STR_UNLOCK  0x10
#define STR_AUXDATA 0x20
#define STR_TIMEOUT 0x40

#define CTR_KBDINT 0x01
#define CTR_AUXINT 0x02
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE  0x40

/* What the device asked of its machine. */
struct host_log {
	int level[16]; /* current level per GSI */
	int rises[16]; /* 0 -> 1 transitions per GSI */
	int drives;    /* irq_line calls */
	int resets;    /* reset pulses */
};

static struct iobus bus;
static struct host_log hl;
static struct i8042 *kbc;

static void host_irq(void *opaque, uint32_t gsi, int level)
{
	struct host_log *h = opaque;
	ck_assert_uint_lt(gsi, 16);
	h->drives++;
	if (level && !h->level[gsi])
		h->rises[gsi]++;
	h->level[gsi] = level;
}

static void host_reset(void *opaque)
{
	struct host_log *h = opaque;
	h->resets++;
}

static void setup(void)
{
	memset(&bus, 0, sizeof(bus));
	memset(&hl, 0, sizeof(hl));
	struct i8042_host host = {.irq_line = host_irq, .reset = host_reset, .opaque = &hl};
	ck_assert_int_eq(i8042_create_on(&bus, &host, &kbc), 0);
}

static void teardown(void)
{
	i8042_destroy(kbc);
	kbc = NULL;
	ck_assert_uint_eq(bus.n, 0); /* both ranges unregistered */
}

static uint8_t in(uint16_t port)
{
	uint8_t v = 0;
	ck_assert(iobus_dispatch(&bus, port, &v, 1, false));
	return v;
}

static void out(uint16_t port, uint8_t v)
{
	ck_assert(iobus_dispatch(&bus, port, &v, 1, true));
}

/* Linux __i8042_command(): wait until IBF is clear, write the command,
 * write each parameter (again waiting on IBF), then for each reply wait
 * until OBF is set and read it. A wait that would time out fails here. */
static void command(uint8_t cmd, const uint8_t *params, unsigned np, uint8_t *reply, unsigned nr)
{
	ck_assert_uint_eq(in(STATUS)&STR_IBF, 0);
	out(STATUS, cmd);
	for (unsigned i = 0; i < np; i++) {
		ck_assert_uint_eq(in(STATUS)&STR_IBF, 0);
		out(DATA, params[i]);
	}
	for (unsigned i = 0; i < nr; i++) {
		ck_assert_msg(in(STATUS)&STR_OBF, "no reply %u to command 0x%02x", i, cmd);
		reply[i] = in(DATA);
	}
}

static uint8_t read_ctr(void)
{
	uint8_t ctr;
	command(0x20, NULL, 0, &ctr, 1);
	return ctr;
}

static void write_ctr(uint8_t ctr)
{
	command(0x60, &ctr, 1, NULL, 0);
}

/* Linux i8042_flush(): read while OBF; it gives up after 16 bytes. */
static unsigned flush(void)
{
	unsigned n = 0;
	while ((in(STATUS)&STR_OBF) && n < 17) {
		in(DATA);
		n++;
	}
	return n;
}

START_TEST(test_power_on_status)
{
	uint8_t st = in(STATUS);
	/* i8042_controller_check: an empty bus reads 0xff, which has OBF set
	 * and fails "No controller found"; we must read OBF clear. */
	ck_assert_uint_eq(st & (STR_OBF | STR_IBF), 0);
	ck_assert_uint_ne(st, 0xff);
	/* i8042_controller_init warns "Keylock active" without bit 4. */
	ck_assert_uint_ne(st & STR_UNLOCK, 0);
	ck_assert_uint_ne(st & STR_SYS, 0); /* POST passed */
	ck_assert_uint_eq(flush(), 0);
	ck_assert_int_eq(hl.drives, 0);
}
END_TEST

/* The whole of i8042_probe() (reset on s2ram only, so no self-test), with
 * i8042_check_aux() and i8042_check_mux(), then i8042_setup_kbd(). */
START_TEST(test_linux_probe_sequence)
{
	/* i8042_controller_check */
	ck_assert_uint_eq(flush(), 0);

	/* i8042_controller_init: two equal CTR reads */
	uint8_t c0 = read_ctr(), c1 = read_ctr();
	ck_assert_uint_eq(c0, c1);
	ck_assert_uint_ne(c0 & CTR_XLATE, 0);
	uint8_t ctr = (uint8_t)((c0 | CTR_KBDDIS) & ~CTR_KBDINT);
	ck_assert_uint_ne(in(STATUS)&STR_UNLOCK, 0);
	write_ctr(ctr);
	ck_assert_uint_eq(read_ctr(), ctr);
	ck_assert_uint_eq(flush(), 0);

	/* i8042_check_aux: loopback must echo as aux data */
	ck_assert_uint_eq(flush(), 0);
	uint8_t p = 0x5a;
	ck_assert_uint_eq(in(STATUS)&STR_IBF, 0);
	out(STATUS, 0xd3);
	out(DATA, p);
	ck_assert_uint_eq(in(STATUS) & (STR_OBF | STR_AUXDATA), STR_OBF | STR_AUXDATA);
	ck_assert_uint_eq(in(DATA), 0x5a);
	/* i8042_toggle_aux(false) then (true): CTR bit 5 follows at once */
	command(0xa7, NULL, 0, NULL, 0);
	ck_assert_uint_ne(read_ctr() & CTR_AUXDIS, 0);
	command(0xa8, NULL, 0, NULL, 0);
	ck_assert_uint_eq(read_ctr() & CTR_AUXDIS, 0);
	/* IRQ delivery test: enable the aux port and its interrupt, loop
	 * 0xa5 without reading it; IRQ 12 must rise */
	ctr = (uint8_t)((ctr & ~CTR_AUXDIS) | CTR_AUXINT);
	write_ctr(ctr);
	int rises = hl.rises[I8042_GSI_AUX];
	out(STATUS, 0xd3);
	out(DATA, 0xa5);
	ck_assert_int_eq(hl.rises[I8042_GSI_AUX], rises + 1);
	ck_assert_int_eq(hl.level[I8042_GSI_KBD], 0);
	/* the handler (i8042_aux_test_irq) reads it: aux data, 0xa5 */
	uint8_t st = in(STATUS);
	ck_assert_uint_eq(st & (STR_OBF | STR_AUXDATA), STR_OBF | STR_AUXDATA);
	ck_assert_uint_eq(in(DATA), 0xa5);
	ck_assert_int_eq(hl.level[I8042_GSI_AUX], 0);
	/* out: disable the aux port again */
	ctr = (uint8_t)((ctr | CTR_AUXDIS) & ~CTR_AUXINT);
	write_ctr(ctr);

	/* i8042_check_mux -> i8042_set_mux_mode(true): the third loop byte
	 * comes back unchanged, so there is no active multiplexer */
	ck_assert_uint_eq(flush(), 0);
	const uint8_t mux[3] = {0xf0, 0x56, 0xa4};
	for (unsigned i = 0; i < 3; i++) {
		uint8_t r;
		command(0xd3, &mux[i], 1, &r, 1);
		ck_assert_uint_eq(r, mux[i]);
	}

	/* i8042_setup_aux -> i8042_enable_aux_port; i8042_setup_kbd ->
	 * i8042_enable_kbd_port */
	ctr = (uint8_t)((ctr & ~CTR_AUXDIS) | CTR_AUXINT);
	write_ctr(ctr);
	ctr = (uint8_t)((ctr & ~CTR_KBDDIS) | CTR_KBDINT);
	write_ctr(ctr);
	ck_assert_uint_eq(read_ctr(), ctr);
	ck_assert_uint_eq(in(STATUS)&STR_OBF, 0);
	ck_assert_int_eq(hl.level[I8042_GSI_KBD], 0);
	ck_assert_int_eq(hl.level[I8042_GSI_AUX], 0);
}
END_TEST

/* Reads one keyboard byte the way i8042_interrupt() does after IRQ 1. */
static uint8_t kbd_irq_read(void)
{
	ck_assert_int_eq(hl.level[I8042_GSI_KBD], 1);
	uint8_t st = in(STATUS);
	ck_assert_uint_eq(st & (STR_OBF | STR_AUXDATA | STR_TIMEOUT), STR_OBF);
	return in(DATA);
}

START_TEST(test_atkbd_probe)
{
	/* Keyboard port enabled with its interrupt, translation on (the
	 * controller as i8042_setup_kbd leaves it). */
	write_ctr(CTR_KBDINT | CTR_XLATE | CTR_AUXDIS | 0x04);
	/* atkbd_probe: GETID answers ACK, 0xab, then 0x41 (translated) */
	int rises = hl.rises[I8042_GSI_KBD];
	out(DATA, 0xf2);
	ck_assert_uint_eq(kbd_irq_read(), 0xfa);
	ck_assert_uint_eq(kbd_irq_read(), 0xab);
	ck_assert_uint_eq(kbd_irq_read(), 0x41);
	ck_assert_int_eq(hl.level[I8042_GSI_KBD], 0);
	/* one edge per byte: the line drops on each read and rises again */
	ck_assert_int_eq(hl.rises[I8042_GSI_KBD], rises + 3);
	/* atkbd_deactivate (0xf5), set LEDs (0xed, 0), typematic (0xf3, 0x20),
	 * atkbd_activate (0xf4): each byte is acknowledged */
	const uint8_t seq[] = {0xf5, 0xed, 0x00, 0xf3, 0x20, 0xf4};
	for (unsigned i = 0; i < sizeof(seq); i++) {
		out(DATA, seq[i]);
		ck_assert_uint_eq(kbd_irq_read(), 0xfa);
	}
	/* reset: ACK then BAT passed; echo has no ACK */
	out(DATA, 0xff);
	ck_assert_uint_eq(kbd_irq_read(), 0xfa);
	ck_assert_uint_eq(kbd_irq_read(), 0xaa);
	out(DATA, 0xee);
	ck_assert_uint_eq(kbd_irq_read(), 0xee);
	/* scan code set query: ACK, then set 2 translated (0x41); untranslated
	 * after CTR bit 6 is cleared */
	out(DATA, 0xf0);
	ck_assert_uint_eq(kbd_irq_read(), 0xfa);
	out(DATA, 0x00);
	ck_assert_uint_eq(kbd_irq_read(), 0xfa);
	ck_assert_uint_eq(kbd_irq_read(), 0x41);
	write_ctr(CTR_KBDINT);
	out(DATA, 0xf2);
	ck_assert_uint_eq(kbd_irq_read(), 0xfa);
	ck_assert_uint_eq(kbd_irq_read(), 0xab);
	ck_assert_uint_eq(kbd_irq_read(), 0x83);
	/* resend repeats the last byte */
	out(DATA, 0xfe);
	ck_assert_uint_eq(kbd_irq_read(), 0x83);
	ck_assert_uint_eq(in(STATUS)&STR_OBF, 0);
}
END_TEST

START_TEST(test_controller_tests)
{
	uint8_t r;
	command(0xaa, NULL, 0, &r, 1); /* i8042_controller_selftest */
	ck_assert_uint_eq(r, 0x55);
	command(0xab, NULL, 0, &r, 1);
	ck_assert_uint_eq(r, 0x00);
	command(0xa9, NULL, 0, &r, 1);
	ck_assert_uint_eq(r, 0x00);
	/* status bit 3 tells the last write's port */
	ck_assert_uint_ne(in(STATUS)&STR_CMD, 0);
	command(0xad, NULL, 0, NULL, 0);
	ck_assert_uint_ne(read_ctr() & CTR_KBDDIS, 0);
	command(0xae, NULL, 0, NULL, 0);
	ck_assert_uint_eq(read_ctr() & CTR_KBDDIS, 0);
	/* output port read/write (bit 0 kept high: no reset) */
	uint8_t v = 0x03;
	command(0xd1, &v, 1, NULL, 0);
	ck_assert_uint_eq(in(STATUS)&STR_CMD, 0);
	command(0xd0, NULL, 0, &r, 1);
	ck_assert_uint_eq(r, 0x03);
	/* keyboard loop: comes back as keyboard data */
	v = 0x42;
	command(0xd2, &v, 1, &r, 1);
	ck_assert_uint_eq(r, 0x42);
	ck_assert_int_eq(hl.resets, 0);
}
END_TEST

START_TEST(test_reset)
{
	/* Linux reboot=k and the FADT reset register write 0xfe to 0x64. */
	out(STATUS, 0xfe);
	ck_assert_int_eq(hl.resets, 1);
	/* 0xff pulses no line */
	out(STATUS, 0xff);
	ck_assert_int_eq(hl.resets, 1);
	/* writing the output port with bit 0 low holds the CPU in reset */
	out(STATUS, 0xd1);
	out(DATA, 0x02);
	ck_assert_int_eq(hl.resets, 2);
}
END_TEST

START_TEST(test_aux_send_no_device)
{
	write_ctr(CTR_AUXINT | CTR_KBDINT | 0x04);
	int rises = hl.rises[I8042_GSI_AUX];
	out(STATUS, 0xd4);
	out(DATA, 0xf2); /* psmouse's GET ID */
	ck_assert_int_eq(hl.rises[I8042_GSI_AUX], rises + 1);
	ck_assert_int_eq(hl.level[I8042_GSI_KBD], 0);
	uint8_t st = in(STATUS);
	ck_assert_uint_eq(st & (STR_OBF | STR_AUXDATA | STR_TIMEOUT),
			  STR_OBF | STR_AUXDATA | STR_TIMEOUT);
	ck_assert_uint_eq(in(DATA), 0xfe);
	ck_assert_int_eq(hl.level[I8042_GSI_AUX], 0);
	ck_assert_uint_eq(in(STATUS) & (STR_OBF | STR_TIMEOUT), 0);
}
END_TEST

START_TEST(test_no_irq_when_disabled)
{
	/* Probing polls with the interrupts off: no line may move. */
	write_ctr(0x04 | CTR_XLATE);
	int drives = hl.drives;
	uint8_t r;
	command(0x20, NULL, 0, &r, 1);
	out(DATA, 0xf2);
	out(STATUS, 0xd3);
	out(DATA, 0x11);
	ck_assert_int_eq(hl.drives, drives);
	ck_assert_uint_eq(flush(), 4);
	/* Enabling KBDINT with a byte waiting raises IRQ 1 at once. */
	out(DATA, 0xee);
	ck_assert_int_eq(hl.level[I8042_GSI_KBD], 0);
	write_ctr(0x04 | CTR_KBDINT);
	ck_assert_int_eq(hl.level[I8042_GSI_KBD], 1);
	ck_assert_uint_eq(in(DATA), 0xee);
	ck_assert_int_eq(hl.level[I8042_GSI_KBD], 0);
}
END_TEST

START_TEST(test_hostile)
{
	/* Reads with nothing waiting: the last byte again, no state change. */
	ck_assert_uint_eq(in(DATA), 0x00);
	uint8_t r;
	command(0xaa, NULL, 0, &r, 1);
	ck_assert_uint_eq(in(DATA), 0x55);
	ck_assert_uint_eq(in(DATA), 0x55);
	ck_assert_uint_eq(in(STATUS)&STR_OBF, 0);
	/* Unknown controller commands: no reply, nothing pending. */
	const uint8_t unknown[] = {0x00, 0x10, 0x80, 0xa0, 0xa4, 0xc0, 0xc5, 0xe0, 0x9f};
	for (unsigned i = 0; i < sizeof(unknown); i++)
		out(STATUS, unknown[i]);
	ck_assert_uint_eq(in(STATUS)&STR_OBF, 0);
	/* A data write with no command pending goes to the keyboard; a byte
	 * that is no keyboard command gets "resend". */
	out(DATA, 0x12);
	ck_assert_uint_eq(in(STATUS)&STR_OBF, STR_OBF);
	ck_assert_uint_eq(in(DATA), 0xfe);
	/* A command waiting for data is abandoned by the next command. */
	uint8_t ctr = read_ctr();
	out(STATUS, 0x60);
	out(STATUS, 0xaa);
	ck_assert_uint_eq(in(DATA), 0x55);
	out(DATA, 0x00); /* now keyboard data, not the CTR */
	ck_assert_uint_eq(in(DATA), 0xfe);
	ck_assert_uint_eq(read_ctr(), ctr);
	/* Reserved CTR bits are not kept. */
	write_ctr(0xff);
	ck_assert_uint_eq(read_ctr(), 0x77);
	/* Flooding the keyboard without reading: bounded queue, the oldest
	 * bytes kept, Linux's flush still ends (16 bytes). */
	write_ctr(0x04);
	for (unsigned i = 0; i < 1000; i++)
		out(DATA, 0xf4);
	ck_assert_uint_eq(flush(), I8042_QUEUE);
	/* Wide accesses are not byte registers: reads give ones, writes are
	 * ignored, nothing is queued. */
	uint32_t w = 0;
	iobus_dispatch(&bus, STATUS, &w, 4, false);
	ck_assert_uint_eq(w, 0xffffffffu);
	w = 0xfe;
	iobus_dispatch(&bus, STATUS, &w, 2, true);
	ck_assert_int_eq(hl.resets, 0);
	ck_assert_uint_eq(in(STATUS)&STR_OBF, 0);
	/* Ports 0x61..0x63 are not ours. */
	uint8_t b = 0;
	ck_assert(!iobus_dispatch(&bus, 0x61, &b, 1, false));
	ck_assert(!iobus_dispatch(&bus, 0x63, &b, 1, true));
	/* Parameter-taking keyboard commands: a byte >= 0x80 is a new
	 * command, not the parameter. */
	out(DATA, 0xed);
	ck_assert_uint_eq(in(DATA), 0xfa);
	out(DATA, 0xf2);
	ck_assert_uint_eq(in(DATA), 0xfa);
	ck_assert_uint_eq(in(DATA), 0xab);
	ck_assert_uint_eq(in(DATA), 0x83);
	/* A bad scan code set is refused. */
	out(DATA, 0xf0);
	ck_assert_uint_eq(in(DATA), 0xfa);
	out(DATA, 0x07);
	ck_assert_uint_eq(in(DATA), 0xfe);
}
END_TEST

START_TEST(test_snapshot_roundtrip)
{
	write_ctr(CTR_KBDINT | 0x04 | CTR_AUXDIS);
	out(DATA, 0xf2); /* three bytes waiting, IRQ 1 up */
	ck_assert_uint_eq(in(DATA), 0xfa);
	out(STATUS, 0x60); /* a command waiting for its data */
	struct i8042_state st;
	i8042_save(kbc, &st);
	ck_assert_int_eq(i8042_state_check(&st), 0);
	ck_assert_uint_eq(st.q_len, 2);

	/* A fresh controller (as after restore) takes the state and re-drives
	 * its lines. */
	struct iobus bus2;
	struct host_log hl2;
	memset(&bus2, 0, sizeof(bus2));
	memset(&hl2, 0, sizeof(hl2));
	struct i8042_host host = {.irq_line = host_irq, .reset = host_reset, .opaque = &hl2};
	struct i8042 *k2;
	ck_assert_int_eq(i8042_create_on(&bus2, &host, &k2), 0);
	ck_assert_int_eq(i8042_restore(k2, &st), 0);
	ck_assert_int_eq(hl2.level[I8042_GSI_KBD], 1);
	ck_assert_int_ge(hl2.drives, 2); /* both lines driven */
	uint8_t v = CTR_KBDINT | 0x04;	 /* the pending 0x60 takes this byte */
	ck_assert(iobus_dispatch(&bus2, DATA, &v, 1, true));
	ck_assert(iobus_dispatch(&bus2, DATA, &v, 1, false));
	ck_assert_uint_eq(v, 0xab);
	ck_assert(iobus_dispatch(&bus2, DATA, &v, 1, false));
	ck_assert_uint_eq(v, 0x83);
	ck_assert_int_eq(hl2.level[I8042_GSI_KBD], 0);
	v = 0x20;
	ck_assert(iobus_dispatch(&bus2, STATUS, &v, 1, true));
	ck_assert(iobus_dispatch(&bus2, DATA, &v, 1, false));
	ck_assert_uint_eq(v, CTR_KBDINT | 0x04);

	/* Equal states save equal bytes (no stale queue tail, no padding). */
	struct i8042_state a, b;
	i8042_save(k2, &a);
	i8042_save(k2, &b);
	ck_assert_mem_eq(&a, &b, sizeof(a));
	for (unsigned i = a.q_len; i < I8042_QUEUE; i++)
		ck_assert_uint_eq(a.q[i], 0);
	i8042_destroy(k2);
}
END_TEST

START_TEST(test_restore_refuses_bad_state)
{
	struct i8042_state good, st;
	i8042_save(kbc, &good);
	ck_assert_int_eq(i8042_state_check(&good), 0);
	/* each hostile field alone */
	st = good;
	st.q_len = I8042_QUEUE + 1;
	ck_assert_int_eq(i8042_restore(kbc, &st), -EINVAL);
	st = good;
	st.kbd_set = 0;
	ck_assert_int_eq(i8042_restore(kbc, &st), -EINVAL);
	st = good;
	st.kbd_set = 4;
	ck_assert_int_eq(i8042_restore(kbc, &st), -EINVAL);
	st = good;
	st.ctr = 0x80;
	ck_assert_int_eq(i8042_restore(kbc, &st), -EINVAL);
	st = good;
	st.cmd = 0xaa; /* takes no data */
	ck_assert_int_eq(i8042_restore(kbc, &st), -EINVAL);
	st = good;
	st.kbd_cmd = 0xf2; /* takes no parameter */
	ck_assert_int_eq(i8042_restore(kbc, &st), -EINVAL);
	st = good;
	st.last_cmd = 2;
	ck_assert_int_eq(i8042_restore(kbc, &st), -EINVAL);
	st = good;
	st.q_len = 1;
	st.q_flags[0] = I8042_QF_TIMEOUT; /* a time-out from the keyboard side */
	ck_assert_int_eq(i8042_restore(kbc, &st), -EINVAL);
	st.q_flags[0] = 0x01;
	ck_assert_int_eq(i8042_restore(kbc, &st), -EINVAL);
	/* nothing was applied */
	struct i8042_state now;
	i8042_save(kbc, &now);
	ck_assert_mem_eq(&now, &good, sizeof(now));
	ck_assert_int_eq(hl.drives, 0);
	/* the good one is taken */
	st.q_flags[0] = I8042_QF_AUX | I8042_QF_TIMEOUT;
	st.q[0] = 0xfe;
	st.ctr |= CTR_AUXINT;
	ck_assert_int_eq(i8042_restore(kbc, &st), 0);
	ck_assert_int_eq(hl.level[I8042_GSI_AUX], 1);
}
END_TEST

START_TEST(test_create_conflict)
{
	/* A second controller on the same bus is refused and leaves nothing. */
	struct i8042_host host = {.irq_line = host_irq, .reset = host_reset, .opaque = &hl};
	struct i8042 *k2 = NULL;
	unsigned n = bus.n;
	ck_assert_int_eq(i8042_create_on(&bus, &host, &k2), -EEXIST);
	ck_assert_uint_eq(bus.n, n);
	i8042_destroy(NULL);
}
END_TEST

static Suite *i8042_suite(void)
{
	Suite *s = suite_create("i8042");
	TCase *tc = tcase_create("i8042");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_power_on_status);
	tcase_add_test(tc, test_linux_probe_sequence);
	tcase_add_test(tc, test_atkbd_probe);
	tcase_add_test(tc, test_controller_tests);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_aux_send_no_device);
	tcase_add_test(tc, test_no_irq_when_disabled);
	tcase_add_test(tc, test_hostile);
	tcase_add_test(tc, test_snapshot_roundtrip);
	tcase_add_test(tc, test_restore_refuses_bad_state);
	tcase_add_test(tc, test_create_conflict);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return smol_check_run(i8042_suite());
}
