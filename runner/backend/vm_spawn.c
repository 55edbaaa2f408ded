/* vm_spawn: smolvm processes, their control socket and their console
 * (vm_backend.h). */
#include "backend/vm_backend.h"
#include "cache/runreg.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int vm_backend_spawn(struct runreg *reg, const char *const *argv, const char *log_path,
		     int ready_fd, pid_t *pid, char *err, size_t errlen)
{
	int log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (log < 0) {
		int rc = -errno;
		snprintf(err, errlen, "vm: cannot create %s: %s", log_path, strerror(errno));
		return rc;
	}
	/* above VMB_READY_FD, so that the child's dup2 always makes a new,
	 * inheritable descriptor there */
	int ready = ready_fd >= 0 ? fcntl(ready_fd, F_DUPFD_CLOEXEC, VMB_READY_FD + 1) : -1;
	if (ready_fd >= 0 && ready < 0) {
		int rc = -errno;
		snprintf(err, errlen, "vm: dup of the ready pipe: %s", strerror(errno));
		close(log);
		return rc;
	}
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid_t parent = getpid();
	fflush(NULL);
	pid_t child = fork();
	if (child < 0) {
		int rc = -errno;
		snprintf(err, errlen, "vm: fork: %s", strerror(errno));
		close(log);
		if (null >= 0)
			close(null);
		if (ready >= 0)
			close(ready);
		return rc;
	}
	if (child == 0) {
		/* Only async-signal-safe calls from here to exec. The runner
		 * blocks SIGINT/SIGTERM for its signalfd: unblock them. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL); /* the runner ignores it */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (null >= 0)
			dup2(null, 0);
		dup2(log, 1);
		dup2(log, 2);
		if (ready >= 0)
			dup2(ready, VMB_READY_FD);
		execv(argv[0], (char *const *)argv);
		static const char msg[] = "smoltest: cannot execute smolvm\n";
		ssize_t w = write(2, msg, sizeof(msg) - 1);
		(void)w;
		_exit(127);
	}
	close(log);
	if (null >= 0)
		close(null);
	if (ready >= 0)
		close(ready);
	*pid = child;
	/* PR_SET_PDEATHSIG covers a runner that dies; the record covers a
	 * VMM that outlives it anyway (e.g. a runner killed between fork and
	 * the child's prctl, which the getppid() check above cannot see if
	 * the runner's pid is taken by the next process) */
	int rc = runreg_add_proc(reg, child);
	if (rc)
		fprintf(
		    stderr,
		    "smoltest: warning: cannot record smolvm (pid %d) in the run registry: %s\n",
		    (int)child, strerror(-rc));
	return 0;
}

int vm_backend_control(const char *control, const char *request, int timeout_ms, char *ans,
		       size_t anslen, char *err, size_t errlen)
{
	char verb[32], own[PATH_MAX + 128]; /* "ok FILE BYTES BYTES MS" of a snapshot */
	snprintf(verb, sizeof(verb), "%.*s", (int)strcspn(request, " "), request);
	if (!ans) {
		ans = own;
		anslen = sizeof(own);
	} else if (anslen < 2) {
		snprintf(err, errlen, "no room for the answer to '%s'", verb);
		return -EINVAL;
	}
	ans[0] = '\0';
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(control) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path %s is too long", control);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, control);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = 0;
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open a socket for the VM's control socket %s: %s",
			 control, strerror(errno));
		return rc;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		rc = -errno;
		snprintf(err, errlen, "cannot connect to the VM's control socket %s: %s", control,
			 strerror(errno));
		goto out;
	}
	char line[PATH_MAX + 32];
	int n = snprintf(line, sizeof(line), "%s\n", request);
	if (n < 0 || (size_t)n >= sizeof(line) || (rc = util_write_all(fd, line, (size_t)n))) {
		rc = rc ? rc : -ENAMETOOLONG;
		snprintf(err, errlen, "cannot send the %s request to %s: %s", verb, control,
			 strerror(-rc));
		goto out;
	}
	size_t len = 0;
	char *nl = NULL;
	uint64_t deadline = util_now_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;
	while (!nl) {
		if (len == anslen - 1) {
			rc = -EMSGSIZE;
			snprintf(err, errlen, "the answer to '%s' on %s is longer than %zu bytes",
				 verb, control, anslen - 1);
			goto out;
		}
		uint64_t now = util_now_ns();
		if (now >= deadline) {
			rc = -ETIMEDOUT;
			if (timeout_ms % 1000)
				snprintf(err, errlen, "no answer to '%s' on %s within %d ms", verb,
					 control, timeout_ms);
			else
				snprintf(err, errlen, "no answer to '%s' on %s within %d s", verb,
					 control, timeout_ms / 1000);
			goto out;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, (int)((deadline - now) / NSEC_PER_MSEC) + 1);
		if (r <= 0)
			continue; /* EINTR, or the deadline: checked above */
		ssize_t k = read(fd, ans + len, anslen - 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			rc = -EPIPE;
			snprintf(err, errlen, "the VM closed its control socket during '%s'", verb);
			goto out;
		}
		nl = memchr(ans + len, '\n', (size_t)k);
		len += (size_t)k;
		ans[len] = '\0';
	}
	*nl = '\0';
	if (strcmp(ans, "ok") != 0 && strncmp(ans, "ok ", 3) != 0) {
		rc = -EIO;
		/* The VMM's own words, but through a socket: printable only. */
		for (char *c = ans; *c; c++)
			if (*c < 0x20 || *c > 0x7e)
				*c = '?';
		snprintf(err, errlen, "the VM refused '%s': %s", verb, ans);
	}
