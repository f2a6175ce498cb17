/* SPDX-License-Identifier: MIT */
/* The one HTTP client of pvkit (libcurl): CRL downloads, IBM's firmware check, pvattestd's
 * clients. */
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

/* A client that keeps its connection open between requests (HTTP keep-alive). via: NULL
 * for a connection as the URL says, or a virtio-serial port ("vport:NAME" or a device path,
 * see pvk_vport_open) whose host end is connected to the server: a guest's channel to a
 * service on the host, with no guest network. Not thread-safe: one client per thread. */
struct pvk_http_client;
int pvk_http_client_new(const char *via, struct pvk_http_client **c, char *why, size_t why_len);
int pvk_http_client_request(struct pvk_http_client *c, const struct pvk_http_request *req,
			    struct pvk_http_response *out, char *why, size_t why_len);
void pvk_http_client_free(struct pvk_http_client *c);

#endif
