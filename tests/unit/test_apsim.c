// SPDX-License-Identifier: MIT
/* uvsim's simulated AP bus, called directly (no inotify): the --ap specifications, the SE
 * bind/associate state machine (spec §7.1) with its refusals, the association against the
 * guest's secret store and the one-secret-per-adapter rule, host resets, illicit queues,
 * and the sysfs files written at boot. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pvkit/apbus.h"
#include "pvkit/asrcb.h"
#include "testutil.h"
#include "uvsim.h"

#define MK1 "db3c3b3c3f097dd55ec7eb0e7fdbcb93"
#define MK2 "4a27bb66520ac85f6073a7f678d262c0"

struct fx {
	struct uvsim_ap ap;
	struct uvsim_guest g;
};

static void add_secret(struct uvsim_guest *g, uint16_t idx, uint16_t type)
{
	struct uvsim_secret *s = &g->secrets[g->n_secrets++];

	s->index = idx;
	s->type = type;
	s->len = 0;
	s->value = NULL;
	memset(s->id, (int)idx, 32);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct pvk_err e;

	uvsim_guest_lock_init(&f->g);
	add_secret(&f->g, 0, SECRET_ASSOCIATION);
	add_secret(&f->g, 1, SECRET_PLAINTEXT);
	add_secret(&f->g, 2, SECRET_ASSOCIATION);
	assert_int_equal(uvsim_ap_parse_spec(&f->ap, "card=03,type=CEX8P,serial=93AADFK719460083,"
					     "domains=0x2b:0x31:2c,mkvp=0x" MK1 ":" MK2 ":none",
					     &e), 0);
	assert_int_equal(uvsim_ap_parse_spec(&f->ap, "card=0x04,type=CEX8A,domains=5:42", &e), 0);
	assert_int_equal(uvsim_ap_parse_spec(&f->ap, "card=05,type=CEX7C,domains=1,mkvp=" MK1, &e),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	pthread_rwlock_destroy(&f->g.lock);
	free(f);
	return 0;
}

static struct uvsim_ap_queue *Q(struct fx *f, unsigned ci, unsigned qi)
{
	return &f->ap.c[ci].q[qi];
}

static void texts(struct fx *f, unsigned ci, unsigned qi, const char *bind, const char *assoc,
		  unsigned bs)
{
	char buf[64];

	assert_string_equal(uvsim_ap_bind_text(&f->ap.c[ci], Q(f, ci, qi)), bind);
	uvsim_ap_assoc_text(&f->ap.c[ci], Q(f, ci, qi), buf, sizeof(buf));
	assert_string_equal(buf, assoc);
	assert_int_equal(APBUS_BS(uvsim_ap_functions(&f->ap.c[ci], Q(f, ci, qi))), bs);
}

static void test_spec(void **state)
{
	struct fx *f = *state;
	struct uvsim_ap ap;
	struct pvk_err e;

	assert_true(f->ap.enabled);
	assert_string_equal(f->ap.features, "APSC APXA QACT RC8A APSB");
	assert_int_equal(f->ap.nc, 3);
	assert_int_equal(f->ap.c[0].id, 3);
	assert_int_equal(f->ap.c[0].gen, 8);
	assert_int_equal(f->ap.c[0].mode, 'P');
	assert_string_equal(f->ap.c[0].serial, "93AADFK719460083");
	assert_int_equal(f->ap.c[0].nq, 3);
	assert_int_equal(Q(f, 0, 0)->dom, 0x2b);
	assert_int_equal(Q(f, 0, 2)->dom, 0x2c);
	/* a 16-byte MKVP is extended to the 32 bytes the adapter shows */
	assert_int_equal(strlen(Q(f, 0, 0)->mkvp), 64);
	assert_memory_equal(Q(f, 0, 0)->mkvp, MK1, 32);
	assert_string_equal(Q(f, 0, 2)->mkvp, "");
	assert_int_equal(f->ap.c[1].id, 4);
	assert_int_equal(strlen(f->ap.c[1].serial), 16);
	assert_int_equal(Q(f, 1, 1)->dom, 0x42);
	/* one MKVP for every domain */
	assert_memory_equal(Q(f, 2, 0)->mkvp, MK1, 32);
	texts(f, 0, 0, "unbound", "unassociated", APBUS_BS_UNBOUND);
	texts(f, 1, 0, "unbound", "-", APBUS_BS_UNBOUND);
	texts(f, 2, 0, "-", "-", APBUS_BS_UNBOUND);

	memset(&ap, 0, sizeof(ap));
	assert_int_equal(uvsim_ap_parse_spec(&ap, "features=APSC:APXA", &e), 0);
	assert_string_equal(ap.features, "APSC APXA");
	assert_int_equal(ap.nc, 0);
	assert_int_equal(uvsim_ap_parse_spec(&ap, "features=", &e), 0);
	assert_string_equal(ap.features, "");
	{
		static const char *const bad[] = {
			"card=03,type=CEX8P",                          /* no domains */
			"type=CEX8P,domains=1",                        /* no card */
			"card=100,type=CEX8P,domains=1",
			"card=03,type=CEX9P,domains=1",
			"card=03,type=CEX8X,domains=1",
			"card=03,type=CEX8P,domains=1:1",
			"card=03,type=CEX8P,domains=1:zz",
			"card=03,type=CEX8P,domains=1,serial=short",
			"card=03,type=CEX8P,domains=1,serial=93AAD K719460083",
			"card=03,type=CEX8P,domains=1:2:3,mkvp=" MK1 ":" MK2,
			"card=03,type=CEX8P,domains=1,mkvp=0x1234",
			"card=03,type=CEX8A,domains=1,mkvp=" MK1,
			"card=03,type=CEX8P,domains=1,colour=blue",
			"card=03,type=CEX8P,domains=1,nokey",
			"features=APSB,APSC",
			"card=03,type=CEX8P,domains=0:1:2:3:4:5:6:7:8:9:a:b:c:d:e:f:10",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			if (!uvsim_ap_parse_spec(&ap, bad[i], &e))
				fail_msg("accepted: %s", bad[i]);
			assert_non_null(strstr(e.msg, "--ap '"));
		}
	}
	assert_int_equal(uvsim_ap_parse_spec(&ap, "card=03,type=CEX8P,domains=1", &e), 0);
	assert_int_equal(uvsim_ap_parse_spec(&ap, "card=3,type=CEX8A,domains=2", &e), -1);
	assert_non_null(strstr(e.msg, "card 03 is configured twice"));
	/* at most 12 AP queues per secure guest, over all its adapters */
	assert_int_equal(uvsim_ap_parse_spec(&ap, "card=04,type=CEX8A,domains=1:2:3:4:5:6:7:8:9:a:b",
					     &e), 0);
	assert_int_equal(uvsim_ap_parse_spec(&ap, "card=05,type=CEX8A,domains=1", &e), -1);
	assert_non_null(strstr(e.msg, "at most 12 AP queues; with this adapter it would have 13"));
	assert_int_equal(ap.nc, 2);
}

