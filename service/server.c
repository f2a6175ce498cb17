// SPDX-License-Identifier: MIT
/* libmicrohttpd under the API: bodies collected within limits, content types checked, one
 * database connection per server thread, one log line per request (never a body). Slow and
 * half-open clients are cut by the connection timeout; the pool's threads keep answering. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "pvkit/crypto.h"
#include "pvkit/fileio.h"

#include "pvattestd.h"

struct req {
	char *buf;
	size_t len;
	size_t seen;      /* bytes of body received, kept or not */
	int too_big;
	struct timespec t0;
};

static pthread_key_t db_key;
static pthread_once_t db_once = PTHREAD_ONCE_INIT;

static void db_key_free(void *p)
{
	db_close(p);
}

static void db_key_make(void)
{
	pthread_key_create(&db_key, db_key_free);
}

/* This thread's connection, opened on first use (and again after it failed to open). */
static struct db *thread_db(struct service *s, struct pvk_err *e)
{
	struct db *d;

	pthread_once(&db_once, db_key_make);
	d = pthread_getspecific(db_key);
	if (!d && db_open(s->cfg->database, &d, e) == 0)
		pthread_setspecific(db_key, d);
	return d;
}

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* One line per request, written with one write(2) so lines of threads do not mix. */
static void log_request(struct service *s, const char *method, const char *url, int status,
			double sec, const char *event, const char *detail)
{
	char ts[32], *line = NULL;
	size_t len = 0;
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!(f = open_memstream(&line, &len)))
		return;
	if (s->cfg->log_json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "ts", json_object_new_string(ts));
		json_object_object_add(o, "level", json_object_new_string(
			status >= 500 ? "error" : status >= 400 ? "warning" : "info"));
		json_object_object_add(o, "node", json_object_new_string(s->cfg->node));
		json_object_object_add(o, "method", json_object_new_string(method));
		json_object_object_add(o, "path", json_object_new_string(url));
		json_object_object_add(o, "status", json_object_new_int(status));
		char ms[32];

		snprintf(ms, sizeof(ms), "%.3f", sec * 1e3);
		json_object_object_add(o, "ms", json_object_new_double_s(sec * 1e3, ms));
		if (event)
			json_object_object_add(o, "event", json_object_new_string(event));
		if (detail && *detail)
			json_object_object_add(o, "detail", json_object_new_string(detail));
		fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		fprintf(f, "%s %s %s %s %d %.3fms%s%s\n", ts, s->cfg->node, method, url, status,
			sec * 1e3, detail && *detail ? " " : "", detail ? detail : "");
	}
	if (!fclose(f) && pvk_fd_write_full(2, line, len)) {
		/* stderr gone: nothing else to tell */
	}
	free(line);
}

/* libmicrohttpd's own messages (a connection dropped, a bad request line) as log lines. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = 0;
	log_request(cls, "-", "-", 0, 0, "http", msg);
}

static enum MHD_Result send_answer(struct MHD_Connection *c, int status, const char *ctype,
				   char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body,
								 MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static int is_json(const char *ct)
{
	size_t n = strlen("application/json");

	return ct && !strncasecmp(ct, "application/json", n) && (!ct[n] || ct[n] == ';' || ct[n] == ' ');
}

static int admin_ok(struct service *s, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	size_t n = strlen(s->admin_token);

	if (!h || strncmp(h, "Bearer ", 7) || !n || strlen(h + 7) != n)
		return 0;
	return pvk_ct_equal(h + 7, s->admin_token, n);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_len, void **con_cls)
{
	struct service *s = cls;
	struct req *q = *con_cls;
	struct api_answer a;
	struct pvk_err e;
	struct db *d;
	int body_method = !strcmp(method, "POST") || !strcmp(method, "PUT");
	char *b;

	(void)version;
	if (!q) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);

		if (!(q = calloc(1, sizeof(*q))))
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &q->t0);
		*con_cls = q;
		/* Refused before the body is read: too large, or not JSON. */
		if (cl && strtoull(cl, NULL, 10) > (unsigned long long)s->cfg->max_body)
			q->too_big = 1;
		return MHD_YES;
	}
	if (*upload_len) {
		/* A body far over the limit is not read to its end: the connection is dropped. */
		q->seen += *upload_len;
		if (q->seen > 4 * (size_t)s->cfg->max_body)
			return MHD_NO;
		if (!q->too_big && q->len + *upload_len <= (size_t)s->cfg->max_body) {
			char *nb = realloc(q->buf, q->len + *upload_len + 1);

			if (!nb)
				return MHD_NO;
			memcpy(nb + q->len, upload, *upload_len);
			q->buf = nb;
			q->len += *upload_len;
			q->buf[q->len] = 0;
		} else {
			q->too_big = 1;
		}
		*upload_len = 0;
		return MHD_YES;
	}
	memset(&a, 0, sizeof(a));
	if (!strcmp(url, "/metrics")) {
		a.status = strcmp(method, "GET") ? 405 : 200;
		b = a.status == 200 ? metrics_render(s->m) : strdup("use GET\n");
		metrics_count_request(s->m, a.status, since(&q->t0));
		return b ? send_answer(c, a.status, "text/plain; version=0.0.4", b) : MHD_NO;
	}
	if (q->too_big) {
		a.status = 413;
		snprintf(a.reason, sizeof(a.reason), "the body is larger than %ld bytes",
			 s->cfg->max_body);
	} else if (body_method &&
		   !is_json(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							MHD_HTTP_HEADER_CONTENT_TYPE))) {
		a.status = 415;
		snprintf(a.reason, sizeof(a.reason), "the body must be application/json");
	}
	if (a.status) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "error", json_object_new_string(
			a.status == 413 ? "payload too large" : "unsupported media type"));
		json_object_object_add(o, "reason", json_object_new_string(a.reason));
		b = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		pvk_err_clear(&e);
		d = thread_db(s, &e);
		if (!d)
			log_request(s, method, url, 503, since(&q->t0), "database", e.msg);
		api_handle(s, d, method, url, q->buf ? q->buf : "", q->len,
			   MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key"),
			   admin_ok(s, c),
			   MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "image"), &a);
		b = a.body;
		if (a.event && a.status < 500)
			metrics_count_event(s->m, a.event,
					    a.status < 300 ? (!strcmp(a.event, "challenge") ? "created" :
							      !strcmp(a.event, "image") ? "registered" :
							      "verified")
						       : "refused");
		if (a.event && !strcmp(a.event, "retry"))
			metrics_count_event(s->m, "attestation", "retry-answered");
	}
	if (!b)
		return MHD_NO;
	metrics_count_request(s->m, a.status, since(&q->t0));
	log_request(s, method, url, a.status, since(&q->t0), a.event, a.reason);
	return send_answer(c, a.status, "application/json", b);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct req *q = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (q) {
		/* a registration's body holds the secrets it registers */
		if (q->buf)
			pvk_buf_free_secret(q->buf, q->len);
		free(q);
		*con_cls = NULL;
	}
}

