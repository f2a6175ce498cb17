// SPDX-License-Identifier: MIT
/* The one HTTP client: libcurl, HTTP(S) only (redirects too), bounded size and time.
 * libcurl and the ~30 libraries it pulls in are loaded on the first request (dlopen), so a
 * command that downloads nothing does not pay for loading them at start-up (issue 12). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>

#include "pvkit/err.h"
#include "pvkit/http.h"
#include "pvkit/uvdev.h"

struct body {
	uint8_t *data;
	size_t len, max;
	int too_big;
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct body *b = userdata;
	size_t n = size * nmemb;
	uint8_t *nd;

	if (b->len + n > b->max) {
		b->too_big = 1;
		return 0;
	}
	nd = realloc(b->data, b->len + n + 1);
	if (!nd)
		return 0;
	memcpy(nd + b->len, ptr, n);
	b->data = nd;
	b->len += n;
	b->data[b->len] = 0;
	return n;
}

#define LIBCURL_SONAME "libcurl.so.4"

/* The libcurl calls this client makes, resolved from the loaded library. */
static struct {
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *h);
	const char *(*easy_strerror)(CURLcode rc);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
} cu;
static pthread_once_t cu_once = PTHREAD_ONCE_INIT;
static char cu_error[256];

static void cu_cleanup(void)
{
	cu.global_cleanup();
}

/* Load libcurl and initialise it once per process (curl_global_init is not thread-safe). */
static void cu_load(void)
{
	static const struct {
		const char *name;
		size_t off;
	} syms[] = {
#define SYM(f, m) { "curl_" #f, offsetof(__typeof__(cu), m) }
		SYM(global_init, global_init), SYM(global_cleanup, global_cleanup),
		SYM(easy_init, easy_init), SYM(easy_setopt, easy_setopt),
		SYM(easy_perform, easy_perform), SYM(easy_getinfo, easy_getinfo),
		SYM(easy_cleanup, easy_cleanup), SYM(easy_strerror, easy_strerror),
		SYM(slist_append, slist_append), SYM(slist_free_all, slist_free_all),
#undef SYM
	};
	void *lib = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!lib) {
		snprintf(cu_error, sizeof(cu_error), "cannot load %s: %s", LIBCURL_SONAME, dlerror());
		return;
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(lib, syms[i].name);

		if (!f) {
			snprintf(cu_error, sizeof(cu_error), "%s has no %s", LIBCURL_SONAME,
				 syms[i].name);
			memset(&cu, 0, sizeof(cu));
			return;
		}
		memcpy((char *)&cu + syms[i].off, &f, sizeof(f));
	}
	if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(cu_error, sizeof(cu_error), "cannot initialise libcurl");
		memset(&cu, 0, sizeof(cu));
		return;
	}
	atexit(cu_cleanup);
}

static int curl_ready(char *why, size_t why_len)
{
	pthread_once(&cu_once, cu_load);
	if (!cu.easy_init) {
		snprintf(why, why_len, "%s", cu_error);
		return 0;
	}
	return 1;
}

/* ---- the vport transport: libcurl cannot use a character device, nor (7.88's regression of
 * CURL_SOCKOPT_ALREADY_CONNECTED) a socket it did not connect itself. So a thread of the
 * client listens on a Unix socket in a private directory (mode 0700), libcurl connects there
 * (CURLOPT_UNIX_SOCKET_PATH), and the thread copies between that connection and the port,
 * one connection at a time. ---- */

struct pvk_http_client {
	CURL *h;
	int vfd;          /* the port, or -1 for TCP */
	int lfd;          /* the relay's listening socket */
	int stop[2];      /* a pipe: written to end the relay */
	pthread_t t;
	int running;
	char dir[256], sock[300];
};

/* Write all of len bytes to a non-blocking fd; -1 on error (or when told to stop). */
static int relay_write(int fd, const uint8_t *p, size_t len, int stop)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd w[2] = { { .fd = fd, .events = POLLOUT },
					       { .fd = stop, .events = POLLIN } };

			if (poll(w, 2, 30000) <= 0 || w[1].revents ||
			    (w[0].revents & (POLLERR | POLLHUP | POLLNVAL)))
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

/* Copy between one accepted connection and the port until either side ends. */
static void relay_one(struct pvk_http_client *c, int conn)
{
	uint8_t buf[16384];

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = conn, .events = POLLIN },
			{ .fd = c->vfd, .events = POLLIN },
			{ .fd = c->stop[0], .events = POLLIN },
		};
		ssize_t n;

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[2].revents)
			return;
		if (p[0].revents) {
			n = read(conn, buf, sizeof(buf));
			if (n <= 0 || relay_write(c->vfd, buf, (size_t)n, c->stop[0]))
				return;
		}
		if (p[1].revents & POLLIN) {
			n = read(c->vfd, buf, sizeof(buf));
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0 || relay_write(conn, buf, (size_t)n, c->stop[0]))
				return;
		} else if (p[1].revents & (POLLHUP | POLLERR | POLLNVAL)) {
			/* the host end is not connected (yet, or any more) */
			return;
		}
	}
}

static void *relay_run(void *arg)
{
	struct pvk_http_client *c = arg;

	for (;;) {
		struct pollfd p[2] = { { .fd = c->lfd, .events = POLLIN },
				       { .fd = c->stop[0], .events = POLLIN } };
		int conn;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		conn = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (conn < 0)
			continue;
		relay_one(c, conn);
		close(conn);
	}
	return NULL;
}

