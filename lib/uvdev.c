// SPDX-License-Identifier: MIT
/* The UV device layer: the same calls over the kernel's ioctls or a uvsim endpoint. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/uvdev.h"
#include "pvkit/uvio.h"
#include "pvkit/uvproto.h"

enum backend { BACKEND_KERNEL, BACKEND_UVSIM, BACKEND_VPORT };

#define VPORT_PREFIX "vport:"
#define VPORT_CLASS "/sys/class/virtio-ports"
#define VPORT_BUSY_WAIT_MS 20     /* between tries while another process has the port */
#define VPORT_RESYNC_MS 2000      /* a SYNC unanswered this long is sent again */
#define VPORT_SYNC_TRIES 15

struct uvdev {
	enum backend backend;
	int fd;
	char name[256];
	long long deadline;       /* vport: when the current step must be done (ms) */
	int broken;               /* a transport failure left the stream out of step */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int connect_socket(const char *path, struct pvk_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 30 };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return pvk_fail(e, PVK_E_IO, "%s: socket path too long", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return pvk_fail(e, PVK_E_IO, "%s: cannot create socket: %s", path, strerror(errno));
	/* A stuck endpoint must not hang a tool forever. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = errno;

		close(fd);
		return pvk_fail(e, PVK_E_IO, "%s: cannot connect to the uvsim guest endpoint: %s",
				path, strerror(err));
	}
	return fd;
}

/* ---- vport backend: opening and resynchronising the stream ---- */

/* The device node of the virtio-serial port called name (/sys/class/virtio-ports/X/name). */
static int find_vport(const char *name, char *dev, size_t len, struct pvk_err *e)
{
	DIR *dir = opendir(VPORT_CLASS);
	struct dirent *de;
	int found = 0;

	if (!dir)
		return pvk_fail(e, PVK_E_IO, "vport:%s: no virtio-serial ports (%s: %s; is "
				"virtio_console loaded?)", name, VPORT_CLASS, strerror(errno));
	while (!found && (de = readdir(dir))) {
		char path[512], buf[256] = "";
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), VPORT_CLASS "/%s/name", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f)) {
			buf[strcspn(buf, "\n")] = 0;
			if (!strcmp(buf, name)) {
				snprintf(dev, len, "/dev/%.200s", de->d_name);
				found = 1;
			}
		}
		fclose(f);
	}
	closedir(dir);
	if (!found)
		return pvk_fail(e, PVK_E_IO, "vport:%s: no virtio-serial port of that name (was the "
				"guest booted by uvsim boot --qemu%s?)", name,
				strcmp(name, UVDEV_VPORT_NAME) ? " with this port" : "");
	return 0;
}

/* Wait until fd is ready for events or the step's deadline passes: 1 ready, 0 timed out. */
static int wait_fd(struct uvdev *d, short events, long long until)
{
	for (;;) {
		struct pollfd p = { .fd = d->fd, .events = events };
		long long left = until - now_ms();
		int n;

		if (left <= 0)
			return 0;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 0;
		if (n > 0)
			return 1;
	}
}

/* Write all of buf by the deadline (the port blocks writes while the host is away). */
static int vport_write(struct uvdev *d, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(d->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!wait_fd(d, POLLOUT, d->deadline)) {
				errno = ETIMEDOUT;
				return -1;
			}
			continue;
		}
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read up to len bytes by until: > 0 bytes read, 0 the host side is not connected (the port
 * reads as end of file), -1 timed out or failed. */
static ssize_t vport_read_some(struct uvdev *d, void *buf, size_t len, long long until)
{
	for (;;) {
		ssize_t n = read(d->fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!wait_fd(d, POLLIN, until)) {
				errno = ETIMEDOUT;
				return -1;
			}
			continue;
		}
		return n;
	}
}

