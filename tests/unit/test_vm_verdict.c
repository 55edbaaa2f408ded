/* What a silent fork's vCPUs were doing (runner/backend/vm_verdict.c and
 * the control socket client in vm_spawn.c): each verdict from two `vcpus`
 * answers, one answer alone, several vCPUs, a short buffer, and hostile
 * answers (malformed, partial, over-long, with control characters) that
 * give no verdict and never reach the text. The client is driven against
 * a fake smolvm control socket served by a child process. */
#include "backend/vm_backend.h"
#include "util.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define K_RIP		"0xffffffff81a2b3c4"
#define KERNEL_OFF(rip) "vcpu0 kernel rip " rip " rsp 0xffffc90000013e80 if off running"
#define KERNEL_ON(rip)	"vcpu0 kernel rip " rip " rsp 0xffffc90000013e80 if on running"
#define USER(i, rip)	"vcpu" #i " user rip " rip " rsp 0x7ffc12345678 if on running"
#define IDLE(i)		"vcpu" #i " kernel rip 0xffffffff81c4d5e6 rsp 0xffffffff82a03e98 if on halted"
#define DEAD(i)		"vcpu" #i " kernel rip 0xffffffff81000123 rsp 0xffffffff82a03e98 if off halted"

static void verdict_is(const char *a, const char *b, const char *want)
{
	char buf[400];
	memset(buf, 'x', sizeof(buf));
	ck_assert_int_eq(vm_backend_vcpus_verdict(a, b, buf, sizeof(buf), NULL), 0);
	ck_assert_str_eq(buf, want);
}

START_TEST(kernel_hung)
{
	verdict_is("ok " KERNEL_OFF(K_RIP), "ok " KERNEL_OFF(K_RIP),
		   "the guest's vCPU 0 was spinning in its kernel with interrupts off at rip " K_RIP
		   " (the guest kernel hung)");
	/* interrupts off but moving: not proven stuck */
	verdict_is("ok " KERNEL_OFF("0xffffffff81000010"), "ok " KERNEL_OFF(K_RIP),
		   "the guest's vCPU 0 was running kernel code with interrupts off at rip " K_RIP);
	/* ... unless it moved within one tight loop (a spinlock's wait):
	 * 63 bytes apart is one loop, 64 is not */
	verdict_is("ok " KERNEL_OFF("0xffffffff81a2b385"), "ok " KERNEL_OFF(K_RIP),
		   "the guest's vCPU 0 was spinning in its kernel with interrupts off at rip " K_RIP
		   " (the guest kernel hung)");
	verdict_is("ok " KERNEL_OFF("0xffffffff81a2b384"), "ok " KERNEL_OFF(K_RIP),
		   "the guest's vCPU 0 was running kernel code with interrupts off at rip " K_RIP);
	/* the same rip with interrupts on: it takes interrupts, it is not hung */
	verdict_is("ok " KERNEL_ON(K_RIP), "ok " KERNEL_ON(K_RIP),
		   "the guest's vCPU 0 was running kernel code at rip " K_RIP);
	/* one sample cannot tell a hang from a busy kernel */
	verdict_is("ok " KERNEL_OFF(K_RIP), NULL,
		   "the guest's vCPU 0 was running kernel code with interrupts off at rip " K_RIP);
}
END_TEST

START_TEST(idle_and_dead)
{
	const char *idle = "the guest's vCPU 0 was idle (halted with interrupts on): its agent "
			   "was blocked";
	verdict_is("ok " IDLE(0), "ok " IDLE(0), idle);
	verdict_is("ok " IDLE(0), NULL, idle);
	/* halted in one of two samples: nothing kept it busy */
	verdict_is("ok " USER(0, "0x401000"), "ok " IDLE(0), idle);
	verdict_is("ok " DEAD(0), "ok " DEAD(0),
		   "the guest's vCPU 0 was halted with interrupts off: the guest is dead "
		   "(nothing can wake it)");
	/* an irq pending (and words a newer smolvm may add) change nothing */
	verdict_is("ok " IDLE(0) " irq-pending 236", "ok " IDLE(0) " future-word 7", idle);
}
END_TEST

