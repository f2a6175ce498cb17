/* SPDX-License-Identifier: MIT */
/* The one UV device layer every guest-side tool uses (spec §6). Three backends with the same
 * semantics: the kernel's /dev/uv ioctls; a software ultravisor (uvsim) endpoint reached over
 * a Unix socket; and the same endpoint reached from inside a uvsim QEMU guest over a
 * virtio-serial port. PVKIT_UV_DEVICE picks the device: a path to a character device (default
 * /dev/uv), "uvsim:<socket path>" (a socket path is also recognised by its file type), or
 * "vport:<port name or device path>" (uvsim boot --qemu names its port org.pvkit.uv).
 *
 * A virtio-serial port is one byte stream for the whole guest, opened by one process at a
 * time: the vport backend waits while another process holds it (so requests of several
 * processes are serialised), then resynchronises the stream before its first request (a
 * process killed mid-exchange may have left half a request or an unread answer in it). */
#ifndef PVKIT_UVDEV_H
#define PVKIT_UVDEV_H

#include <stddef.h>
#include <stdint.h>

#include "pvkit/err.h"

#define UVDEV_DEFAULT "/dev/uv"
#define UVDEV_ENV "PVKIT_UV_DEVICE"
#define UVDEV_SYSFS_ENV "PVKIT_SYSFS_ROOT"
#define UVDEV_VPORT_NAME "org.pvkit.uv"   /* the port uvsim boot --qemu gives a guest */
#define UVDEV_VPORT_TIMEOUT_MS 30000      /* waiting for the port, resync, one exchange */

/* Open a virtio-serial port for a byte stream of one's own (the UV backend's, or an agent's
 * channel to a service on the host): spec is a port name (found under
 * /sys/class/virtio-ports) or a device path; a Unix stream socket at that path stands in for
 * the port in tests. While another process holds the port, wait up to timeout_ms. Returns a
 * non-blocking descriptor (dev names the device), or -1 with e. */
int pvk_vport_open(const char *spec, long timeout_ms, char *dev, size_t dev_len,
		   struct pvk_err *e);

/* ioctl numbers (nr) and their bits in uvio_uvdev_info (LSB0). */
enum uvio_nr {
	UVIO_NR_INFO = 0,
	UVIO_NR_ATT = 1,
	UVIO_NR_ADD_SECRET = 2,
	UVIO_NR_LIST_SECRETS = 3,
	UVIO_NR_LOCK_SECRETS = 4,
	UVIO_NR_RETR_SECRET = 5,
	UVIO_NR_MAX = 5,
};

/* Kernel limits (drivers/s390/char/uvdevice.c). */
#define UVIO_ATT_ARCB_MAX 0x100000u
#define UVIO_ATT_MEAS_MAX 0x8000u
#define UVIO_ATT_ADD_MAX 0x8000u
#define UVIO_ATT_USER_MAX 256u
#define UVIO_ADD_SECRET_MAX 0x100000u
#define UVIO_LIST_PAGE 0x1000u
#define UVIO_RETR_MIN 2u
#define UVIO_RETR_MAX 0x2000u

/* UV return codes of every command (spec §6.7). */
#define UVC_RC_SUCCESS 0x0001
#define UVC_RC_INV_CMD 0x0002
#define UVC_RC_MORE_DATA 0x0100

struct uvdev;

/* The UV's answer: rc/rrc, meaningful once the call reached the UV (return value 0). */
struct uvdev_rc {
	uint16_t rc, rrc;
};

/* Open the device named by $PVKIT_UV_DEVICE (or path if not NULL). */
int pvk_uvdev_open(const char *path, struct uvdev **out, struct pvk_err *e);
void pvk_uvdev_close(struct uvdev *d);
const char *pvk_uvdev_name(const struct uvdev *d);

/* Each call returns 0 when the UV was reached (judge success by rc: spec §6.1), -1 with
 * PVK_E_IO when the device refused the call (errno, e.g. EINVAL for bad lengths). */
int pvk_uvdev_info(struct uvdev *d, uint64_t *supp_uvio, uint64_t *supp_uv, struct uvdev_rc *rc,
	       struct pvk_err *e);

struct pvk_uvdev_attest {
	const uint8_t *arcb;
	uint32_t arcb_len;
	const uint8_t *user_data;  /* up to 256 bytes */
	uint16_t user_data_len;
	uint8_t *meas;             /* out, meas_len bytes */
	uint32_t meas_len;
	uint8_t *add_data;         /* out, up to add_data_len bytes; may be NULL if len 0 */
	uint32_t add_data_len;     /* in: buffer size; out: bytes returned */
	uint8_t cuid[16];          /* out */
};
int pvk_uvdev_attest(struct uvdev *d, struct pvk_uvdev_attest *a, struct uvdev_rc *rc, struct pvk_err *e);
int pvk_uvdev_add_secret(struct uvdev *d, const uint8_t *req, uint32_t len, struct uvdev_rc *rc,
		     struct pvk_err *e);
/* buf: len bytes, a non-zero multiple of 4096. */
int pvk_uvdev_list_secrets(struct uvdev *d, uint8_t *buf, uint32_t len, struct uvdev_rc *rc,
		       struct pvk_err *e);
int pvk_uvdev_lock_secrets(struct uvdev *d, struct uvdev_rc *rc, struct pvk_err *e);
/* buf: in the secret index (u16 BE) in the first two bytes; out the secret. */
int pvk_uvdev_retrieve_secret(struct uvdev *d, uint8_t *buf, uint32_t len, struct uvdev_rc *rc,
			  struct pvk_err *e);

/* The guest's /sys (PVKIT_SYSFS_ROOT or "/sys") joined with rel, e.g. "firmware/uv/keys/all". */
/* 1 when this system says it is a Secure Execution guest (firmware/uv/prot_virt_guest is
 * "1"), else 0. */
int pvk_uvdev_in_se_guest(void);
const char *pvk_uvdev_sysfs_path(const char *rel, char *buf, size_t len);

#endif