/* "unix:PATH" or "HOST:PORT" ("[V6]:PORT"); port 0 picks a free one (see --port-file). */
static int listen_on(const char *spec, int *port, struct pvk_err *e)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	*port = 0;
	if (!strncmp(spec, "unix:", 5)) {
		struct sockaddr_un *su = (struct sockaddr_un *)&ss;

		if (strlen(spec + 5) >= sizeof(su->sun_path))
			return pvk_fail(e, PVK_E_USAGE, "listen: %s: path too long", spec + 5);
		su->sun_family = AF_UNIX;
		strcpy(su->sun_path, spec + 5);
		unlink(spec + 5);
		sl = sizeof(*su);
	} else {
		char host[128];
		const char *colon = strrchr(spec, ':');
		char *end;
		long p;

		if (!colon || (size_t)(colon - spec) >= sizeof(host))
			return pvk_fail(e, PVK_E_USAGE, "listen: '%s': expected HOST:PORT or unix:PATH",
					spec);
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = 0;
		p = strtol(colon + 1, &end, 10);
		if (*end || p < 0 || p > 65535 || end == colon + 1)
			return pvk_fail(e, PVK_E_USAGE, "listen: '%s': bad port", spec);
		if (host[0] == '[') {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			host[strlen(host) - 1] = 0;
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)p);
			if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
				return pvk_fail(e, PVK_E_USAGE, "listen: '%s': bad address", spec);
			sl = sizeof(*s6);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)p);
			if (inet_pton(AF_INET, !strcmp(host, "localhost") ? "127.0.0.1" : host,
				      &s4->sin_addr) != 1)
				return pvk_fail(e, PVK_E_USAGE, "listen: '%s': bad address (numeric "
						"IPv4, [IPv6] or localhost)", spec);
			sl = sizeof(*s4);
		}
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return pvk_fail(e, PVK_E_IO, "listen: %s: %s", spec, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 1024)) {
		int err = errno;

		close(fd);
		return pvk_fail(e, PVK_E_IO, "listen: %s: %s", spec, strerror(err));
	}
	if (ss.ss_family != AF_UNIX) {
		sl = sizeof(ss);
		getsockname(fd, (struct sockaddr *)&ss, &sl);
		*port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return fd;
}

int server_run(struct service *s, const char *port_file, struct pvk_err *e)
{
	struct MHD_Daemon *daemon;
	sigset_t set;
	int fd, port, sig;

	fd = listen_on(s->cfg->listen, &port, e);
	if (fd < 0)
		return -1;
	/* The signals that stop the server are taken by this thread alone. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
				  MHD_USE_ERROR_LOG, 0, NULL, NULL, handler, s,
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->cfg->threads,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->cfg->conn_timeout,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->cfg->max_connections,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
				  MHD_OPTION_NOTIFY_COMPLETED, completed, s,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_END);
	if (!daemon) {
		close(fd);
		return pvk_fail(e, PVK_E_IO, "listen: %s: cannot start the HTTP server", s->cfg->listen);
	}
	if (port_file) {
		char buf[16];

		snprintf(buf, sizeof(buf), "%d\n", port);
		if (pvk_file_write_all(port_file, buf, strlen(buf), OUTFILE_OVERWRITE, e)) {
			MHD_stop_daemon(daemon);
			close(fd);
			return -1;
		}
	}
	{
		char line[512];

		snprintf(line, sizeof(line), "listening on %s (port %d), %ld threads, schema %d",
			 s->cfg->listen, port, s->cfg->threads, STORE_SCHEMA_VERSION);
		log_request(s, "-", "-", 0, 0, "start", line);
	}
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
		;  /* nothing is cached to reload: the trust files are read per challenge */
	log_request(s, "-", "-", 0, 0, "stop", sig == SIGINT ? "SIGINT" : "SIGTERM");
	MHD_stop_daemon(daemon);
	close(fd);
	return 0;
}
