// SPDX-License-Identifier: MIT
/* libvirt domain XML for Secure Execution guests: made and checked (pvkit/domxml.h). The rules
 * and their reasons are the guide's (chapter in each finding); pvkit adds none of its own
 * beyond what follows from them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "pvkit/domxml.h"
#include "pvkit/fileio.h"

struct check {
	struct pvk_dom_report *r;
	int has_ls;             /* <launchSecurity type="s390-pv"/> */
	int oom;
};

const char *pvk_dom_severity_name(enum pvk_dom_severity s)
{
	return s == PVK_DOM_ERROR ? "error" : "warning";
}

void pvk_dom_report_free(struct pvk_dom_report *r)
{
	free(r->f);
	memset(r, 0, sizeof(*r));
}

static int is(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && !xmlStrcmp(n->name, BAD_CAST name);
}

static xmlNode *child(const xmlNode *n, const char *name)
{
	for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (is(c, name))
			return c;
	return NULL;
}

/* An attribute's value into buf ("" when absent); returns buf. */
static const char *attr(const xmlNode *n, const char *name, char *buf, size_t len)
{
	xmlChar *v = n ? xmlGetProp(n, BAD_CAST name) : NULL;

	snprintf(buf, len, "%s", v ? (const char *)v : "");
	xmlFree(v);
	return buf;
}

static int attr_is(const xmlNode *n, const char *name, const char *value)
{
	char b[128];

	return !strcmp(attr(n, name, b, sizeof(b)), value);
}

/* An element's text, trimmed, into buf. */
static const char *text(const xmlNode *n, char *buf, size_t len)
{
	xmlChar *v = n ? xmlNodeGetContent(n) : NULL;
	const char *s = v ? (const char *)v : "";
	size_t k;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	snprintf(buf, len, "%s", s);
	k = strlen(buf);
	while (k && (buf[k - 1] == ' ' || buf[k - 1] == '\t' || buf[k - 1] == '\n' || buf[k - 1] == '\r'))
		buf[--k] = 0;
	xmlFree(v);
	return buf;
}

/* "devices/disk[2] (vdb)": the element among its parent's children of its name, and what
 * names it for a reader (a disk's target, an interface's MAC, a hostdev's type). */
static void describe(const xmlNode *n, char *buf, size_t len)
{
	char what[64] = "", b[64];
	unsigned idx = 1, count = 0;

	if (!n || !n->parent || n->parent->type != XML_ELEMENT_NODE) {
		snprintf(buf, len, "domain");
		return;
	}
	for (const xmlNode *c = n->parent ? n->parent->children : NULL; c; c = c->next) {
		if (!is(c, (const char *)n->name))
			continue;
		count++;
		if (c == n)
			idx = count;
	}
	if (is(n, "disk") && *attr(child(n, "target"), "dev", b, sizeof(b)))
		snprintf(what, sizeof(what), " (%.48s)", b);
	else if (is(n, "interface") && *attr(child(n, "mac"), "address", b, sizeof(b)))
		snprintf(what, sizeof(what), " (%.48s)", b);
	else if (*attr(n, "type", b, sizeof(b)))
		snprintf(what, sizeof(what), " (type %.48s)", b);
	if (count > 1)
		snprintf(buf, len, "%s/%s[%u]%s", (const char *)n->parent->name,
			 (const char *)n->name, idx, what);
	else
		snprintf(buf, len, "%s/%s%s", (const char *)n->parent->name, (const char *)n->name,
			 what);
}

static void add(struct check *c, enum pvk_dom_severity sev, const char *rule, const char *ref,
		const xmlNode *n, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void add(struct check *c, enum pvk_dom_severity sev, const char *rule, const char *ref,
		const xmlNode *n, const char *fmt, ...)
{
	struct pvk_dom_report *r = c->r;
	struct pvk_dom_finding *f;
	va_list ap;

	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct pvk_dom_finding *nf = realloc(r->f, cap * sizeof(*nf));

		if (!nf) {
			c->oom = 1;
			return;
		}
		r->f = nf;
		r->cap = cap;
	}
	f = &r->f[r->n++];
	memset(f, 0, sizeof(*f));
	f->severity = sev;
	f->rule = rule;
	f->ref = ref;
	f->line = n ? xmlGetLineNo(n) : 0;
	describe(n, f->element, sizeof(f->element));
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	if (sev == PVK_DOM_ERROR)
		r->errors++;
	else
		r->warnings++;
}