out:
	close(fd);
	return rc;
}

void vm_backend_vcpus_sample(const char *control, int timeout_ms, char *buf, size_t len,
			     bool *test_kept_cpu)
{
	char *a = malloc(VMB_CONTROL_ANSWER_MAX), *b = malloc(VMB_CONTROL_ANSWER_MAX), why[300];
	if (test_kept_cpu)
		*test_kept_cpu = false;
	if (len)
		buf[0] = '\0';
	if (!a || !b)
		goto out;
	uint64_t deadline = util_now_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;
	/* The first answer may have the rest of the time but the gap and a
	 * little for the second. */
	int first = timeout_ms > 2 * VMB_VCPUS_GAP_MS ? timeout_ms - 2 * VMB_VCPUS_GAP_MS : 1;
	if (vm_backend_control(control, "vcpus", first, a, VMB_CONTROL_ANSWER_MAX, why,
			       sizeof(why)))
		goto out;
	bool second = false;
	uint64_t now = util_now_ns();
	if (now + VMB_VCPUS_GAP_MS * NSEC_PER_MSEC < deadline) {
		struct timespec gap = {.tv_nsec = VMB_VCPUS_GAP_MS * 1000000L};
		while (nanosleep(&gap, &gap) && errno == EINTR)
			;
		now = util_now_ns();
		int left = now < deadline ? (int)((deadline - now) / NSEC_PER_MSEC) : 0;
		second =
		    left > 0 && vm_backend_control(control, "vcpus", left, b,
						   VMB_CONTROL_ANSWER_MAX, why, sizeof(why)) == 0;
	}
	vm_backend_vcpus_verdict(a, second ? b : NULL, buf, len, test_kept_cpu);
out:
	free(a);
	free(b);
}

int vm_backend_wait(pid_t pid, int pidfd, int timeout_ms, int *status)
{
	if (pidfd >= 0) {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		uint64_t deadline = util_now_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;
		for (;;) {
			uint64_t now = util_now_ns();
			int left =
			    now >= deadline ? 0 : (int)((deadline - now) / NSEC_PER_MSEC) + 1;
			int r = poll(&p, 1, left);
			if (r > 0)
				break;
			if (r == 0)
				return -ETIMEDOUT;
			if (errno != EINTR)
				return -errno;
		}
	}
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* The last n lines of a text file (at most 64 KiB from its end), newlines
 * turned into " | ", into buf. */
static void tail_lines(const char *path, unsigned n, char *buf, size_t len)
{
	buf[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	off_t size = lseek(fd, 0, SEEK_END);
	off_t from = size > 65536 ? size - 65536 : 0;
	char *text = malloc(65537);
	ssize_t got = text ? pread(fd, text, 65536, from) : -1;
	close(fd);
	if (got <= 0) {
		free(text);
		return;
	}
	size_t end = (size_t)got;
	/* drop trailing newlines and carriage returns */
	while (end && (text[end - 1] == '\n' || text[end - 1] == '\r' || text[end - 1] == ' '))
		end--;
	text[end] = '\0';
	size_t start = end;
	unsigned lines = 0;
	while (start > 0) {
		if (text[start - 1] == '\n' && ++lines == n)
			break;
		start--;
	}
	size_t o = 0;
	for (size_t i = start; i < end && o + 4 < len; i++) {
		char c = text[i];
		if (c == '\r')
			continue;
		if (c == '\n') {
			o += (size_t)snprintf(buf + o, len - o, " | ");
			continue;
		}
		buf[o++] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	buf[o < len ? o : len - 1] = '\0';
	free(text);
}

static bool file_has(const char *path, const char *needle)
{
	char *text = NULL;
	size_t n = 0;
	if (util_read_file(path, 16 << 20, &text, &n))
		return false;
	bool found = memmem(text, n, needle, strlen(needle)) != NULL;
	free(text);
	return found;
}

void vm_backend_describe(const char *dir, int wait_status, bool exited, char *buf, size_t len)
{
	char console[600], vmm[600], ctail[700] = "", vtail[400] = "";
	snprintf(console, sizeof(console), "%s/console.log", dir);
	snprintf(vmm, sizeof(vmm), "%s/vmm.log", dir);
	tail_lines(console, 3, ctail, sizeof(ctail));
	tail_lines(vmm, 1, vtail, sizeof(vtail));
	const char *what = file_has(console, "Kernel panic") ? "the guest kernel panicked; " : "";
	char how[80] = "";
	if (exited) {
		if (WIFEXITED(wait_status))
			snprintf(how, sizeof(how), "smolvm exited with status %d; ",
				 WEXITSTATUS(wait_status));
		else if (WIFSIGNALED(wait_status))
			snprintf(how, sizeof(how), "smolvm was killed by signal %d (%s); ",
				 WTERMSIG(wait_status), strsignal(WTERMSIG(wait_status)));
	}
	snprintf(buf, len, "%s%s%s%s%s%s%s", what, how, vtail[0] ? "smolvm: " : "", vtail,
		 vtail[0] ? "; " : "", ctail[0] ? "console: " : "no console output", ctail);
}
