// SPDX-License-Identifier: MIT
/* uvsim: the software ultravisor's command line: its state, hosts, guests and AP bus;
 * boot is in boot.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "cli.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/domxml.h"
#include "pvkit/pvdump.h"
#include "pvkit/fileio.h"
#include "pvkit/image.h"
#include "pvkit/sehdr.h"
#include "pvkit/yamlout.h"
#include "uvsim-cmd.h"
#include "uvsim.h"

const char uvsim_help[] =
	"Usage: uvsim [--state DIR] [-v|-q] COMMAND [ARGS]\n"
	"\n"
	"The software ultravisor: simulated IBM Z hosts that unpack and boot IBM Secure\n"
	"Execution images and answer their guests' /dev/uv requests.\n"
	"\n"
	"Commands:\n"
	"  init                     Create the state directory and its test PKI\n"
	"  host new [--type TYPE] [--serial SERIAL] NAME\n"
	"                           Create a simulated host: a P-521 host key kept in the\n"
	"                           state directory, its host-key document (HKD), and its\n"
	"                           view: machine TYPE (default 3931, an IBM z16) and\n"
	"                           SERIAL (five digits, default random) in proc/sysinfo,\n"
	"                           the HKD as HKD-TYPE-SERIAL.crt, the UV's sysfs\n"
	"  host show NAME [--format json]\n"
	"                           What the provider checks on the host (ch. 10)\n"
	"  host env NAME            Print PVKIT_SYSFS_ROOT of the host (for pvinfo)\n"
	"  host ls                  List the hosts and their HKDs\n"
	"  host hkd NAME            Print the path of the host's HKD\n"
	"  host revoke NAME         List the host's HKD in the signing key's CRL\n"
	"  cert-opts                Print the pvimg/pvattest/pvsecret options that verify\n"
	"                           the hosts' HKDs against uvsim's PKI\n"
	"  boot --host NAME [--id ID] [--qemu] [--timeout SEC] [--memory MIB]\n"
	"       [--keep-memory] [--ap SPEC]... [--share DIR] [--forward NAME=ADDR]...\n"
	"       IMAGE\n"
	"                           Unpack IMAGE as the UV does and start the guest: its\n"
	"                           endpoint answers /dev/uv requests until 'uvsim stop'.\n"
	"                           With --qemu the unpacked guest boots under\n"
	"                           qemu-system-s390x (TCG), console on standard output;\n"
	"                           inside, its UV is the virtio-serial port org.pvkit.uv\n"
	"                           (PVKIT_UV_DEVICE=vport:org.pvkit.uv), its sysfs view the\n"
	"                           9p share pvkit.sys, and --share DIR the 9p share\n"
	"                           pvkit.share (files in and out; no network);\n"
	"                           --forward NAME=ADDR adds the port NAME whose host end\n"
	"                           connects to ADDR (127.x.x.x:PORT or unix:PATH), e.g.\n"
	"                           the guest's pvattest-agent to pvattestd\n"
	"                           --ap passes a simulated Crypto Express adapter through\n"
	"                           (card=XX,type=CEX8P|CEX8A,domains=D:D,mkvp=HEX:HEX,\n"
	"                           serial=S) or sets the AP bus features (features=A:B)\n"
	"  ap reset ID [QUEUE]      The host resets the guest's AP queues (all, or one):\n"
	"                           they are unbound\n"
	"  ap illicit ID QUEUE      The host makes a queue illicit for the guest\n"
	"  ap online ID QUEUE 0|1   The host sets a queue offline or online\n"
	"  ls [--format json]       List the guests (as JSON: pvkit's addition)\n"
	"  env ID                   Print the environment a guest-side tool needs\n"
	"  dump ID -o FILE          Dump the guest as its host would (memory kept with\n"
	"                           --keep-memory): the ELF dump of a protected guest,\n"
	"                           encrypted for the image's CCK (pvdump decrypt); refused\n"
	"                           when the image does not allow dumping or a disable-dump\n"
	"                           add-secret request was added\n"
	"  domxml ID [--disk FILE] [--memory MIB] [--vcpus N] [--no-async-teardown]\n"
	"         [-o FILE]         Write the libvirt domain XML a KVM host on IBM Z needs\n"
	"                           for the guest: direct kernel boot of its SE image, or\n"
	"                           boot from --disk; launchSecurity s390-pv, no balloon,\n"
	"                           async teardown (libvirt 9.6 or later), its AP queues\n"
	"                           through vfio-ap (check it with pvdomcheck)\n"
	"  stop ID... | --all       Stop guests and remove their state\n"
	"\n"
	"Options:\n"
	"      --state DIR          State directory (default $PVKIT_UVSIM_STATE, else\n"
	"                           $XDG_STATE_HOME/pvkit/uvsim or ~/.local/state/pvkit/uvsim)\n"
	"  -v, --verbose            Print more\n"
	"  -q, --quiet              Print errors only\n"
	"      --version            Print the version\n"
	"  -h, --help               Print this help\n";

const char *state;
int booting_fd = -1;

static int list_dir(const char *dir, char names[][UVSIM_NAME_MAX], int max)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		if (de->d_name[0] == '.' || !uvsim_valid_name(de->d_name))
			continue;
		/* uvsim_valid_name() bounds the length */
		memcpy(names[n++], de->d_name, strlen(de->d_name) + 1);
	}
	closedir(d);
	qsort(names, (size_t)n, UVSIM_NAME_MAX, (int (*)(const void *, const void *))strcmp);
	return n;
}

