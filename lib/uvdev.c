// SPDX-License-Identifier: MIT
/* The UV device layer: the same calls over the kernel's ioctls or a uvsim endpoint. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pvkit/bytes.h"
#include "pvkit/uvdev.h"
#include "pvkit/uvio.h"
#include "pvkit/uvproto.h"

enum backend { BACKEND_KERNEL, BACKEND_UVSIM };

struct uvdev {
	enum backend backend;
	int fd;
	char name[256];
};

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

int pvk_uvdev_open(const char *path, struct uvdev **out, struct pvk_err *e)
{
	const char *env = getenv(UVDEV_ENV);
	struct uvdev *d;
	struct stat st;
	int uvsim = 0;

	*out = NULL;
	if (!path)
		path = env && *env ? env : UVDEV_DEFAULT;
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

/* One exchange on the socket. A transport failure leaves the stream out of step, so the
 * connection is shut down and later calls on this handle fail cleanly. */
static int uvsim_exchange(struct uvdev *d, unsigned nr, const uint8_t *in, uint32_t in_len,
			  uint8_t *out, uint32_t out_cap, struct uvproto_rsp *rsp,
			  struct pvk_err *e)
{
	struct uvproto_req req = { .nr = nr, .in_len = in_len, .out_cap = out_cap };
	uint8_t hdr[UVPROTO_REQ_HDR], rhdr[UVPROTO_RSP_HDR];

	pvk_uvproto_req_encode(&req, hdr);
	if (pvk_fd_write_full(d->fd, hdr, sizeof(hdr)) || (in_len && pvk_fd_write_full(d->fd, in, in_len)))
		return pvk_fail(e, PVK_E_IO, "%s: cannot send the request: %s", d->name,
				strerror(errno));
	if (pvk_fd_read_full(d->fd, rhdr, sizeof(rhdr)))
		return pvk_fail(e, PVK_E_IO, "%s: no answer from the uvsim endpoint", d->name);
	if (pvk_uvproto_rsp_decode(rhdr, rsp, e))
		return pvk_wrap(e, "%s", d->name);
	if (rsp->out_len > out_cap)
		return pvk_fail(e, PVK_E_FORMAT, "%s: answer larger than the buffer", d->name);
	if (rsp->out_len && pvk_fd_read_full(d->fd, out, rsp->out_len))
		return pvk_fail(e, PVK_E_IO, "%s: answer truncated", d->name);
	return 0;
}

static int uvsim_call(struct uvdev *d, unsigned nr, const uint8_t *in, uint32_t in_len,
		      uint8_t *out, uint32_t out_cap, uint32_t *out_len, struct uvdev_rc *rc,
		      struct pvk_err *e)
{
	struct uvproto_rsp rsp;

	if (uvsim_exchange(d, nr, in, in_len, out, out_cap, &rsp, e)) {
		shutdown(d->fd, SHUT_RDWR);
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