/* ---- the rules ---- */

/* Whether a device element is a virtio device, and so needs bounce buffers (ch. 10). */
static int is_virtio(const xmlNode *d)
{
	char b[64];

	if (is(d, "disk"))
		return attr_is(child(d, "target"), "bus", "virtio");
	if (is(d, "interface"))
		/* no <model>: virtio, the default on s390x */
		return !attr_is(d, "type", "hostdev") &&
		       (!child(d, "model") || attr_is(child(d, "model"), "type", "virtio"));
	if (is(d, "controller"))
		return attr_is(d, "type", "virtio-serial") ||
		       (attr_is(d, "type", "scsi") && attr_is(d, "model", "virtio-scsi"));
	if (is(d, "rng") || is(d, "vsock"))
		return !*attr(d, "model", b, sizeof(b)) || attr_is(d, "model", "virtio");
	if (is(d, "filesystem"))
		return 1;  /* 9p and virtiofs: both virtio on s390x */
	if (is(d, "video"))
		return attr_is(child(d, "model"), "type", "virtio");
	if (is(d, "input"))
		return attr_is(d, "bus", "virtio");
	return 0;
}

static void check_iommu(struct check *c, const xmlNode *d)
{
	char v[16];

	attr(child(d, "driver"), "iommu", v, sizeof(v));
	if (c->has_ls && !strcmp(v, "off"))
		add(c, PVK_DOM_ERROR, "iommu", "ch. 10", d,
		    "iommu=\"off\" takes back the bounce buffers launchSecurity makes the default: "
		    "the secure guest cannot do I/O with this virtio device");
	else if (!c->has_ls && strcmp(v, "on"))
		add(c, PVK_DOM_ERROR, "iommu", "ch. 10, ch. 11", d,
		    "a virtio device needs <driver iommu=\"on\"/> (bounce buffers) in a secure guest "
		    "without <launchSecurity type=\"s390-pv\"/>; without it the guest fails or crashes");
}

static void check_hostdev(struct check *c, const xmlNode *d)
{
	char type[32], model[32];

	attr(d, "type", type, sizeof(type));
	attr(d, "model", model, sizeof(model));
	if (is(d, "hostdev") && !strcmp(type, "mdev") && !strcmp(model, "vfio-ap"))
		return;  /* Crypto Express domains through vfio-ap (ch. 9) */
	add(c, PVK_DOM_ERROR, "hostdev", "ch. 4", d,
	    "pass-through of host devices (PCI, CCW, ...) is not supported for secure guests; "
	    "only Crypto Express queues through a vfio-ap mediated device (ch. 9)");
}

static unsigned long number(const char *s, int *ok)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	*ok = *s && !*end && !errno;
	return v;
}

static void check_vcpus(struct check *c, const xmlNode *dom)
{
	xmlNode *v = child(dom, "vcpu");
	char b[64];
	int ok;
	unsigned long n;

	if (!v)
		return;
	n = number(text(v, b, sizeof(b)), &ok);
	if (ok && n > PVK_DOMXML_MAX_VCPUS)
		add(c, PVK_DOM_ERROR, "vcpus", "ch. 4", v,
		    "%lu virtual CPUs: guests in Secure Execution mode are limited to %u", n,
		    PVK_DOMXML_MAX_VCPUS);
	n = number(attr(v, "current", b, sizeof(b)), &ok);
	if (ok && n > PVK_DOMXML_MAX_VCPUS)
		add(c, PVK_DOM_ERROR, "vcpus", "ch. 4", v,
		    "current='%lu': guests in Secure Execution mode are limited to %u virtual CPUs", n,
		    PVK_DOMXML_MAX_VCPUS);
}