START_TEST(user_code)
{
	const char *want = "the guest's vCPU 0 was running user code at rip 0x401136 (a process of "
			   "the test kept the CPU)";
	verdict_is("ok " USER(0, "0x401136"), "ok " USER(0, "0x401136"), want);
	/* a timer interrupt caught in one sample: still the process's CPU */
	verdict_is("ok " USER(0, "0x401136"), "ok " KERNEL_ON(K_RIP), want);
	verdict_is("ok " KERNEL_OFF(K_RIP), "ok " USER(0, "0x401136"), want);
}
END_TEST

START_TEST(several_vcpus)
{
	verdict_is(
	    "ok " USER(0, "0x401136") "; " IDLE(1) "; " IDLE(2) "; " IDLE(3),
	    "ok " USER(0, "0x401140") "; " IDLE(1) "; " IDLE(2) "; " IDLE(3),
	    "the guest's vCPU 0 was running user code at rip 0x401140 (a process of the test "
	    "kept the CPU); 3 other vCPUs were idle");
	verdict_is("ok " IDLE(0) "; " USER(1, "0x4000"), NULL,
		   "the guest's vCPU 1 was running user code at rip 0x4000 (a process of the test "
		   "kept the CPU); vCPU 0 was idle");
	verdict_is("ok " IDLE(0) "; " IDLE(1), "ok " IDLE(0) "; " IDLE(1),
		   "the guest's 2 vCPUs were all idle (halted with interrupts on): its agent was "
		   "blocked");
	verdict_is("ok " DEAD(0) "; " DEAD(1), "ok " DEAD(0) "; " DEAD(1),
		   "the guest's 2 vCPUs were all halted with interrupts off: the guest is dead "
		   "(nothing can wake it)");
	verdict_is("ok " DEAD(0) "; " IDLE(1), NULL,
		   "the guest's vCPU 0 was halted with interrupts off; vCPU 1 was idle");
	/* two answers of a different vCPU count are not one VM's: the first */
	verdict_is("ok " USER(0, "0x4000"), "ok " IDLE(0) "; " IDLE(1),
		   "the guest's vCPU 0 was running user code at rip 0x4000 (a process of the test "
		   "kept the CPU)");
}
END_TEST

/* Whose fault a silent agent is: the test's where the guest's CPU was
 * busy (its code, or a kernel it drove or wedged) and no vCPU is dead
 * (then the runner reports a timeout, otherwise the environment's
 * error). */
static void own_is(const char *a, const char *b, bool want)
{
	char buf[400];
	bool own = !want;
	ck_assert_int_eq(vm_backend_vcpus_verdict(a, b, buf, sizeof(buf), &own), 0);
	ck_assert_msg(own == want, "%s / %s: test_kept_cpu %d, want %d", a, b ? b : "-", own, want);
}

START_TEST(whose_fault)
{
	own_is("ok " USER(0, "0x401136"), "ok " USER(0, "0x401136"), true);
	own_is("ok " USER(0, "0x401136"), "ok " KERNEL_ON(K_RIP), true);
	own_is("ok " IDLE(0) "; " USER(1, "0x4000"), NULL, true);
	/* a kernel hung in one loop: two samples cannot tell one the test
	 * wedged (a fork bomb holds the timers with interrupts off for
	 * seconds) from one it did not, so the test's CPU still */
	own_is("ok " KERNEL_OFF(K_RIP), "ok " KERNEL_OFF(K_RIP), true);
	own_is("ok " KERNEL_OFF("0xffffffff81a2b3c0"), "ok " KERNEL_OFF(K_RIP), true);
	/* a kernel kept busy by the test (a fork bomb: fork, exit, timers) */
	own_is("ok " KERNEL_ON(K_RIP), "ok " KERNEL_ON(K_RIP), true);
	own_is("ok " KERNEL_OFF("0xffffffff81000010"), "ok " KERNEL_OFF(K_RIP), true);
	own_is("ok " IDLE(0), "ok " IDLE(0), false);
	own_is("ok " DEAD(0), "ok " DEAD(0), false);
	/* a process running beside a dead vCPU does not clear the guest */
	own_is("ok " USER(0, "0x4000") "; " DEAD(1), "ok " USER(0, "0x4000") "; " DEAD(1), false);
	own_is("ok " IDLE(0) "; " DEAD(1), "ok " IDLE(0) "; " DEAD(1), false);
	/* no answer that parses, or no room: never the test's */
	bool own = true;
	char buf[8];
	ck_assert_int_eq(vm_backend_vcpus_verdict("garbage", NULL, buf, sizeof(buf), &own),
			 -EINVAL);
	ck_assert(!own);
	own = true;
	ck_assert_int_eq(
	    vm_backend_vcpus_verdict("ok " USER(0, "0x4000"), NULL, buf, sizeof(buf), &own),
	    -ENOSPC);
	ck_assert(!own);
}
END_TEST

