// SPDX-License-Identifier: MIT
/* uvsim boot: claim the guest's directory, unpack the image as the UV does, start the guest's
 * endpoint process, and optionally run the unpacked memory under QEMU. */
#include <arpa/inet.h>
#include <ctype.h>
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
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/image.h"
#include "pvkit/sehdr.h"
#include "pvkit/uvdev.h"
#include "uvsim-cmd.h"
#include "uvsim.h"

#define BOOT_MAX_FORWARD 4

static volatile int stop_flag;

static void on_term(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* The endpoint process: detached, serving until SIGTERM. */
static void endpoint_main(struct uvsim_guest *g, int ready_fd)
{
	struct sigaction sa = { .sa_handler = on_term };
	EVP_PKEY *key = NULL;
	struct pvk_err e;
	char log[4200];
	int fd;

	setsid();
	snprintf(log, sizeof(log), "%s/log", g->dir);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	g->pid = getpid();
	uvsim_guest_lock_init(g);
	if (uvsim_host_key(state, g->host, &key, &e) || uvsim_guest_set_host_key(g, key, &e)) {
		fprintf(stderr, "uvsim endpoint: %s\n", e.msg);
		_exit(1);
	}
	if (uvsim_ap_start(g, &e) || uvsim_guest_save(g, &e) ||
	    uvsim_serve(g, ready_fd, &stop_flag, &e)) {
		fprintf(stderr, "uvsim endpoint: %s\n", e.msg);
		_exit(1);
	}
	EVP_PKEY_free(g->host_key);
	uvsim_guest_clear(g);
	_exit(0);
}

static int start_endpoint(struct uvsim_guest *g, struct pvk_err *e)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return pvk_fail(e, PVK_E_IO, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return pvk_fail(e, PVK_E_IO, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		if (booting_fd >= 0)
			close(booting_fd);
		endpoint_main(g, p[1]);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1) {
		close(p[0]);
		waitpid(pid, NULL, 0);
		return pvk_fail(e, PVK_E_IO, "the guest endpoint did not start (see %s/log)", g->dir);
	}
	close(p[0]);
	g->pid = pid;
	return 0;
}

/* A QEMU option value: commas doubled (QEMU's escape), as a file name may hold them. */
static char *qemu_opt(const char *fmt, const char *path)
{
	size_t n = strlen(path), k = 0;
	char *esc = malloc(2 * n + 1), *out = NULL;

	if (!esc)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		esc[k++] = path[i];
		if (path[i] == ',')
			esc[k++] = ',';
	}
	esc[k] = 0;
	if (asprintf(&out, fmt, esc) < 0)
		out = NULL;
	free(esc);
	return out;
}

/* The guest's devices besides its memory: a virtio-serial port to its UV endpoint (QEMU
 * connects to the endpoint's socket like any client, and again after the endpoint drops the
 * connection), its sysfs view as a 9p share (writes to se_bind reach the AP watcher as on
 * the host), and optionally a host directory for files in and out. No network device. */
