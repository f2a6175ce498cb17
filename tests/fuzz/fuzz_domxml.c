// SPDX-License-Identifier: MIT
/* pvk_domxml_check on untrusted bytes: it checks or refuses with a format error, never more;
 * findings are consistent (counts, a rule, a chapter, a message). The domain pvk_domxml_make
 * writes is the seed, and must itself check with no finding. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "pvkit/domxml.h"

static void write_seeds(void)
{
	struct pvk_domxml_guest g = { .name = "g", .kernel = "/var/lib/libvirt/images/se.img",
				      .memory_mib = 2048, .vcpus = 2,
				      .ap_mdev_uuid = "8c1e5a2e-0000-4000-8000-000000000001" };
	struct pvk_dom_report r;
	struct pvk_err e;
	char *xml;
	size_t len;

	FUZZ_CHECK(pvk_domxml_make(&g, &xml, &len, &e) == 0);
	FUZZ_CHECK(pvk_domxml_check(xml, len, "seed", &r, &e) == 0 && r.n == 0);
	fuzz_seed("domain-kernel.xml", xml, len);
	free(xml);
	g.kernel = NULL;
	g.disk = "/var/lib/libvirt/images/disk.img";
	g.ap_mdev_uuid = NULL;
	FUZZ_CHECK(pvk_domxml_make(&g, &xml, &len, &e) == 0);
	fuzz_seed("domain-disk.xml", xml, len);
	free(xml);
}

FUZZ_INIT_SEEDS(write_seeds)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pvk_dom_report r;
	struct pvk_err e;
	size_t errors = 0, warnings = 0;

	if (pvk_domxml_check((const char *)data, size, "fuzz", &r, &e)) {
		FUZZ_CHECK(e.code == PVK_E_FORMAT && e.msg[0] && r.n == 0 && !r.f);
		return 0;
	}
	for (size_t i = 0; i < r.n; i++) {
		const struct pvk_dom_finding *f = &r.f[i];

		FUZZ_CHECK(f->rule && f->ref && f->msg[0] && f->element[0] && f->line >= 0);
		FUZZ_CHECK(i == 0 || r.f[i - 1].line <= f->line);
		if (f->severity == PVK_DOM_ERROR)
			errors++;
		else
			warnings++;
	}
	FUZZ_CHECK(errors == r.errors && warnings == r.warnings);
	pvk_dom_report_free(&r);
	return 0;
}