static void check_os(struct check *c, const xmlNode *dom)
{
	xmlNode *os = child(dom, "os"), *t = child(os, "type"), *k = child(os, "kernel");
	char b[4096];

	if (t && *attr(t, "arch", b, sizeof(b)) && strcmp(b, "s390x"))
		add(c, PVK_DOM_ERROR, "arch", "ch. 1, ch. 10", t,
		    "arch='%s': Secure Execution guests are s390x guests on IBM Z", b);
	if (t && *attr(t, "machine", b, sizeof(b)) && strncmp(b, "s390-ccw-virtio", 15))
		add(c, PVK_DOM_ERROR, "machine", "ch. 1, ch. 10", t,
		    "machine='%s': a KVM guest on IBM Z is an s390-ccw-virtio machine", b);
	if (k && text(k, b, sizeof(b))[0] != '/')
		add(c, PVK_DOM_ERROR, "kernel-path", "ch. 10", k,
		    "<kernel>%s</kernel>: the entry must contain the fully qualified path and file "
		    "name of the secure boot image file", b);
	if (k && (child(os, "initrd") || child(os, "cmdline")))
		add(c, PVK_DOM_WARNING, "kernel-parts", "ch. 5, ch. 10", k,
		    "the secure boot image holds its own initial RAM disk and kernel parameters, "
		    "encrypted and measured: <initrd> and <cmdline> are not what the guest boots");
}

static void check_devices(struct check *c, const xmlNode *dom)
{
	xmlNode *devs = child(dom, "devices"), *balloon = NULL;
	const xmlNode *vconsole = NULL, *vserial_ctl = NULL;
	char b[64];

	for (xmlNode *d = devs ? devs->children : NULL; d; d = d->next) {
		if (d->type != XML_ELEMENT_NODE)
			continue;
		if (is(d, "memballoon")) {
			balloon = d;
			if (!attr_is(d, "model", "none"))
				add(c, PVK_DOM_ERROR, "memballoon", "ch. 4, ch. 10", d,
				    "memory ballooning (model='%s') is not supported for secure guests: "
				    "use <memballoon model='none'/>", attr(d, "model", b, sizeof(b)));
			continue;
		}
		if (is(d, "hostdev") || (is(d, "interface") && attr_is(d, "type", "hostdev"))) {
			check_hostdev(c, d);
			continue;
		}
		if ((is(d, "console") || is(d, "serial") || is(d, "channel")) &&
		    (attr_is(child(d, "target"), "type", "virtio") ||
		     attr_is(child(d, "target"), "type", "virtio-serial")))
			vconsole = vconsole ? vconsole : d;
		if (is(d, "controller") && attr_is(d, "type", "virtio-serial"))
			vserial_ctl = d;
		if (is_virtio(d))
			check_iommu(c, d);
	}
	if (!balloon)
		add(c, PVK_DOM_ERROR, "memballoon", "ch. 4, ch. 10", devs,
		    "no <memballoon>: libvirt then adds a virtio balloon, and memory ballooning is "
		    "not supported for secure guests: give <memballoon model='none'/>");
	/* A virtio console on the controller libvirt adds itself, which has no iommu="on". */
	if (vconsole && !vserial_ctl && !c->has_ls)
		add(c, PVK_DOM_ERROR, "iommu", "ch. 10", vconsole,
		    "a virtio console or channel without a <controller type='virtio-serial'> that has "
		    "<driver iommu=\"on\"/>: the controller libvirt adds has no bounce buffers");
}

