/* i8042 keyboard controller (i8042.h).
 *
 * References: the IBM PS/2 Hardware Interface Technical Reference
 * ("Keyboard/Auxiliary Device Controller": status register, command byte,
 * controller commands; "Keyboard": keyboard commands), and what Linux
 * 6.1 reads at probe time in drivers/input/serio/i8042.c and
 * drivers/input/keyboard/atkbd.c (cited as "Linux" below). Firecracker's
 * devices/legacy/i8042.rs was the model for the shape (a byte queue behind
 * the output buffer, a keyboard that acknowledges); this one also answers
 * the controller's self-tests, port enables and the aux port, which
 * Firecracker leaves to `i8042.noaux i8042.nomux i8042.dumbkbd`. */
#include "devices/i8042.h"

#include "arch/x86_64/layout.h"
#include "core/iobus.h"
#include "smolvm/vm.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define I8042_DATA   X86_I8042_PORT /* 0x60 */
#define I8042_STATUS (X86_I8042_PORT + 4)

/* Status register (read 0x64). */
#define STR_OBF	    0x01 /* output buffer full: a byte waits on 0x60 */
#define STR_IBF	    0x02 /* input buffer full: never, we take bytes at once */
#define STR_SYS	    0x04 /* system flag: mirrors CTR bit 2 */
#define STR_CMD	    0x08 /* last write was a command (0x64), not data (0x60) */
#define STR_UNLOCK  0x10 /* keyboard not inhibited (Linux warns "Keylock active" if 0) */
#define STR_AUXDATA 0x20 /* the byte in the output buffer is from the aux port */
#define STR_TIMEOUT 0x40 /* the aux device did not answer */

/* Controller command byte (CTR). */
#define CTR_KBDINT 0x01
#define CTR_AUXINT 0x02
#define CTR_SYS	   0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE  0x40
#define CTR_VALID  0x77 /* bits 3 and 7 are reserved (write as 0) */

/* What a freshly booted PC's firmware leaves: keyboard enabled with its
 * interrupt and scan code translation, aux disabled, POST passed. */
#define CTR_RESET  (CTR_KBDINT | CTR_SYS | CTR_AUXDIS | CTR_XLATE)
#define OUTP_RESET 0x03 /* bit 0: reset line high (inactive); bit 1: A20 on */

/* Controller commands (write 0x64). */
#define CMD_READ_CTR	0x20 /* 0x21..0x3f read other RAM bytes */
#define CMD_WRITE_CTR	0x60 /* 0x61..0x7f write other RAM bytes; data follows */
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE	0xa8
#define CMD_AUX_TEST	0xa9
#define CMD_SELF_TEST	0xaa
#define CMD_KBD_TEST	0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE	0xae
#define CMD_READ_OUTP	0xd0
#define CMD_WRITE_OUTP	0xd1 /* data follows */
#define CMD_KBD_LOOP	0xd2 /* data follows: comes back as keyboard data */
#define CMD_AUX_LOOP	0xd3 /* data follows: comes back as aux data */
#define CMD_AUX_SEND	0xd4 /* data follows: goes to the aux device */
#define CMD_PULSE	0xf0 /* 0xf0..0xff: pulse output lines whose bit is 0 */

#define RET_SELF_TEST_OK 0x55
#define RET_PORT_TEST_OK 0x00

/* Keyboard commands and replies (IBM PS/2 reference, "Keyboard"). */
#define KBD_SET_LEDS	 0xed
#define KBD_ECHO	 0xee
#define KBD_SCANSET	 0xf0
#define KBD_GET_ID	 0xf2
#define KBD_TYPEMATIC	 0xf3
#define KBD_RESEND	 0xfe
#define KBD_RESET	 0xff
#define KBD_REPLY_ACK	 0xfa
#define KBD_REPLY_BAT	 0xaa /* basic assurance test passed */
#define KBD_REPLY_RESEND 0xfe
#define KBD_ID0		 0xab
#define KBD_ID1		 0x83 /* 0x41 through the controller's translation */

struct i8042 {
	struct iobus *bus;
	struct i8042_host host;
	pthread_mutex_t lock;
	struct i8042_state st;
	int level_kbd, level_aux; /* lines as last driven; -1: unknown */
};

/* ---- output queue ---- */

/* Lock held. A full queue drops the byte: a guest that never reads cannot
 * make us grow (a keyboard's own buffer overflows the same way). */
static void q_push(struct i8042 *k, uint8_t b, uint8_t flags)
{
	struct i8042_state *s = &k->st;
	if (s->q_len == I8042_QUEUE)
		return;
	s->q[s->q_len] = b;
	s->q_flags[s->q_len] = flags;
	s->q_len++;
}

