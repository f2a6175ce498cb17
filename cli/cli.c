// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pvkit/fileio.h"

const char *cli_prog = "pvkit";
int cli_verbosity;
int cli_usage_exit = PVK_EXIT_USAGE;
const char *cli_sub;

void cli_init(const char *argv0, const char *fallback)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;

	cli_prog = argv0 && *argv0 ? (slash ? slash + 1 : argv0) : fallback;
	/* An interrupted command leaves no temp file behind. */
	pvk_outfile_trap_signals();
}

int cli_error(const struct pvk_err *e)
{
	fprintf(stderr, "%s: error: %s\n", cli_prog, e->msg[0] ? e->msg : "unknown error");
	if (e->code == PVK_E_USAGE) {
		fprintf(stderr, "Try '%s%s%s --help' for more information.\n", cli_prog,
			cli_sub ? " " : "", cli_sub ? cli_sub : "");
		return cli_usage_exit;
	}
	return PVK_EXIT_ERROR;
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: error: ", cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s%s%s --help' for more information.\n", cli_prog,
		cli_sub ? " " : "", cli_sub ? cli_sub : "");
	return cli_usage_exit;
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	if (cli_verbosity < 0)
		return;
	fprintf(stderr, "%s: warning: ", cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A line on stderr when the verbosity is at least min. */
static void vline(int min, const char *fmt, va_list ap)
{
	if (cli_verbosity < min)
		return;
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(0, fmt, ap);
	va_end(ap);
}

void cli_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(1, fmt, ap);
	va_end(ap);
}

void cli_hkd_log(void *ctx, enum pvk_hkd_log level, const char *msg)
{
	(void)ctx;
	if (level == PVK_HKD_WARN)
		cli_warn("%s", msg);
	else if (level == PVK_HKD_INFO ? cli_verbosity >= 1 : cli_verbosity >= 2)
		fprintf(stderr, "%s\n", msg);
}

static void cli_log_fn(void *ctx, enum pvk_log_level level, const char *msg)
{
	(void)ctx;
	if (level == PVK_LOG_WARN)
		cli_warn("%s", msg);
	else if (level == PVK_LOG_NOTE)
		cli_note("%s", msg);
	else
		cli_info("%s", msg);
}

const struct pvk_log cli_log = { cli_log_fn, NULL };

void cli_version(void)
{
	/* IBM's shape ("<tool> version X" and a copyright line), so that its parsers work. */
	printf("%s version %s\nCopyright the pvkit authors 2026 (pvkit, not IBM s390-tools)\n",
	       cli_prog, PVKIT_VERSION);
}

int cli_prescan(int *argc, char **argv)
{
	int out = 1, seen = 0, verbose = 0, quiet = 0, i;

	for (i = 1; i < *argc && strcmp(argv[i], "--"); i++) {
		size_t n = strspn(argv[i] + 1, "V");

		if (argv[i][0] == '-' && n && !argv[i][1 + n]) {
			cli_verbosity += (int)n;
			seen = 1;
			continue;
		}
		if (!strcmp(argv[i], "--verbose") ||
		    (argv[i][0] == '-' && argv[i][1] == 'v' && !argv[i][1 + strspn(argv[i] + 1, "v")]))
			verbose = 1;
		if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
			quiet = 1;
		argv[out++] = argv[i];
	}
	for (; i < *argc; i++)
		argv[out++] = argv[i];
	argv[out] = NULL;
	*argc = out;
	if (seen)
		fprintf(stderr, "WARNING: Use of deprecated flag '-V'. Use '-v' or '--verbose' instead.\n");
	if (verbose && quiet)
		return cli_usage_error("the argument '--verbose...' cannot be used with '--quiet...'");
	return -1;
}

int cli_global_options(int *argc, char ***argv, const char *help)
{
	return cli_global_options_value(argc, argv, help, NULL, NULL);
}