static int cmd_init(void)
{
	struct pvk_err e;

	pvk_err_clear(&e);
	if (uvsim_init(state, &e))
		return cli_error(&e);
	if (cli_verbosity >= 0)
		printf("uvsim state in %s\n", state);
	return PVK_EXIT_OK;
}

static void print_export(const char *name, const char *prefix, const char *value,
			 const char *suffix);

/* The host's directory, refusing an invalid or unknown name. */
static int host_dir(const char *name, char *dir, size_t len, struct pvk_err *e)
{
	struct stat st;

	snprintf(dir, len, "%s/hosts/%s", state, name);
	if (!uvsim_valid_name(name) || stat(dir, &st) || !S_ISDIR(st.st_mode))
		return pvk_fail(e, PVK_E_USAGE, "no simulated host '%s'", name);
	return 0;
}

/* A "Key: value" line of the host's /proc/sysinfo ("" when absent). */
static void sysinfo_field(const char *dir, const char *key, char *out, size_t len)
{
	char path[4400], line[256];
	size_t k = strlen(key);
	FILE *f;

	out[0] = 0;
	snprintf(path, sizeof(path), "%s/proc/sysinfo", dir);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		const char *v = line + k + 1;

		if (strncmp(line, key, k) || line[k] != ':')
			continue;
		v += strspn(v, " \t");
		snprintf(out, len, "%s", v);
		out[strcspn(out, "\n")] = 0;
		break;
	}
	fclose(f);
}

static void read_first_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");

	out[0] = 0;
	if (f) {
		if (fgets(out, (int)len, f))
			out[strcspn(out, "\n")] = 0;
		fclose(f);
	}
}

/* The UV's query data of a host, whatever files uvsim wrote there: into q, or printed. */
static void host_query(const char *dir, json_object *q)
{
	char qdir[4400], path[4700], val[256];
	struct dirent **names = NULL;
	int n;

	snprintf(qdir, sizeof(qdir), "%s/sys/firmware/uv/query", dir);
	n = scandir(qdir, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;

		if (name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", qdir, name);
			read_first_line(path, val, sizeof(val));
			if (q)
				json_object_object_add(q, name, json_object_new_string(val));
			else
				printf("  %-24s %s\n", name, val);
		}
		free(names[i]);
	}
	free(names);
}

