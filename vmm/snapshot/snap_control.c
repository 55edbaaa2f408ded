#include "snap_control.h"
#include "snap_save.h"
#include "snap_vcpus.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/evloop.h"
#include "disk/disk.h"
#include "core/iobus.h"
#include "smolvm/err.h"
#include "smolvm/vm.h"
#include "util.h"

#define CTL_MAX_CLIENTS 8
#define CTL_LINE_MAX	4096
/* A `vcpus` answer is about 100 bytes per vCPU (VM_MAX_VCPUS of them). */
#define CTL_REPLY_MAX 8192

struct snap_ctl;

struct ctl_client {
	struct snap_ctl *ctl;
	int fd; /* -1: free slot */
	size_t len;
	char buf[CTL_LINE_MAX];
};

struct snap_ctl {
	struct vm *vm;
	const char *checkpoint_path; /* borrowed from the vm config */
	bool exit_after;
	bool user_paused; /* paused by a `pause` request */
	atomic_bool checkpoint_busy;
	int listen_fd;
	char *sock_path;
	char freeze_path[4096]; /* disk layer to freeze after the VM is gone */
	struct ctl_client clients[CTL_MAX_CLIENTS];
};

/* Pauses (if needed), saves, then resumes / stays paused / ends the VM.
 * Event-loop thread. Writes a one-line summary into reply. */
static int take_snapshot(struct snap_ctl *c, const char *path, char *reply, size_t len)
{
	struct vmm_err err = {{0}};
	int rc = vm_pause(c->vm);
	if (rc) {
		snprintf(reply, len, "error pausing the VM: %s", strerror(-rc));
		return rc;
	}
	struct snap_save_stats st;
	rc = snap_save(c->vm, path, &st, &err);
	if (rc) {
		snprintf(reply, len, "error %s", err.msg);
		if (!c->user_paused)
			vm_resume(c->vm);
		return rc;
	}
	snprintf(reply, len, "ok %s %" PRIu64 " %" PRIu64 " %.1f", path, st.file_apparent,
		 st.file_allocated, (double)st.total_ns / 1e6);
	if (st.freeze_path[0])
		memcpy(c->freeze_path, st.freeze_path, sizeof(c->freeze_path));
	if (c->exit_after) {
		/* The vCPUs stay parked; vm_run returns with status 0. */
		vm_stop(c->vm, VM_EXIT_STOPPED, 0, "snapshot written (--exit-after-snapshot)");
		return 0;
	}
	if (!c->user_paused)
		vm_resume(c->vm);
	return 0;
}

static void checkpoint_work(void *opaque)
{
	struct snap_ctl *c = opaque;
	char reply[VMM_ERR_MAX + 64];
	int rc = take_snapshot(c, c->checkpoint_path, reply, sizeof(reply));
	if (rc) {
		/* A failure while the guest runs has no caller to return to: it
		 * ends the VM, and its reason is the run's result (vm_exit),
		 * which the CLI prints. */
		char why[VM_EXIT_REASON_MAX];
		snprintf(why, sizeof(why), "checkpoint snapshot failed: %s", reply);
		vm_stop(c->vm, VM_EXIT_ERROR, 1, why);
	}
	atomic_store(&c->checkpoint_busy, false);
}

/* I/O port 0x502, on a vCPU thread. The pause is requested here, before
 * the handler returns, so the writing vCPU parks before it executes another
 * guest instruction; the save itself runs on the event loop (a vCPU thread
 * must not wait for the pause it is part of). */
static void checkpoint_port(void *opaque, uint64_t off, void *data, uint32_t len, bool is_write)
{
	struct snap_ctl *c = opaque;
	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	if (!c->checkpoint_path || atomic_exchange(&c->checkpoint_busy, true))
		return;
	vm_request_pause(c->vm);
	if (vm_defer(c->vm, checkpoint_work, c) < 0) {
		atomic_store(&c->checkpoint_busy, false);
		vm_stop(c->vm, VM_EXIT_ERROR, 1, "checkpoint: cannot schedule the snapshot");
	}
}

