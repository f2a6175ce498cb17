// SPDX-License-Identifier: MIT
/* Test helper for test_uvsim_endpoint.sh: load on a guest's uvsim endpoint (issue 9 #3).
 *
 *   uv_hammer hold SOCKET IDLE SLOW SECONDS
 *       open IDLE connections that send nothing and SLOW ones that send one byte of a
 *       request header every 2 s, hold them for SECONDS while a client makes one request
 *       (UVIO info, through the UV device layer) every 100 ms on a new connection; prints
 *       "held N, requests M, failed F, max_ms X" (N: connections still open at the end)
 *   uv_hammer churn SOCKET CLIENTS SECONDS
 *       CLIENTS threads, each opening a new connection per request for SECONDS; prints
 *       "requests N, failed F, per_s R, max_ms X"
 *
 * A request failed when the device layer reports any error (connection refused or reset,
 * a short answer). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "pvkit/uvdev.h"

static char dev[4200];
static double deadline;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long requests, failed;
static double max_ms;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One request on a new connection: its time in ms, or -1 on failure. */
static double one_request(void)
{
	struct uvdev *d = NULL;
	struct uvdev_rc rc;
	struct pvk_err e;
	uint64_t a, b;
	double t0 = now();
	int bad;

	bad = pvk_uvdev_open(dev, &d, &e) || pvk_uvdev_info(d, &a, &b, &rc, &e) || rc.rc != UVC_RC_SUCCESS;
	if (bad)
		fprintf(stderr, "request failed: %s\n", e.msg);
	pvk_uvdev_close(d);
	return bad ? -1 : (now() - t0) * 1000;
}

static void account(double ms)
{
	pthread_mutex_lock(&mu);
	requests++;
	if (ms < 0)
		failed++;
	else if (ms > max_ms)
		max_ms = ms;
	pthread_mutex_unlock(&mu);
}

static void *churn(void *arg)
{
	(void)arg;
	while (now() < deadline)
		account(one_request());
	return NULL;
}

static int connect_to(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Still open: the peer has not closed it (a read would block, not return 0). */
static int still_open(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);

	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

int main(int argc, char **argv)
{
	struct rlimit rl;

	if (argc < 5)
		return 2;
	snprintf(dev, sizeof(dev), "uvsim:%s", argv[2]);
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!strcmp(argv[1], "hold") && argc == 6) {
		int idle = atoi(argv[3]), slow = atoi(argv[4]), n = idle + slow, held = 0;
		int *fds = calloc((size_t)n, sizeof(int));
		double end, next_byte;

		if (!fds)
			return 2;
		for (int i = 0; i < n; i++) {
			fds[i] = connect_to(argv[2]);
			if (fds[i] < 0) {
				fprintf(stderr, "connection %d: %s\n", i, strerror(errno));
				return 1;
			}
		}
		end = now() + atof(argv[5]);
		next_byte = now();
		while (now() < end) {
			if (now() >= next_byte) {
				/* the slow ones trickle a request header: 'U' of the magic */
				for (int i = idle; i < n; i++)
					(void)!send(fds[i], "U", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
				next_byte = now() + 2;
			}
			account(one_request());
			usleep(100 * 1000);
		}
		for (int i = 0; i < n; i++) {
			held += still_open(fds[i]);
			close(fds[i]);
		}
		printf("held %d, requests %ld, failed %ld, max_ms %.1f\n", held, requests, failed,
		       max_ms);
		free(fds);
		return 0;
	}
	if (!strcmp(argv[1], "churn") && argc == 5) {
		int nt = atoi(argv[3]);
		pthread_t *t = calloc((size_t)nt, sizeof(*t));
		double t0 = now(), secs = atof(argv[4]);

		if (!t)
			return 2;
		deadline = t0 + secs;
		for (int i = 0; i < nt; i++)
			pthread_create(&t[i], NULL, churn, NULL);
		for (int i = 0; i < nt; i++)
			pthread_join(t[i], NULL);
		printf("requests %ld, failed %ld, per_s %.0f, max_ms %.1f\n", requests, failed,
		       (double)requests / (now() - t0), max_ms);
		free(t);
		return 0;
	}
	return 2;
}