/* What the provider checks on a host (ch. 10), as text or JSON. */
static int host_show(const char *name, int json)
{
	char dir[4300], type[64], seq[64], serial[16] = "", hkd[4400], pvh[16], dmesg[256];
	char path[4500];
	const char *machine;
	struct stat st;
	struct pvk_err e;

	pvk_err_clear(&e);
	if (host_dir(name, dir, sizeof(dir), &e))
		return cli_error(&e);
	sysinfo_field(dir, "Type", type, sizeof(type));
	sysinfo_field(dir, "Sequence Code", seq, sizeof(seq));
	if (!type[0] || strlen(seq) < 5) {
		pvk_fail(&e, PVK_E_FORMAT, "%s/proc/sysinfo: no host view (host made by an older "
			 "uvsim?)", dir);
		return cli_error(&e);
	}
	snprintf(serial, sizeof(serial), "%s", seq + strlen(seq) - 5);
	machine = uvsim_machine_name(type);
	snprintf(hkd, sizeof(hkd), "%s/HKD-%s-%s.crt", dir, type, serial);
	if (stat(hkd, &st))
		hkd[0] = 0;
	snprintf(path, sizeof(path), "%s/sys/firmware/uv/prot_virt_host", dir);
	read_first_line(path, pvh, sizeof(pvh));
	snprintf(path, sizeof(path), "%s/dmesg", dir);
	read_first_line(path, dmesg, sizeof(dmesg));
	if (json) {
		json_object *o = json_object_new_object(), *q = json_object_new_object();
		struct pvk_err je;
		char *text = NULL;
		size_t len;
		int rc;

		pvk_err_clear(&je);
		json_object_object_add(o, "host", json_object_new_string(name));
		json_object_object_add(o, "machine_type", json_object_new_string(type));
		json_object_object_add(o, "machine", machine ? json_object_new_string(machine) : NULL);
		json_object_object_add(o, "sequence_code", json_object_new_string(seq));
		json_object_object_add(o, "serial", json_object_new_string(serial));
		json_object_object_add(o, "host_key_document",
				       hkd[0] ? json_object_new_string(hkd) : NULL);
		json_object_object_add(o, "prot_virt_host", json_object_new_boolean(!strcmp(pvh, "1")));
		snprintf(path, sizeof(path), "%s/sys", dir);
		json_object_object_add(o, "sysfs_root", json_object_new_string(path));
		json_object_object_add(o, "dmesg", json_object_new_string(dmesg));
		host_query(dir, q);
		json_object_object_add(o, "uv_query", q);
		rc = pvk_json_text(o, 1, &text, &len, &je) || pvk_file_write_arg("-", text, len, 0, &je);
		json_object_put(o);
		free(text);
		return rc ? cli_error(&je) : PVK_EXIT_OK;
	}
	printf("Host:              %s\n", name);
	printf("Machine type:      %s (%s)\n", type, machine ? machine : "unknown");
	printf("Serial number:     %s (the five right-most digits of Sequence Code %s)\n", serial,
	       seq);
	printf("Host-key document: %s\n", hkd[0] ? hkd : "(missing)");
	printf("prot_virt_host:    %s (%s)\n", pvh,
	       !strcmp(pvh, "1") ? "the host runs in Secure Execution mode" : "not in Secure Execution mode");
	printf("Boot message:      %s\n", dmesg);
	printf("Ultravisor:        %s/sys/firmware/uv (pvinfo: eval \"$(uvsim host env %s)\")\n",
	       dir, name);
	host_query(dir, NULL);
	return PVK_EXIT_OK;
}

/* host new [--type TYPE] [--serial SERIAL] NAME; anything else is the name, which is then
 * checked (so "-x" is refused as a name, as before the options existed). */