static uint8_t q_pop(struct i8042 *k)
{
	struct i8042_state *s = &k->st;
	if (s->q_len == 0)
		return s->last_data; /* the output register keeps its last value */
	s->last_data = s->q[0];
	s->q_len--;
	memmove(&s->q[0], &s->q[1], s->q_len);
	memmove(&s->q_flags[0], &s->q_flags[1], s->q_len);
	return s->last_data;
}

/* Lock held. The chip's IRQ 1 / IRQ 12 outputs follow OBF for the side the
 * byte came from, gated by the CTR's interrupt enables. */
static void update_irq(struct i8042 *k)
{
	const struct i8042_state *s = &k->st;
	bool aux = s->q_len && (s->q_flags[0] & I8042_QF_AUX);
	int kbd_level = s->q_len && !aux && (s->ctr & CTR_KBDINT);
	int aux_level = aux && (s->ctr & CTR_AUXINT);
	if (kbd_level != k->level_kbd) {
		k->level_kbd = kbd_level;
		k->host.irq_line(k->host.opaque, I8042_GSI_KBD, kbd_level);
	}
	if (aux_level != k->level_aux) {
		k->level_aux = aux_level;
		k->host.irq_line(k->host.opaque, I8042_GSI_AUX, aux_level);
	}
}

static uint8_t status(const struct i8042 *k)
{
	const struct i8042_state *s = &k->st;
	uint8_t v = STR_UNLOCK | (s->ctr & CTR_SYS);
	if (s->last_cmd)
		v |= STR_CMD;
	if (s->q_len)
		v |= STR_OBF | (s->q_flags[0] & (STR_AUXDATA | STR_TIMEOUT));
	return v;
}

/* ---- the keyboard: no keys, answers its commands ---- */

static void kbd_send(struct i8042 *k, uint8_t b)
{
	q_push(k, b, 0);
	k->st.kbd_last = b;
}

/* The parameter byte of SET_LEDS, SCANSET or TYPEMATIC. */
static void kbd_param(struct i8042 *k, uint8_t cmd, uint8_t b)
{
	if (cmd != KBD_SCANSET) {
		kbd_send(k, KBD_REPLY_ACK);
		return;
	}
	if (b > 3) {
		kbd_send(k, KBD_REPLY_RESEND);
		return;
	}
	kbd_send(k, KBD_REPLY_ACK);
	if (b != 0) {
		k->st.kbd_set = b;
		return;
	}
	/* Query: the set number, translated like scan codes when CTR bit 6
	 * is on (set-2-to-set-1 table: 1 -> 0x43, 2 -> 0x41, 3 -> 0x3f). */
	static const uint8_t xlated[4] = {0, 0x43, 0x41, 0x3f};
	kbd_send(k, (k->st.ctr & CTR_XLATE) ? xlated[k->st.kbd_set] : k->st.kbd_set);
}

/* A byte the guest wrote to the keyboard (0x60 with no controller command
 * pending). Every command is acknowledged (0xfa) before its reply; a byte
 * that is no command gets 0xfe (resend), as the keyboard does. */
static void kbd_write(struct i8042 *k, uint8_t b)
{
	struct i8042_state *s = &k->st;
	/* Parameters are below 0x80 (LEDs 0..7, set 0..3, typematic
	 * 0..0x7f); a byte from 0x80 up is a new command instead. */
	if (s->kbd_cmd && b < 0x80) {
		uint8_t cmd = s->kbd_cmd;
		s->kbd_cmd = 0;
		kbd_param(k, cmd, b);
		return;
	}
	s->kbd_cmd = 0;
	switch (b) {
	case KBD_SET_LEDS:
	case KBD_SCANSET:
	case KBD_TYPEMATIC:
		kbd_send(k, KBD_REPLY_ACK);
		s->kbd_cmd = b;
		break;
	case KBD_ECHO:
		kbd_send(k, KBD_ECHO); /* echo is the one command without an ACK */
		break;
	case KBD_GET_ID:
		/* Linux atkbd_probe() accepts 0xab 0x83 and, translated, 0xab 0x41. */
		kbd_send(k, KBD_REPLY_ACK);
		kbd_send(k, KBD_ID0);
		kbd_send(k, (s->ctr & CTR_XLATE) ? 0x41 : KBD_ID1);
		break;
	case KBD_RESEND:
		kbd_send(k, s->kbd_last);
		break;
	case KBD_RESET:
		s->kbd_set = 2;
		kbd_send(k, KBD_REPLY_ACK);
		kbd_send(k, KBD_REPLY_BAT);
		break;
	default:
		/* 0xf4 enable, 0xf5 disable, 0xf6 defaults, 0xf7..0xfd set-3 key
		 * types: nothing to do for a keyboard without keys. */
		kbd_send(k, b >= 0xf4 ? KBD_REPLY_ACK : KBD_REPLY_RESEND);
		break;
	}
}

