/* Host side of the probe's fuzz_vsock_live step: a listener on the Unix
 * socket a guest connection to host port P reaches (PATH_P, docs/devices.md).
 * Every byte of every connection must be the probe's pattern at its offset
 * in the stream (pattern() below, the same as the probe's); each byte is
 * echoed back. A connection may end at any point (EOF or a reset: the
 * attacks reset connections on purpose); a wrong byte is a failure.
 *
 * Usage: vsock_echo SOCKET
 * Runs until SIGTERM or SIGINT, then prints one line of totals and exits 0,
 * or 1 when some byte was wrong (each one named on stderr). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_CONNS 64
#define PENDING	  65536 /* echo bytes held per connection; reading stops when full */

struct conn {
	int fd;
	uint32_t off; /* stream offset of the next byte read */
	uint32_t head, len;
	uint8_t pending[PENDING];
};

static struct conn conns[MAX_CONNS];
static volatile sig_atomic_t stop;

static uint8_t pattern(uint32_t off)
{
	return (uint8_t)((off * 2654435761u) >> 24);
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	unsigned long long accepted = 0, bytes = 0, ended = 0, wrong = 0;
	if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: vsock_echo SOCKET (a path shorter than %zu bytes)\n",
			sizeof(sa.sun_path));
		return 2;
	}
	memcpy(sa.sun_path, argv[1], strlen(argv[1]));
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 16)) {
		fprintf(stderr, "vsock_echo: cannot listen on %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	struct sigaction act = {.sa_handler = on_signal};
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < MAX_CONNS; i++)
		conns[i].fd = -1;
	printf("vsock_echo: listening on %s\n", argv[1]);
	fflush(stdout);
	while (!stop) {
		struct pollfd pfd[MAX_CONNS + 1];
		int map[MAX_CONNS + 1], n = 0;
		pfd[n] = (struct pollfd){.fd = lfd, .events = POLLIN};
		map[n++] = -1;
		for (int i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &conns[i];
			if (c->fd < 0)
				continue;
			short ev =
			    (short)((c->len < PENDING ? POLLIN : 0) | (c->len ? POLLOUT : 0));
			pfd[n] = (struct pollfd){.fd = c->fd, .events = ev};
			map[n++] = i;
		}
		if (poll(pfd, (nfds_t)n, 200) < 0)
			continue; /* EINTR: stop is checked above */
		for (int k = 0; k < n; k++) {
			if (!pfd[k].revents)
				continue;
			if (map[k] < 0) {
				int fd;
				while ((fd = accept4(lfd, NULL, NULL,
						     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					int i = 0;
					while (i < MAX_CONNS && conns[i].fd >= 0)
						i++;
					if (i == MAX_CONNS) {
						close(fd); /* the guest sees a reset */
						continue;
					}
					conns[i] = (struct conn){.fd = fd};
					accepted++;
				}
				continue;
			}
			struct conn *c = &conns[map[k]];
			bool gone = false;
			if (c->len && (pfd[k].revents & POLLOUT)) {
				uint32_t first =
				    PENDING - c->head < c->len ? PENDING - c->head : c->len;
				ssize_t w = send(c->fd, c->pending + c->head, first, MSG_DONTWAIT);
				if (w > 0) {
					c->head = (c->head + (uint32_t)w) % PENDING;
					c->len -= (uint32_t)w;
				} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
					gone = true;
				}
			}
			if (!gone && c->len < PENDING &&
			    (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))) {
				uint32_t tail = (c->head + c->len) % PENDING;
				uint32_t room = PENDING - c->len;
				if (room > PENDING - tail)
					room = PENDING - tail;
				ssize_t r = recv(c->fd, c->pending + tail, room, MSG_DONTWAIT);
				if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
					gone = true; /* EOF or a reset: both a clean end */
				for (ssize_t b = 0; b < r && !gone; b++) {
					uint8_t want = pattern(c->off + (uint32_t)b);
					if (c->pending[tail + b] != want) {
						fprintf(
						    stderr,
						    "vsock_echo: connection %d: byte %u is 0x%02x, "
						    "want 0x%02x\n",
						    map[k], c->off + (uint32_t)b,
						    c->pending[tail + b], want);
						wrong++;
						gone = true;
					}
				}
				if (r > 0 && !gone) {
					c->off += (uint32_t)r;
					c->len += (uint32_t)r;
					bytes += (unsigned long long)r;
				}
			}
			if (gone) {
				close(c->fd);
				c->fd = -1;
				ended++;
			}
		}
	}
	unsigned long long open = 0;
	for (int i = 0; i < MAX_CONNS; i++)
		open += conns[i].fd >= 0;
	printf("vsock_echo: %llu connections (%llu ended, %llu still open), %llu bytes checked "
	       "and echoed, %llu wrong\n",
	       accepted, ended, open, bytes, wrong);
	unlink(argv[1]);
	return wrong ? 1 : 0;
}
