// SPDX-License-Identifier: MIT
/* The one HTTP client: libcurl, HTTP(S) only (redirects too), bounded size and time. */
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

/* curl_global_init once per process, before any thread could race it. */
static int curl_ready(void)
{
	static int done;

	if (!done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return 0;
		atexit(curl_global_cleanup);
		done = 1;
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
	if (!curl_ready() || !(h = curl_easy_init())) {
		snprintf(why, why_len, "cannot initialise libcurl");
		return -1;
	}
	for (const char *const *l = req->headers; l && *l; l++)
		hdrs = curl_slist_append(hdrs, *l);
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	if (req->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	if (hdrs)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, req->max_redirects);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, req->timeout_s);
	curl_easy_setopt(h, CURLOPT_USERAGENT, req->user_agent);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		if (b.too_big)
			snprintf(why, why_len, "larger than %zu bytes", req->max_size);
		else
			snprintf(why, why_len, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
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