int cli_global_options_value(int *argc, char ***argv, const char *help, const char *name,
			     const char **value)
{
	size_t name_len = name ? strlen(name) : 0;
	char **av = *argv;
	int ac = *argc;

	while (ac > 1 && av[1][0] == '-') {
		if (name && !strcmp(av[1], name) && ac > 2) {
			*value = av[2];
			/* Shift the option and its value out, argv[0] staying in front. */
			av[2] = av[0];
			av += 2;
			ac -= 2;
			continue;
		}
		if (name && !strncmp(av[1], name, name_len) && av[1][name_len] == '=') {
			*value = av[1] + name_len + 1;
		} else if (!strcmp(av[1], "-v") || !strcmp(av[1], "--verbose")) {
			cli_verbosity++;
		} else if (!strcmp(av[1], "-q") || !strcmp(av[1], "--quiet")) {
			cli_verbosity = -1;
		} else if (!strcmp(av[1], "--version")) {
			cli_version();
			return PVK_EXIT_OK;
		} else if (!strcmp(av[1], "-h") || !strcmp(av[1], "--help")) {
			fputs(help, stdout);
			return PVK_EXIT_OK;
		} else {
			return cli_usage_error("unknown option '%s'", av[1]);
		}
		/* Shift the option out, keeping argv[0] in front for getopt's messages. */
		av[1] = av[0];
		av++;
		ac--;
	}
	*argv = av;
	*argc = ac;
	return -1;
}

int cli_common_opt(int c)
{
	switch (c) {
	case 'v':
		cli_verbosity++;
		return 1;
	case 'q':
		cli_verbosity = -1;
		return 1;
	default:
		return 0;
	}
}

int cli_dispatch(int argc, char **argv, const struct cli_command *cmds)
{
	char names[256] = "";
	size_t n = 0;

	for (const struct cli_command *c = cmds; c->name; c++)
		n += (size_t)snprintf(names + n, n < sizeof(names) ? sizeof(names) - n : 0, "%s%s",
				      n ? ", " : "", c->name);
	if (argc < 2)
		return cli_usage_error("a command is required (%s)", names);
	for (const struct cli_command *c = cmds; c->name; c++) {
		if (strcmp(argv[1], c->name) && (!c->alias || strcmp(argv[1], c->alias)))
			continue;
		cli_sub = c->name;
		/* the command sees itself as argv[0], as getopt's messages expect */
		return c->run(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "version")) {
		cli_version();
		return PVK_EXIT_OK;
	}
	return cli_usage_error("unknown command '%s'", argv[1]);
}

/* The operand that may stand for an option's value (OPT, e.g. '--input'), as the command's
 * only operand: both at once, or anything after it, is a usage error. Returns -1 to go on,
 * else the exit code. */
int cli_option_or_operand(int argc, char **argv, const char **val, const char *opt,
			     const char *operand)
{
	if (*val && optind < argc)
		return cli_usage_error("'%s' cannot be used with the %s argument", opt, operand);
	if (!*val && optind < argc)
		*val = argv[optind++];
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	return -1;
}

/* The operands [IN] [OUT], each where its option did not give it; IN is required (else the
 * usage error missing). Returns -1 to go on, else the exit code. */
int cli_in_out_operands(int argc, char **argv, const char **in, const char **out,
			   const char *missing)
{
	if (!*in && optind < argc)
		*in = argv[optind++];
	if (!*out && optind < argc)
		*out = argv[optind++];
	if (!*in)
		return cli_usage_error("%s", missing);
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	return -1;
}

int cli_getopt_error(int c, char **argv)
{
	if (c == ':')
		return cli_usage_error("the option '%s' requires a value", argv[optind - 1]);
	if (optopt > 0 && optopt < 0x100)
		return cli_usage_error("unexpected option '-%c'", optopt);
	return cli_usage_error("unexpected option '%s'", argv[optind - 1]);
}
