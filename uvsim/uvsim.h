/* SPDX-License-Identifier: MIT */
/* uvsim, the software ultravisor: simulated hosts (a P-521 host key that never leaves the
 * state directory, and its HKD), guests booted from SE images, and the per-guest endpoint
 * that answers the guest's /dev/uv requests. */
#ifndef PVKIT_UVSIM_H
#define PVKIT_UVSIM_H

#include <pthread.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pvkit/err.h"

#define UVSIM_STATE_ENV "PVKIT_UVSIM_STATE"
#define UVSIM_NAME_MAX 64
/* 9p mount tags of a QEMU guest: its sysfs view, and the directory of uvsim boot --share. */
#define UVSIM_9P_SYS "pvkit.sys"
#define UVSIM_9P_SHARE "pvkit.share"
#define UVSIM_MAX_SECRETS 16      /* what uvsim reports as max_secrets */
#define UVSIM_MAX_ASSOC 8         /* max_assoc_secrets */
#define UVSIM_MAX_RETR 8          /* max_retr_secrets */
#define UVSIM_SECRET_MAX_LEN 8192

struct uvsim_secret {
	uint16_t index, type;
	uint32_t len;
	uint8_t id[32];
	uint8_t *value;           /* len bytes */
};

/* One secure guest as the UV knows it. */
struct uvsim_guest {
	char id[UVSIM_NAME_MAX];
	char host[UVSIM_NAME_MAX];
	char image[4096];
	uint8_t cuid[16];
	uint8_t pld[64], ald[64], tld[64], tag[16];
	uint8_t cck[32];
	uint8_t phkh[32];         /* hash of the host key that unpacked the image */
	uint64_t pcf, scf;
	int locked;
	int dump_disabled;        /* an add-secret request asked to disable dumping */
	int ext_secret_set;       /* the first add-secret request primes the extension secret */
	uint8_t ext_secret[32];
	struct uvsim_secret secrets[UVSIM_MAX_SECRETS];
	uint32_t n_secrets;
	uint8_t secret_tags[UVSIM_MAX_SECRETS][16]; /* tags of accepted requests, in order */
	uint32_t n_tags;
	long pid;                 /* endpoint process */
	/* runtime */
	EVP_PKEY *host_key;       /* loaded by the endpoint; never written anywhere */
	uint8_t host_phkh[32];    /* its hash, to find its key slot in a request */
	/* Requests that only read the guest's state (info, attestation, list, retrieve) hold it
	 * shared and run in parallel; add-secret and lock hold it alone, in their order. Writers
	 * are preferred, so a stream of attestations cannot hold a lock request off. */
	pthread_rwlock_t lock;
	char dir[4096];           /* guests/<id> */
};

/* State directory layout, all files 0600, directories 0700:
 *   pki/              the test PKI that signs the simulated hosts' HKDs
 *   hosts/<name>/     host.key (stays here), hkd.crt
 *   guests/<id>/      guest.json, uv.sock, pid, log, sys/ (the guest's /sys view), mem.img */
const char *uvsim_state_dir(const char *override);
/* Changes of the state (init, host new, a boot's guest directory, stop) are serialised by an
 * flock on <state>/.lock: uvsim_state_lock returns its fd (or -1), unlock closes it. */
int uvsim_state_lock(const char *state, struct pvk_err *e);
void uvsim_state_unlock(int fd);
int uvsim_init(const char *state, struct pvk_err *e);
/* A simulated host: its key, HKD and host view (machine type and serial: NULL for the
 * defaults, 3931 and a random serial). */
/* List the host's HKD in the signing key's CRL (pki/ibm.crl), as IBM revokes a host key. */
int uvsim_host_revoke(const char *state, const char *name, struct pvk_err *e);
int uvsim_host_new(const char *state, const char *name, const char *type, const char *serial,
		   struct pvk_err *e);
int uvsim_host_valid_machine(const char *type, const char *serial, struct pvk_err *e);
/* "IBM z16 A01" for "3931", NULL for a machine without Secure Execution. */
const char *uvsim_machine_name(const char *type);
int uvsim_host_key(const char *state, const char *name, EVP_PKEY **key, struct pvk_err *e);
int uvsim_valid_name(const char *name);

int uvsim_guest_save(const struct uvsim_guest *g, struct pvk_err *e);
int uvsim_guest_load(const char *state, const char *id, struct uvsim_guest *g,
		     struct pvk_err *e);
void uvsim_guest_clear(struct uvsim_guest *g);
/* Write the guest's sysfs view (prot_virt_guest, query/, keys/). */
int uvsim_guest_sysfs(const struct uvsim_guest *g, struct pvk_err *e);