static int host_new(int argc, char **argv)
{
	const char *type = NULL, *serial = NULL, *name = NULL;
	struct pvk_err e;

	pvk_err_clear(&e);
	for (int i = 1; i < argc; i++) {
		const char **opt = !strncmp(argv[i], "--type", 6) ? &type :
				   !strncmp(argv[i], "--serial", 8) ? &serial : NULL;
		const char *eq = strchr(argv[i], '=');

		if (opt && (argv[i][opt == &type ? 6 : 8] == 0 || eq == argv[i] + (opt == &type ? 6 : 8))) {
			if (eq)
				*opt = eq + 1;
			else if (i + 1 < argc)
				*opt = argv[++i];
			else
				return cli_usage_error("the option '%s' requires a value", argv[i]);
		} else if (!name) {
			name = argv[i];
		} else {
			return cli_usage_error("usage: uvsim host new [--type TYPE] [--serial SERIAL] NAME");
		}
	}
	if (!name)
		return cli_usage_error("usage: uvsim host new [--type TYPE] [--serial SERIAL] NAME");
	if (uvsim_host_valid_machine(type, serial, &e))
		return cli_usage_error("%s", e.msg);
	if (uvsim_host_new(state, name, type, serial, &e))
		return cli_error(&e);
	if (cli_verbosity >= 0)
		printf("%s/hosts/%s/hkd.crt\n", state, name);
	return PVK_EXIT_OK;
}

static int cmd_host(int argc, char **argv)
{
	char names[256][UVSIM_NAME_MAX], path[4300];
	struct pvk_err e;
	int n;

	pvk_err_clear(&e);
	if (argc >= 2 && !strcmp(argv[1], "new"))
		return host_new(argc - 1, argv + 1);
	if (argc == 2 && !strcmp(argv[1], "ls")) {
		snprintf(path, sizeof(path), "%s/hosts", state);
		n = list_dir(path, names, 256);
		for (int i = 0; i < n; i++)
			printf("%-20s %s/hosts/%s/hkd.crt\n", names[i], state, names[i]);
		return PVK_EXIT_OK;
	}
	if (argc == 3 && !strcmp(argv[1], "hkd")) {
		if (host_dir(argv[2], path, sizeof(path), &e))
			return cli_error(&e);
		printf("%s/hkd.crt\n", path);
		return PVK_EXIT_OK;
	}
	if ((argc == 3 || (argc == 5 && !strcmp(argv[3], "--format"))) && !strcmp(argv[1], "show")) {
		if (argc == 5 && strcmp(argv[4], "json"))
			return cli_usage_error("usage: uvsim host show NAME [--format json]");
		return host_show(argv[2], argc == 5);
	}
	if (argc == 3 && !strcmp(argv[1], "revoke")) {
		if (uvsim_host_revoke(state, argv[2], &e))
			return cli_error(&e);
		printf("%s/pki/ibm.crl lists host %s\n", state, argv[2]);
		return PVK_EXIT_OK;
	}
	if (argc == 3 && !strcmp(argv[1], "env")) {
		if (host_dir(argv[2], path, sizeof(path), &e))
			return cli_error(&e);
		print_export("PVKIT_SYSFS_ROOT", "", path, "/sys");
		return PVK_EXIT_OK;
	}
	return cli_usage_error("usage: uvsim host new [--type TYPE] [--serial SERIAL] NAME | host ls | "
			       "host hkd NAME | host show NAME [--format json] | host env NAME | "
			       "host revoke NAME");
}

static int cmd_cert_opts(void)
{
	struct pvk_err e;

	pvk_err_clear(&e);
	if (uvsim_init(state, &e))
		return cli_error(&e);
	printf("--cert %s/pki/inter_ca.crt --cert %s/pki/ibm.crt --crl %s/pki/root_ca.crl "
	       "--crl %s/pki/inter_ca.crl --crl %s/pki/ibm.crl --root-ca %s/pki/root_ca.crt "
	       "--offline\n",
	       state, state, state, state, state, state);
	return PVK_EXIT_OK;
}

void remove_guest_dir(const char *dir)
{
	static const char *files[] = { "guest.json", "uv.sock", "log", "mem.img" };
	char path[4400];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	/* No shell: the state path may hold any character. */
	if (pvk_path_remove_tree(dir))
		fprintf(stderr, "uvsim: warning: cannot remove %s\n", dir);
}

enum guest_state guest_state(const char *id)
{
	char dir[4300], path[4400];
	struct stat st;
	int fd;