static int relay_start(struct pvk_http_client *c, char *why, size_t why_len)
{
	const char *tmp = getenv("TMPDIR");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	c->lfd = c->stop[0] = c->stop[1] = -1;
	snprintf(c->dir, sizeof(c->dir), "%s/pvkit-http.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(c->dir)) {
		/* an initramfs may have no /tmp */
		snprintf(c->dir, sizeof(c->dir), "/run/pvkit-http.XXXXXX");
		if (!mkdtemp(c->dir)) {
			snprintf(why, why_len, "cannot make a private directory for the relay: %s",
				 strerror(errno));
			c->dir[0] = 0;
			return -1;
		}
	}
	snprintf(c->sock, sizeof(c->sock), "%s/s", c->dir);
	if (strlen(c->sock) >= sizeof(sa.sun_path)) {
		snprintf(why, why_len, "%s: path too long", c->sock);
		return -1;
	}
	strcpy(sa.sun_path, c->sock);
	if ((c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0 ||
	    bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(c->lfd, 4) ||
	    pipe2(c->stop, O_CLOEXEC)) {
		snprintf(why, why_len, "%s: cannot listen: %s", c->sock, strerror(errno));
		return -1;
	}
	if (pthread_create(&c->t, NULL, relay_run, c)) {
		snprintf(why, why_len, "cannot start the relay thread");
		return -1;
	}
	c->running = 1;
	return 0;
}

static void relay_stop(struct pvk_http_client *c)
{
	if (c->running) {
		if (write(c->stop[1], "x", 1) < 0) {
			/* the pipe cannot be full: one byte, once */
		}
		pthread_join(c->t, NULL);
		c->running = 0;
	}
	if (c->lfd >= 0)
		close(c->lfd);
	if (c->stop[0] >= 0)
		close(c->stop[0]);
	if (c->stop[1] >= 0)
		close(c->stop[1]);
	if (c->sock[0])
		unlink(c->sock);
	if (c->dir[0])
		rmdir(c->dir);
}

int pvk_http_client_new(const char *via, struct pvk_http_client **out, char *why,
			size_t why_len)
{
	struct pvk_http_client *c;

	*out = NULL;
	if (!curl_ready(why, why_len))
		return -1;
	if (!(c = calloc(1, sizeof(*c)))) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	c->vfd = c->lfd = c->stop[0] = c->stop[1] = -1;
	if (via) {
		struct pvk_err e;
		char dev[256];

		if (!strncmp(via, "vport:", 6))
			via += 6;
		c->vfd = pvk_vport_open(via, 30000, dev, sizeof(dev), &e);
		if (c->vfd < 0) {
			snprintf(why, why_len, "%s", e.msg);
			free(c);
			return -1;
		}
		if (relay_start(c, why, why_len)) {
			pvk_http_client_free(c);
			return -1;
		}
	}
	if (!(c->h = cu.easy_init())) {
		snprintf(why, why_len, "cannot initialise libcurl");
		pvk_http_client_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void pvk_http_client_free(struct pvk_http_client *c)
{
	if (!c)
		return;
	if (c->h)
		cu.easy_cleanup(c->h);  /* closes libcurl's connection first */
	relay_stop(c);
	if (c->vfd >= 0)
		close(c->vfd);
	free(c);
}

int pvk_http_client_request(struct pvk_http_client *c, const struct pvk_http_request *req,
			    struct pvk_http_response *out, char *why, size_t why_len)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct body b = { .max = req->max_size };
	struct curl_slist *hdrs = NULL;
	CURLcode rc;
	CURL *h = c->h;

	memset(out, 0, sizeof(*out));
	for (const char *const *l = req->headers; l && *l; l++)
		hdrs = cu.slist_append(hdrs, *l);
	cu.easy_setopt(h, CURLOPT_URL, req->url);
	if (req->body) {
		cu.easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
		cu.easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
	} else {
		cu.easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	cu.easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (c->vfd >= 0) {
		/* The port is the connection (through the relay): no redirect elsewhere. */
		cu.easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->sock);
		cu.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
		cu.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	} else {
		cu.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
		cu.easy_setopt(h, CURLOPT_MAXREDIRS, req->max_redirects);
		cu.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
		cu.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	}
	cu.easy_setopt(h, CURLOPT_TIMEOUT, req->timeout_s);
	cu.easy_setopt(h, CURLOPT_USERAGENT, req->user_agent);
	cu.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	cu.easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	cu.easy_setopt(h, CURLOPT_WRITEDATA, &b);
	rc = cu.easy_perform(h);
	if (rc == CURLE_OK)
		cu.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	cu.easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	cu.easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	cu.slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		if (b.too_big)
			snprintf(why, why_len, "larger than %zu bytes", req->max_size);
		else
			snprintf(why, why_len, "%s", errbuf[0] ? errbuf : cu.easy_strerror(rc));
		free(b.data);
		return -1;
	}
	if (!b.data && !(b.data = calloc(1, 1))) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	out->data = b.data;
	out->len = b.len;
	return 0;
}

int pvk_http_request(const struct pvk_http_request *req, struct pvk_http_response *out,
		     char *why, size_t why_len)
{
	struct pvk_http_client *c;
	int rc;

	memset(out, 0, sizeof(*out));
	if (pvk_http_client_new(NULL, &c, why, why_len))
		return -1;
	rc = pvk_http_client_request(c, req, out, why, why_len);
	pvk_http_client_free(c);
	return rc;
}