static void check_domain(struct check *c, const xmlNode *dom)
{
	xmlNode *ls = child(dom, "launchSecurity"), *mb = child(dom, "memoryBacking");
	xmlNode *at = child(child(dom, "features"), "async-teardown");
	char b[64];

	if (!attr_is(dom, "type", "kvm"))
		add(c, PVK_DOM_ERROR, "domain-type", "ch. 10", dom,
		    "<domain type='%s'>: secure guests run under KVM (type=\"kvm\")",
		    attr(dom, "type", b, sizeof(b)));
	if (ls && !attr_is(ls, "type", "s390-pv"))
		add(c, PVK_DOM_ERROR, "launch-security", "ch. 10", ls,
		    "<launchSecurity type='%s'>: on IBM Z the type is s390-pv",
		    attr(ls, "type", b, sizeof(b)));
	c->has_ls = ls && attr_is(ls, "type", "s390-pv");
	if (!ls)
		add(c, PVK_DOM_WARNING, "launch-security", "ch. 10", dom,
		    "no <launchSecurity type=\"s390-pv\"/>: with it, bounce buffers are the default "
		    "for virtio devices and libvirt warns about missing CPU features; without it "
		    "every virtio device needs iommu=\"on\"");
	if (!at || !attr_is(at, "enabled", "yes"))
		add(c, PVK_DOM_WARNING, "async-teardown", "ch. 1", at ? at : dom,
		    "no <features><async-teardown enabled='yes'/></features>: a secure guest's "
		    "memory is then torn down before it can shut down or reboot (slower)");
	if (child(mb, "hugepages"))
		add(c, PVK_DOM_ERROR, "hugepages", "ch. 4", child(mb, "hugepages"),
		    "huge memory pages on the host cannot back a secure guest's memory");
	check_vcpus(c, dom);
	check_os(c, dom);
	check_devices(c, dom);
}

/* In file order; findings of one line in the order the rules found them (insertion sort:
 * stable, and a report is short). */
static void sort_by_line(struct pvk_dom_report *r)
{
	for (size_t i = 1; i < r->n; i++) {
		struct pvk_dom_finding f = r->f[i];
		size_t j = i;

		while (j && r->f[j - 1].line > f.line) {
			r->f[j] = r->f[j - 1];
			j--;
		}
		r->f[j] = f;
	}
}

int pvk_domxml_check(const char *buf, size_t len, const char *name, struct pvk_dom_report *r,
		     struct pvk_err *e)
{
	struct check c = { .r = r };
	xmlParserCtxtPtr ctx;
	xmlDoc *doc;
	xmlNode *root;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	if (len > PVK_DOMXML_MAX)
		return pvk_fail(e, PVK_E_FORMAT, "%s: larger than %u MiB: not a domain XML", name,
				PVK_DOMXML_MAX >> 20);
	ctx = xmlNewParserCtxt();
	if (!ctx)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	/* No network, no entity expansion, no DTD loading; errors come back, not printed. */
	doc = xmlCtxtReadMemory(ctx, buf, (int)len, name, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *x = xmlCtxtGetLastError(ctx);
		char msg[256] = "not well-formed XML";

		if (x && x->message) {
			snprintf(msg, sizeof(msg), "%s", x->message);
			msg[strcspn(msg, "\n")] = 0;
		}
		rc = pvk_fail(e, PVK_E_FORMAT, "%s:%d: not a domain XML: %s", name, x ? x->line : 0,
			      msg);
		xmlFreeParserCtxt(ctx);
		return rc;
	}
	root = xmlDocGetRootElement(doc);
	if (!is(root, "domain")) {
		rc = pvk_fail(e, PVK_E_FORMAT, "%s: not a libvirt domain XML (the root element is "
			      "<%s>, not <domain>)", name, root ? (const char *)root->name : "");
	} else {
		check_domain(&c, root);
		sort_by_line(r);
		if (c.oom) {
			pvk_dom_report_free(r);
			rc = pvk_fail(e, PVK_E_NOMEM, "out of memory");
		}
	}
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctx);
	return rc;
}

int pvk_domxml_check_file(const char *path, struct pvk_dom_report *r, struct pvk_err *e)
{
	uint8_t *buf;
	size_t len;
	int rc;

	memset(r, 0, sizeof(*r));
	if (pvk_file_read_arg(path, PVK_DOMXML_MAX, &buf, &len, e))
		return -1;
	rc = pvk_domxml_check((const char *)buf, len, path, r, e);
	free(buf);
	return rc;
}

/* ---- making a domain ---- */

static xmlNode *add_el(xmlNode *parent, const char *name, const char *content)
{
	return xmlNewTextChild(parent, NULL, BAD_CAST name, content ? BAD_CAST content : NULL);
}

static void set(xmlNode *n, const char *name, const char *value)
{
	xmlNewProp(n, BAD_CAST name, BAD_CAST value);
}