static void test_bind(void **state)
{
	struct fx *f = *state;
	char why[256];

	/* EP11: unbound -> bound (1) -> unbound */
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x2b, "1\n", why, sizeof(why)), 1);
	texts(f, 0, 0, "bound", "unassociated", APBUS_BS_BOUND);
	/* bound already: refused, unchanged */
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x2b, "1", why, sizeof(why)), 0);
	assert_non_null(strstr(why, "bound already"));
	texts(f, 0, 0, "bound", "unassociated", APBUS_BS_BOUND);
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x2b, "0\n", why, sizeof(why)), 1);
	texts(f, 0, 0, "unbound", "unassociated", APBUS_BS_UNBOUND);
	/* an unbind of an unbound queue is a reset: accepted */
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x2b, "0", why, sizeof(why)), 1);
	/* kstrtobool */
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x2b, "y", why, sizeof(why)), 1);
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x2b, "off", why, sizeof(why)), 1);
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x2b, "On", why, sizeof(why)), 1);
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x2b, "N", why, sizeof(why)), 1);
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x2b, "bound", why, sizeof(why)), 0);
	assert_non_null(strstr(why, "not a boolean"));
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x2b, "", why, sizeof(why)), 0);
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x2b, "o", why, sizeof(why)), 0);
	texts(f, 0, 0, "unbound", "unassociated", APBUS_BS_UNBOUND);
	/* accelerator: bound means usable */
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 4, 5, "1", why, sizeof(why)), 1);
	texts(f, 1, 0, "bound", "-", APBUS_BS_USABLE);
	/* CCA: no binding */
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 5, 1, "1", why, sizeof(why)), 0);
	assert_non_null(strstr(why, "CCA"));
	/* no such queue */
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x2d, "1", why, sizeof(why)), 0);
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 9, 0x2b, "1", why, sizeof(why)), 0);
}

