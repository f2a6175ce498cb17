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
 *   uv_hammer attest SOCKET ARCB CLIENTS SECONDS
 *       CLIENTS threads, each on one connection kept open, asking for attestation with the
 *       request in file ARCB for SECONDS; every answer must carry the same measurement as the
 *       first (one request, one key, one nonce); prints as churn does. With "lock" as a
 *       sixth argument the secret store is locked halfway through (see lock_midway).
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

#include "pvkit/exchange.h"
#include "pvkit/fileio.h"
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

static uint8_t *file, first_meas[64];
static const uint8_t *arcb;
static int reported;

/* Say why the first failure failed; the count tells of the others. */
static void report(const char *why)
{
	pthread_mutex_lock(&mu);
	if (!reported++)
		fprintf(stderr, "attestation failed: %s\n", why);
	pthread_mutex_unlock(&mu);
}

static size_t arcb_len;
static int have_first;

/* One attestation on the open device d: its time in ms, or -1 on failure. */
static double one_attest(struct uvdev *d)
{
	uint8_t meas[64], add[512];
	struct pvk_uvdev_attest a = { .arcb = arcb, .arcb_len = (uint32_t)arcb_len, .meas = meas,
				      .meas_len = sizeof(meas), .add_data = add,
				      .add_data_len = sizeof(add) };
	struct uvdev_rc rc;
	struct pvk_err e;
	double t0 = now();
	int bad;

	if (pvk_uvdev_attest(d, &a, &rc, &e)) {
		report(e.msg);
		return -1;
	}
	if (rc.rc != UVC_RC_SUCCESS) {
		char why[64];

		snprintf(why, sizeof(why), "rc 0x%04x rrc 0x%04x", rc.rc, rc.rrc);
		report(why);
		return -1;
	}
	pthread_mutex_lock(&mu);
	if (!have_first)
		memcpy(first_meas, meas, sizeof(meas));
	have_first = 1;
	bad = memcmp(first_meas, meas, sizeof(meas)) != 0;
	pthread_mutex_unlock(&mu);
	if (bad)
		report("a different measurement");
	return bad ? -1 : (now() - t0) * 1000;
}

static void *attest_loop(void *arg)
{
	struct uvdev *d = NULL;
	struct pvk_err e;

	(void)arg;
	if (pvk_uvdev_open(dev, &d, &e)) {
		fprintf(stderr, "open: %s\n", e.msg);
		account(-1);
		return NULL;
	}
	while (now() < deadline)
		account(one_attest(d));
	pvk_uvdev_close(d);
	return NULL;
}

/* At time when, while the clients attest, lock the secret store twice: the first succeeds,
 * the second is refused as already locked; prints "lock rc R then R2, ms X". */
static void lock_midway(double when)
{
	struct uvdev *d = NULL;
	struct uvdev_rc rc1 = { 0 }, rc2 = { 0 };
	struct pvk_err e;
	double t0;

	while (now() < when)
		usleep(10 * 1000);
	t0 = now();
	if (pvk_uvdev_open(dev, &d, &e) || pvk_uvdev_lock_secrets(d, &rc1, &e) ||
	    pvk_uvdev_lock_secrets(d, &rc2, &e))
		fprintf(stderr, "lock: %s\n", e.msg);
	printf("lock rc 0x%04x then 0x%04x, ms %.1f\n", rc1.rc, rc2.rc, (now() - t0) * 1000);
	pvk_uvdev_close(d);
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
	if ((!strcmp(argv[1], "churn") && argc == 5) ||
	    (!strcmp(argv[1], "attest") && (argc == 6 || (argc == 7 && !strcmp(argv[6], "lock"))))) {
		int att = !strcmp(argv[1], "attest"), nt = atoi(argv[3 + att]);
		pthread_t *t = calloc((size_t)nt, sizeof(*t));
		double t0, secs = atof(argv[4 + att]);
		struct pvk_err e;

		if (!t)
			return 2;
		if (att) {
			struct exch x;
			size_t len;

			/* the request pvattest create wrote: the ARCB inside its exchange format */
			if (pvk_file_read_all(argv[3], 1 << 20, &file, &len, &e) ||
			    pvk_exch_parse(file, len, &x, &e)) {
				fprintf(stderr, "%s\n", e.msg);
				return 2;
			}
			arcb = x.it[EXCH_ARCB].data;
			arcb_len = x.it[EXCH_ARCB].size;
		}
		t0 = now();
		deadline = t0 + secs;
		for (int i = 0; i < nt; i++)
			pthread_create(&t[i], NULL, att ? attest_loop : churn, NULL);
		if (argc == 7)
			lock_midway(t0 + secs / 2);
		for (int i = 0; i < nt; i++)
			pthread_join(t[i], NULL);
		printf("requests %ld, failed %ld, per_s %.0f, max_ms %.1f\n", requests, failed,
		       (double)requests / (now() - t0), max_ms);
		free(t);
		free(file);
		return 0;
	}
	return 2;
}