START_TEST(short_buffer)
{
	char buf[400];
	/* not even the first clause: nothing */
	ck_assert_int_eq(vm_backend_vcpus_verdict("ok " USER(0, "0x4000"), NULL, buf, 40, NULL),
			 -ENOSPC);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(vm_backend_vcpus_verdict("ok " IDLE(0), NULL, buf, 20, NULL), -ENOSPC);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(vm_backend_vcpus_verdict("ok " IDLE(0), NULL, buf, 0, NULL), -ENOSPC);
	/* whole clauses, then how many were left out */
	const char *four = "ok " USER(0, "0x4000") "; " USER(1, "0x4000") "; " USER(
	    2, "0x4000") "; " USER(3, "0x4000") "; " IDLE(4);
	ck_assert_int_eq(vm_backend_vcpus_verdict(four, NULL, buf, 150, NULL), 0);
	ck_assert_str_eq(buf,
			 "the guest's vCPU 0 was running user code at rip 0x4000 (a process of "
			 "the test kept the CPU); and 4 more vCPUs");
	ck_assert_int_eq(vm_backend_vcpus_verdict(four, NULL, buf, 300, NULL), 0);
	ck_assert_ptr_nonnull(strstr(buf, "; vCPU 2 was running user code"));
	ck_assert_ptr_nonnull(strstr(buf, "CPU); and 2 more vCPUs"));
	ck_assert_uint_lt(strlen(buf), 300);
	ck_assert_int_eq(vm_backend_vcpus_verdict(four, NULL, buf, sizeof(buf), NULL), 0);
	ck_assert_ptr_nonnull(strstr(buf, "; vCPU 3 was running user code"));
	ck_assert_ptr_nonnull(strstr(buf, "CPU); vCPU 4 was idle"));
}
END_TEST

