/* vm_verdict: what a silent fork's vCPUs were doing, in one sentence, from
 * two answers to smolvm's `vcpus` control request (vm_backend.h). The
 * answers come from a VMM whose guest may be hostile or broken: they are
 * parsed strictly, and only numbers read from them reach the sentence. */
#include "backend/vm_backend.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* smolvm's VM_MAX_VCPUS; an answer with more vCPUs is not smolvm's. */
#define VERDICT_MAX_VCPUS 64

struct vcpu_seen {
	uint64_t rip;
	bool user, if_on, halted;
};

struct vcpus_seen {
	unsigned n;
	struct vcpu_seen v[VERDICT_MAX_VCPUS];
};

static bool lit(const char **p, const char *s)
{
	size_t n = strlen(s);
	if (strncmp(*p, s, n) != 0)
		return false;
	*p += n;
	return true;
}

/* "0x" and 1 to 16 hex digits */
static bool hex(const char **p, uint64_t *v)
{
	if (!lit(p, "0x"))
		return false;
	uint64_t x = 0;
	unsigned d = 0;
	for (const char *s = *p;; s++, d++) {
		unsigned c = (unsigned char)*s, k;
		if (c >= '0' && c <= '9')
			k = c - '0';
		else if (c >= 'a' && c <= 'f')
			k = c - 'a' + 10;
		else
			break;
		if (d == 16)
			return false;
		x = x << 4 | k;
	}
	if (!d)
		return false;
	*p += d;
	*v = x;
	return true;
}

/* The decimal idx, exactly (no sign, no leading zero). */
static bool index_is(const char **p, unsigned idx)
{
	char want[12];
	snprintf(want, sizeof(want), "%u", idx);
	return lit(p, want) && !(**p >= '0' && **p <= '9');
}

/* One of two words: *v true after `yes`, false after `no`. */
static bool either(const char **p, const char *yes, const char *no, bool *v)
{
	if (lit(p, yes))
		*v = true;
	else if (lit(p, no))
		*v = false;
	else
		return false;
	return true;
}

/* One vCPU: vcpuN kernel|user rip 0xHEX rsp 0xHEX if on|off halted|running,
 * then words a newer smolvm may add (irq-pending N), which are skipped. */
static bool parse_vcpu(const char **p, unsigned idx, struct vcpu_seen *v)
{
	uint64_t rsp;
	if (!lit(p, "vcpu") || !index_is(p, idx) || !lit(p, " "))
		return false;
	if (!either(p, "user ", "kernel ", &v->user) || !lit(p, "rip ") || !hex(p, &v->rip) ||
	    !lit(p, " rsp ") || !hex(p, &rsp) || !lit(p, " if ") ||
	    !either(p, "on ", "off ", &v->if_on) || !either(p, "halted", "running", &v->halted))
		return false;
	while (**p == ' ') {
		(*p)++;
		size_t w = strspn(*p, "abcdefghijklmnopqrstuvwxyz0123456789-");
		if (!w)
			return false;
		*p += w;
	}
	return **p == ';' || **p == '\0';
}

/* "ok " then one or more vCPUs separated by "; ", in order from vcpu0. */
static int parse_answer(const char *ans, struct vcpus_seen *s)
{
	s->n = 0;
	if (!ans || !lit(&ans, "ok "))
		return -EINVAL;
	for (;;) {
		if (s->n == VERDICT_MAX_VCPUS || !parse_vcpu(&ans, s->n, &s->v[s->n]))
			return -EINVAL;
		s->n++;
		if (*ans == '\0')
			return 0;
		if (!lit(&ans, "; "))
			return -EINVAL;
	}
}

enum verdict_kind { V_HUNG, V_DEAD, V_USER, V_KERNEL, V_IDLE };

/* Two kernel rips this close, interrupts off in both samples: one loop. */
#define VERDICT_LOOP_BYTES 64

/* b is the later sample, or a itself when there is one. */
static enum verdict_kind classify(const struct vcpu_seen *a, const struct vcpu_seen *b, bool two,
				  uint64_t *rip, bool *if_off)
{
	*rip = b->rip;
	*if_off = !a->if_on && !b->if_on;
	if (a->halted && b->halted)
		return *if_off ? V_DEAD : V_IDLE;
	/* Halted in one of two samples: nothing kept it busy. */
	if (a->halted || b->halted)
		return V_IDLE;
	if (a->user || b->user) {
		*rip = b->user ? b->rip : a->rip;
		return V_USER;
	}
	/* A kernel that kept interrupts off in both samples and never left
	 * one tight loop (a spinlock's wait is a few instructions: two
	 * samples rarely meet at the same one) */
	uint64_t apart = a->rip > b->rip ? a->rip - b->rip : b->rip - a->rip;
	if (two && *if_off && apart < VERDICT_LOOP_BYTES)
		return V_HUNG;
	return V_KERNEL;
}

