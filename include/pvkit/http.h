/* SPDX-License-Identifier: MIT */
/* The one HTTP client of pvkit (libcurl): CRL downloads and IBM's firmware check. */
#ifndef PVKIT_HTTP_H
#define PVKIT_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct pvk_http_request {
	const char *url;
	const char *body;              /* POST this (body_len bytes); NULL: GET */
	size_t body_len;
	const char *const *headers;    /* "Name: value" lines, NULL-terminated, or NULL */
	const char *user_agent;
	long timeout_s;                /* the whole transfer */
	long max_redirects;            /* redirects followed (HTTP and HTTPS only) */
	size_t max_size;               /* a larger answer is refused */
};

struct pvk_http_response {
	uint8_t *data;                 /* malloc'd, NUL-terminated; the caller frees it */
	size_t len;
	long status;                   /* the HTTP status of the last response */
};

/* Perform the request. 0: an answer came (any status; out holds it); -1: none did, and why
 * says so in a few words (libcurl's reason, "larger than N bytes", ...). */
int pvk_http_request(const struct pvk_http_request *req, struct pvk_http_response *out,
		     char *why, size_t why_len);

#endif