static int run_qemu(const char *mem, const char *gdir, const char *share,
		    char *const *forward, size_t n_forward, unsigned timeout_s, unsigned memory_mib)
{
	char t[16], m[16], *uv, *sys, *shr = NULL, *fw[2 * BOOT_MAX_FORWARD];
	const char *argv[40 + 4 * BOOT_MAX_FORWARD];
	int status, n = 0;
	pid_t pid;

	snprintf(t, sizeof(t), "%u", timeout_s);
	snprintf(m, sizeof(m), "%u", memory_mib);
	uv = qemu_opt("socket,id=pvuv,reconnect=1,path=%s/uv.sock", gdir);
	sys = qemu_opt("local,id=pvsys,security_model=none,path=%s/sys", gdir);
	if (share)
		shr = qemu_opt("local,id=pvshare,security_model=none,path=%s", share);
	if (!uv || !sys || (share && !shr)) {
		free(uv);
		free(sys);
		free(shr);
		return -1;
	}
	/* QEMU takes a non-ELF -kernel at address 0 and starts at the short PSW there: the
	 * header's PSW, as the UV would (notes/qemu-s390x-boot.md). */
	const char *base[] = { "timeout", "--foreground", t, "qemu-system-s390x", "-machine",
		"s390-ccw-virtio", "-cpu", "max", "-m", m, "-nographic", "-no-reboot", "-nic", "none",
		"-kernel", mem, "-device", "virtio-serial-ccw", "-chardev", uv, "-device",
		"virtserialport,chardev=pvuv,name=" UVDEV_VPORT_NAME, "-fsdev", sys, "-device",
		"virtio-9p-ccw,fsdev=pvsys,mount_tag=" UVSIM_9P_SYS };

	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		argv[n++] = base[i];
	if (shr) {
		argv[n++] = "-fsdev";
		argv[n++] = shr;
		argv[n++] = "-device";
		argv[n++] = "virtio-9p-ccw,fsdev=pvshare,mount_tag=" UVSIM_9P_SHARE;
	}
	/* --forward NAME=ADDR: a port whose host end QEMU connects to ADDR (a service on
	 * loopback), again after the service drops the connection. */
	memset(fw, 0, sizeof(fw));
	for (size_t i = 0; i < n_forward; i++) {
		const char *eq = strchr(forward[i], '='), *addr = eq + 1;
		const char *colon = strrchr(addr, ':');

		/* forward_ok admitted no comma: nothing to escape */
		if ((!strncmp(addr, "unix:", 5)
			     ? asprintf(&fw[2 * i], "socket,id=pvfw%zu,reconnect=1,path=%s", i, addr + 5)
			     : asprintf(&fw[2 * i], "socket,id=pvfw%zu,reconnect=1,host=%.*s,port=%s", i,
					(int)(colon - addr), addr, colon + 1)) < 0 ||
		    asprintf(&fw[2 * i + 1], "virtserialport,chardev=pvfw%zu,name=%.*s", i,
			     (int)(eq - forward[i]), forward[i]) < 0) {
			for (size_t k = 0; k <= 2 * i + 1; k++)
				free(fw[k]);
			free(uv);
			free(sys);
			free(shr);
			return -1;
		}
		argv[n++] = "-chardev";
		argv[n++] = fw[2 * i];
		argv[n++] = "-device";
		argv[n++] = fw[2 * i + 1];
	}
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		execvp(argv[0], (char **)argv);
		perror("uvsim: cannot run qemu-system-s390x");
		_exit(127);
	}
	free(uv);
	free(sys);
	free(shr);
	for (size_t i = 0; i < 2 * n_forward; i++)
		free(fw[i]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int guest_from_unpack(struct uvsim_guest *g, const char *image, EVP_PKEY *key,
			     const struct seimg_unpacked *u, struct pvk_err *e)
{
	uint8_t *raw;
	size_t len;
	uint64_t off;
	struct sehdr h;

	if (pvk_sehdr_read_file(image, &raw, &len, &off, e))
		return -1;
	if (pvk_sehdr_parse(raw, len, &h, e)) {
		free(raw);
		return -1;
	}
	memcpy(g->pld, h.pld, 64);
	memcpy(g->ald, h.ald, 64);
	memcpy(g->tld, h.tld, 64);
	memcpy(g->tag, h.tag, 16);
	free(raw);
	memcpy(g->cck, u->sec.cck, 32);
	g->scf = u->sec.scf;
	g->pcf = u->pcf;
	if (pvk_ec_phkh(key, g->phkh, e) || pvk_random(g->cuid, 16, e))
		return -1;
	return 0;
}

static int claim_guest_dir(const char *id, char *dir, size_t len, struct pvk_err *e)
{
	char path[4400];
	int lock, rc = -1;

	lock = uvsim_state_lock(state, e);
	if (lock < 0)
		return -1;
	snprintf(dir, len, "%s/guests", state);
	mkdir(dir, 0700);
	snprintf(dir, len, "%s/guests/%s", state, id);
	switch (guest_state(id)) {
	case GUEST_STALE:
		remove_guest(id);
		break;
	case GUEST_NONE:
		break;
	default:
		pvk_fail(e, PVK_E_USAGE, "guest '%s' exists already", id);
		goto out;
	}
	if (mkdir(dir, 0700)) {
		pvk_fail(e, PVK_E_IO, "%s: cannot create: %s", dir, strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/" BOOTING_MARK, dir);
	booting_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (booting_fd < 0 || flock(booting_fd, LOCK_EX)) {
		pvk_fail(e, PVK_E_IO, "%s: cannot create: %s", path, strerror(errno));
		if (booting_fd >= 0)
			close(booting_fd);
		booting_fd = -1;
		remove_guest_dir(dir);
		goto out;
	}
	rc = 0;
out:
	uvsim_state_unlock(lock);
	return rc;
}

/* The boot is complete: the guest is there for everyone. */
static void release_guest_dir(const char *dir)
{
	char path[4400];

	snprintf(path, sizeof(path), "%s/" BOOTING_MARK, dir);
	unlink(path);
	close(booting_fd);
	booting_fd = -1;
}

struct boot_args {
	const char *host, *id, *image, *share;
	char *forward[BOOT_MAX_FORWARD];
	size_t n_forward;
	unsigned timeout_s, memory;
	int qemu, keep;
	char idbuf[UVSIM_NAME_MAX];
};

/* --forward NAME=ADDR: a port name QEMU takes, and a loopback address (the guest has no
 * network; what it reaches is what the host chose to forward). */
static int forward_ok(const char *arg)
{
	const char *eq = strchr(arg, '='), *addr, *colon;
	struct in_addr a;
	char host[64];
	char *end;
	long port;

	if (!eq || eq == arg || eq - arg > 64)
		return 0;
	for (const char *p = arg; p < eq; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return 0;
	addr = eq + 1;
	if (!strncmp(addr, "unix:", 5))
		return addr[5] == '/' && !strchr(addr, ',');
	colon = strrchr(addr, ':');
	if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof(host))
		return 0;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = 0;
	port = strtol(colon + 1, &end, 10);
	return !*end && port > 0 && port < 65536 && inet_pton(AF_INET, host, &a) == 1 &&
	       (ntohl(a.s_addr) >> 24) == 127;
}

/* A number option of boot; -1 to go on, else the exit code. */
static int boot_number(int c, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(optarg, &end, 10);

	if (*end || !*optarg || v > 1000000)
		return cli_usage_error("--%s: '%s' is not a number", c == 'T' ? "timeout" : "memory",
				       optarg);
	*out = (unsigned)v;
	return -1;
}

static int boot_options(struct boot_args *b, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "id", required_argument, NULL, 'I' },
		{ "qemu", no_argument, NULL, 'Q' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "memory", required_argument, NULL, 'M' },
		{ "keep-memory", no_argument, NULL, 'K' },
		{ "ap", required_argument, NULL, 'A' },
		{ "share", required_argument, NULL, 'S' },
		{ "forward", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pvk_err e;
	int c, ret = -1;

	pvk_err_clear(&e);
	optind = 1;
	while (ret < 0 && (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'H': b->host = optarg; break;
		case 'I': b->id = optarg; break;
		case 'Q': b->qemu = 1; break;
		case 'K': b->keep = 1; break;
		case 'S': b->share = optarg; break;
		case 'F':
			if (b->n_forward == BOOT_MAX_FORWARD)
				ret = cli_usage_error("--forward: at most %d ports", BOOT_MAX_FORWARD);
			else if (!forward_ok(optarg))
				ret = cli_usage_error("--forward: NAME=127.x.x.x:PORT or NAME=unix:PATH "
						      "(loopback only), not '%s'", optarg);
			else
				b->forward[b->n_forward++] = optarg;
			break;
		case 'A':
			if (uvsim_ap_parse_spec(&uvsim_ap_config, optarg, &e))
				ret = cli_error(&e);
			break;
		case 'T': ret = boot_number(c, &b->timeout_s); break;
		case 'M': ret = boot_number(c, &b->memory); break;
		case 'h': fputs(uvsim_help, stdout); ret = PVK_EXIT_OK; break;
		default: ret = cli_usage_error("invalid option"); break;
		}
	}
	if (ret >= 0)
		return ret;
	if (!b->host || optind + 1 != argc)
		return cli_usage_error("usage: uvsim boot --host NAME [OPTIONS] IMAGE");
	if (!b->timeout_s || b->memory < 256)
		return cli_usage_error("--timeout must be > 0 and --memory at least 256 MiB");
	b->image = argv[optind];
	if (b->n_forward && !b->qemu)
		return cli_usage_error("--forward needs --qemu");
	if (b->share) {
		struct stat st;

		if (!b->qemu)
			return cli_usage_error("--share needs --qemu");
		if (stat(b->share, &st) || !S_ISDIR(st.st_mode))
			return cli_usage_error("--share: '%s' is not a directory", b->share);
	}
	if (!b->id) {
		uint8_t r[4];

		if (pvk_random(r, sizeof(r), &e))
			return cli_error(&e);
		snprintf(b->idbuf, sizeof(b->idbuf), "g%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
		b->id = b->idbuf;
	}
	if (!uvsim_valid_name(b->id))
		return cli_usage_error("'%s' is not a valid guest id", b->id);
	return -1;
}

/* In the claimed guest directory: unpack the image as the UV does (the memory into mem
 * when it is to be run or kept), make the guest's state and start its endpoint. */
static int boot_guest(const struct boot_args *b, EVP_PKEY *key, const char *mem,
		      struct uvsim_guest *g, struct pvk_err *e)
{
	char abs_image[4096];
	struct seimg_unpacked u;
	int rc = -1;

	memset(&u, 0, sizeof(u));
	if (!realpath(b->image, abs_image))
		snprintf(abs_image, sizeof(abs_image), "%s", b->image);
	if (pvk_seimg_boot(b->image, key, (b->qemu || b->keep) ? mem : NULL,
			   (uint64_t)b->memory << 20, &u, e)) {
		if (e->code == PVK_E_UV)
			pvk_wrap(e, "%s: the ultravisor refused to unpack the image", b->image);
		goto out;
	}
	snprintf(g->id, sizeof(g->id), "%s", b->id);
	snprintf(g->host, sizeof(g->host), "%s", b->host);
	snprintf(g->image, sizeof(g->image), "%s", abs_image);
	if (guest_from_unpack(g, b->image, key, &u, e) || uvsim_guest_sysfs(g, e) ||
	    uvsim_ap_sysfs(&uvsim_ap_config, g->dir, e) || uvsim_guest_save(g, e) ||
	    start_endpoint(g, e))
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(&u.sec, sizeof(u.sec));
	return rc;
}

/* Run the unpacked memory under QEMU: exit code 0, or 1 when QEMU failed. */
static int boot_qemu(const struct boot_args *b, const char *gdir, const char *mem)
{
	int q;

	if (cli_verbosity >= 0)
		printf("--- qemu-system-s390x console (timeout %u s) ---\n", b->timeout_s);
	q = run_qemu(mem, gdir, b->share, b->forward, b->n_forward, b->timeout_s, b->memory);
	if (cli_verbosity >= 0)
		printf("--- qemu-system-s390x ended (%s) ---\n",
		       q == 0 ? "exit 0" : q == 124 ? "timeout" : "error");
	if (!b->keep)
		unlink(mem);
	return q != 0 && q != 124 ? PVK_EXIT_ERROR : PVK_EXIT_OK;
}

int cmd_boot(int argc, char **argv)
{
	struct boot_args b = { .timeout_s = 120, .memory = 1024 };
	char mem[4300], cuid[33];
	struct uvsim_guest g;
	EVP_PKEY *key = NULL;
	struct pvk_err e;
	int rc;

	pvk_err_clear(&e);
	memset(&g, 0, sizeof(g));
	rc = boot_options(&b, argc, argv);
	if (rc >= 0)
		return rc;
	if (uvsim_host_key(state, b.host, &key, &e))
		return cli_error(&e);
	if (claim_guest_dir(b.id, g.dir, sizeof(g.dir), &e)) {
		EVP_PKEY_free(key);
		return cli_error(&e);
	}
	snprintf(mem, sizeof(mem), "%s/mem.img", g.dir);
	rc = boot_guest(&b, key, mem, &g, &e);
	EVP_PKEY_free(key);
	if (rc) {
		uvsim_guest_clear(&g);
		remove_guest_dir(g.dir);
		close(booting_fd);
		booting_fd = -1;
		return cli_error(&e);
	}
	release_guest_dir(g.dir);
	pvk_hex_encode(g.cuid, 16, cuid);
	if (cli_verbosity >= 0) {
		printf("guest %s booted on host %s (CUID 0x%s)\n", b.id, b.host, cuid);
		printf("guest-side tools: eval \"$(uvsim env %s)\"\n", b.id);
	}
	rc = b.qemu ? boot_qemu(&b, g.dir, mem) : PVK_EXIT_OK;
	uvsim_guest_clear(&g);
	return rc;
}