static int vport_read(struct uvdev *d, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = vport_read_some(d, p, len, d->deadline);

		if (n == 0)
			errno = ECONNRESET;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The 32 bytes that answer a SYNC with this nonce. */
static void sync_answer(const uint8_t nonce[UVPROTO_SYNC_LEN], uint8_t out[UVPROTO_RSP_HDR + UVPROTO_SYNC_LEN])
{
	struct uvproto_rsp rsp = { .uv_rc = UVC_RC_SUCCESS, .out_len = UVPROTO_SYNC_LEN };

	pvk_uvproto_rsp_encode(&rsp, out);
	memcpy(out + UVPROTO_RSP_HDR, nonce, UVPROTO_SYNC_LEN);
}

/* Skip whatever earlier users of the port left in the stream: send a SYNC with a fresh nonce
 * and read up to its answer. A SYNC can be swallowed as the body of a request a killed
 * process left half-sent (the endpoint then drops that connection after its timeout and QEMU
 * reconnects), so an unanswered one is sent again with a new nonce; the stream is ours once
 * the answer to the latest one has been read (answers come in order). */
static int vport_sync(struct uvdev *d, struct pvk_err *e)
{
	enum { ANS = UVPROTO_RSP_HDR + UVPROTO_SYNC_LEN };
	uint8_t want[VPORT_SYNC_TRIES][ANS], win[ANS], buf[4096];
	size_t have = 0;
	int sent = 0;
	long long resend = 0;

	for (;;) {
		ssize_t n;

		if (now_ms() >= d->deadline)
			return pvk_fail(e, PVK_E_IO, "%s: no answer from the uvsim endpoint",
					d->name);
		if (now_ms() >= resend && sent < VPORT_SYNC_TRIES) {
			struct uvproto_req req = { .nr = UVPROTO_NR_SYNC, .in_len = UVPROTO_SYNC_LEN,
						   .out_cap = UVPROTO_SYNC_LEN };
			uint8_t msg[UVPROTO_REQ_HDR + UVPROTO_SYNC_LEN], nonce[UVPROTO_SYNC_LEN];

			if (pvk_random(nonce, sizeof(nonce), e))
				return -1;
			pvk_uvproto_req_encode(&req, msg);
			memcpy(msg + UVPROTO_REQ_HDR, nonce, sizeof(nonce));
			/* One write: the port passes it whole, never interleaved. */
			if (vport_write(d, msg, sizeof(msg)))
				return pvk_fail(e, PVK_E_IO, "%s: cannot send the request: %s",
						d->name, strerror(errno));
			sync_answer(nonce, want[sent++]);
			resend = now_ms() + VPORT_RESYNC_MS;
		}
		n = vport_read_some(d, buf, sizeof(buf),
				    resend < d->deadline ? resend : d->deadline);
		if (n == 0) {
			/* The host side is reconnecting: its answer will come later. */
			sleep_ms(50);
			continue;
		}
		if (n < 0) {
			if (errno == ETIMEDOUT)
				continue;
			return pvk_fail(e, PVK_E_IO, "%s: cannot read: %s", d->name, strerror(errno));
		}
		for (ssize_t i = 0; i < n; i++) {
			if (have == ANS)
				memmove(win, win + 1, --have);
			win[have++] = buf[i];
			if (have == ANS && !memcmp(win, want[sent - 1], ANS))
				return 0;
		}
	}
}

int pvk_vport_open(const char *spec, long timeout_ms, char *dev, size_t dev_len,
		   struct pvk_err *e)
{
	long long deadline = now_ms() + timeout_ms;
	struct stat st;
	int fd;

	if (strchr(spec, '/'))
		snprintf(dev, dev_len, "%s", spec);
	else if (find_vport(spec, dev, dev_len, e))
		return -1;
	if (!stat(dev, &st) && S_ISSOCK(st.st_mode)) {
		/* A stream socket stands in for the port (QEMU's side of it): for tests. */
		fd = connect_socket(dev, e);
		if (fd >= 0 && fcntl(fd, F_SETFL, O_NONBLOCK)) {
			pvk_fail(e, PVK_E_IO, "%s: %s", dev, strerror(errno));
			close(fd);
			return -1;
		}
		return fd;
	}
	/* The port admits one process at a time (EBUSY): wait for our turn. */
	while ((fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0 && errno == EBUSY &&
	       now_ms() < deadline)
		sleep_ms(VPORT_BUSY_WAIT_MS);
	if (fd < 0)
		return pvk_fail(e, PVK_E_IO, "%s: cannot open the port: %s", dev,
				errno == EBUSY ? "still in use by another process" : strerror(errno));
	return fd;
}

static int open_vport(const char *spec, struct uvdev **out, struct pvk_err *e)
{
	struct uvdev *d = calloc(1, sizeof(*d));

	if (!d)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	d->backend = BACKEND_VPORT;
	d->deadline = now_ms() + UVDEV_VPORT_TIMEOUT_MS;
	if (!*spec)
		spec = UVDEV_VPORT_NAME;
	d->fd = pvk_vport_open(spec, UVDEV_VPORT_TIMEOUT_MS, d->name, sizeof(d->name), e);
	if (d->fd < 0)
		goto fail;
	if (vport_sync(d, e))
		goto fail;
	*out = d;
	return 0;
fail:
	if (d->fd >= 0)
		close(d->fd);
	free(d);
	return -1;
}

int pvk_uvdev_open(const char *path, struct uvdev **out, struct pvk_err *e)
{
	const char *env = getenv(UVDEV_ENV);
	struct uvdev *d;
	struct stat st;
	int uvsim = 0;

	*out = NULL;
	if (!path)
		path = env && *env ? env : UVDEV_DEFAULT;
	if (!strncmp(path, VPORT_PREFIX, strlen(VPORT_PREFIX)))
		return open_vport(path + strlen(VPORT_PREFIX), out, e);
	if (!strncmp(path, "uvsim:", 6)) {
		path += 6;
		uvsim = 1;
	} else if (!stat(path, &st) && S_ISSOCK(st.st_mode)) {
		uvsim = 1;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	snprintf(d->name, sizeof(d->name), "%s", path);
	d->backend = uvsim ? BACKEND_UVSIM : BACKEND_KERNEL;
	if (uvsim) {
		d->fd = connect_socket(path, e);
	} else {
		d->fd = open(path, O_RDWR | O_CLOEXEC);
		if (d->fd < 0)
			pvk_fail(e, PVK_E_IO,
				 "%s: cannot open the UV device: %s (is this a Secure Execution guest? "
				 "Set %s=uvsim:SOCKET for the software ultravisor)",
				 path, strerror(errno), UVDEV_ENV);
	}
	if (d->fd < 0) {
		free(d);
		return -1;
	}
	*out = d;
	return 0;
}

void pvk_uvdev_close(struct uvdev *d)
{
	if (!d)
		return;
	close(d->fd);
	free(d);
}

const char *pvk_uvdev_name(const struct uvdev *d)
{
	return d->name;
}

/* ---- kernel backend ---- */

static int kernel_call(struct uvdev *d, unsigned nr, void *arg, uint32_t len,
		       struct uvdev_rc *rc, struct pvk_err *e)
{
	struct uvio_ioctl_cb cb;

	memset(&cb, 0, sizeof(cb));
	cb.argument_addr = (uint64_t)(uintptr_t)arg;
	cb.argument_len = len;
	if (ioctl(d->fd, UVIO_IOCTL(nr), &cb)) {
		int err = errno;

		pvk_fail(e, PVK_E_IO, "%s: UV call %u failed: %s", d->name, nr, strerror(err));
		e->sys_errno = err;
		return -1;
	}
	rc->rc = cb.uv_rc;
	rc->rrc = cb.uv_rrc;
	return 0;
}

/* ---- uvsim backend ---- */

static int stream_write(struct uvdev *d, const void *buf, size_t len)
{
	return d->backend == BACKEND_VPORT ? vport_write(d, buf, len) :
					     pvk_fd_write_full(d->fd, buf, len);
}

static int stream_read(struct uvdev *d, void *buf, size_t len)
{
	return d->backend == BACKEND_VPORT ? vport_read(d, buf, len) :
					     pvk_fd_read_full(d->fd, buf, len);
}

/* One exchange on the socket. A transport failure leaves the stream out of step, so the
 * connection is shut down and later calls on this handle fail cleanly. */
static int uvsim_exchange(struct uvdev *d, unsigned nr, const uint8_t *in, uint32_t in_len,
			  uint8_t *out, uint32_t out_cap, struct uvproto_rsp *rsp,
			  struct pvk_err *e)
{
	struct uvproto_req req = { .nr = nr, .in_len = in_len, .out_cap = out_cap };
	uint8_t hdr[UVPROTO_REQ_HDR], rhdr[UVPROTO_RSP_HDR];

	pvk_uvproto_req_encode(&req, hdr);
	d->deadline = now_ms() + UVDEV_VPORT_TIMEOUT_MS;
	if (stream_write(d, hdr, sizeof(hdr)) || (in_len && stream_write(d, in, in_len)))
		return pvk_fail(e, PVK_E_IO, "%s: cannot send the request: %s", d->name,
				strerror(errno));
	if (stream_read(d, rhdr, sizeof(rhdr)))
		return pvk_fail(e, PVK_E_IO, "%s: no answer from the uvsim endpoint", d->name);
	if (pvk_uvproto_rsp_decode(rhdr, rsp, e))
		return pvk_wrap(e, "%s", d->name);
	if (rsp->out_len > out_cap)
		return pvk_fail(e, PVK_E_FORMAT, "%s: answer larger than the buffer", d->name);
	if (rsp->out_len && stream_read(d, out, rsp->out_len))
		return pvk_fail(e, PVK_E_IO, "%s: answer truncated", d->name);
	return 0;
}

static int uvsim_call(struct uvdev *d, unsigned nr, const uint8_t *in, uint32_t in_len,
		      uint8_t *out, uint32_t out_cap, uint32_t *out_len, struct uvdev_rc *rc,
		      struct pvk_err *e)
{
	struct uvproto_rsp rsp;

	if (d->broken)
		return pvk_fail(e, PVK_E_IO, "%s: the channel is out of step after an earlier "
				"failure", d->name);
	if (uvsim_exchange(d, nr, in, in_len, out, out_cap, &rsp, e)) {
		shutdown(d->fd, SHUT_RDWR);
		d->broken = 1;
		return -1;
	}
	if (out_len)
		*out_len = rsp.out_len;
	if (rsp.err) {
		pvk_fail(e, PVK_E_IO, "%s: UV call %u failed: %s", d->name, nr, strerror((int)rsp.err));
		e->sys_errno = (int)rsp.err;
		return -1;
	}
	rc->rc = rsp.uv_rc;
	rc->rrc = rsp.uv_rrc;
	return 0;
}

int pvk_uvdev_info(struct uvdev *d, uint64_t *supp_uvio, uint64_t *supp_uv, struct uvdev_rc *rc,
	       struct pvk_err *e)
{
	uint8_t out[16];
	uint32_t n = 0;

	if (d->backend == BACKEND_KERNEL) {
		struct uvio_uvdev_info info = { 0 };

		if (kernel_call(d, UVIO_NR_INFO, &info, sizeof(info), rc, e))
			return -1;
		*supp_uvio = info.supp_uvio_cmds;
		*supp_uv = info.supp_uv_cmds;
		return 0;
	}
	if (uvsim_call(d, UVIO_NR_INFO, NULL, 0, out, sizeof(out), &n, rc, e))
		return -1;
	if (n != sizeof(out))
		return pvk_fail(e, PVK_E_FORMAT, "%s: info answer of %u bytes", d->name, n);
	*supp_uvio = get_be64(out);
	*supp_uv = get_be64(out + 8);
	return 0;
}

int pvk_uvdev_attest(struct uvdev *d, struct pvk_uvdev_attest *a, struct uvdev_rc *rc, struct pvk_err *e)
{
	uint8_t *in, *out;
	uint32_t in_len, out_cap, n = 0, add_ret;
	int ret;

	if (a->user_data_len > UVIO_ATT_USER_MAX)
		return pvk_fail(e, PVK_E_USAGE, "user data of %u bytes (at most 256)", a->user_data_len);
	if (d->backend == BACKEND_KERNEL) {
		struct uvio_attest att;

		memset(&att, 0, sizeof(att));
		att.arcb_addr = (uint64_t)(uintptr_t)a->arcb;
		att.meas_addr = (uint64_t)(uintptr_t)a->meas;
		att.add_data_addr = (uint64_t)(uintptr_t)a->add_data;
		if (a->user_data_len)
			memcpy(att.user_data, a->user_data, a->user_data_len);
		att.arcb_len = a->arcb_len;
		att.meas_len = a->meas_len;
		att.add_data_len = a->add_data_len;
		att.user_data_len = a->user_data_len;
		if (kernel_call(d, UVIO_NR_ATT, &att, sizeof(att), rc, e))
			return -1;
		memcpy(a->cuid, att.config_uid, 16);
		a->add_data_len = att.add_data_len;
		return 0;
	}
	if (!a->arcb_len || a->arcb_len > UVIO_ATT_ARCB_MAX || !a->meas_len ||
	    a->meas_len > UVIO_ATT_MEAS_MAX || a->add_data_len > UVIO_ATT_ADD_MAX)
		return pvk_fail(e, PVK_E_IO, "%s: UV call 1 failed: %s", d->name, strerror(EINVAL));
	in_len = UVPROTO_ATT_FIXED + a->arcb_len;
	out_cap = a->meas_len + 4 + a->add_data_len + 16;
	in = calloc(1, in_len);
	out = calloc(1, out_cap);
	if (!in || !out) {
		free(in);
		free(out);
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	}
	put_be32(in, a->arcb_len);
	put_be32(in + 4, a->meas_len);
	put_be32(in + 8, a->add_data_len);
	put_be16(in + 12, a->user_data_len);
	if (a->user_data_len)
		memcpy(in + 16, a->user_data, a->user_data_len);
	memcpy(in + UVPROTO_ATT_FIXED, a->arcb, a->arcb_len);
	ret = uvsim_call(d, UVIO_NR_ATT, in, in_len, out, out_cap, &n, rc, e);
	if (!ret && rc->rc == UVC_RC_SUCCESS) {
		add_ret = n >= a->meas_len + 4 ? get_be32(out + a->meas_len) : UINT32_MAX;
		if (add_ret > a->add_data_len || n != a->meas_len + 4 + add_ret + 16) {
			ret = pvk_fail(e, PVK_E_FORMAT, "%s: malformed attestation answer", d->name);
		} else {
			memcpy(a->meas, out, a->meas_len);
			if (add_ret)
				memcpy(a->add_data, out + a->meas_len + 4, add_ret);
			a->add_data_len = add_ret;
			memcpy(a->cuid, out + a->meas_len + 4 + add_ret, 16);
		}
	}
	free(in);
	OPENSSL_cleanse(out, out_cap);
	free(out);
	return ret;
}

int pvk_uvdev_add_secret(struct uvdev *d, const uint8_t *req, uint32_t len, struct uvdev_rc *rc,
		     struct pvk_err *e)
{
	if (d->backend == BACKEND_KERNEL)
		return kernel_call(d, UVIO_NR_ADD_SECRET, (void *)req, len, rc, e);
	return uvsim_call(d, UVIO_NR_ADD_SECRET, req, len, NULL, 0, NULL, rc, e);
}

int pvk_uvdev_list_secrets(struct uvdev *d, uint8_t *buf, uint32_t len, struct uvdev_rc *rc,
		       struct pvk_err *e)
{
	uint8_t in[4];
	uint32_t n = 0;

	if (d->backend == BACKEND_KERNEL)
		return kernel_call(d, UVIO_NR_LIST_SECRETS, buf, len, rc, e);
	put_be32(in, len);
	if (uvsim_call(d, UVIO_NR_LIST_SECRETS, in, sizeof(in), buf, len, &n, rc, e))
		return -1;
	if (n != len)
		return pvk_fail(e, PVK_E_FORMAT, "%s: list answer of %u bytes", d->name, n);
	return 0;
}

int pvk_uvdev_lock_secrets(struct uvdev *d, struct uvdev_rc *rc, struct pvk_err *e)
{
	if (d->backend == BACKEND_KERNEL)
		return kernel_call(d, UVIO_NR_LOCK_SECRETS, NULL, 0, rc, e);
	return uvsim_call(d, UVIO_NR_LOCK_SECRETS, NULL, 0, NULL, 0, NULL, rc, e);
}

int pvk_uvdev_retrieve_secret(struct uvdev *d, uint8_t *buf, uint32_t len, struct uvdev_rc *rc,
			  struct pvk_err *e)
{
	uint32_t n = 0;

	if (d->backend == BACKEND_KERNEL)
		return kernel_call(d, UVIO_NR_RETR_SECRET, buf, len, rc, e);
	if (uvsim_call(d, UVIO_NR_RETR_SECRET, buf, len, buf, len, &n, rc, e))
		return -1;
	if (n && n != len)
		return pvk_fail(e, PVK_E_FORMAT, "%s: retrieve answer of %u bytes", d->name, n);
	return 0;
}

const char *pvk_uvdev_sysfs_path(const char *rel, char *buf, size_t len)
{
	const char *root = getenv(UVDEV_SYSFS_ENV);

	snprintf(buf, len, "%s/%s", root && *root ? root : "/sys", rel);
	return buf;
}

int pvk_uvdev_in_se_guest(void)
{
	char path[4096], buf[16] = "";
	FILE *f = fopen(pvk_uvdev_sysfs_path("firmware/uv/prot_virt_guest", path, sizeof(path)), "r");

	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return buf[0] == '1' && (buf[1] == 0 || buf[1] == '\n');
}