/* The UV's side of each /dev/uv command; the caller holds g->lock. */
struct uvsim_answer {
	uint32_t err;             /* an errno the kernel driver would return, or 0 */
	uint16_t rc, rrc;
	uint8_t *out;
	uint32_t out_len;
	int changed;              /* guest state changed: persist it */
};
/* Whether request nr may change the guest's state (then it holds g->lock alone). */
int uvsim_changes_state(uint32_t nr);
void uvsim_guest_lock_init(struct uvsim_guest *g);
/* The host key the guest's requests are opened with (not taken over), and its hash. */
int uvsim_guest_set_host_key(struct uvsim_guest *g, EVP_PKEY *key, struct pvk_err *e);
void uvsim_handle(struct uvsim_guest *g, uint32_t nr, uint32_t flags, const uint8_t *in,
		  uint32_t in_len, uint32_t out_cap, struct uvsim_answer *a);
/* Which ioctls this simulator answers (uvio_uvdev_info bits). */
uint64_t uvsim_supported_cmds(void);

/* Serve the guest's endpoint on its socket until stop is set or a signal ends the process.
 * ready_fd (if >= 0) gets one byte once the socket listens, then is closed. */
int uvsim_serve(struct uvsim_guest *g, int ready_fd, volatile int *stop, struct pvk_err *e);

/* ---- apsim.c: the guest's AP bus (Crypto Express adapters passed through), simulated in
 * its sysfs view (bus/ap, devices/ap) with the SE bind/associate state machine (spec §7.1) ---- */
#define UVSIM_AP_MAX_CARDS 16
#define UVSIM_AP_MAX_DOMS 16
/* AP queues one secure guest can be given, over all its adapters (the guide: "A maximum of 12
 * AP queues per secure guest can be configured"). */
#define UVSIM_AP_MAX_QUEUES 12
#define UVSIM_AP_PENDING_MS 300   /* how long an association stays "association pending" */

struct uvsim_ap_queue {
	unsigned dom;
	char mkvp[65];            /* EP11 WK / CCA AES MKVP, 64 hex digits; "" = none */
	int online;
	int bs;                   /* bind state: 0 usable, 1 bound, 2 unbound, 3 illicit */
	int assoc;                /* association index, -1 = none */
	int pending;              /* the association completes at due_ms */
	long long due_ms;
};

struct uvsim_ap_card {
	unsigned id;
	char type[8];             /* CEX<gen><A|C|P> */
	int gen;
	char mode;                /* 'A' accelerator, 'C' CCA, 'P' EP11 */
	char serial[17];
	struct uvsim_ap_queue q[UVSIM_AP_MAX_DOMS];
	unsigned nq;
};

struct uvsim_ap {
	int enabled;              /* at least one --ap given */
	char features[128];       /* bus/ap/features */
	struct uvsim_ap_card c[UVSIM_AP_MAX_CARDS];
	unsigned nc;
};

/* The configuration of 'uvsim boot --ap SPEC' (see uvsim(1)): one card, or bus features. */
int uvsim_ap_parse_spec(struct uvsim_ap *ap, const char *spec, struct pvk_err *e);
/* Write the AP bus into the guest's sys/ (initial states: unbound, unassociated). */
int uvsim_ap_sysfs(const struct uvsim_ap *ap, const char *guest_dir, struct pvk_err *e);
/* The state machine, without files. Each returns 1 when the write was accepted, 0 when it
 * was refused (the kernel's EINVAL/EBUSY/EIO); why says what happened. */
int uvsim_ap_write_bind(struct uvsim_ap *ap, unsigned card, unsigned dom, const char *value,
			char *why, size_t len);
int uvsim_ap_write_assoc(struct uvsim_ap *ap, struct uvsim_guest *g, unsigned card,
			 unsigned dom, const char *value, long long now_ms, char *why, size_t len);
/* Complete the associations due at now_ms; returns how many completed. */
int uvsim_ap_tick(struct uvsim_ap *ap, long long now_ms);
/* Host actions: reset (unbind) one queue or all (card < 0); make a queue illicit; set a
 * queue on- or offline. 0, or -1 if there is no such queue. */
int uvsim_ap_reset(struct uvsim_ap *ap, int card, int dom);
int uvsim_ap_illicit(struct uvsim_ap *ap, unsigned card, unsigned dom);
int uvsim_ap_set_online(struct uvsim_ap *ap, unsigned card, unsigned dom, int online);
/* The attribute texts of a queue (no newline). */
const char *uvsim_ap_bind_text(const struct uvsim_ap_card *c, const struct uvsim_ap_queue *q);
void uvsim_ap_assoc_text(const struct uvsim_ap_card *c, const struct uvsim_ap_queue *q,
			 char *buf, size_t len);
unsigned long uvsim_ap_functions(const struct uvsim_ap_card *c, const struct uvsim_ap_queue *q);

/* What 'uvsim boot --ap' configured (inherited by the endpoint process). */
extern struct uvsim_ap uvsim_ap_config;
/* In the endpoint: watch the queue attributes (inotify) and answer writes; a no-op when the
 * guest has no AP bus. */
int uvsim_ap_start(struct uvsim_guest *g, struct pvk_err *e);
/* 'uvsim ap ...': hand a request line to the guest's endpoint, wait for its answer. */
int uvsim_ap_control(const char *guest_dir, const char *request, char *answer, size_t len,
		     struct pvk_err *e);

#endif
