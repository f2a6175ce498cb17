// SPDX-License-Identifier: MIT
/* pvattest-agent: a secure guest attests to pvattestd and receives its secrets (pvkit's
 * addition; the protocol is lib/agent.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pvkit/agent.h"
#include "pvkit/bytes.h"
#include "pvkit/fileio.h"

static const char help[] =
	"Usage: pvattest-agent [OPTIONS] --url URL --image NAME\n"
	"\n"
	"Attest this secure guest to pvattestd and receive the secrets its policy releases:\n"
	"ask for a challenge for the image NAME, have the ultravisor perform it (the user\n"
	"data binds a fresh X25519 key of this run), post the response, and decrypt the\n"
	"secrets with that key. Exit status 0 when the service verified the guest, 2 when\n"
	"it refused (its reason on standard error), 1 on any other error.\n"
	"\n"
	"Options:\n"
	"      --url URL                 The service's base URL (http://HOST:PORT)\n"
	"      --image NAME              The image's name registered with the service\n"
	"      --via PORT                Reach the service over the virtio-serial port PORT\n"
	"                                (a name or /dev/vportNpM) instead of the network\n"
	"      --host-key-hash HEX       Ask for a challenge for this host only (the SHA-256\n"
	"                                of its host key, 64 hex digits)\n"
	"  -o, --output-dir DIR          Write each secret to DIR/NAME (mode 0600; all or\n"
	"                                none)\n"
	"      --secret NAME             Write the secret NAME to standard output (for a pipe\n"
	"                                into cryptsetup)\n"
	"      --token FILE              Write the attestation token (JWT) to FILE\n"
	"      --timeout SECONDS         Give up after SECONDS (default 60)\n"
	"  -v, --verbose                 Say what is done\n"
	"  -q, --quiet                   Errors only\n"
	"      --version                 Print version information and exit\n"
	"  -h, --help                    Print this help and exit\n";

enum { OPT_VERSION = 0x5001, OPT_URL, OPT_IMAGE, OPT_VIA, OPT_HOST, OPT_SECRET, OPT_TOKEN,
       OPT_TIMEOUT };

/* The outputs of a run, committed together. */
static int write_outputs(const struct pvk_agent_result *r, const char *dir, const char *one,
			 const char *token, struct pvk_err *e)
{
	struct outfile of[OUTFILES_MAX], *ofs[OUTFILES_MAX];
	size_t n = 0;
	const struct pvk_release_secret *pick = NULL;
	int rc = -1;

	memset(of, 0, sizeof(of));
	if (one) {
		for (size_t i = 0; i < r->n_secrets; i++)
			if (!strcmp(r->secrets[i].name, one))
				pick = &r->secrets[i];
		if (!pick)
			return pvk_fail(e, PVK_E_MISMATCH, "the service released no secret '%s'", one);
	}
	if (dir && r->n_secrets + (token ? 1 : 0) > OUTFILES_MAX)
		return pvk_fail(e, PVK_E_USAGE, "%s: more than %d outputs", dir, OUTFILES_MAX);
	for (size_t i = 0; dir && i < r->n_secrets; i++, n++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir, r->secrets[i].name);
		ofs[n] = &of[n];
		if (pvk_outfile_open(&of[n], path, OUTFILE_OVERWRITE | OUTFILE_SECRET, e) ||
		    pvk_outfile_write(&of[n], r->secrets[i].value, r->secrets[i].len, e))
			goto out;
	}
	if (token) {
		ofs[n] = &of[n];
		if (pvk_outfile_open(&of[n], token, OUTFILE_OVERWRITE | OUTFILE_SECRET, e) ||
		    pvk_outfile_write(&of[n], r->token, strlen(r->token), e) ||
		    pvk_outfile_write(&of[n], "\n", 1, e)) {
			n++;
			goto out;
		}
		n++;
	}
	if (n && pvk_outfiles_commit(ofs, n, e))
		goto out;
	n = 0;
	if (pick && (pvk_fd_write_full(1, pick->value, pick->len)))
		return pvk_fail(e, PVK_E_IO, "standard output: cannot write the secret");
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		pvk_outfile_abort(&of[i]);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, OPT_URL },
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "via", required_argument, NULL, OPT_VIA },
		{ "host-key-hash", required_argument, NULL, OPT_HOST },
		{ "output-dir", required_argument, NULL, 'o' },
		{ "secret", required_argument, NULL, OPT_SECRET },
		{ "token", required_argument, NULL, OPT_TOKEN },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pvk_agent_opts o = { 0 };
	struct pvk_agent_result r;
	const char *dir = NULL, *one = NULL, *token = NULL;
	uint8_t host[32];
	struct pvk_err e;
	int c, verbose = 0, quiet = 0, rc;
	char *end;

	cli_init(argv[0], "pvattest-agent");
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_URL: o.url = optarg; break;
		case OPT_IMAGE: o.image = optarg; break;
		case OPT_VIA: o.via = optarg; break;
		case OPT_HOST:
			if (pvk_hex_decode(optarg, host, 32))
				return cli_usage_error("--host-key-hash: 64 hex digits, not '%s'", optarg);
			o.host = host;
			break;
		case 'o': dir = optarg; break;
		case OPT_SECRET: one = optarg; break;
		case OPT_TOKEN: token = optarg; break;
		case OPT_TIMEOUT:
			o.timeout_s = strtol(optarg, &end, 10);
			if (*end || end == optarg || o.timeout_s < 1 || o.timeout_s > 86400)
				return cli_usage_error("--timeout: 1 to 86400 seconds, not '%s'", optarg);
			break;
		case 'v': verbose++; break;
		case 'q': quiet++; break;
		case OPT_VERSION: cli_version(); return PVK_EXIT_OK;
		case 'h': fputs(help, stdout); return PVK_EXIT_OK;
		default:
			return cli_getopt_error(c, argv);
		}
	}
	if (verbose && quiet)
		return cli_usage_error("the options '--verbose' and '--quiet' cannot be used together");
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!o.url || !o.image)
		return cli_usage_error("--url and --image are required");
	if (strncmp(o.url, "http://", 7) && strncmp(o.url, "https://", 8))
		return cli_usage_error("--url: an http:// or https:// URL, not '%s'", o.url);
	cli_verbosity = quiet ? -1 : verbose;
	pvk_outfile_trap_signals();  /* interrupted: no output left half-written */
	pvk_err_clear(&e);
	rc = pvk_agent_attest(&o, &r, &cli_log, &e);
	if (rc == 1) {
		fprintf(stderr, "%s: %s\n", cli_prog, e.msg);
		return 2;
	}
	if (rc < 0) {
		cli_error(&e);
		return 1;
	}
	if (write_outputs(&r, dir, one, token, &e)) {
		pvk_agent_result_free(&r);
		cli_error(&e);
		return 1;
	}
	cli_note("Attestation verified: image %s, guest %s; %zu secret(s) released", o.image,
		 r.cuid, r.n_secrets);
	for (size_t i = 0; i < r.n_secrets; i++)
		cli_info("  %s (%zu bytes)%s", r.secrets[i].name, r.secrets[i].len,
			 dir ? "" : " (not written: no --output-dir)");
	pvk_agent_result_free(&r);
	return PVK_EXIT_OK;
}