	snprintf(dir, sizeof(dir), "%s/guests/%s", state, id);
	if (lstat(dir, &st))
		return GUEST_NONE;
	snprintf(path, sizeof(path), "%s/" BOOTING_MARK, dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		int free_lock = !flock(fd, LOCK_SH | LOCK_NB);

		close(fd);
		return free_lock ? GUEST_STALE : GUEST_BOOTING;
	}
	snprintf(path, sizeof(path), "%s/guest.json", dir);
	return access(path, F_OK) ? GUEST_STALE : GUEST_PRESENT;
}

/* End the guest's endpoint (if it runs) and remove its directory. */
void remove_guest(const char *id)
{
	struct uvsim_guest g;
	struct pvk_err e;
	char dir[4300];

	snprintf(dir, sizeof(dir), "%s/guests/%s", state, id);
	if (!uvsim_guest_load(state, id, &g, &e)) {
		if (alive(g.pid)) {
			kill((pid_t)g.pid, SIGTERM);
			for (int i = 0; i < 200 && alive(g.pid); i++) {
				struct timespec ts = { 0, 50 * 1000 * 1000 };

				waitpid((pid_t)g.pid, NULL, WNOHANG);
				nanosleep(&ts, NULL);
			}
			if (alive(g.pid))
				kill((pid_t)g.pid, SIGKILL);
		}
		uvsim_guest_clear(&g);
	}
	remove_guest_dir(dir);
}

/* Claim guests/<id> for a boot: 0 with the directory made and its marker held; refuses an
 * id in use; a dead boot's leftovers are removed first. */
int alive(long pid)
{
	char path[64], buf[512], *p;
	size_t n;
	FILE *f;

	if (pid <= 0 || kill((pid_t)pid, 0))
		return 0;
	/* An endpoint that ended stays a zombie until its reaper (init, or a container's PID 1
	 * that may never reap) collects it: that is no running guest. */
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');  /* "pid (comm) S ...": comm may hold anything */
	if (p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
		return 0;
	/* A dead endpoint's PID may since belong to another program: only ours counts. */
	p = strchr(buf, '(');
	return p && !strncmp(p, "(uvsim)", 7);
}

/* Whether the host may dump the guest (ch. 6): the image's PCF allows it, and no add-secret
 * request has disabled it since. */
static const char *dump_state(const struct uvsim_guest *g, int json)
{
	if (!(g->pcf & PCF_ALLOW_DUMP))
		return json ? "not allowed" : "no";
	if (g->dump_disabled)
		return json ? "disabled" : "off";
	return json ? "allowed" : "yes";
}

static json_object *guest_json(const struct uvsim_guest *g)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(g->id));
	json_object_object_add(o, "host", json_object_new_string(g->host));
	json_object_object_add(o, "state", json_object_new_string(alive(g->pid) ? "running"
									     : "stopped"));
	json_object_object_add(o, "cuid", pvk_json_hex(g->cuid, 16, 1));
	json_object_object_add(o, "secrets", json_object_new_int((int)g->n_secrets));
	json_object_object_add(o, "locked", json_object_new_boolean(g->locked));
	json_object_object_add(o, "dump", json_object_new_string(dump_state(g, 1)));
	json_object_object_add(o, "image", json_object_new_string(g->image));
	return o;
}

static int print_guests_json(json_object *list)
{
	struct pvk_err e;
	char *text = NULL;
	size_t len;
	int rc = pvk_json_text(list, 1, &text, &len, &e) || pvk_file_write_arg("-", text, len, 0, &e);

	free(text);
	return rc ? cli_error(&e) : PVK_EXIT_OK;
}

