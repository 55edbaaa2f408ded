/* i8042: the PC keyboard controller on ports 0x60 (data) and 0x64
 * (status/command), with a keyboard that has no keys and an auxiliary
 * (mouse) port with nothing plugged in.
 *
 * It answers everything Linux's i8042 driver asks at probe time
 * (drivers/input/serio/i8042.c: i8042_controller_check, _selftest, _init,
 * i8042_check_aux, i8042_check_mux) and the atkbd driver's keyboard
 * commands, so that neither waits for a timeout: the status register with
 * an output-buffer-full flag that is up exactly while a byte waits on 0x60,
 * the controller command byte (CTR), self-test, interface tests, port
 * enable/disable, the aux loop and "write to aux", and the CPU reset pulse
 * (0xfe, or an output-port write with bit 0 clear), which ends the VM
 * cleanly (VM_EXIT_RESET, status 0).
 *
 * Interrupts: IRQ 1 while a keyboard-side byte waits and CTR bit 0 is set,
 * IRQ 12 while an aux-side byte waits and CTR bit 1 is set (the line
 * follows the output buffer, as on the chip). The DSDT names both (PNP0303,
 * PNP0F13: arch/x86_64/aml.c), since a HW-reduced ACPI guest has no legacy
 * IRQs otherwise. Nothing raises IRQ 12 except the guest itself (the
 * probe's loop test, or a byte sent to the empty aux port); GSI 12 is also
 * the eighth virtio-mmio window's, which shares it only in a VM with eight
 * or more virtio devices. */
#ifndef SMOL_I8042_H
#define SMOL_I8042_H

#include <stdint.h>

struct vm;
struct iobus;
struct i8042;

/* What the controller needs from its machine. */
struct i8042_host {
	/* Drives interrupt line gsi to level (0 or 1). */
	void (*irq_line)(void *opaque, uint32_t gsi, int level);
	/* The guest pulsed the CPU reset line. Called without the device's
	 * lock held, from the vCPU thread of the access. */
	void (*reset)(void *opaque);
	void *opaque; /* borrowed */
};

#define I8042_GSI_KBD 1	 /* ISA IRQ 1, identity-mapped (no MADT override) */
#define I8042_GSI_AUX 12 /* ISA IRQ 12 */

/* Creates the controller on vm's port-I/O bus; interrupts go through
 * vm_irq_line, a reset through vm_stop(VM_EXIT_RESET, 0). */
int i8042_create(struct vm *vm, struct i8042 **out);

/* Same on any bus with any host (the unit test drives it without KVM).
 * bus and host->opaque are borrowed and must outlive the device; *host is
 * copied. -EEXIST/-ENOSPC from the bus, -ENOMEM. */
int i8042_create_on(struct iobus *bus, const struct i8042_host *host, struct i8042 **out);

/* Unregisters from the bus and frees. NULL is a no-op. */
void i8042_destroy(struct i8042 *k);

/* The VM's controller (borrowed; NULL before its devices exist). Defined
 * in vm.c, next to vm_serial(). */
struct i8042 *vm_i8042(struct vm *vm);

/* Snapshot state: plain bytes (no byte order to fix). The queue holds the
 * bytes waiting for the guest in order, q[0] being the one in the output
 * buffer; q_flags[i] is 0 (keyboard side) or I8042_QF_AUX, optionally with
 * I8042_QF_TIMEOUT. */
#define I8042_QUEUE	 16
#define I8042_QF_AUX	 0x20 /* = status bit 5, "aux output buffer full" */
#define I8042_QF_TIMEOUT 0x40 /* = status bit 6, "general time-out" */

struct i8042_state {
	uint8_t ctr;	   /* controller command byte */
	uint8_t outp;	   /* output port */
	uint8_t last_cmd;  /* 1: the last write went to 0x64 (status bit 3) */
	uint8_t cmd;	   /* controller command waiting for its data byte, or 0 */
	uint8_t kbd_cmd;   /* keyboard command waiting for its parameter, or 0 */
	uint8_t kbd_set;   /* keyboard scan code set, 1..3 */
	uint8_t kbd_last;  /* last byte the keyboard sent (its 0xfe "resend") */
	uint8_t last_data; /* last byte read from 0x60 (read again when empty) */
	uint8_t q_len;	   /* 0..I8042_QUEUE */
	uint8_t pad[7];
	uint8_t q[I8042_QUEUE];
	uint8_t q_flags[I8042_QUEUE];
};

/* 0 when st could have been saved by i8042_save (queue length, flags,
 * pending commands, scan code set in range), -EINVAL otherwise. Pure. */
int i8042_state_check(const struct i8042_state *st);

/* Copies the state out. */
void i8042_save(struct i8042 *k, struct i8042_state *st);

/* Checks st (i8042_state_check) and only then applies it and re-drives
 * both interrupt lines. -EINVAL, with nothing changed, on a bad state. */
int i8042_restore(struct i8042 *k, const struct i8042_state *st);

#endif
