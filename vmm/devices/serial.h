/* serial: a 16550A-compatible UART (8250 family) on COM1, enough for the
 * Linux 8250 driver and earlycon: divisor latch, IER/IIR with THRE and
 * receive-data interrupts, FIFO control, LCR/MCR/LSR/MSR, loopback (the
 * driver's probe uses it) and scratch. Output goes to a file descriptor;
 * input (optional) comes from another, read on the event loop. The
 * interrupt line is level-triggered through KVM_IRQ_LINE. */
#ifndef SMOL_SERIAL_H
#define SMOL_SERIAL_H

#include <stdint.h>

struct vm;
struct serial;

/* Creates the UART at port/gsi on vm's PIO bus. out_fd receives guest output
 * (borrowed; -1 discards it). in_fd (borrowed; -1 for none) is watched on
 * the event loop and fed to the receiver; EOF stops watching. */
int serial_create(struct vm *vm, uint16_t port, uint32_t gsi, int out_fd, int in_fd,
		  struct serial **out);
void serial_destroy(struct serial *s);

/* Snapshot state: registers and the receive FIFO, fixed-width LE. */
struct serial_state {
	uint8_t ier, iir_thre, lcr, mcr, lsr_extra, msr, scr, fcr;
	uint8_t dll, dlm, rx_len, pad[5];
	uint8_t rx[64];
};
void serial_save(struct serial *s, struct serial_state *st);
int serial_restore(struct serial *s, const struct serial_state *st);

#endif
