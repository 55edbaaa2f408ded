/* 8250/16550A UART (serial.h). Register map from the National
 * Semiconductor PC16550D data sheet, offsets from the base port. */
#include "devices/serial.h"

#include "core/evloop.h"
#include "core/iobus.h"
#include "smolvm/vm.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define UART_RBR 0 /* DLAB=0 read: receive buffer; write: THR */
#define UART_IER 1 /* DLAB=0; DLAB=1: DLM */
#define UART_IIR 2 /* read; write: FCR */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI	     0x01
#define IER_THRI     0x02
#define IIR_NONE     0x01
#define IIR_THRI     0x02
#define IIR_RDI	     0x04
#define IIR_FIFO     0xc0
#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB     0x80
#define MCR_LOOP     0x10
#define LSR_DR	     0x01
#define LSR_THRE     0x20
#define LSR_TEMT     0x40
#define MSR_DEFAULT  0xb0 /* DCD, DSR, CTS */

#define RX_SIZE 64

struct serial {
	struct vm *vm;
	uint16_t port;
	uint32_t gsi;
	int out_fd, in_fd;
	bool in_watched;
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, msr, scr, fcr, dll, dlm;
	bool thre_pending; /* THR-empty interrupt not yet acknowledged */
	int irq_level;
	uint8_t rx[RX_SIZE];
	unsigned rx_len;
};

static uint8_t serial_iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;
	if ((s->ier & IER_RDI) && s->rx_len)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->thre_pending)
		return fifo | IIR_THRI;
	return fifo | IIR_NONE;
}

/* Called with the lock held: drive the line from the pending state. */
static void serial_update_irq(struct serial *s)
{
	int level = (serial_iir(s) & IIR_NONE) ? 0 : 1;
	if (level != s->irq_level) {
		s->irq_level = level;
		vm_irq_line(s->vm, s->gsi, level);
	}
}

static void serial_rx_push(struct serial *s, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n && s->rx_len < RX_SIZE; i++)
		s->rx[s->rx_len++] = b[i];
}

static void serial_tx(struct serial *s, uint8_t c)
{
	if (s->mcr & MCR_LOOP) {
		serial_rx_push(s, &c, 1);
	} else if (s->out_fd >= 0) {
		/* Output is best effort: a closed console must not stop the VM. */
		(void)util_write_all(s->out_fd, &c, 1);
	}
	s->thre_pending = true;
}

static void serial_watch_input(struct serial *s, bool on);

static uint8_t serial_read(struct serial *s, unsigned reg)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t v = 0;
	switch (reg) {
	case UART_RBR:
		if (dlab) {
			v = s->dll;
		} else if (s->rx_len) {
			v = s->rx[0];
			memmove(s->rx, s->rx + 1, --s->rx_len);
			if (s->rx_len == RX_SIZE - 1)
				serial_watch_input(s, true);
		}
		break;
	case UART_IER:
		v = dlab ? s->dlm : s->ier;
		break;
	case UART_IIR:
		v = serial_iir(s);
		/* Reading IIR while THRE is the reported source clears it. */
		if ((v & 0x0f) == IIR_THRI)
			s->thre_pending = false;
		break;
	case UART_LCR:
		v = s->lcr;
		break;
	case UART_MCR:
		v = s->mcr;
		break;
	case UART_LSR:
		v = LSR_THRE | LSR_TEMT | (s->rx_len ? LSR_DR : 0);
		break;
	case UART_MSR:
		if (s->mcr & MCR_LOOP) /* RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD */
			v = (uint8_t)(((s->mcr & 0x02) << 3) | ((s->mcr & 0x01) << 5) |
				      ((s->mcr & 0x04) << 4) | ((s->mcr & 0x08) << 4));
		else
			v = s->msr;
		break;
	case UART_SCR:
		v = s->scr;
		break;
	}
	return v;
}