static void client_close(struct snap_ctl *c, struct ctl_client *cl)
{
	evloop_del(vm_evloop(c->vm), cl->fd);
	close(cl->fd);
	cl->fd = -1;
	cl->len = 0;
}

/* `vcpus`: pauses every vCPU (as a snapshot does: vcpu_get_state needs
 * them parked), reads each one, and lets the VM run again unless it was
 * paused already (by `pause`, or by a checkpoint whose save is still to
 * run on this thread and resumes it itself). Event-loop thread. */
static void describe_vcpus(struct snap_ctl *c, char *reply, size_t len)
{
	struct vcpu_state *st = malloc(sizeof(*st));
	if (!st) {
		snprintf(reply, len, "error reading the vCPUs: out of memory");
		return;
	}
	int rc = vm_pause(c->vm);
	if (rc) {
		snprintf(reply, len, "error pausing the VM: %s", strerror(-rc));
		free(st);
		return;
	}
	size_t o = (size_t)snprintf(reply, len, "ok");
	for (unsigned i = 0; i < vm_ncpus(c->vm); i++) {
		char one[160];
		rc = vcpu_get_state(c->vm, i, st);
		if (rc) {
			snprintf(reply, len, "error reading vCPU %u: %s", i, strerror(-rc));
			break;
		}
		rc = snap_vcpu_describe(st, i, one, sizeof(one));
		if (rc || o + 2 + strlen(one) >= len) {
			snprintf(reply, len, "error vCPU %u's state does not fit the answer", i);
			break;
		}
		o += (size_t)snprintf(reply + o, len - o, "%s%s", i ? "; " : " ", one);
	}
	if (!c->user_paused && !atomic_load(&c->checkpoint_busy))
		vm_resume(c->vm);
	free(st);
}

static void handle_line(struct snap_ctl *c, char *line, char *reply, size_t len)
{
	if (!strcmp(line, "status")) {
		snprintf(reply, len, "ok %s", c->user_paused ? "paused" : "running");
	} else if (!strcmp(line, "pause")) {
		int rc = vm_pause(c->vm);
		if (rc) {
			snprintf(reply, len, "error pause failed: %s", strerror(-rc));
			return;
		}
		c->user_paused = true;
		snprintf(reply, len, "ok paused");
	} else if (!strcmp(line, "resume")) {
		int rc = vm_resume(c->vm);
		if (rc) {
			snprintf(reply, len, "error resume failed: %s", strerror(-rc));
			return;
		}
		c->user_paused = false;
		snprintf(reply, len, "ok running");
	} else if (!strcmp(line, "vcpus")) {
		describe_vcpus(c, reply, len);
	} else if (!strncmp(line, "snapshot ", 9) && line[9] && line[9] != ' ') {
		take_snapshot(c, line + 9, reply, len);
	} else {
		snprintf(reply, len,
			 "error unknown request \"%.60s\" (expected status, pause, "
			 "resume, vcpus or snapshot FILE)",
			 line);
	}
}

static void reply_to(struct ctl_client *cl, const char *reply)
{
	char out[CTL_REPLY_MAX + 2];
	int n = snprintf(out, sizeof(out), "%.*s\n", (int)sizeof(out) - 2, reply);
	/* Answers are short; a client that does not read them is dropped
	 * rather than allowed to stall the event loop. */
	if (n < 0 || send(cl->fd, out, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n)
		client_close(cl->ctl, cl);
}

static void client_ready(void *opaque, uint32_t events)
{
	struct ctl_client *cl = opaque;
	struct snap_ctl *c = cl->ctl;
	ssize_t n = recv(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - cl->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c, cl);
		return;
	}
	cl->len += (size_t)n;
	char *nl;
	while (cl->fd >= 0 && (nl = memchr(cl->buf, '\n', cl->len))) {
		*nl = '\0';
		if (nl > cl->buf && nl[-1] == '\r')
			nl[-1] = '\0';
		char reply[CTL_REPLY_MAX];
		handle_line(c, cl->buf, reply, sizeof(reply));
		size_t used = (size_t)(nl - cl->buf) + 1;
		memmove(cl->buf, nl + 1, cl->len - used);
		cl->len -= used;
		reply_to(cl, reply);
	}
	if (cl->fd >= 0 && cl->len == sizeof(cl->buf)) {
		reply_to(cl, "error request line longer than 4096 bytes");
		if (cl->fd >= 0)
			client_close(c, cl);
	}
}