/* Every one of these is refused: no verdict, an empty buffer. */
START_TEST(hostile_answers)
{
	static const char *bad[] = {
	    "",
	    "ok",
	    "ok ",
	    "ok;",
	    "error reading vCPU 0: Device or resource busy",
	    "OK " KERNEL_OFF(K_RIP),
	    " ok " KERNEL_OFF(K_RIP),
	    "ok vcpu1 kernel rip 0x1 rsp 0x2 if off running",  /* not in order */
	    "ok vcpu00 kernel rip 0x1 rsp 0x2 if off running", /* not the decimal */
	    "ok vcpu-0 kernel rip 0x1 rsp 0x2 if off running",
	    "ok vcpu0 kernel rip 0x rsp 0x2 if off running",		      /* no digits */
	    "ok vcpu0 kernel rip 1 rsp 0x2 if off running",		      /* no 0x */
	    "ok vcpu0 kernel rip 0x10000000000000000 rsp 0x2 if off running", /* 17 digits */
	    "ok vcpu0 kernel rip 0xg rsp 0x2 if off running",
	    "ok vcpu0 kernel rip 0x1 if off running", /* no rsp */
	    "ok vcpu0 kernel rip 0x1 rsp 0x2 if maybe running",
	    "ok vcpu0 supervisor rip 0x1 rsp 0x2 if off running",
	    "ok vcpu0 kernel rip 0x1 rsp 0x2 if off runningX",
	    "ok vcpu0 kernel rip 0x1 rsp 0x2 if off running ",
	    "ok vcpu0 kernel rip 0x1 rsp 0x2 if off running \x1b[31mred",
	    "ok vcpu0 kernel rip 0x1 rsp 0x2 if off running Capital",
	    "ok vcpu0 kernel rip 0x1 rsp 0x2 if off running;",
	    "ok vcpu0 kernel rip 0x1 rsp 0x2 if off running; ",
	    /* no space after the ';' (one literal, parenthesized: not two elements) */
	    ("ok vcpu0 kernel rip 0x1 rsp 0x2 if off running;vcpu1 user rip 0x1 rsp 0x2 if on "
	     "running"),
	    "ok vcpu0 kernel rip 0x1 rsp 0x2 if off running\nok vcpu1",
	    "ok vcpu0 kernel  rip 0x1 rsp 0x2 if off running",
	    "ok vcpu0 kernel rip 0x1 rsp 0x2 if off", /* cut short */
	    "ok vcpu0 kernel rip 0x1 rsp 0x2 if o",
	    "ok vcpu0",
	};
	char buf[400];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(buf, "stale");
		ck_assert_msg(vm_backend_vcpus_verdict(bad[i], bad[i], buf, sizeof(buf), NULL) ==
				  -EINVAL,
			      "accepted: %s", bad[i]);
		ck_assert_str_eq(buf, "");
	}
	ck_assert_int_eq(vm_backend_vcpus_verdict(NULL, NULL, buf, sizeof(buf), NULL), -EINVAL);
	/* a bad second answer leaves the first to speak alone */
	verdict_is("ok " KERNEL_OFF(K_RIP), "ok vcpu0 kernel rip",
		   "the guest's vCPU 0 was running kernel code with interrupts off at rip " K_RIP);
	/* a bad first, a good second */
	verdict_is(
	    "garbage", "ok " IDLE(0),
	    "the guest's vCPU 0 was idle (halted with interrupts on): its agent was blocked");
	/* more vCPUs than smolvm can have */
	char *many = malloc(65 * 80 + 8);
	ck_assert_ptr_nonnull(many);
	size_t o = (size_t)sprintf(many, "ok");
	for (unsigned i = 0; i < 65; i++)
		o += (size_t)sprintf(many + o, "%svcpu%u user rip 0x1 rsp 0x2 if on running",
				     i ? "; " : " ", i);
	ck_assert_int_eq(vm_backend_vcpus_verdict(many, NULL, buf, sizeof(buf), NULL), -EINVAL);
	/* 64 are fine */
	*strstr(many, "; vcpu64") = '\0';
	ck_assert_int_eq(vm_backend_vcpus_verdict(many, NULL, buf, sizeof(buf), NULL), 0);
	ck_assert_ptr_nonnull(strstr(buf, "; and "));
	free(many);
}
END_TEST

/* Every byte of a good answer changed to each of a few values, and every
 * cut: never a crash, and what comes out is "" or a printable sentence. */
START_TEST(mutated_answers)
{
	const char *good = "ok " USER(0, "0x401136") "; " IDLE(1) " irq-pending 34";
	static const char vals[] = {'\0', ' ', ';', '0', 'f', 'x', 'z', '-', '\n', '\x7f', '\xff'};
	size_t n = strlen(good);
	char *m = malloc(n + 1), buf[300];
	ck_assert_ptr_nonnull(m);
	for (size_t i = 0; i < n; i++) {
		for (size_t v = 0; v <= sizeof(vals); v++) {
			memcpy(m, good, n + 1);
			if (v == sizeof(vals))
				m[i] = '\0'; /* a cut */
			else
				m[i] = vals[v];
			int rc = vm_backend_vcpus_verdict(m, NULL, buf, sizeof(buf), NULL);
			ck_assert(rc == 0 || rc == -EINVAL);
			ck_assert(rc == 0 ? !strncmp(buf, "the guest's ", 12) : buf[0] == '\0');
			for (const char *c = buf; *c; c++)
				ck_assert(*c >= 0x20 && *c < 0x7f);
		}
	}
	free(m);
}
END_TEST

/* ---- the control socket client against a fake smolvm ---- */

static char sock_path[108];

/* Serves `conns` connections on a fresh socket: each reads one request
 * line and answers with answers[i] (NULL: close at once; "(sleep)": wait
 * for the client to give up). */
