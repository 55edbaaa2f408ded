/* Unit tests for the 8250/16550A UART (vmm/devices/serial.c), driven as
 * the guest's driver would through the VM's port-I/O bus. Needs /dev/kvm
 * for the VM around it (skips with 77 otherwise). */
#include "core/iobus.h"
#include "smolvm/vm.h"
#include "util.h"

#include "check_main.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COM1 0x3f8
#define THR  0
#define IER  1
#define IIR  2
#define LCR  3
#define MCR  4
#define LSR  5
#define MSR  6
#define SCR  7

static struct vm *vm;
static char path[] = "/tmp/smol-serial-XXXXXX";

static void setup(void)
{
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	struct vm_config cfg;
	vm_config_init(&cfg);
	cfg.serial = VM_SERIAL_FILE;
	cfg.serial_path = path;
	cfg.mem_bytes = 16ull << 20;
	cfg.rng = false;
	ck_assert_int_eq(vm_create(&cfg, &vm, NULL), 0);
}

static void teardown(void)
{
	vm_destroy(vm);
	unlink(path);
	strcpy(path, "/tmp/smol-serial-XXXXXX");
}

static uint8_t in(unsigned reg)
{
	uint8_t v = 0;
	iobus_dispatch(vm_pio_bus(vm), COM1 + reg, &v, 1, false);
	return v;
}

static void out(unsigned reg, uint8_t v)
{
	iobus_dispatch(vm_pio_bus(vm), COM1 + reg, &v, 1, true);
}

START_TEST(transmit_to_file)
{
	ck_assert_uint_eq(in(LSR)&0x60, 0x60); /* THRE | TEMT */
	const char *msg = "hello\n";
	for (const char *c = msg; *c; c++)
		out(THR, (uint8_t)*c);
	char *text = NULL;
	size_t len = 0;
	ck_assert_int_eq(util_read_file(path, 1024, &text, &len), 0);
	ck_assert_str_eq(text, msg);
	free(text);
}
END_TEST

START_TEST(thre_interrupt_identification)
{
	ck_assert_uint_eq(in(IIR)&0x0f, 0x01); /* nothing pending */
	out(IER, 0x02);			       /* enable THRE interrupt */
	ck_assert_uint_eq(in(IIR)&0x0f, 0x02); /* THRE pending ... */
	ck_assert_uint_eq(in(IIR)&0x0f, 0x01); /* ... cleared by reading IIR */
	out(THR, 'x');
	ck_assert_uint_eq(in(IIR)&0x0f, 0x02); /* raised again after a write */
	out(IIR, 0x01);			       /* FCR: FIFO on */
	ck_assert_uint_eq(in(IIR)&0xc0, 0xc0);
}
END_TEST

START_TEST(loopback_and_latches)
{
	out(MCR, 0x10 | 0x0b);		       /* LOOP, OUT2, RTS, DTR */
	ck_assert_uint_eq(in(MSR)&0xf0, 0xb0); /* DCD, DSR, CTS from OUT2, DTR, RTS */
	out(THR, 0x5a);
	ck_assert_uint_eq(in(LSR)&0x01, 0x01); /* data ready */
	out(IER, 0x01);
	ck_assert_uint_eq(in(IIR)&0x0f, 0x04); /* receive data available */
	ck_assert_uint_eq(in(THR), 0x5a);
	ck_assert_uint_eq(in(LSR)&0x01, 0x00);
	ck_assert_uint_eq(in(THR), 0x00); /* empty FIFO reads 0 */
	out(LCR, 0x80);			  /* DLAB: divisor latch */
	out(THR, 0x0c);
	out(IER, 0x00);
	ck_assert_uint_eq(in(THR), 0x0c);
	out(LCR, 0x03);
	out(SCR, 0xa5);
	ck_assert_uint_eq(in(SCR), 0xa5);
	/* nothing reached the console file in loopback mode */
	char *text = NULL;
	size_t len = 1;
	ck_assert_int_eq(util_read_file(path, 1024, &text, &len), 0);
	ck_assert_uint_eq(len, 0);
	free(text);
	/* a 4-byte access covering LSR..SCR and past the end is bounded */
	uint32_t wide = 0;
	ck_assert(!iobus_dispatch(vm_pio_bus(vm), COM1 + 6, &wide, 4, false));
}
END_TEST

static Suite *serial_suite(void)
{
	Suite *s = suite_create("serial");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, transmit_to_file);
	tcase_add_test(tc, thre_interrupt_identification);
	tcase_add_test(tc, loopback_and_latches);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("SKIP: /dev/kvm is missing or not accessible\n");
		return 77;
	}
	return smol_check_run(serial_suite());
}