static int cmd_ls(int argc, char **argv)
{
	char names[1024][UVSIM_NAME_MAX], path[4300];
	json_object *list = NULL;
	int n, rc = PVK_EXIT_OK;

	if (argc == 3 && !strcmp(argv[1], "--format") && !strcmp(argv[2], "json"))
		list = json_object_new_array();
	else if (argc != 1)
		return cli_usage_error("usage: uvsim ls [--format json]");
	snprintf(path, sizeof(path), "%s/guests", state);
	n = list_dir(path, names, 1024);
	if (!list)
		printf("%-12s %-14s %-8s %-34s %-7s %-6s %-4s %s\n", "ID", "HOST", "STATE", "CUID",
		       "SECRETS", "LOCKED", "DUMP", "IMAGE");
	for (int i = 0; i < n; i++) {
		struct uvsim_guest g;
		struct pvk_err e;
		char cuid[33];

		if (guest_state(names[i]) != GUEST_PRESENT || uvsim_guest_load(state, names[i], &g, &e))
			continue;  /* being booted, or a dead boot's leftovers (stop or boot remove them) */
		pvk_hex_encode(g.cuid, 16, cuid);
		if (list)
			json_object_array_add(list, guest_json(&g));
		else
			printf("%-12s %-14s %-8s 0x%-32s %-7u %-6s %-4s %s\n", g.id, g.host,
			       alive(g.pid) ? "running" : "stopped", cuid, g.n_secrets,
			       g.locked ? "yes" : "no", dump_state(&g, 0), g.image);
		uvsim_guest_clear(&g);
	}
	if (list) {
		rc = print_guests_json(list);
		json_object_put(list);
	}
	return rc;
}

/* export NAME='VALUE' with VALUE quoted for any POSIX shell: inside single quotes nothing
 * is special but the quote itself, written as '\''. The output is meant for eval. */
static void print_export(const char *name, const char *prefix, const char *value,
			 const char *suffix)
{
	const char *parts[] = { prefix, value, suffix };

	printf("export %s='", name);
	for (int i = 0; i < 3; i++)
		for (const char *p = parts[i]; *p; p++) {
			if (*p == '\'')
				fputs("'\\''", stdout);
			else
				putchar(*p);
		}
	fputs("'\n", stdout);
}

static int cmd_env(int argc, char **argv)
{
	struct uvsim_guest g;
	struct pvk_err e;

	pvk_err_clear(&e);
	if (argc != 2)
		return cli_usage_error("usage: uvsim env ID");
	if (uvsim_guest_load(state, argv[1], &g, &e))
		return cli_error(&e);
	print_export("PVKIT_UV_DEVICE", "uvsim:", g.dir, "/uv.sock");
	print_export("PVKIT_SYSFS_ROOT", "", g.dir, "/sys");
	uvsim_guest_clear(&g);
	return PVK_EXIT_OK;
}

/* A dump of the guest as the host takes one (QEMU's dump-guest-memory of a protected guest):
 * the UV encrypts it with keys only the image's CCK opens, or refuses to start it. */
static int cmd_dump(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	struct pvk_pvdump_cpu cpu;
	struct uvsim_guest g;
	struct pvk_err e;
	char mem[4200];
	struct stat st;
	int c, rc;

	pvk_err_clear(&e);
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'h': fputs(uvsim_help, stdout); return PVK_EXIT_OK;
		default: return cli_usage_error("usage: uvsim dump ID -o FILE");
		}
	}
	if (optind + 1 != argc || !out)
		return cli_usage_error("usage: uvsim dump ID -o FILE");
	if (uvsim_guest_load(state, argv[optind], &g, &e))
		return cli_error(&e);
	if (!(g.pcf & PCF_ALLOW_DUMP)) {
		pvk_fail(&e, PVK_E_UV, "guest %s: the ultravisor refused to start a dump: its image "
			 "does not allow dumping (plaintext control flag 34; pvimg create "
			 "--enable-dump)", g.id);
	} else if (g.dump_disabled) {
		pvk_fail(&e, PVK_E_UV, "guest %s: the ultravisor refused to start a dump: an "
			 "add-secret request with the disable-dump flag was added", g.id);
	}
	snprintf(mem, sizeof(mem), "%s/mem.img", g.dir);
	if (!e.code && (stat(mem, &st) || !S_ISREG(st.st_mode)))
		pvk_fail(&e, PVK_E_USAGE, "guest %s: its memory was not kept (boot it with "
			 "--keep-memory)", g.id);
	if (e.code) {
		uvsim_guest_clear(&g);
		return cli_error(&e);
	}
	/* uvsim keeps no CPU state of the guest (QEMU ran it): its one CPU as after IPL. */
	memset(&cpu, 0, sizeof(cpu));
	cpu.psw[0] = PSW_MASK_DEFAULT;
	/* mem.img ends at the last page the unpack wrote; what follows is zeros. */
	rc = pvk_pvdump_write(mem, ((uint64_t)st.st_size + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1),
			      g.cck, &cpu, 1, out, &e);
	uvsim_guest_clear(&g);
	if (rc)
		return cli_error(&e);
	if (cli_verbosity >= 0)
		printf("dump of guest %s written to %s (encrypted: decrypt it with the image's CCK, "
		       "pvdump decrypt)\n", argv[optind], out);
	return PVK_EXIT_OK;
}