/* ---- the controller ---- */

/* Lock held. Returns true when the reset line was pulsed. */
static bool ctl_command(struct i8042 *k, uint8_t c)
{
	struct i8042_state *s = &k->st;
	s->cmd = 0; /* a new command abandons one still waiting for its data */
	if (c >= CMD_READ_CTR && c <= 0x3f) {
		/* RAM byte 0 is the CTR; we keep no other RAM. */
		q_push(k, c == CMD_READ_CTR ? s->ctr : 0, 0);
		return false;
	}
	if ((c >= CMD_WRITE_CTR && c <= 0x7f) || (c >= CMD_WRITE_OUTP && c <= CMD_AUX_SEND)) {
		s->cmd = c;
		return false;
	}
	if ((c & 0xf0) == CMD_PULSE)
		return !(c & 0x01); /* bit 0 low pulses the CPU reset line (0xfe) */
	switch (c) {
	case CMD_AUX_DISABLE:
		s->ctr |= CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		s->ctr &= ~CTR_AUXDIS;
		break;
	case CMD_AUX_TEST:
	case CMD_KBD_TEST:
		/* Clock and data lines fine (Linux i8042_check_aux: 0 = no error). */
		q_push(k, RET_PORT_TEST_OK, 0);
		break;
	case CMD_SELF_TEST:
		/* Linux i8042_controller_selftest() wants 0x55 (I8042_RET_CTL_TEST). */
		q_push(k, RET_SELF_TEST_OK, 0);
		break;
	case CMD_KBD_DISABLE:
		s->ctr |= CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		s->ctr &= ~CTR_KBDDIS;
		break;
	case CMD_READ_OUTP:
		q_push(k, s->outp, 0);
		break;
	default:
		break; /* not implemented: no reply, as on chips without it */
	}
	return false;
}

/* Lock held. The data byte of a pending command. Returns true on reset. */
static bool ctl_data(struct i8042 *k, uint8_t cmd, uint8_t b)
{
	struct i8042_state *s = &k->st;
	switch (cmd) {
	case CMD_WRITE_CTR:
		s->ctr = b & CTR_VALID;
		break;
	case CMD_WRITE_OUTP:
		s->outp = b;
		return !(b & 0x01); /* output port bit 0 is the reset line */
	case CMD_KBD_LOOP:
		q_push(k, b, 0);
		break;
	case CMD_AUX_LOOP:
		/* Linux i8042_check_aux/_check_mux: the byte comes back as aux
		 * data (status bit 5) and, with CTR bit 1, raises IRQ 12. */
		q_push(k, b, I8042_QF_AUX);
		break;
	case CMD_AUX_SEND:
		/* Nothing is plugged into the aux port: the controller gives up
		 * waiting for the device's clock and reports 0xfe with the
		 * time-out bit, which Linux passes up as SERIO_TIMEOUT. Talking to
		 * the port enables it, as the chip must clock the byte out. */
		s->ctr &= ~CTR_AUXDIS;
		q_push(k, KBD_REPLY_RESEND, I8042_QF_AUX | I8042_QF_TIMEOUT);
		break;
	default:
		break; /* 0x61..0x7f: RAM bytes we do not keep */
	}
	return false;
}

/* One byte-wide access to the data port (0x60) or the status/command port
 * (0x64). */
static void i8042_io(struct i8042 *k, bool cmd_port, void *data, uint32_t len, bool is_write)
{
	uint8_t *b = data;
	bool reset = false;
	if (len != 1) {
		/* Both registers are one byte wide. */
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&k->lock);
	struct i8042_state *s = &k->st;
	if (!is_write && cmd_port) {
		*b = status(k);
	} else if (!is_write) {
		*b = q_pop(k);
		/* The output buffer empties before the next byte is loaded: drop
		 * a raised line, so that the next byte is a new edge (ISA IRQs
		 * are edge-triggered; Linux's handler reads one byte per IRQ). */
		if (k->level_kbd == 1) {
			k->level_kbd = 0;
			k->host.irq_line(k->host.opaque, I8042_GSI_KBD, 0);
		}
		if (k->level_aux == 1) {
			k->level_aux = 0;
			k->host.irq_line(k->host.opaque, I8042_GSI_AUX, 0);
		}
	} else if (cmd_port) {
		s->last_cmd = 1;
		reset = ctl_command(k, *b);
	} else {
		s->last_cmd = 0;
		uint8_t cmd = s->cmd;
		s->cmd = 0;
		if (cmd) {
			reset = ctl_data(k, cmd, *b);
		} else {
			/* Writing to the keyboard enables its interface, as the
			 * chip must clock the byte out. */
			s->ctr &= ~CTR_KBDDIS;
			kbd_write(k, *b);
		}
	}
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
	if (reset)
		k->host.reset(k->host.opaque);
}