static void test_associate(void **state)
{
	struct fx *f = *state;
	struct uvsim_guest *g = &f->g;
	char why[256];

	/* not bound: refused */
	assert_int_equal(uvsim_ap_write_assoc(&f->ap, g, 3, 0x2b, "0", 1000, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "it is unbound"));
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x2b, "1", why, sizeof(why)), 1);
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x31, "1", why, sizeof(why)), 1);
	/* the secret store decides */
	assert_int_equal(uvsim_ap_write_assoc(&f->ap, g, 3, 0x2b, "7", 1000, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "no secret with index 7"));
	assert_int_equal(uvsim_ap_write_assoc(&f->ap, g, 3, 0x2b, "1", 1000, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "no association secret"));
	/* kstrtouint, base 0; the range */
	assert_int_equal(uvsim_ap_write_assoc(&f->ap, g, 3, 0x2b, "x", 1000, why, sizeof(why)), 0);
	assert_int_equal(uvsim_ap_write_assoc(&f->ap, g, 3, 0x2b, "-1", 1000, why, sizeof(why)), 0);
	assert_int_equal(uvsim_ap_write_assoc(&f->ap, g, 3, 0x2b, "65536", 1000, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "above 0xffff"));
	texts(f, 0, 0, "bound", "unassociated", APBUS_BS_BOUND);
	/* accepted: pending, then associated */
	assert_int_equal(uvsim_ap_write_assoc(&f->ap, g, 3, 0x2b, "0x2\n", 1000, why, sizeof(why)), 1);
	texts(f, 0, 0, "bound", "association pending", APBUS_BS_BOUND);
	assert_int_equal(uvsim_ap_write_assoc(&f->ap, g, 3, 0x2b, "2", 1001, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "association pending"));
	assert_int_equal(uvsim_ap_tick(&f->ap, 1000 + UVSIM_AP_PENDING_MS - 1), 0);
	texts(f, 0, 0, "bound", "association pending", APBUS_BS_BOUND);
	assert_int_equal(uvsim_ap_tick(&f->ap, 1000 + UVSIM_AP_PENDING_MS), 1);
	texts(f, 0, 0, "bound", "associated 2", APBUS_BS_USABLE);
	/* associated already: refused */
	assert_int_equal(uvsim_ap_write_assoc(&f->ap, g, 3, 0x2b, "0", 2000, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "it is associated"));
	/* the same secret on another queue of the adapter: refused (firmware rule) */
	assert_int_equal(uvsim_ap_write_assoc(&f->ap, g, 3, 0x31, "2", 2000, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "in use on queue 03.002b of the same adapter"));
	assert_int_equal(uvsim_ap_write_assoc(&f->ap, g, 3, 0x31, "0", 2000, why, sizeof(why)), 1);
	/* ... also while the first is pending */
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x2c, "1", why, sizeof(why)), 1);
	assert_int_equal(uvsim_ap_write_assoc(&f->ap, g, 3, 0x2c, "0", 2001, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "in use on queue 03.0031"));
	/* accelerators and CCA queues are not associated */
	assert_int_equal(uvsim_ap_write_assoc(&f->ap, g, 4, 5, "0", 2000, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "only for EP11"));
	assert_int_equal(uvsim_ap_write_assoc(&f->ap, g, 5, 1, "0", 2000, why, sizeof(why)), 0);
	/* unbind drops the association (and a pending one) */
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x31, "0", why, sizeof(why)), 1);
	texts(f, 0, 1, "unbound", "unassociated", APBUS_BS_UNBOUND);
	assert_int_equal(uvsim_ap_tick(&f->ap, 99999), 0);
	assert_int_equal(uvsim_ap_write_assoc(&f->ap, g, 3, 0x2c, "0", 3000, why, sizeof(why)), 1);
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x2b, "0", why, sizeof(why)), 1);
	texts(f, 0, 0, "unbound", "unassociated", APBUS_BS_UNBOUND);
	/* the same secret on two adapters: fine (a backup pair); here 03.002c and another card
	 * would do, covered by the CLI test */
}