/* The libvirt domain a real KVM host on IBM Z needs for this guest's image. */
static int cmd_domxml(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "disk", required_argument, NULL, 'd' },
		{ "memory", required_argument, NULL, 'm' },
		{ "vcpus", required_argument, NULL, 'c' },
		{ "no-async-teardown", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pvk_domxml_guest d = { .memory_mib = 1024, .vcpus = 2 };
	const char *out = "-", *disk = NULL;
	char abs_disk[4096], uuid[40], apdir[4200], *xml = NULL;
	struct uvsim_guest g;
	struct stat st;
	struct pvk_err e;
	size_t len;
	int c, rc;

	pvk_err_clear(&e);
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		char *end;
		unsigned long v;

		switch (c) {
		case 'd': disk = optarg; break;
		case 'o': out = optarg; break;
		case 'A': d.no_async_teardown = 1; break;
		case 'm':
		case 'c':
			v = strtoul(optarg, &end, 10);
			if (*end || !*optarg || v == 0 || v > 1u << 30)
				return cli_usage_error("--%s: '%s' is not a number",
						       c == 'm' ? "memory" : "vcpus", optarg);
			if (c == 'm')
				d.memory_mib = (unsigned)v;
			else
				d.vcpus = (unsigned)v;
			break;
		case 'h': fputs(uvsim_help, stdout); return PVK_EXIT_OK;
		default: return cli_usage_error("usage: uvsim domxml ID [--disk FILE] [--memory MIB] "
						"[--vcpus N] [--no-async-teardown] [-o FILE]");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("usage: uvsim domxml ID [--disk FILE] [--memory MIB] "
				       "[--vcpus N] [--no-async-teardown] [-o FILE]");
	if (d.vcpus > PVK_DOMXML_MAX_VCPUS)
		return cli_usage_error("--vcpus: a secure guest has at most %u virtual CPUs",
				       PVK_DOMXML_MAX_VCPUS);
	if (uvsim_guest_load(state, argv[optind], &g, &e))
		return cli_error(&e);
	d.name = g.id;
	if (disk) {
		if (!realpath(disk, abs_disk)) {
			uvsim_guest_clear(&g);
			return cli_usage_error("--disk: %s: %s", disk, strerror(errno));
		}
		d.disk = abs_disk;
	} else {
		d.kernel = g.image;
	}
	/* Its AP queues come through a vfio-ap mediated device; named after the guest's CUID. */
	snprintf(apdir, sizeof(apdir), "%s/sys/devices/ap", g.dir);
	if (!stat(apdir, &st)) {
		const uint8_t *u = g.cuid;

		snprintf(uuid, sizeof(uuid),
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
			 u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
			 u[13], u[14], u[15]);
		d.ap_mdev_uuid = uuid;
	}
	rc = pvk_domxml_make(&d, &xml, &len, &e) ||
	     pvk_file_write_arg(out, xml, len, OUTFILE_OVERWRITE, &e);
	free(xml);
	uvsim_guest_clear(&g);
	return rc ? cli_error(&e) : PVK_EXIT_OK;
}

static int cmd_ap(int argc, char **argv)
{
	struct uvsim_guest g;
	struct pvk_err e;
	char req[256], answer[512];
	int rc;

	pvk_err_clear(&e);
	if (!(argc == 3 && !strcmp(argv[1], "reset")) &&
	    !(argc == 4 && (!strcmp(argv[1], "reset") || !strcmp(argv[1], "illicit"))) &&
	    !(argc == 5 && !strcmp(argv[1], "online")))
		return cli_usage_error("usage: uvsim ap reset ID [QUEUE] | ap illicit ID QUEUE | "
				       "ap online ID QUEUE 0|1");
	if (uvsim_guest_load(state, argv[2], &g, &e))
		return cli_error(&e);
	snprintf(req, sizeof(req), "%s%s%s%s%s", argv[1], argc > 3 ? " " : "",
		 argc > 3 ? argv[3] : "", argc > 4 ? " " : "", argc > 4 ? argv[4] : "");
	rc = alive(g.pid) ? uvsim_ap_control(g.dir, req, answer, sizeof(answer), &e)
			  : pvk_fail(&e, PVK_E_USAGE, "guest '%s' is not running", argv[2]);
	uvsim_guest_clear(&g);
	if (rc)
		return cli_error(&e);
	if (cli_verbosity >= 0)
		printf("%s\n", answer + (strncmp(answer, "ok: ", 4) ? 0 : 4));
	return PVK_EXIT_OK;
}

static int stop_one(const char *id)
{
	enum guest_state gs;
	struct pvk_err e;
	int lock;

	pvk_err_clear(&e);
	if (!uvsim_valid_name(id)) {
		pvk_fail(&e, PVK_E_USAGE, "'%s' is not a valid guest id", id);
		return cli_error(&e);
	}
	lock = uvsim_state_lock(state, &e);
	if (lock < 0)
		return cli_error(&e);
	gs = guest_state(id);
	if (gs == GUEST_NONE || gs == GUEST_BOOTING) {
		uvsim_state_unlock(lock);
		pvk_fail(&e, PVK_E_USAGE, gs == GUEST_NONE ? "no guest '%s' (see 'uvsim ls')"
							   : "guest '%s' is still booting", id);
		return cli_error(&e);
	}
	/* A running guest, a stopped one, or what a dead boot left: all go. */
	remove_guest(id);
	uvsim_state_unlock(lock);
	if (cli_verbosity > 0)
		printf("guest %s stopped\n", id);
	return PVK_EXIT_OK;
}

static int cmd_stop(int argc, char **argv)
{
	char names[1024][UVSIM_NAME_MAX], path[4300];
	int rc = PVK_EXIT_OK, n;

	if (argc == 2 && !strcmp(argv[1], "--all")) {
		snprintf(path, sizeof(path), "%s/guests", state);
		n = list_dir(path, names, 1024);
		for (int i = 0; i < n; i++) {
			int r = stop_one(names[i]);

			if (r)
				rc = r;
		}
		return rc;
	}
	if (argc < 2)
		return cli_usage_error("usage: uvsim stop ID... | --all");
	for (int i = 1; i < argc; i++) {
		int r = stop_one(argv[i]);

		if (r)
			rc = r;
	}
	return rc;
}

static int run_init(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_init();
}

static int run_cert_opts(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cmd_cert_opts();
}

static const struct cli_command commands[] = {
	{ "init", NULL, run_init },
	{ "host", NULL, cmd_host },
	{ "cert-opts", NULL, run_cert_opts },
	{ "boot", NULL, cmd_boot },
	{ "ls", NULL, cmd_ls },
	{ "env", NULL, cmd_env },
	{ "domxml", NULL, cmd_domxml },
	{ "dump", NULL, cmd_dump },
	{ "stop", NULL, cmd_stop },
	{ "ap", NULL, cmd_ap },
	{ NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	const char *override = NULL;
	int ret;

	cli_init(argv[0], "uvsim");
	umask(077);
	ret = cli_global_options_value(&argc, &argv, uvsim_help, "--state", &override);
	if (ret >= 0)
		return ret;
	if (argc < 2)
		return cli_usage_error("a command is required");
	state = uvsim_state_dir(override);
	return cli_dispatch(argc, argv, commands);
}
