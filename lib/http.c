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

/* ---- the vport transport: libcurl's connection is one end of a socket pair, and a thread
 * copies between the other end and the port (libcurl cannot use a character device). ---- */

struct pump {
	pthread_t t;
	int sp;       /* our end of the socket pair */
	int vfd;      /* the port (not ours: the client keeps it open across connections) */
	int stop[2];  /* a pipe: written when libcurl closes its end */
};

/* Write all of len bytes to a non-blocking fd; -1 on error. */
static int pump_write(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd w = { .fd = fd, .events = POLLOUT };

			if (poll(&w, 1, 30000) <= 0 || (w.revents & (POLLERR | POLLHUP | POLLNVAL)))
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

static void *pump_run(void *arg)
{
	struct pump *pm = arg;
	uint8_t buf[16384];

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = pm->sp, .events = POLLIN },
			{ .fd = pm->vfd, .events = POLLIN },
			{ .fd = pm->stop[0], .events = POLLIN },
		};
		ssize_t n;

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[2].revents)
			break;
		if (p[0].revents) {
			n = read(pm->sp, buf, sizeof(buf));
			if (n <= 0 || pump_write(pm->vfd, buf, (size_t)n))
				break;
		}
		if (p[1].revents & POLLIN) {
			n = read(pm->vfd, buf, sizeof(buf));
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0 || pump_write(pm->sp, buf, (size_t)n))
				break;
		} else if (p[1].revents & (POLLHUP | POLLERR | POLLNVAL)) {
			/* The host end is not connected (yet, or any more). */
			break;
		}
	}
	shutdown(pm->sp, SHUT_RDWR);
	return NULL;
}

struct pvk_http_client {
	CURL *h;
	int vfd;          /* the port, or -1 for TCP */
	struct pump *pump;
};

static void pump_end(struct pvk_http_client *c)
{
	struct pump *pm = c->pump;

	if (!pm)
		return;
	if (write(pm->stop[1], "x", 1) < 0) {
		/* the thread ends when libcurl's end is closed anyway */
	}
	pthread_join(pm->t, NULL);
	close(pm->sp);
	close(pm->stop[0]);
	close(pm->stop[1]);
	free(pm);
	c->pump = NULL;
}

static curl_socket_t via_open(void *ctx, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct pvk_http_client *c = ctx;
	struct pump *pm;
	int sp[2];

	(void)purpose;
	(void)addr;
	pump_end(c);  /* one connection at a time over the port */
	if (!(pm = calloc(1, sizeof(*pm))))
		return CURL_SOCKET_BAD;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp)) {
		free(pm);
		return CURL_SOCKET_BAD;
	}
	if (pipe2(pm->stop, O_CLOEXEC)) {
		close(sp[0]);
		close(sp[1]);
		free(pm);
		return CURL_SOCKET_BAD;
	}
	pm->sp = sp[1];
	pm->vfd = c->vfd;
	if (pthread_create(&pm->t, NULL, pump_run, pm)) {
		close(sp[0]);
		close(sp[1]);
		close(pm->stop[0]);
		close(pm->stop[1]);
		free(pm);
		return CURL_SOCKET_BAD;
	}
	c->pump = pm;
	return sp[0];
}

static int via_sockopt(void *ctx, curl_socket_t fd, curlsocktype purpose)
{
	(void)ctx;
	(void)fd;
	(void)purpose;
	return CURL_SOCKOPT_ALREADY_CONNECTED;
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
	c->vfd = -1;
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
		cu.easy_cleanup(c->h);  /* closes libcurl's end of a connection first */
	pump_end(c);
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
		/* The port is the connection: no redirect elsewhere, no second connection. */
		cu.easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, via_open);
		cu.easy_setopt(h, CURLOPT_OPENSOCKETDATA, c);
		cu.easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, via_sockopt);
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
