// SPDX-License-Identifier: MIT
/* The guest endpoint: a Unix socket answering the uvsim wire format (pvkit/uvproto.h), one
 * thread per client. A malformed, truncated or oversized request gets an error answer and
 * its connection closed; a client that dies mid-request only ends its own thread.
 *
 * Connections that hold a slot without being served cannot lock the guest's own tools out:
 * when every slot is taken, a new connection takes the slot of the one that has waited
 * longest without a request being handled (idle, or trickling a request), never of one the
 * UV is answering; and the listen backlog is deep enough that a burst of connections is
 * queued, not reset. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pvkit/uvproto.h"
#include "uvsim.h"

#define MAX_CLIENTS 1024
#define LISTEN_BACKLOG 4096       /* the kernel caps it at net.core.somaxconn */
#define CLIENT_TIMEOUT_S 10
#define THREAD_STACK (256 * 1024)

enum slot_state { SLOT_FREE, SLOT_IDLE, SLOT_READING, SLOT_HANDLING, SLOT_EVICTED };

struct slot {
	int fd;                   /* the client's socket, or -1 */
	enum slot_state st;
	struct timespec since;    /* when it became idle or began its request */
};

struct server {
	struct uvsim_guest *g;
	pthread_mutex_t lock;
	pthread_cond_t idle;      /* a slot was freed */
	int active, max;
	struct slot slots[MAX_CLIENTS];
};

struct client {
	struct server *s;
	int fd, slot;
};

static void slot_set(struct server *s, int slot, enum slot_state st)
{
	pthread_mutex_lock(&s->lock);
	if (s->slots[slot].st != SLOT_EVICTED) {
		s->slots[slot].st = st;
		clock_gettime(CLOCK_MONOTONIC, &s->slots[slot].since);
	}
	pthread_mutex_unlock(&s->lock);
}

static int before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* With s->lock held and every slot taken: end the connection that has waited longest
 * without being served. Its thread sees EOF and frees the slot. */
static void evict_one(struct server *s)
{
	int victim = -1;

	for (int i = 0; i < s->max; i++) {
		struct slot *sl = &s->slots[i];

		if ((sl->st == SLOT_IDLE || sl->st == SLOT_READING) &&
		    (victim < 0 || before(&sl->since, &s->slots[victim].since)))
			victim = i;
	}
	if (victim >= 0) {
		s->slots[victim].st = SLOT_EVICTED;
		shutdown(s->slots[victim].fd, SHUT_RDWR);
	}
}

/* Read len bytes, all of them within the request deadline: a client that trickles bytes
 * cannot hold a thread longer than one request's worth of time. */
static int read_by(int fd, void *buf, size_t len, const struct timespec *deadline)
{
	uint8_t *p = buf;

	while (len) {
		struct timespec now;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long ms;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0 || poll(&pfd, 1, (int)ms) <= 0)
			return -1;
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_answer(int fd, const struct uvsim_answer *a)
{
	struct uvproto_rsp rsp = { .err = a->err, .uv_rc = a->rc, .uv_rrc = a->rrc,
				   .out_len = a->err ? 0 : a->out_len };
	uint8_t hdr[UVPROTO_RSP_HDR];

	pvk_uvproto_rsp_encode(&rsp, hdr);
	if (pvk_fd_write_full(fd, hdr, sizeof(hdr)))
		return -1;
	if (rsp.out_len && pvk_fd_write_full(fd, a->out, rsp.out_len))
		return -1;
	return 0;
}

/* SYNC: echo the client's nonce (pvkit/uvproto.h); the UV is not involved. -1 ends the
 * connection (a malformed SYNC gets EPROTO first). */
static int answer_sync(int fd, const struct uvproto_req *req, const struct timespec *deadline)
{
	uint8_t nonce[UVPROTO_SYNC_LEN];
	struct uvsim_answer a;

	memset(&a, 0, sizeof(a));
	if (req->in_len != sizeof(nonce) || req->out_cap < sizeof(nonce) || req->flags) {
		a.err = EPROTO;
		send_answer(fd, &a);
		return -1;
	}
	if (read_by(fd, nonce, sizeof(nonce), deadline))
		return -1;
	a.rc = 1;
	a.out = nonce;
	a.out_len = sizeof(nonce);
	return send_answer(fd, &a);
}

static void serve_client(struct server *s, int fd, int slot)
{
	struct uvsim_guest *g = s->g;

	for (;;) {
		uint8_t hdr[UVPROTO_REQ_HDR], *body = NULL;
		struct uvsim_answer a;
		struct uvproto_req req;
		struct timespec deadline;
		struct pvk_err e;
		int rc;

		/* An idle connection may wait for its next request; once a request has begun, all
		 * of it must arrive within CLIENT_TIMEOUT_S. */
		slot_set(s, slot, SLOT_IDLE);
		if (pvk_fd_read_full(fd, hdr, 1))
			return;
		slot_set(s, slot, SLOT_READING);
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += CLIENT_TIMEOUT_S;
		if (read_by(fd, hdr + 1, sizeof(hdr) - 1, &deadline))
			return;  /* EOF, timeout or a dead client: nothing was changed */
		if (pvk_uvproto_req_decode(hdr, &req, &e)) {
			memset(&a, 0, sizeof(a));
			a.err = EPROTO;
			send_answer(fd, &a);
			return;
		}
		if (req.nr == UVPROTO_NR_SYNC) {
			if (answer_sync(fd, &req, &deadline))
				return;
			continue;
		}
		if (req.in_len) {
			body = malloc(req.in_len);
			if (!body || read_by(fd, body, req.in_len, &deadline)) {
				free(body);
				return;  /* truncated request: dropped before the UV saw it */
			}
		}
		slot_set(s, slot, SLOT_HANDLING);
		if (uvsim_changes_state(req.nr))
			pthread_rwlock_wrlock(&g->lock);
		else
			pthread_rwlock_rdlock(&g->lock);
		uvsim_handle(g, req.nr, req.flags, body, req.in_len, req.out_cap, &a);
		if (a.changed && uvsim_guest_save(g, &e)) {
			/* Keep serving: the in-memory state is the UV's truth. */
		}
		pthread_rwlock_unlock(&g->lock);
		if (body) {
			OPENSSL_cleanse(body, req.in_len);
			free(body);
		}
		rc = send_answer(fd, &a);
		if (a.out) {
			OPENSSL_cleanse(a.out, a.out_len);
			free(a.out);
		}
		if (rc)
			return;
	}
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct server *s = c->s;

	serve_client(s, c->fd, c->slot);
	pthread_mutex_lock(&s->lock);
	/* before close: neither stop nor an eviction ever shuts down a reused fd number */
	s->slots[c->slot].fd = -1;
	s->slots[c->slot].st = SLOT_FREE;
	close(c->fd);
	s->active--;
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
	free(c);
	return NULL;
}

/* As many slots as file descriptors allow (the soft limit raised to the hard one). */
static int max_clients(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 64;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > MAX_CLIENTS + 64)
		return MAX_CLIENTS;
	return rl.rlim_cur > 128 ? (int)rl.rlim_cur - 64 : 64;
}

