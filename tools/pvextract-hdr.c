// SPDX-License-Identifier: MIT
/* pvextract-hdr: copy the SE header out of an SE image (spec §8), as IBM's script does:
 * search [SKIP, SKIP+LEN) pages for the magic at 16-byte boundaries, exactly one match. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pvkit/bytes.h"
#include "pvkit/fileio.h"
#include "pvkit/sehdr.h"

static const char help[] =
	"Usage: pvextract-hdr [-o OUTPUT] [-s SKIP] [-l LEN] [-h] FILE\n"
	"\n"
	"Extract the IBM Secure Execution header from the SE image FILE.\n"
	"\n"
	"Options:\n"
	"  -o OUTPUT   Write the header to OUTPUT (default: sehdr.bin)\n"
	"  -s SKIP     Pages to skip before searching for the header (default: 0x14)\n"
	"  -l LEN      Pages to search (default: 0x4)\n"
	"  -h          Print this help\n";

static int parse_pages(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || !*s || *end || *out > (1ull << 40) ? -1 : 0;
}

static int extract(const char *in, const char *out, uint64_t skip, uint64_t len,
		   struct pvk_err *e)
{
	uint8_t *area = NULL, *hdr = NULL;
	uint64_t found = UINT64_MAX;
	size_t got = 0;
	uint32_t version, sehs;
	struct infile f;
	int rc = -1;

	/* A pipe works too: infile reads it once, in order. */
	if (pvk_infile_open(&f, in, e))
		return -1;
	area = malloc(len + SEHDR_MAGIC_LEN);
	if (!area) {
		pvk_fail(e, PVK_E_NOMEM, "out of memory");
		goto out;
	}
	if (pvk_infile_pread_upto(&f, area, len, skip, &got)) {
		pvk_fail(e, PVK_E_IO, "%s: cannot read: %s", in, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i + SEHDR_MAGIC_LEN <= got; i += 16) {
		if (memcmp(area + i, SEHDR_MAGIC, SEHDR_MAGIC_LEN))
			continue;
		if (found != UINT64_MAX) {
			pvk_fail(e, PVK_E_FORMAT, "%s: more than one SE header found (at 0x%llx and 0x%llx)",
				 in, (unsigned long long)found, (unsigned long long)(skip + i));
			goto out;
		}
		found = skip + i;
	}
	if (found == UINT64_MAX) {
		pvk_fail(e, PVK_E_FORMAT, "%s does not contain an SE header.", in);
		goto out;
	}
	fprintf(stderr, "SE header found at offset 0x%llx\n", (unsigned long long)found);
	if (pvk_infile_pread(&f, area, 16, found)) {
		pvk_fail(e, PVK_E_FORMAT, "%s: SE header truncated", in);
		goto out;
	}
	version = get_be32(area + SEHDR_OFF_VERSION);
	sehs = get_be32(area + SEHDR_OFF_SEHS);
	if (version != SEHDR_VERSION_V1)
		fprintf(stderr, "WARNING: unknown hdr version 0x%08x\n", version);
	if (sehs < 16 || sehs > SEHDR_READ_MAX) {
		pvk_fail(e, PVK_E_FORMAT, "%s: invalid SE header size %u", in, sehs);
		goto out;
	}
	hdr = malloc(sehs);
	if (!hdr) {
		pvk_fail(e, PVK_E_NOMEM, "out of memory");
		goto out;
	}
	if (pvk_infile_pread(&f, hdr, sehs, found)) {
		pvk_fail(e, PVK_E_FORMAT, "%s: SE header truncated (%u bytes expected at 0x%llx)", in,
			 sehs, (unsigned long long)found);
		goto out;
	}
	if (pvk_file_write_all(out, hdr, sehs, OUTFILE_OVERWRITE, e))
		goto out;
	fprintf(stderr, "SE header written to '%s' (%u bytes)\n", out, sehs);
	rc = 0;
out:
	free(area);
	free(hdr);
	pvk_infile_close(&f);
	return rc;
}

int main(int argc, char **argv)
{
	const char *out = "sehdr.bin";
	uint64_t skip = 0x14, len = 0x4;
	struct pvk_err e;
	int c;

	cli_init(argv[0], "pvextract-hdr");
	pvk_err_clear(&e);
	while ((c = getopt(argc, argv, "o:s:l:h")) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 's':
			if (parse_pages(optarg, &skip))
				{ cli_usage_error("-s: '%s' is not a page count", optarg); return PVK_EXIT_ERROR; }
			break;
		case 'l':
			if (parse_pages(optarg, &len) || !len)
				{ cli_usage_error("-l: '%s' is not a page count", optarg); return PVK_EXIT_ERROR; }
			break;
		case 'h': fputs(help, stdout); return PVK_EXIT_OK;
		default: fputs(help, stderr); return PVK_EXIT_ERROR;
		}
	}
	if (optind + 1 != argc) {
		fputs(help, stderr);
		return PVK_EXIT_ERROR;
	}
	if (len > 4096)
		{ cli_usage_error("-l: at most 4096 pages are searched"); return PVK_EXIT_ERROR; }
	/* IBM's script exits 1 on every failure; so do we. */
	if (extract(argv[optind], out, skip * 4096, len * 4096, &e)) {
		cli_error(&e);
		return PVK_EXIT_ERROR;
	}
	return PVK_EXIT_OK;
}
