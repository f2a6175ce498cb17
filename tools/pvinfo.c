// SPDX-License-Identifier: MIT
/* pvinfo: what the ultravisor of this machine supports, as IBM's pvinfo prints it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "cli.h"
#include "pvkit/uvinfo.h"
#include "pvkit/yamlout.h"

static const char help[] =
	"Usage: pvinfo [OPTIONS] [COMMAND]\n"
	"\n"
	"Print what the ultravisor of this machine (an IBM Secure Execution host or guest)\n"
	"supports, read from /sys/firmware/uv ($PVKIT_SYSFS_ROOT/firmware/uv when set).\n"
	"Without options everything is printed.\n"
	"\n"
	"Commands:\n"
	"  supported-flags [--secret] [--attestation] [--header]\n"
	"                 Print the supported versions and flags of the secret, attestation\n"
	"                 and SE-header requests (all three without an option)\n"
	"\n"
	"Options:\n"
	"      --se-status                 Whether this is an SE host, an SE guest or neither\n"
	"      --facilities                The installed ultravisor calls\n"
	"      --feature-indications       The ultravisor's features\n"
	"      --supported-plaintext-attestation-flags\n"
	"                                  The supported plaintext attestation flags\n"
	"      --supported-se-header-versions  The supported SE-header versions\n"
	"      --supported-secret-types    The supported secret types\n"
	"      --supported-plaintext-control-flags\n"
	"                                  The supported plaintext control flags\n"
	"      --supported-attestation-request-versions\n"
	"                                  The supported attestation-request versions\n"
	"      --supported-add-secret-request-versions\n"
	"                                  The supported add-secret-request versions\n"
	"      --supported-plaintext-add-secret-flags\n"
	"                                  The supported plaintext add-secret flags\n"
	"      --limits                    The ultravisor's limits\n"
	"      --format FORMAT             human (default), yaml, or json (pvkit's addition)\n"
	"      --version                   Print version information and exit\n"
	"  -h, --help                      Print this help and exit\n";

/* The sections, in the order of IBM's YAML document (its human output orders them
 * differently: human_order). */
enum sec {
	S_STATUS, S_FAC, S_FEAT, S_LIMITS, S_PCF, S_HDR_VER, S_ATT_PF, S_ATT_VER, S_SECRETS,
	S_ASR_VER, S_ASR_PCF, S_N,
};

struct section {
	const char *opt, *yaml, *human;
	enum uvinfo_table table;
};

static const struct section sections[S_N] = {
	[S_STATUS] = { "se-status", "se_status", NULL, 0 },
	[S_FAC] = { "facilities", "facilities", "Facilities: Installed Ultravisor Calls",
		    UVINFO_FACILITIES },
	[S_FEAT] = { "feature-indications", "feature_indications",
		     "Feature Indications: Ultravisor Features", UVINFO_FEATURES },
	[S_LIMITS] = { "limits", "limits", "Limits:", 0 },
	[S_PCF] = { "supported-plaintext-control-flags", "supported_plaintext_control_flags",
		    "Supported plaintext control flags:", UVINFO_SE_HDR_PCF },
	[S_HDR_VER] = { "supported-se-header-versions", "supported_se_header_versions",
			"Supported SE Header Versions:", UVINFO_SE_HDR_VER },
	[S_ATT_PF] = { "supported-plaintext-attestation-flags",
		       "supported_plaintext_attestation_flags",
		       "Supported Plaintext Attestation Flags:", UVINFO_ATT_PFLAGS },
	[S_ATT_VER] = { "supported-attestation-request-versions",
			"supported_attestation_request_versions",
			"Supported Attestation Request Versions:", UVINFO_ATT_REQ_VER },
	[S_SECRETS] = { "supported-secret-types", "supported_secret_types",
			"Supported secret types:", UVINFO_SECRET_TYPES },
	[S_ASR_VER] = { "supported-add-secret-request-versions",
			"supported_add_secret_request_versions",
			"Supported Add Secret Request Versions:", UVINFO_ADD_SECRET_REQ_VER },
	[S_ASR_PCF] = { "supported-plaintext-add-secret-flags",
			"supported_plaintext_add_secret_flags",
			"Supported plaintext add secret flags:", UVINFO_ADD_SECRET_PCF },
};

static const enum sec human_order[] = {
	S_FAC, S_FEAT, S_LIMITS, S_ATT_PF, S_HDR_VER, S_SECRETS, S_PCF, S_ATT_VER, S_ASR_VER,
	S_ASR_PCF,
};

static const char *const status_text[] = {
	"Secure Execution is not enabled", "Secure Execution Guest", "Secure Execution Host",
	"Invalid state: both guest and host enabled (impossible)",
};
static const char *const status_yaml[] = { "Unsecure", "Guest", "Host", "Invalid" };

/* Everything is written here first and copied to stdout only when all of it could be read:
 * a bad file gives one error line and no half listing. */
static FILE *out;

static void emit_human(void *ctx, const char *line)
{
	fprintf(ctx, "%s\n", line);
}

static void emit_json(void *ctx, const char *line)
{
	json_object_array_add(ctx, json_object_new_string(line));
}

