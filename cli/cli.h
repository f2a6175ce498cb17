/* SPDX-License-Identifier: MIT */
/* What every command shares: its name in messages, the one place errors are printed,
 * verbosity, and the log sink the library's notes go to. */
#ifndef PVKIT_TOOLS_CLI_H
#define PVKIT_TOOLS_CLI_H

#include "pvkit/err.h"
#include "pvkit/exitcode.h"
#include "pvkit/hostkey.h"
#include "pvkit/log.h"

extern const char *cli_prog;
extern int cli_verbosity;   /* 0 normal, <0 quiet, >0 verbose */
/* The exit code of a usage error: 2 as clap exits, 1 in pvattest and pvsecret (whose IBM
 * versions print clap's error themselves and exit 1). */
extern int cli_usage_exit;
/* The subcommand being run (set by cli_dispatch), named in the --help hint. */
extern const char *cli_sub;

void cli_init(const char *argv0, const char *fallback);
/* Print "<prog>: error: <msg>" and return the exit code for the error class. */
int cli_error(const struct pvk_err *e);
/* A usage error: message plus a hint to --help; returns cli_usage_exit. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* What IBM's tools log at their default (warning) level, unprefixed: stderr unless -q. */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The library's notes: warnings, default-level notes and --verbose detail. */
extern const struct pvk_log cli_log;
/* Log sink for pvk_cert_opts.log. */
void cli_hkd_log(void *ctx, enum pvk_hkd_log level, const char *msg);
void cli_version(void);
/* What clap's global verbosity flags do anywhere before "--": take IBM's hidden, deprecated
 * -V (verbose; -VV, -VVV count) out of argv with IBM's warning, and refuse -v/--verbose
 * together with -q/--quiet. Returns -1 to go on, else the usage exit code. */
int cli_prescan(int *argc, char **argv);
/* Consume the options before the command word (-v/--verbose/-V, -q/--quiet, --version,
 * -h/--help printing help). Returns -1 to go on with the command in (*argv)[1], else the
 * exit code to return. */
int cli_global_options(int *argc, char ***argv, const char *help);
/* cli_global_options that also takes the option NAME with a value among them, as
 * "NAME VALUE" or "NAME=VALUE", into *value (the last one given counts). */
int cli_global_options_value(int *argc, char ***argv, const char *help, const char *name,
			     const char **value);
/* The options every subcommand takes, and the end of its getopt_long table. */
#define CLI_COMMON_LONGOPTS                            \
	{ "verbose", no_argument, NULL, 'v' },        \
	{ "quiet", no_argument, NULL, 'q' },          \
	{ "help", no_argument, NULL, 'h' },           \
	{ NULL, 0, NULL, 0 }
/* The usage error of getopt_long's ':' (a value missing) or '?' (an unknown option, short
 * or long) for the option just read; returns cli_usage_exit. */
int cli_getopt_error(int c, char **argv);
/* Handle -v/-q from a subcommand's getopt loop: 1 if taken. */
int cli_common_opt(int c);
/* The subcommands of a multi-verb tool: NAME (or ALIAS) runs RUN(argc, argv) with the
 * command word as argv[0]; "version" prints the version. */
struct cli_command {
	const char *name, *alias;
	int (*run)(int argc, char **argv);
};
/* Run the command in argv[1] (after the global options) from the NULL-terminated table;
 * a missing or unknown one is a usage error naming the commands. */
int cli_dispatch(int argc, char **argv, const struct cli_command *cmds);

/* The operand that may stand for an option's value (OPT, e.g. '--input'), as the command's
 * only operand: both at once, or anything after it, is a usage error. Returns -1 to go on,
 * else the exit code. */
int cli_option_or_operand(int argc, char **argv, const char **val, const char *opt,
			  const char *operand);
/* The operands [IN] [OUT], each where its option did not give it; IN is required (else the
 * usage error missing). Returns -1 to go on, else the exit code. */
int cli_in_out_operands(int argc, char **argv, const char **in, const char **out,
			const char *missing);
#endif