/* The sentence, built from whole clauses, each about `here` vCPUs with
 * `after` more to describe: one that does not fit (with room kept for the
 * "; and N more vCPUs" that would follow it) ends it with that marker. */
struct verdict_out {
	char *buf;
	size_t len, o;
	bool full;
};

#define VERDICT_MORE_ROOM 24 /* "; and 64 more vCPUs" and its NUL */

static void put(struct verdict_out *w, const char *clause, unsigned here, unsigned after)
{
	if (w->full)
		return;
	size_t need = strlen(clause), room = w->len - w->o;
	if (need + (after ? VERDICT_MORE_ROOM : 0) < room) {
		memcpy(w->buf + w->o, clause, need + 1);
		w->o += need;
		return;
	}
	w->full = true;
	if (w->o) /* after the first clause, which always has its room */
		snprintf(w->buf + w->o, room, "; and %u more vCPU%s", here + after,
			 here + after == 1 ? "" : "s");
}

int vm_backend_vcpus_verdict(const char *first, const char *second, char *buf, size_t len,
			     bool *test_kept_cpu)
{
	struct vcpus_seen a, b;
	if (test_kept_cpu)
		*test_kept_cpu = false;
	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	bool ha = parse_answer(first, &a) == 0, hb = parse_answer(second, &b) == 0;
	if (!ha && !hb)
		return -EINVAL;
	if (!ha) {
		a = b;
		hb = false;
	}
	/* Two samples of a different vCPU count are not of one VM: use one. */
	bool two = hb && b.n == a.n;
	const struct vcpus_seen *later = two ? &b : &a;

	unsigned n = a.n, nidle = 0, ndead = 0, nbusy = 0;
	enum verdict_kind kind[VERDICT_MAX_VCPUS];
	uint64_t rip[VERDICT_MAX_VCPUS];
	bool if_off[VERDICT_MAX_VCPUS];
	for (unsigned i = 0; i < n; i++) {
		kind[i] = classify(&a.v[i], &later->v[i], two, &rip[i], &if_off[i]);
		nidle += kind[i] == V_IDLE;
		ndead += kind[i] == V_DEAD;
	}
	nbusy = n - nidle;
	if (nidle == n || ndead == n) {
		const char *what = nidle == n ? "idle (halted with interrupts on): its agent was "
						"blocked"
					      : "halted with interrupts off: the guest is dead "
						"(nothing can wake it)";
		int k = n == 1 ? snprintf(buf, len, "the guest's vCPU 0 was %s", what)
			       : snprintf(buf, len, "the guest's %u vCPUs were all %s", n, what);
		if (k < 0 || (size_t)k >= len) {
			buf[0] = '\0';
			return -ENOSPC;
		}
		return 0;
	}
	struct verdict_out w = {.buf = buf, .len = len};
	unsigned done = 0;
	for (unsigned i = 0; i < n; i++) {
		if (kind[i] == V_IDLE)
			continue;
		char c[200], r[24];
		snprintf(r, sizeof(r), "0x%llx", (unsigned long long)rip[i]);
		switch (kind[i]) {
		case V_HUNG:
			snprintf(c, sizeof(c),
				 "vCPU %u was spinning in its kernel with interrupts off at rip %s "
				 "(the guest kernel hung)",
				 i, r);
			break;
		case V_DEAD:
			snprintf(c, sizeof(c), "vCPU %u was halted with interrupts off", i);
			break;
		case V_USER:
			snprintf(c, sizeof(c),
				 "vCPU %u was running user code at rip %s (a process of the test "
				 "kept the CPU)",
				 i, r);
			break;
		default:
			snprintf(c, sizeof(c), "vCPU %u was running kernel code%s at rip %s", i,
				 if_off[i] ? " with interrupts off" : "", r);
			break;
		}
		char clause[220];
		snprintf(clause, sizeof(clause), "%s%s", done ? "; " : "the guest's ", c);
		done++;
		put(&w, clause, 1, nbusy - done + nidle);
	}
	if (nidle) {
		char c[64];
		unsigned idle = 0;
		for (unsigned i = 0; i < n; i++)
			if (kind[i] == V_IDLE)
				idle = i;
		if (nidle == 1)
			snprintf(c, sizeof(c), "; vCPU %u was idle", idle);
		else
			snprintf(c, sizeof(c), "; %u other vCPUs were idle", nidle);
		put(&w, c, nidle, 0);
	}
	if (!w.o) { /* not even the first clause fitted */
		buf[0] = '\0';
		return -ENOSPC;
	}
	/* The test is to blame where the guest's CPU was busy: its code, or
	 * the kernel working for it or wedged by it (a fork bomb holds the
	 * kernel in its timers with interrupts off for seconds: two samples
	 * cannot tell that from a hang it did not cause). Not where the
	 * guest sat idle while its agent did not answer, nor a dead one. */
	if (test_kept_cpu)
		*test_kept_cpu = nbusy && !ndead;
	return 0;
}