/* 0 unsecure, 1 guest, 2 host, 3 both; -1 on a bad file. */
static int read_status(const char *dir, struct pvk_err *e)
{
	int guest, host;

	if (pvk_uvinfo_read_bool(dir, "prot_virt_guest", &guest, e) ||
	    pvk_uvinfo_read_bool(dir, "prot_virt_host", &host, e))
		return -1;
	return guest | host << 1;
}

/* A flag section: its value (0 when absent, and then not printed). */
static int section_value(const char *dir, enum sec s, uint64_t *v, struct pvk_err *e)
{
	int rc = pvk_uvinfo_read_hex(dir, pvk_uvinfo_file(sections[s].table), v, e);

	if (rc == 0)
		*v = 0;
	return rc < 0 ? -1 : 0;
}

/* The limits that are there (have[i]); their count, or -1 on a bad file. */
static int read_limits(const char *dir, uint64_t lim[6], int have[6], struct pvk_err *e)
{
	int n = 0;

	for (size_t l = 0; l < 6; l++) {
		have[l] = pvk_uvinfo_read_dec(dir, pvk_uvinfo_limits[l].file, &lim[l], e);
		if (have[l] < 0)
			return -1;
		n += have[l];
	}
	return n;
}

static int print_human(const char *dir, const int *want, int status, struct pvk_err *e)
{
	if (want[S_STATUS])
		fprintf(out, "%s\n", status_text[status]);
	for (size_t i = 0; i < sizeof(human_order) / sizeof(human_order[0]); i++) {
		enum sec s = human_order[i];
		uint64_t v;

		if (!want[s])
			continue;
		if (s == S_LIMITS) {
			uint64_t lim[6];
			int have[6], n = read_limits(dir, lim, have, e);

			if (n < 0)
				return -1;
			if (n)
				fprintf(out, "\n%s\n", sections[s].human);
			for (size_t l = 0; l < 6; l++)
				if (have[l])
					fprintf(out, "%s %llu\n", pvk_uvinfo_limits[l].desc,
						(unsigned long long)lim[l]);
			continue;
		}
		if (section_value(dir, s, &v, e))
			return -1;
		if (!v)
			continue;
		fprintf(out, "\n%s\n", sections[s].human);
		pvk_uvinfo_lines(sections[s].table, v, emit_human, out);
	}
	return 0;
}

/* IBM's YAML document as a tree (members in its order), for yaml and json output. */
static json_object *build_doc(const char *dir, const int *want, int status, struct pvk_err *e)
{
	json_object *doc = json_object_new_object();

	json_object_object_add(doc, "se_status", want[S_STATUS]
			       ? json_object_new_string(status_yaml[status]) : NULL);
	for (int s = S_FAC; s < S_N; s++) {
		json_object *sec;
		uint64_t v;

		if (!want[s])
			continue;
		if (s == S_LIMITS) {
			uint64_t lim[6];
			int have[6], n = read_limits(dir, lim, have, e);

			if (n < 0)
				goto fail;
			if (!n)
				continue;
			sec = json_object_new_object();
			for (size_t l = 0; l < 6; l++)
				if (have[l])
					json_object_object_add(sec, pvk_uvinfo_limits[l].desc,
							       json_object_new_int64((int64_t)lim[l]));
			json_object_object_add(doc, "limits", sec);
			continue;
		}
		if (section_value(dir, s, &v, e))
			goto fail;
		if (!v)
			continue;
		sec = json_object_new_array();
		pvk_uvinfo_lines(sections[s].table, v, emit_json, sec);
		json_object_object_add(doc, sections[s].yaml, sec);
	}
	return doc;
fail:
	json_object_put(doc);
	return NULL;
}

static int print_doc(const char *dir, const int *want, int status, int json, struct pvk_err *e)
{
	json_object *doc = build_doc(dir, want, status, e);
	struct yout y;
	char *text;
	size_t len;

	if (!doc)
		return -1;
	if (json) {
		fprintf(out, "%s\n", json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
			JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(doc);
		return 0;
	}
	if (pvk_yout_begin(&y, e)) {
		json_object_put(doc);
		return -1;
	}
	pvk_yout_json(&y, doc);
	json_object_put(doc);
	if (pvk_yout_finish(&y, &text, &len, e))
		return -1;
	fwrite(text, 1, len, out);
	free(text);
	return 0;
}

/* pvinfo supported-flags: IBM's labels differ a little from the main listing's. */
static int supported_flags(const char *dir, int secret, int att, int hdr, struct pvk_err *e)
{
	static const struct {
		int group;
		enum uvinfo_table t;
		const char *label;
	} parts[] = {
		{ 0, UVINFO_SECRET_TYPES, "Supported Secret types" },
		{ 0, UVINFO_ADD_SECRET_REQ_VER, "Supported Add Secret Request Versions" },
		{ 0, UVINFO_ADD_SECRET_PCF, "Supported Plaintext Add Secret Flags" },
		{ 1, UVINFO_ATT_PFLAGS, "Supported Plaintext Attestation Flags" },
		{ 1, UVINFO_ATT_REQ_VER, "Supported Attestation Request Versions" },
		{ 2, UVINFO_SE_HDR_VER, "Supported SE Header Versions" },
		{ 2, UVINFO_SE_HDR_PCF, "Supported Plaintext Control Flags" },
	};
	int groups[3] = { secret, att, hdr };

	if (!secret && !att && !hdr)
		groups[0] = groups[1] = groups[2] = 1;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		uint64_t v;
		int rc;

		if (!groups[parts[i].group])
			continue;
		rc = pvk_uvinfo_read_hex(dir, pvk_uvinfo_file(parts[i].t), &v, e);
		if (rc < 0)
			return -1;
		if (!rc)
			continue;
		fprintf(out, "\n%s:\n", parts[i].label);
		pvk_uvinfo_lines(parts[i].t, v, emit_human, out);
	}
	return 0;
}

