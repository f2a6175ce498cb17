// SPDX-License-Identifier: MIT
/* pvdomcheck: check libvirt domain XML against the guide's rules for Secure Execution guests
 * (pvkit's addition; the rules are in lib/domxml.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "pvkit/domxml.h"
#include "pvkit/fileio.h"
#include "pvkit/yamlout.h"

static const char help[] =
	"Usage: pvdomcheck [OPTIONS] FILE...\n"
	"\n"
	"Check libvirt domain XML files (or - for standard input) against what the IBM\n"
	"Secure Execution guide requires of a secure guest's domain: launchSecurity or\n"
	"iommu=\"on\" on every virtio device, no memory balloon, no host device pass-through\n"
	"but vfio-ap, no huge pages, at most 247 virtual CPUs, a fully qualified kernel\n"
	"path; and what it recommends (async teardown). Each finding is one line naming\n"
	"the file, the line, the element, the reason and the guide's chapter. Exit status\n"
	"0 when no file has an error (warnings allowed), 1 otherwise.\n"
	"\n"
	"Options:\n"
	"      --format text|json        Findings as text on standard error (default) or as\n"
	"                                JSON on standard output\n"
	"  -v, --verbose                 Also say which files passed\n"
	"  -q, --quiet                   Errors only, no warnings\n"
	"      --version                 Print version information and exit\n"
	"  -h, --help                    Print this help and exit\n";

enum { OPT_VERSION = 0x5001, OPT_FORMAT };

static void print_text(const char *file, const struct pvk_dom_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct pvk_dom_finding *f = &r->f[i];

		if (f->severity == PVK_DOM_WARNING && cli_verbosity < 0)
			continue;
		fprintf(stderr, "%s:%ld: %s: %s: %s [%s; guide %s]\n", file, f->line,
			pvk_dom_severity_name(f->severity), f->element, f->msg, f->rule, f->ref);
	}
	if (cli_verbosity > 0 && !r->errors)
		fprintf(stderr, "%s: no errors (%zu warnings)\n", file, r->warnings);
}

static json_object *report_json(const char *file, const struct pvk_dom_report *r,
				const struct pvk_err *e)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();

	json_object_object_add(o, "file", json_object_new_string(file));
	json_object_object_add(o, "checked", json_object_new_boolean(!e));
	if (e)
		json_object_object_add(o, "error", json_object_new_string(e->msg));
	json_object_object_add(o, "errors", json_object_new_int64((int64_t)r->errors));
	json_object_object_add(o, "warnings", json_object_new_int64((int64_t)r->warnings));
	for (size_t i = 0; i < r->n; i++) {
		const struct pvk_dom_finding *f = &r->f[i];
		json_object *j = json_object_new_object();

		json_object_object_add(j, "severity",
				       json_object_new_string(pvk_dom_severity_name(f->severity)));
		json_object_object_add(j, "rule", json_object_new_string(f->rule));
		json_object_object_add(j, "line", json_object_new_int64(f->line));
		json_object_object_add(j, "element", json_object_new_string(f->element));
		json_object_object_add(j, "message", json_object_new_string(f->msg));
		json_object_object_add(j, "guide", json_object_new_string(f->ref));
		json_object_array_add(a, j);
	}
	json_object_object_add(o, "findings", a);
	return o;
}

static int run(char **files, int n, int json)
{
	json_object *all = json ? json_object_new_array() : NULL;
	int rc = PVK_EXIT_OK;

	for (int i = 0; i < n; i++) {
		struct pvk_dom_report r;
		struct pvk_err e;
		int bad;

		pvk_err_clear(&e);
		bad = pvk_domxml_check_file(files[i], &r, &e);
		if (bad) {
			if (!json)
				cli_error(&e);
			rc = PVK_EXIT_ERROR;
		} else if (!json) {
			print_text(files[i], &r);
		}
		if (r.errors)
			rc = PVK_EXIT_ERROR;
		if (all)
			json_object_array_add(all, report_json(files[i], &r, bad ? &e : NULL));
		pvk_dom_report_free(&r);
	}
	if (all) {
		struct pvk_err e;
		char *text = NULL;
		size_t len;

		pvk_err_clear(&e);
		if (pvk_json_text(all, 1, &text, &len, &e) || pvk_file_write_arg("-", text, len, 0, &e))
			rc = cli_error(&e);
		free(text);
		json_object_put(all);
	}
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, verbose = 0, quiet = 0, json = 0;

	cli_init(argv[0], "pvdomcheck");
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			verbose++;
			break;
		case 'q':
			quiet++;
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "json"))
				json = 1;
			else if (strcmp(optarg, "text"))
				return cli_usage_error("--format: text or json, not '%s'", optarg);
			break;
		case OPT_VERSION:
			cli_version();
			return PVK_EXIT_OK;
		case 'h':
			fputs(help, stdout);
			return PVK_EXIT_OK;
		default:
			return cli_getopt_error(c, argv);
		}
	}
	if (verbose && quiet)
		return cli_usage_error("the options '--verbose' and '--quiet' cannot be used together");
	if (optind == argc)
		return cli_usage_error("no domain XML file given");
	cli_verbosity = quiet ? -1 : verbose;
	return run(argv + optind, argc - optind, json);
}
