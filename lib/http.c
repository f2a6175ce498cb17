// SPDX-License-Identifier: MIT
/* The one HTTP client: libcurl, HTTP(S) only (redirects too), bounded size and time.
 * libcurl and the ~30 libraries it pulls in are loaded on the first request (dlopen), so a
 * command that downloads nothing does not pay for loading them at start-up (issue 12). */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "pvkit/http.h"

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

int pvk_http_request(const struct pvk_http_request *req, struct pvk_http_response *out,
		     char *why, size_t why_len)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct body b = { .max = req->max_size };
	struct curl_slist *hdrs = NULL;
	CURLcode rc;
	CURL *h;

	memset(out, 0, sizeof(*out));
	if (!curl_ready(why, why_len))
		return -1;
	if (!(h = cu.easy_init())) {
		snprintf(why, why_len, "cannot initialise libcurl");
		return -1;
	}
	for (const char *const *l = req->headers; l && *l; l++)
		hdrs = cu.slist_append(hdrs, *l);
	cu.easy_setopt(h, CURLOPT_URL, req->url);
	if (req->body) {
		cu.easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
		cu.easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
	} else {
		cu.easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	if (hdrs)
		cu.easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	cu.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	cu.easy_setopt(h, CURLOPT_MAXREDIRS, req->max_redirects);
	cu.easy_setopt(h, CURLOPT_TIMEOUT, req->timeout_s);
	cu.easy_setopt(h, CURLOPT_USERAGENT, req->user_agent);
	cu.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	cu.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	cu.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	cu.easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	cu.easy_setopt(h, CURLOPT_WRITEDATA, &b);
	rc = cu.easy_perform(h);
	if (rc == CURLE_OK)
		cu.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	cu.easy_cleanup(h);
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