static pid_t fake_smolvm(const char *const *answers, unsigned conns)
{
	snprintf(sock_path, sizeof(sock_path), "/tmp/test_vm_verdict.%d.sock", (int)getpid());
	unlink(sock_path);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(l, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, sock_path);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(l, 4), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (unsigned i = 0; i < conns; i++) {
			int c = accept(l, NULL, NULL);
			if (c < 0)
				_exit(1);
			char req[256];
			ssize_t k = read(c, req, sizeof(req) - 1);
			if (k <= 0 || !memchr(req, '\n', (size_t)k))
				_exit(2);
			if (answers[i] && !strcmp(answers[i], "(sleep)"))
				sleep(5);
			else if (answers[i] && util_write_all(c, answers[i], strlen(answers[i])))
				_exit(3);
			close(c);
		}
		_exit(0);
	}
	close(l);
	return pid;
}

static void fake_done(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(sock_path);
}

START_TEST(control_answers)
{
	char ans[VMB_CONTROL_ANSWER_MAX], err[300];
	const char *ok[] = {"ok " USER(0, "0x4000") "\nok trailing\n"};
	pid_t p = fake_smolvm(ok, 1);
	ck_assert_int_eq(
	    vm_backend_control(sock_path, "vcpus", 1000, ans, sizeof(ans), err, sizeof(err)), 0);
	ck_assert_str_eq(ans, "ok " USER(0, "0x4000"));
	fake_done(p);

	const char *refused[] = {"error no\x1b[2J vcpus\n"};
	p = fake_smolvm(refused, 1);
	ck_assert_int_eq(
	    vm_backend_control(sock_path, "vcpus", 1000, ans, sizeof(ans), err, sizeof(err)), -EIO);
	ck_assert_str_eq(err, "the VM refused 'vcpus': error no?[2J vcpus");
	fake_done(p);

	const char *closed[] = {"ok vcpu0 kernel"}; /* no newline, then closed */
	p = fake_smolvm(closed, 1);
	ck_assert_int_eq(
	    vm_backend_control(sock_path, "vcpus", 1000, ans, sizeof(ans), err, sizeof(err)),
	    -EPIPE);
	ck_assert_ptr_nonnull(strstr(err, "closed its control socket during 'vcpus'"));
	fake_done(p);

	char *flood = malloc(20000);
	ck_assert_ptr_nonnull(flood);
	memset(flood, 'a', 19999);
	flood[19999] = '\0';
	const char *big[] = {flood};
	p = fake_smolvm(big, 1);
	ck_assert_int_eq(vm_backend_control(sock_path, "vcpus", 1000, ans, 64, err, sizeof(err)),
			 -EMSGSIZE);
	ck_assert_ptr_nonnull(strstr(err, "longer than 63 bytes"));
	fake_done(p);
	free(flood);

	/* a snapshot's answer names its file: it fits when only success
	 * matters too */
	char *file_ok = malloc(PATH_MAX + 64);
	ck_assert_ptr_nonnull(file_ok);
	memset(file_ok, 'f', PATH_MAX + 64);
	memcpy(file_ok, "ok /", 4);
	strcpy(file_ok + PATH_MAX, " 1 2 3.0\n");
	const char *snap[] = {file_ok};
	p = fake_smolvm(snap, 1);
	ck_assert_int_eq(
	    vm_backend_control(sock_path, "snapshot /x", 1000, NULL, 0, err, sizeof(err)), 0);
	fake_done(p);
	free(file_ok);

	const char *silent[] = {"(sleep)"};
	p = fake_smolvm(silent, 1);
	uint64_t t0 = util_now_ns();
	ck_assert_int_eq(
	    vm_backend_control(sock_path, "vcpus", 150, ans, sizeof(ans), err, sizeof(err)),
	    -ETIMEDOUT);
	ck_assert_uint_lt(util_now_ns() - t0, 1000 * NSEC_PER_MSEC);
	ck_assert_ptr_nonnull(strstr(err, "no answer to 'vcpus' on"));
	ck_assert_ptr_nonnull(strstr(err, "within 150 ms"));
	fake_done(p);
}
END_TEST

