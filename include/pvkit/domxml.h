/* SPDX-License-Identifier: MIT */
/* libvirt domain XML for a Secure Execution guest: the domain a KVM host on IBM Z needs for an
 * SE image (made), and any domain checked against the rules the guide gives the cloud
 * provider (ch. 1, 4, 9, 10, 11). Parsed with libxml2: no network, no external entities, no
 * DTD, libxml2's nesting limit. */
#ifndef PVKIT_DOMXML_H
#define PVKIT_DOMXML_H

#include <stddef.h>

#include "pvkit/err.h"

#define PVK_DOMXML_MAX (16u << 20)  /* a larger "domain" is refused unread */
#define PVK_DOMXML_MAX_VCPUS 247    /* the guide, ch. 4 */

enum pvk_dom_severity {
	PVK_DOM_ERROR,    /* the guest fails, crashes or is not protected as it should be */
	PVK_DOM_WARNING,  /* the guide recommends otherwise */
};

struct pvk_dom_finding {
	enum pvk_dom_severity severity;
	const char *rule;      /* a short name: "memballoon", "iommu", ... (static) */
	const char *ref;       /* where the guide says so: "ch. 10" (static) */
	long line;             /* the element's line in the file, 0 when it is missing */
	char element[96];      /* which element: "devices/disk[2] (vdb)" */
	char msg[400];         /* what is wrong, and the guide's reason */
};

struct pvk_dom_report {
	struct pvk_dom_finding *f;
	size_t n, cap;
	size_t errors, warnings;
};

/* Check the domain XML in buf (name: the file, for messages). -1 with e set only when it
 * cannot be checked (not XML, not a domain, too large); findings go into r (free with
 * pvk_dom_report_free). */
int pvk_domxml_check(const char *buf, size_t len, const char *name, struct pvk_dom_report *r,
		     struct pvk_err *e);
/* The same for a file ("-": standard input). */
int pvk_domxml_check_file(const char *path, struct pvk_dom_report *r, struct pvk_err *e);
void pvk_dom_report_free(struct pvk_dom_report *r);
const char *pvk_dom_severity_name(enum pvk_dom_severity s);

/* The domain of a guest: direct kernel boot of the SE image (kernel) as in the guide's
 * example, or boot from a disk holding it (disk). */
struct pvk_domxml_guest {
	const char *name;
	const char *kernel;       /* absolute path of the SE image, or NULL */
	const char *disk;         /* absolute path of a disk image to boot, or NULL */
	unsigned memory_mib, vcpus;
	const char *ap_mdev_uuid; /* a vfio-ap mediated device for the guest's AP queues, or NULL */
	int no_async_teardown;    /* for libvirt before 9.6, which does not know the feature */
};

/* The domain XML text (NUL-terminated, free()). */
int pvk_domxml_make(const struct pvk_domxml_guest *g, char **out, size_t *len, struct pvk_err *e);

#endif