static void listener_ready(void *opaque, uint32_t events)
{
	struct snap_ctl *c = opaque;
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = &c->clients[i];
		if (cl->fd >= 0)
			continue;
		cl->fd = fd;
		cl->len = 0;
		if (evloop_add(vm_evloop(c->vm), fd, EPOLLIN, client_ready, cl) == 0)
			return;
		cl->fd = -1;
		break;
	}
	static const char busy[] = "error too many control connections\n";
	send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

static int listen_on(struct snap_ctl *c, const char *path, struct vmm_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		return vmm_errf(err, -ENAMETOOLONG,
				"--control %s: path longer than %zu bytes; use a shorter one", path,
				sizeof(sa.sun_path) - 1);
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0)
		return vmm_errf(err, -errno, "--control %s: socket: %s", path, strerror(errno));
	unlink(path); /* a stale socket from an earlier run */
	/* 0600: whoever can connect can make the VMM write files. */
	mode_t old = umask(0177);
	int rc = bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(c->listen_fd, 4) < 0) {
		return vmm_errf(err, -errno, "--control %s: %s", path, strerror(errno));
	}
	c->sock_path = strdup(path);
	if (!c->sock_path)
		return vmm_errf(err, -ENOMEM, "--control %s: out of memory", path);
	rc = evloop_add(vm_evloop(c->vm), c->listen_fd, EPOLLIN, listener_ready, c);
	if (rc)
		return vmm_errf(err, rc, "--control %s: event loop: %s", path, strerror(-rc));
	return 0;
}

int snap_ctl_create(struct vm *vm, struct snap_ctl **out, struct vmm_err *err)
{
	const struct vm_config *cfg = vm_config(vm);
	struct snap_ctl *c = calloc(1, sizeof(*c));
	if (!c)
		return vmm_errf(err, -ENOMEM, "snapshot control: out of memory");
	c->vm = vm;
	c->listen_fd = -1;
	c->checkpoint_path = cfg->snapshot_on_checkpoint;
	c->exit_after = cfg->exit_after_snapshot;
	atomic_init(&c->checkpoint_busy, false);
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
		c->clients[i].fd = -1;
		c->clients[i].ctl = c;
	}
	int rc = iobus_register(vm_pio_bus(vm), SNAP_CHECKPOINT_PORT, 1, checkpoint_port, c);
	if (rc) {
		free(c);
		return vmm_errf(err, rc, "checkpoint port %#x: %s", SNAP_CHECKPOINT_PORT,
				strerror(-rc));
	}
	if (cfg->control_path) {
		rc = listen_on(c, cfg->control_path, err);
		if (rc) {
			/* The VM lives on: take back what points at c. */
			if (c->listen_fd >= 0)
				evloop_del(vm_evloop(vm), c->listen_fd);
			iobus_unregister(vm_pio_bus(vm), SNAP_CHECKPOINT_PORT);
			snap_ctl_destroy(c, NULL);
			return rc;
		}
	}
	*out = c;
	return 0;
}

int snap_ctl_destroy(struct snap_ctl *c, struct vmm_err *err)
{
	if (!c)
		return 0;
	/* The VM (its event loop and I/O bus) is gone: only our fds remain. */
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->clients[i].fd >= 0)
			close(c->clients[i].fd);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->sock_path)
		unlink(c->sock_path);
	int rc = 0;
	if (c->freeze_path[0]) {
		rc = disk_layer_freeze(c->freeze_path, err);
		if (rc)
			vmm_err_prefix(err, rc, "the snapshot's disk layer could not be frozen");
	}
	free(c->sock_path);
	free(c);
	return rc;
}