int pvk_domxml_make(const struct pvk_domxml_guest *g, char **out, size_t *len, struct pvk_err *e)
{
	xmlDoc *doc;
	xmlNode *dom, *os, *n, *devs;
	xmlChar *mem = NULL;
	char b[32];
	int size = 0;

	*out = NULL;
	if (!g->name || !*g->name || (!g->kernel == !g->disk))
		return pvk_fail(e, PVK_E_USAGE, "a domain needs a name and either a kernel or a disk");
	if ((g->kernel && g->kernel[0] != '/') || (g->disk && g->disk[0] != '/'))
		return pvk_fail(e, PVK_E_USAGE, "%s: the domain needs the fully qualified path",
				g->kernel ? g->kernel : g->disk);
	if (g->vcpus < 1 || g->vcpus > PVK_DOMXML_MAX_VCPUS)
		return pvk_fail(e, PVK_E_USAGE, "%u virtual CPUs: a secure guest has 1 to %u",
				g->vcpus, PVK_DOMXML_MAX_VCPUS);
	doc = xmlNewDoc(BAD_CAST "1.0");
	dom = xmlNewNode(NULL, BAD_CAST "domain");
	if (!doc || !dom) {
		xmlFreeDoc(doc);
		xmlFreeNode(dom);
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	}
	xmlDocSetRootElement(doc, dom);
	set(dom, "type", "kvm");
	add_el(dom, "name", g->name);
	snprintf(b, sizeof(b), "%u", g->memory_mib);
	set(add_el(dom, "memory", b), "unit", "MiB");
	snprintf(b, sizeof(b), "%u", g->vcpus);
	set(add_el(dom, "vcpu", b), "placement", "static");
	os = add_el(dom, "os", NULL);
	n = add_el(os, "type", "hvm");
	set(n, "arch", "s390x");
	set(n, "machine", "s390-ccw-virtio");
	if (g->kernel)
		add_el(os, "kernel", g->kernel);  /* direct kernel boot of the SE image (ch. 10) */
	if (!g->no_async_teardown)
		set(add_el(add_el(dom, "features", NULL), "async-teardown", NULL), "enabled", "yes");
	set(add_el(dom, "cpu", NULL), "mode", "host-model");
	set(add_el(dom, "clock", NULL), "offset", "utc");
	add_el(dom, "on_poweroff", "destroy");
	add_el(dom, "on_reboot", "restart");
	add_el(dom, "on_crash", "preserve");  /* keep debug data (ch. 11) */
	devs = add_el(dom, "devices", NULL);
	add_el(devs, "emulator", "/usr/bin/qemu-system-s390x");
	if (g->disk) {
		n = add_el(devs, "disk", NULL);
		set(n, "type", "file");
		set(n, "device", "disk");
		xmlNode *drv = add_el(n, "driver", NULL);

		set(drv, "name", "qemu");
		set(drv, "type", "raw");
		set(drv, "cache", "none");
		set(drv, "io", "native");
		set(drv, "iommu", "on");
		set(add_el(n, "source", NULL), "file", g->disk);
		xmlNode *t = add_el(n, "target", NULL);

		set(t, "dev", "vda");
		set(t, "bus", "virtio");
		set(add_el(n, "boot", NULL), "order", "1");
	}
	n = add_el(devs, "console", NULL);
	set(n, "type", "pty");
	set(add_el(n, "target", NULL), "type", "sclp");
	if (g->ap_mdev_uuid) {
		n = add_el(devs, "hostdev", NULL);
		set(n, "mode", "subsystem");
		set(n, "type", "mdev");
		set(n, "model", "vfio-ap");
		set(add_el(add_el(n, "source", NULL), "address", NULL), "uuid", g->ap_mdev_uuid);
	}
	set(add_el(devs, "memballoon", NULL), "model", "none");
	set(add_el(dom, "launchSecurity", NULL), "type", "s390-pv");
	xmlDocDumpFormatMemoryEnc(doc, &mem, &size, "UTF-8", 1);
	xmlFreeDoc(doc);
	if (!mem || size <= 0) {
		xmlFree(mem);
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	}
	*out = malloc((size_t)size + 1);
	if (!*out) {
		xmlFree(mem);
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	}
	memcpy(*out, mem, (size_t)size);
	(*out)[size] = 0;
	*len = (size_t)size;
	xmlFree(mem);
	return 0;
}