int uvsim_serve(struct uvsim_guest *g, int ready_fd, volatile int *stop, struct pvk_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct server s = { .g = g };
	pthread_attr_t attr;
	char path[sizeof(sa.sun_path)];
	int lfd;

	if ((size_t)snprintf(path, sizeof(path), "%s/uv.sock", g->dir) >= sizeof(path))
		return pvk_fail(e, PVK_E_IO, "%s/uv.sock: socket path too long", g->dir);
	strcpy(sa.sun_path, path);
	unlink(path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return pvk_fail(e, PVK_E_IO, "cannot create socket: %s", strerror(errno));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0600) ||
	    listen(lfd, LISTEN_BACKLOG)) {
		int err = errno;

		close(lfd);
		return pvk_fail(e, PVK_E_IO, "%s: cannot listen: %s", path, strerror(err));
	}
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.idle, NULL);
	s.max = max_clients();
	for (int i = 0; i < MAX_CLIENTS; i++)
		s.slots[i].fd = -1;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (ready_fd >= 0) {
		if (write(ready_fd, "R", 1) != 1) {
			/* the parent went away; serve anyway */
		}
		close(ready_fd);
	}
	while (!*stop) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		struct timeval tv = { .tv_sec = CLIENT_TIMEOUT_S };
		struct client *c;
		pthread_t t;
		int fd, slot = 0;

		if (poll(&p, 1, 200) <= 0)
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		pthread_mutex_lock(&s.lock);
		if (s.active >= s.max) {
			/* Full: make room, and wait (briefly) for the evicted thread to go. */
			struct timespec until;

			evict_one(&s);
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			while (s.active >= s.max && !*stop)
				if (pthread_cond_timedwait(&s.idle, &s.lock, &until) == ETIMEDOUT)
					break;
			if (s.active >= s.max) {
				pthread_mutex_unlock(&s.lock);
				close(fd);  /* every slot is being answered by the UV right now */
				continue;
			}
		}
		s.active++;
		while (s.slots[slot].fd >= 0)  /* active < max: a slot is free */
			slot++;
		s.slots[slot].fd = fd;
		s.slots[slot].st = SLOT_IDLE;
		clock_gettime(CLOCK_MONOTONIC, &s.slots[slot].since);
		pthread_mutex_unlock(&s.lock);
		c = malloc(sizeof(*c));
		if (c) {
			c->s = &s;
			c->fd = fd;
			c->slot = slot;
		}
		if (!c || pthread_create(&t, &attr, client_main, c)) {
			free(c);
			pthread_mutex_lock(&s.lock);
			s.slots[slot].fd = -1;
			s.slots[slot].st = SLOT_FREE;
			s.active--;
			pthread_mutex_unlock(&s.lock);
			close(fd);
			continue;
		}
	}
	close(lfd);
	unlink(path);
	/* Let requests in flight finish, but do not wait for idle clients: end every client's
	 * reading side, so a thread waiting for a request sees EOF now instead of after the
	 * receive timeout. A thread handling a request still sends its answer (its send is
	 * bounded by the send timeout), then finds EOF. */
	pthread_attr_destroy(&attr);
	pthread_mutex_lock(&s.lock);
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s.slots[i].fd >= 0)
			shutdown(s.slots[i].fd, SHUT_RD);
	while (s.active)
		pthread_cond_wait(&s.idle, &s.lock);
	pthread_mutex_unlock(&s.lock);
	pthread_cond_destroy(&s.idle);
	pthread_mutex_destroy(&s.lock);
	return 0;
}