static void serial_write(struct serial *s, unsigned reg, uint8_t v)
{
	bool dlab = s->lcr & LCR_DLAB;
	switch (reg) {
	case UART_RBR:
		if (dlab)
			s->dll = v;
		else
			serial_tx(s, v);
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = v;
		} else {
			/* Enabling THRI with the transmitter empty raises it. */
			if (!(s->ier & IER_THRI) && (v & IER_THRI))
				s->thre_pending = true;
			s->ier = v & 0x0f;
		}
		break;
	case UART_IIR: /* FCR */
		s->fcr = v & (FCR_ENABLE | 0xc0);
		if (v & FCR_CLEAR_RX)
			s->rx_len = 0;
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

static void serial_io(void *opaque, uint64_t off, void *data, uint32_t len, bool is_write)
{
	struct serial *s = opaque;
	uint8_t *b = data;
	pthread_mutex_lock(&s->lock);
	/* Byte registers; a wider access touches consecutive registers. */
	for (uint32_t i = 0; i < len && off + i < 8; i++) {
		if (is_write)
			serial_write(s, (unsigned)(off + i), b[i]);
		else
			b[i] = serial_read(s, (unsigned)(off + i));
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_input(void *opaque, uint32_t events)
{
	struct serial *s = opaque;
	uint8_t buf[RX_SIZE];
	pthread_mutex_lock(&s->lock);
	size_t room = RX_SIZE - s->rx_len;
	if (room == 0) {
		serial_watch_input(s, false);
		goto out;
	}
	ssize_t n = read(s->in_fd, buf, room);
	if (n > 0) {
		serial_rx_push(s, buf, (size_t)n);
		serial_update_irq(s);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		evloop_del(vm_evloop(s->vm), s->in_fd); /* EOF or error: no more input */
		s->in_fd = -1;
		s->in_watched = false;
	}
out:
	pthread_mutex_unlock(&s->lock);
}

/* Lock held. Stops reading input while the FIFO is full (back-pressure). */
static void serial_watch_input(struct serial *s, bool on)
{
	if (s->in_fd < 0 || s->in_watched == on)
		return;
	if (evloop_mod(vm_evloop(s->vm), s->in_fd, on ? EPOLLIN : 0) == 0)
		s->in_watched = on;
}

int serial_create(struct vm *vm, uint16_t port, uint32_t gsi, int out_fd, int in_fd,
		  struct serial **out)
{
	struct serial *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->vm = vm;
	s->port = port;
	s->gsi = gsi;
	s->out_fd = out_fd;
	s->in_fd = -1;
	s->msr = MSR_DEFAULT;
	s->mcr = 0x08; /* OUT2 */
	pthread_mutex_init(&s->lock, NULL);
	int err = iobus_register(vm_pio_bus(vm), port, 8, serial_io, s);
	if (err)
		goto fail;
	if (in_fd >= 0) {
		err = evloop_add(vm_evloop(vm), in_fd, EPOLLIN, serial_input, s);
		if (err == 0) {
			s->in_fd = in_fd;
			s->in_watched = true;
		} else if (err != -EPERM) { /* regular files cannot be polled: no input */
			iobus_unregister(vm_pio_bus(vm), port);
			goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	pthread_mutex_destroy(&s->lock);
	free(s);
	return err;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	if (s->in_fd >= 0)
		evloop_del(vm_evloop(s->vm), s->in_fd);
	iobus_unregister(vm_pio_bus(s->vm), s->port);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void serial_save(struct serial *s, struct serial_state *st)
{
	pthread_mutex_lock(&s->lock);
	memset(st, 0, sizeof(*st));
	st->ier = s->ier;
	st->iir_thre = s->thre_pending;
	st->lcr = s->lcr;
	st->mcr = s->mcr;
	st->msr = s->msr;
	st->scr = s->scr;
	st->fcr = s->fcr;
	st->dll = s->dll;
	st->dlm = s->dlm;
	st->rx_len = (uint8_t)s->rx_len;
	memcpy(st->rx, s->rx, s->rx_len);
	pthread_mutex_unlock(&s->lock);
}

int serial_restore(struct serial *s, const struct serial_state *st)
{
	if (st->rx_len > RX_SIZE || st->iir_thre > 1)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	s->ier = st->ier & 0x0f;
	s->thre_pending = st->iir_thre;
	s->lcr = st->lcr;
	s->mcr = st->mcr & 0x1f;
	s->msr = st->msr;
	s->scr = st->scr;
	s->fcr = st->fcr;
	s->dll = st->dll;
	s->dlm = st->dlm;
	s->rx_len = st->rx_len;
	memcpy(s->rx, st->rx, s->rx_len);
	s->irq_level = -1; /* force the line to be re-driven */
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}