/* Two one-byte ranges, so that 0x61..0x63 stay off our bus (0x61 is the
 * in-kernel PIT's speaker port). */
static void i8042_io_data(void *opaque, uint64_t off, void *data, uint32_t len, bool is_write)
{
	(void)off;
	i8042_io(opaque, false, data, len, is_write);
}

static void i8042_io_status(void *opaque, uint64_t off, void *data, uint32_t len, bool is_write)
{
	(void)off;
	i8042_io(opaque, true, data, len, is_write);
}

static void reset_state(struct i8042_state *s)
{
	memset(s, 0, sizeof(*s));
	s->ctr = CTR_RESET;
	s->outp = OUTP_RESET;
	s->kbd_set = 2;
}

int i8042_create_on(struct iobus *bus, const struct i8042_host *host, struct i8042 **out)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->bus = bus;
	k->host = *host;
	reset_state(&k->st);
	/* Both lines start low, and are only driven on a change. */
	k->level_kbd = k->level_aux = 0;
	pthread_mutex_init(&k->lock, NULL);
	int err = iobus_register(bus, I8042_DATA, 1, i8042_io_data, k);
	if (err)
		goto fail;
	err = iobus_register(bus, I8042_STATUS, 1, i8042_io_status, k);
	if (err) {
		iobus_unregister(bus, I8042_DATA);
		goto fail;
	}
	*out = k;
	return 0;
fail:
	pthread_mutex_destroy(&k->lock);
	free(k);
	return err;
}

static void vm_host_irq(void *opaque, uint32_t gsi, int level)
{
	vm_irq_line(opaque, gsi, level);
}

static void vm_host_reset(void *opaque)
{
	vm_stop(opaque, VM_EXIT_RESET, 0, "guest reset through the i8042");
}

int i8042_create(struct vm *vm, struct i8042 **out)
{
	struct i8042_host host = {.irq_line = vm_host_irq, .reset = vm_host_reset, .opaque = vm};
	return i8042_create_on(vm_pio_bus(vm), &host, out);
}

void i8042_destroy(struct i8042 *k)
{
	if (!k)
		return;
	iobus_unregister(k->bus, I8042_STATUS);
	iobus_unregister(k->bus, I8042_DATA);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

void i8042_save(struct i8042 *k, struct i8042_state *st)
{
	pthread_mutex_lock(&k->lock);
	*st = k->st;
	memset(st->pad, 0, sizeof(st->pad));
	/* Bytes past the queue are not state: save them as zero so that equal
	 * states give equal sections. */
	memset(st->q + st->q_len, 0, I8042_QUEUE - st->q_len);
	memset(st->q_flags + st->q_len, 0, I8042_QUEUE - st->q_len);
	pthread_mutex_unlock(&k->lock);
}

static bool pending_cmd_valid(uint8_t c)
{
	return c == 0 || (c >= CMD_WRITE_CTR && c <= 0x7f) ||
	       (c >= CMD_WRITE_OUTP && c <= CMD_AUX_SEND);
}

int i8042_state_check(const struct i8042_state *st)
{
	if (st->q_len > I8042_QUEUE || st->last_cmd > 1 || st->kbd_set < 1 || st->kbd_set > 3 ||
	    (st->ctr & ~CTR_VALID) || !pending_cmd_valid(st->cmd) ||
	    (st->kbd_cmd != 0 && st->kbd_cmd != KBD_SET_LEDS && st->kbd_cmd != KBD_SCANSET &&
	     st->kbd_cmd != KBD_TYPEMATIC))
		return -EINVAL;
	for (unsigned i = 0; i < st->q_len; i++) {
		uint8_t f = st->q_flags[i];
		/* A time-out is only ever reported for the aux port. */
		if ((f & ~(I8042_QF_AUX | I8042_QF_TIMEOUT)) ||
		    ((f & I8042_QF_TIMEOUT) && !(f & I8042_QF_AUX)))
			return -EINVAL;
	}
	return 0;
}

int i8042_restore(struct i8042 *k, const struct i8042_state *st)
{
	int err = i8042_state_check(st);
	if (err)
		return err;
	pthread_mutex_lock(&k->lock);
	k->st = *st;
	memset(k->st.pad, 0, sizeof(k->st.pad));
	/* Re-drive both lines so that KVM's view of them matches ours. */
	k->level_kbd = k->level_aux = -1;
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
	return 0;
}