static void test_host(void **state)
{
	struct fx *f = *state;
	char why[256];

	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x2b, "1", why, sizeof(why)), 1);
	assert_int_equal(uvsim_ap_write_assoc(&f->ap, &f->g, 3, 0x2b, "0", 0, why, sizeof(why)), 1);
	assert_int_equal(uvsim_ap_tick(&f->ap, UVSIM_AP_PENDING_MS), 1);
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 4, 5, "1", why, sizeof(why)), 1);
	/* a host reset unbinds every queue */
	assert_int_equal(uvsim_ap_reset(&f->ap, -1, 0), 0);
	texts(f, 0, 0, "unbound", "unassociated", APBUS_BS_UNBOUND);
	texts(f, 1, 0, "unbound", "-", APBUS_BS_UNBOUND);
	/* illicit: reads unbound, refuses binding, stays illicit on unbind, until a reset */
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x31, "1", why, sizeof(why)), 1);
	assert_int_equal(uvsim_ap_illicit(&f->ap, 3, 0x31), 0);
	texts(f, 0, 1, "unbound", "unassociated", APBUS_BS_ILLICIT);
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x31, "1", why, sizeof(why)), 0);
	assert_non_null(strstr(why, "illicit"));
	assert_int_equal(uvsim_ap_write_bind(&f->ap, 3, 0x31, "0", why, sizeof(why)), 1);
	texts(f, 0, 1, "unbound", "unassociated", APBUS_BS_ILLICIT);
	assert_int_equal(uvsim_ap_reset(&f->ap, 3, 0x31), 0);
	texts(f, 0, 1, "unbound", "unassociated", APBUS_BS_UNBOUND);
	assert_int_equal(uvsim_ap_reset(&f->ap, 3, 0x99), -1);
	assert_int_equal(uvsim_ap_illicit(&f->ap, 7, 1), -1);
	assert_int_equal(uvsim_ap_set_online(&f->ap, 3, 0x31, 0), 0);
	assert_int_equal(Q(f, 0, 1)->online, 0);
	assert_int_equal(uvsim_ap_set_online(&f->ap, 3, 0x99, 0), -1);
}

static char *slurp(const char *dir, const char *rel)
{
	static char buf[1024];
	char path[4400];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fp = fopen(path, "r");
	if (!fp)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = 0;
	return buf;
}

static void test_sysfs(void **state)
{
	struct fx *f = *state;
	char *dir = tmpdir_make(), link[256], path[4400];
	struct uvsim_ap off = { 0 };
	struct pvk_err e;
	struct stat st;
	ssize_t n;

	assert_int_equal(uvsim_ap_sysfs(&off, dir, &e), 0);   /* no --ap: no AP bus */
	snprintf(path, sizeof(path), "%s/sys/bus/ap", dir);
	assert_int_not_equal(stat(path, &st), 0);
	assert_int_equal(uvsim_ap_sysfs(&f->ap, dir, &e), 0);
	assert_string_equal(slurp(dir, "sys/bus/ap/features"), "APSC APXA QACT RC8A APSB\n");
	assert_string_equal(slurp(dir, "sys/bus/ap/bindings"), "6/6 (complete)\n");
	assert_string_equal(slurp(dir, "sys/bus/ap/ap_domain"), "43\n");
	assert_string_equal(slurp(dir, "sys/devices/ap/card03/type"), "CEX8P\n");
	assert_string_equal(slurp(dir, "sys/devices/ap/card03/hwtype"), "14\n");
	assert_string_equal(slurp(dir, "sys/devices/ap/card05/hwtype"), "13\n");
	/* the serial number and master keys answer through a bound queue only */
	assert_string_equal(slurp(dir, "sys/devices/ap/card03/serialnr"), "\n");
	assert_string_equal(slurp(dir, "sys/devices/ap/card03/03.002b/mkvps"),
			    "WK CUR: - -\nWK NEW: - -\n");
	assert_string_equal(slurp(dir, "sys/devices/ap/card03/03.002b/se_bind"), "unbound\n");
	assert_string_equal(slurp(dir, "sys/devices/ap/card03/03.002b/se_associate"),
			    "unassociated\n");
	assert_string_equal(slurp(dir, "sys/devices/ap/card03/03.002b/ap_functions"),
			    "0x06808000\n");
	assert_string_equal(slurp(dir, "sys/devices/ap/card03/03.002b/online"), "1\n");
	assert_string_equal(slurp(dir, "sys/devices/ap/card04/04.0042/se_associate"), "-\n");
	assert_string_equal(slurp(dir, "sys/devices/ap/card04/04.0042/ap_functions"),
			    "0x6a808000\n");
	assert_null(slurp(dir, "sys/devices/ap/card04/serialnr"));
	assert_string_equal(slurp(dir, "sys/devices/ap/card05/05.0001/se_bind"), "-\n");
	/* the kernel's links: bus/ap/devices and the drivers */
	assert_string_equal(slurp(dir, "sys/bus/ap/devices/03.0031/se_bind"), "unbound\n");
	assert_string_equal(slurp(dir, "sys/bus/ap/devices/card04/type"), "CEX8A\n");
	snprintf(path, sizeof(path), "%s/sys/devices/ap/card03/03.002b/driver", dir);
	n = readlink(path, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = 0;
	assert_string_equal(link, "../../../../bus/ap/drivers/cex4queue");
	snprintf(path, sizeof(path), "%s/sys/devices/ap/card03/03.002b/driver/", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* files 0600 */
	snprintf(path, sizeof(path), "%s/sys/devices/ap/card03/03.002b/se_bind", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_spec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_associate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sysfs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
