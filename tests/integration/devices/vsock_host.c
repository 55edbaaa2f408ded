/* Host side of the probe's vsock step: connect through the hybrid vsock
 * socket (CONNECT <port>), send N bytes of pseudo-random data, read the echo
 * concurrently and compare, then close.
 * Usage: vsock_host SOCKET PORT BYTES [TIMEOUT_S]
 * Exit 0 when everything came back intact, 1 otherwise (one line why). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Connects and completes the CONNECT/OK handshake; -1 to retry. */
static int try_connect(const char *path, const char *port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -2;
	memcpy(sa.sun_path, path, strlen(path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto retry;
	char line[64];
	int n = snprintf(line, sizeof(line), "CONNECT %s\n", port);
	if (write(fd, line, (size_t)n) != n)
		goto retry;
	size_t got = 0;
	while (got < sizeof(line) - 1) {
		ssize_t r = read(fd, line + got, 1);
		if (r != 1)
			goto retry; /* the guest is not listening yet: EOF */
		if (line[got++] == '\n')
			break;
	}
	line[got] = 0;
	if (strncmp(line, "OK ", 3)) {
		fprintf(stderr, "vsock_host: unexpected handshake reply '%s'\n", line);
		close(fd);
		return -2;
	}
	return fd;
retry:
	if (fd >= 0)
		close(fd);
	return -1;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: vsock_host SOCKET PORT BYTES [TIMEOUT_S]\n");
		return 2;
	}
	/* A device that closes before the guest driver is up must mean "retry",
	 * not death by SIGPIPE on the CONNECT line. */
	signal(SIGPIPE, SIG_IGN);
	size_t total = strtoul(argv[3], NULL, 10);
	double timeout = argc > 4 ? atof(argv[4]) : 60, t0 = now();
	int fd;
	while ((fd = try_connect(argv[1], argv[2])) == -1) {
		if (now() - t0 > timeout) {
			fprintf(stderr, "vsock_host: no connection to guest port %s through %s\n",
				argv[2], argv[1]);
			return 1;
		}
		usleep(50000);
	}
	if (fd < 0)
		return 1;
	uint8_t *src = malloc(total), *back = malloc(total);
	uint64_t s = 0x2545f4914f6cdd1dull;
	for (size_t i = 0; i < total; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		src[i] = (uint8_t)s;
	}
	size_t sent = 0, got = 0;
	while (got < total) {
		struct pollfd pfd = {fd, POLLIN | (sent < total ? POLLOUT : 0), 0};
		if (now() - t0 > timeout) {
			fprintf(stderr, "vsock_host: timeout: sent %zu, echoed %zu of %zu\n", sent,
				got, total);
			return 1;
		}
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if ((pfd.revents & POLLOUT) && sent < total) {
			ssize_t w =
			    send(fd, src + sent, total - sent > 65536 ? 65536 : total - sent,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w > 0)
				sent += (size_t)w;
		}
		if (pfd.revents & (POLLIN | POLLHUP)) {
			ssize_t r = recv(fd, back + got, total - got, MSG_DONTWAIT);
			if (r == 0) {
				fprintf(stderr, "vsock_host: EOF after %zu of %zu echoed bytes\n",
					got, total);
				return 1;
			}
			if (r > 0)
				got += (size_t)r;
		}
	}
	if (memcmp(src, back, total)) {
		size_t i = 0;
		while (src[i] == back[i])
			i++;
		fprintf(stderr, "vsock_host: echo differs at byte %zu\n", i);
		return 1;
	}
	close(fd);
	printf("vsock_host: %zu bytes echoed intact in %.2fs\n", total, now() - t0);
	free(src);
	free(back);
	return 0;
}
