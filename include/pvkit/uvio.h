/* SPDX-License-Identifier: MIT */
/* The kernel's uvdevice ABI (arch/s390/include/uapi/asm/uvdevice.h, spec §6): native-endian
 * structs handed to ioctl(2). Offsets are checked at compile time and in tests/unit. */
#ifndef PVKIT_UVIO_H
#define PVKIT_UVIO_H

#include <stdint.h>

struct uvio_ioctl_cb {
	uint32_t flags;
	uint16_t uv_rc;
	uint16_t uv_rrc;
	uint64_t argument_addr;
	uint32_t argument_len;
	uint8_t reserved14[0x40 - 0x14];
} __attribute__((packed));

struct uvio_attest {
	uint64_t arcb_addr;
	uint64_t meas_addr;
	uint64_t add_data_addr;
	uint8_t user_data[256];
	uint8_t config_uid[16];
	uint32_t arcb_len;
	uint32_t meas_len;
	uint32_t add_data_len;
	uint16_t user_data_len;
	uint16_t reserved136;
} __attribute__((packed));

struct uvio_uvdev_info {
	uint64_t supp_uvio_cmds;
	uint64_t supp_uv_cmds;
} __attribute__((packed));

/* _IOWR('u', nr, struct uvio_ioctl_cb) */
#define UVIO_IOCTL(nr) (0xC0407500u | (unsigned)(nr))

_Static_assert(sizeof(struct uvio_ioctl_cb) == 0x40, "uvio_ioctl_cb is 0x40 bytes");
_Static_assert(__builtin_offsetof(struct uvio_ioctl_cb, argument_addr) == 0x08, "cb addr");
_Static_assert(__builtin_offsetof(struct uvio_ioctl_cb, argument_len) == 0x10, "cb len");
_Static_assert(sizeof(struct uvio_attest) == 0x138, "uvio_attest is 0x138 bytes");
_Static_assert(__builtin_offsetof(struct uvio_attest, user_data) == 0x18, "att user");
_Static_assert(__builtin_offsetof(struct uvio_attest, config_uid) == 0x118, "att cuid");
_Static_assert(__builtin_offsetof(struct uvio_attest, arcb_len) == 0x128, "att arcb_len");
_Static_assert(__builtin_offsetof(struct uvio_attest, user_data_len) == 0x134, "att user len");
_Static_assert(sizeof(struct uvio_uvdev_info) == 16, "pvk_uvdev_info is 16 bytes");

#endif