START_TEST(sample_twice)
{
	char buf[400];
	const char *two[] = {"ok " KERNEL_OFF(K_RIP) "\n", "ok " KERNEL_OFF(K_RIP) "\n"};
	pid_t p = fake_smolvm(two, 2);
	uint64_t t0 = util_now_ns();
	vm_backend_vcpus_sample(sock_path, VMB_VCPUS_TIMEOUT_MS, buf, sizeof(buf), NULL);
	uint64_t took = util_now_ns() - t0;
	ck_assert_str_eq(buf,
			 "the guest's vCPU 0 was spinning in its kernel with interrupts off at "
			 "rip " K_RIP " (the guest kernel hung)");
	ck_assert_uint_ge(took, VMB_VCPUS_GAP_MS * NSEC_PER_MSEC);
	fake_done(p);

	/* the test's own process on the CPU in both: the test's fault */
	const char *user[] = {"ok " USER(0, "0x401136") "\n", "ok " USER(0, "0x401136") "\n"};
	bool own = false;
	p = fake_smolvm(user, 2);
	vm_backend_vcpus_sample(sock_path, VMB_VCPUS_TIMEOUT_MS, buf, sizeof(buf), &own);
	ck_assert(own);
	fake_done(p);

	/* the second does not come: the first alone */
	const char *one[] = {"ok " KERNEL_OFF(K_RIP) "\n", NULL};
	p = fake_smolvm(one, 2);
	vm_backend_vcpus_sample(sock_path, VMB_VCPUS_TIMEOUT_MS, buf, sizeof(buf), NULL);
	ck_assert_str_eq(buf, "the guest's vCPU 0 was running kernel code with interrupts off at "
			      "rip " K_RIP);
	fake_done(p);

	/* a VMM that does not answer in time: nothing, within the limit */
	const char *silent[] = {"(sleep)"};
	p = fake_smolvm(silent, 1);
	t0 = util_now_ns();
	vm_backend_vcpus_sample(sock_path, VMB_VCPUS_TIMEOUT_MS, buf, sizeof(buf), NULL);
	ck_assert_uint_le(util_now_ns() - t0, (VMB_VCPUS_TIMEOUT_MS + 300) * NSEC_PER_MSEC);
	ck_assert_str_eq(buf, "");
	fake_done(p);

	/* a refusal, garbage, no socket at all: nothing */
	const char *refused[] = {"error reading vCPU 0: Device or resource busy\n"};
	p = fake_smolvm(refused, 1);
	vm_backend_vcpus_sample(sock_path, VMB_VCPUS_TIMEOUT_MS, buf, sizeof(buf), NULL);
	ck_assert_str_eq(buf, "");
	fake_done(p);
	const char *junk[] = {"ok \x01\x02 rm -rf /\n", "ok \x01\n"};
	p = fake_smolvm(junk, 2);
	vm_backend_vcpus_sample(sock_path, VMB_VCPUS_TIMEOUT_MS, buf, sizeof(buf), NULL);
	ck_assert_str_eq(buf, "");
	fake_done(p);
	own = true;
	vm_backend_vcpus_sample("/nonexistent/control.sock", VMB_VCPUS_TIMEOUT_MS, buf, sizeof(buf),
				&own);
	ck_assert_str_eq(buf, "");
	ck_assert(!own);
}
END_TEST

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	Suite *s = suite_create("vm_verdict");
	TCase *tc = tcase_create("verdict");
	tcase_add_test(tc, kernel_hung);
	tcase_add_test(tc, idle_and_dead);
	tcase_add_test(tc, user_code);
	tcase_add_test(tc, several_vcpus);
	tcase_add_test(tc, whose_fault);
	tcase_add_test(tc, short_buffer);
	tcase_add_test(tc, hostile_answers);
	tcase_add_test(tc, mutated_answers);
	suite_add_tcase(s, tc);
	TCase *io = tcase_create("control");
	tcase_set_timeout(io, 30);
	tcase_add_test(io, control_answers);
	tcase_add_test(io, sample_twice);
	suite_add_tcase(s, io);
	return smol_check_run(s);
}