static int cmd_supported_flags(int argc, char **argv, const char *dir, int check_only)
{
	static const struct option longopts[] = {
		{ "secret", no_argument, NULL, 's' },
		{ "attestation", no_argument, NULL, 'a' },
		{ "header", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, secret = 0, att = 0, hdr = 0;
	struct pvk_err e;

	pvk_err_clear(&e);
	cli_sub = "supported-flags";
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': secret = 1; break;
		case 'a': att = 1; break;
		case 'H': hdr = 1; break;
		case 'h':
			printf("Usage: pvinfo supported-flags [--secret] [--attestation] [--header] "
			       "[-h|--help]\n");
			return PVK_EXIT_OK;
		default: return cli_usage_error("invalid option");
		}
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (check_only)
		return -1;
	return supported_flags(dir, secret, att, hdr, &e) ? cli_error(&e) : PVK_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct option longopts[S_N + 4];
	int want[S_N] = { 0 }, c, idx, any = 0, format = 0, status = 0, rc;
	char dirbuf[4096], *text = NULL;
	size_t len = 0;
	const char *dir;
	struct pvk_err e;
	struct stat st;

	cli_init(argv[0], "pvinfo");
	pvk_err_clear(&e);
	for (int s = 0; s < S_N; s++)
		longopts[s] = (struct option){ sections[s].opt, no_argument, NULL, 0x100 + s };
	longopts[S_N] = (struct option){ "format", required_argument, NULL, 'f' };
	longopts[S_N + 1] = (struct option){ "version", no_argument, NULL, 'V' };
	longopts[S_N + 2] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[S_N + 3] = (struct option){ NULL, 0, NULL, 0 };
	/* "+": options stop at the subcommand, whose options are its own */
	while ((c = getopt_long(argc, argv, "+h", longopts, &idx)) != -1) {
		if (c >= 0x100 && c < 0x100 + S_N) {
			want[c - 0x100] = any = 1;
		} else if (c == 'f') {
			if (strcmp(optarg, "human") && strcmp(optarg, "yaml") && strcmp(optarg, "json"))
				return cli_usage_error("invalid value '%s' for '--format <FORMAT>' "
						       "(possible values: human, yaml, json)", optarg);
			format = !strcmp(optarg, "yaml") ? 1 : !strcmp(optarg, "json") ? 2 : 0;
		} else if (c == 'V') {
			cli_version();
			return PVK_EXIT_OK;
		} else if (c == 'h') {
			fputs(help, stdout);
			return PVK_EXIT_OK;
		} else {
			return cli_usage_error("invalid option");
		}
	}
	if (optind < argc && strcmp(argv[optind], "supported-flags"))
		return cli_usage_error("unrecognized subcommand '%s'", argv[optind]);
	if (!any && optind == argc)
		for (int s = 0; s < S_N; s++)
			want[s] = 1;
	dir = pvk_uvinfo_dir(dirbuf, sizeof(dirbuf));
	/* usage errors of the subcommand come first */
	if (optind < argc && (rc = cmd_supported_flags(argc - optind, argv + optind, dir, 1)) >= 0)
		return rc;
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		/* as IBM's: no UV directory is an answer to --se-status, an error otherwise */
		if (want[S_STATUS] && optind == argc) {
			printf("%s\n", status_text[0]);
			return PVK_EXIT_OK;
		}
		pvk_fail(&e, PVK_E_IO, "This system is neither a SE-host or SE-guest (%s: "
			 "Ultravisor directory missing)", dir);
		return cli_error(&e);
	}
	out = open_memstream(&text, &len);
	if (!out) {
		pvk_fail(&e, PVK_E_NOMEM, "out of memory");
		return cli_error(&e);
	}
	if (optind < argc)
		rc = cmd_supported_flags(argc - optind, argv + optind, dir, 0);
	else if (want[S_STATUS] && (status = read_status(dir, &e)) < 0)
		rc = cli_error(&e);
	else if (format ? print_doc(dir, want, status, format == 2, &e)
			: print_human(dir, want, status, &e))
		rc = cli_error(&e);
	else
		rc = PVK_EXIT_OK;
	fclose(out);
	if (rc == PVK_EXIT_OK && (fwrite(text, 1, len, stdout) != len || fflush(stdout)))
		rc = PVK_EXIT_ERROR;
	free(text);
	return rc;
}
