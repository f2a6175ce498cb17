// SPDX-License-Identifier: MIT
/* Outputs (lib/fileio.c): several outputs committed together or not at all, with what was
 * there before restored on failure; no-replace commits; device and FIFO outputs written
 * into; stale temp files of dead writers removed, live ones kept; temp files removed on a
 * catchable signal (issue 9 #4-#7, #17). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pvkit/fileio.h"
#include "testutil.h"

static char *dir;

static const char *at(const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void put(const char *name, const char *text)
{
	FILE *f = fopen(at(name), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *get(const char *name)
{
	static char buf[256];
	FILE *f = fopen(at(name), "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* Entries of dir other than the given names. */
static int others(const char *const *names, size_t n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int cnt = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		int known = de->d_name[0] == '.';

		for (size_t i = 0; i < n; i++)
			known |= !strcmp(de->d_name, names[i]);
		if (!known) {
			print_message("  left: %s\n", de->d_name);
			cnt++;
		}
	}
	closedir(d);
	return cnt;
}

static int setup(void **s)
{
	(void)s;
	dir = tmpdir_make();
	return 0;
}

static int teardown(void **s)
{
	(void)s;
	rm_rf(dir);
	free(dir);
	return 0;
}

static void test_commit_together(void **s)
{
	struct outfile a, b;
	struct pvk_err e;
	const char *names[] = { "a", "b" };

	(void)s;
	assert_int_equal(pvk_outfile_open(&a, at("a"), 0, &e), 0);
	assert_int_equal(pvk_outfile_open(&b, at("b"), OUTFILE_SECRET, &e), 0);
	assert_int_equal(pvk_outfile_write(&a, "new a", 5, &e), 0);
	assert_int_equal(pvk_outfile_write(&b, "new b", 5, &e), 0);
	assert_null(get("a"));
	assert_int_equal(pvk_outfiles_commit((struct outfile *[]){ &a, &b }, 2, &e), 0);
	assert_string_equal(get("a"), "new a");
	assert_string_equal(get("b"), "new b");
	assert_int_equal(others(names, 2), 0);
}

/* The second rename fails (a directory appeared at its path): the first is undone, and
 * what was at its path before is back. */
static void test_undo_on_failure(void **s)
{
	struct outfile a, b, c;
	struct pvk_err e;
	const char *names[] = { "a", "c", "b" };

	(void)s;
	put("a", "old a");
	assert_int_equal(pvk_outfile_open(&a, at("a"), OUTFILE_OVERWRITE, &e), 0);
	assert_int_equal(pvk_outfile_open(&c, at("c"), OUTFILE_OVERWRITE, &e), 0);
	assert_int_equal(pvk_outfile_open(&b, at("b"), OUTFILE_OVERWRITE, &e), 0);
	assert_int_equal(pvk_outfile_write(&a, "new a", 5, &e), 0);
	assert_int_equal(pvk_outfile_write(&c, "new c", 5, &e), 0);
	assert_int_equal(mkdir(at("b"), 0700), 0);
	put("b/x", "keeps the directory non-empty");
	assert_int_equal(pvk_outfiles_commit((struct outfile *[]){ &a, &c, &b }, 3, &e), -1);
	assert_non_null(strstr(e.msg, "/b: cannot rename output file into place"));
	assert_string_equal(get("a"), "old a");
	assert_null(get("c"));
	assert_int_equal(others(names, 3), 0);
	rm_rf(at("b"));
}

/* Without OUTFILE_OVERWRITE a file that appears while the output is written is kept. */
static void test_no_replace(void **s)
{
	struct outfile a;
	struct pvk_err e;

	(void)s;
	unlink(at("a"));
	assert_int_equal(pvk_outfile_open(&a, at("a"), 0, &e), 0);
	assert_int_equal(pvk_outfile_write(&a, "mine", 4, &e), 0);
	put("a", "theirs");
	assert_int_equal(pvk_outfile_commit(&a, &e), -1);
	assert_non_null(strstr(e.msg, "output file exists (created while this command ran"));
	assert_string_equal(get("a"), "theirs");
	assert_int_equal(others((const char *[]){ "a" }, 1), 0);
	assert_int_equal(pvk_outfile_open(&a, at("a"), 0, &e), -1);
	assert_non_null(strstr(e.msg, "output file exists"));
	unlink(at("a"));
}

static void test_fifo_output(void **s)
{
	struct outfile a;
	struct pvk_err e;
	struct stat st;
	char buf[64] = { 0 };
	pid_t pid;
	int p[2];

	(void)s;
	assert_int_equal(mkfifo(at("fifo"), 0600), 0);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(at("fifo"), O_RDONLY);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;

		if (n > 0 && write(p[1], buf, (size_t)n) != n)
			_exit(2);
		_exit(n > 0 ? 0 : 1);
	}
	close(p[1]);
	assert_int_equal(pvk_outfile_open(&a, at("fifo"), 0, &e), -1);  /* exists */
	assert_int_equal(pvk_outfile_open(&a, at("fifo"), OUTFILE_OVERWRITE, &e), 0);
	assert_int_equal(pvk_outfile_write(&a, "through the fifo", 16, &e), 0);
	assert_int_equal(pvk_outfile_pwrite(&a, "T", 1, 0, &e), 0);
	assert_int_equal(pvk_outfile_commit(&a, &e), 0);
	assert_int_equal(read(p[0], buf, sizeof(buf)), 16);
	assert_memory_equal(buf, "Through the fifo", 16);
	close(p[0]);
	waitpid(pid, NULL, 0);
	assert_int_equal(stat(at("fifo"), &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(others((const char *[]){ "fifo" }, 1), 0);
	unlink(at("fifo"));
	assert_int_equal(mkdir(at("d"), 0700), 0);
	assert_int_equal(pvk_outfile_open(&a, at("d"), OUTFILE_OVERWRITE, &e), -1);
	assert_non_null(strstr(e.msg, "is a directory"));
	rmdir(at("d"));
}

static void test_char_device_output(void **s)
{
	struct outfile a;
	struct pvk_err e;
	struct stat st;
	int fd = -1;

	(void)s;
	if (mknod(at("null"), S_IFCHR | 0600, makedev(1, 3)) ||
	    (fd = open(at("null"), O_WRONLY | O_CLOEXEC)) < 0) {
		unlink(at("null"));
		skip();  /* needs root and a file system that allows devices */
	}
	close(fd);
	assert_int_equal(pvk_outfile_open(&a, at("null"), OUTFILE_OVERWRITE, &e), 0);
	assert_int_equal(pvk_outfile_write(&a, "gone", 4, &e), 0);
	assert_int_equal(pvk_outfile_commit(&a, &e), 0);
	assert_int_equal(stat(at("null"), &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	unlink(at("null"));
}

static void test_stale_temps(void **s)
{
	struct outfile a;
	struct pvk_err e;
	int live;

	(void)s;
	put("o.pvkit-tmp-AAAAAA", "dead writer");
	put("o.pvkit-tmp-BBBBBB", "live writer");
	put("o.pvkit-tmp-toolong", "not ours");
	put("p.pvkit-tmp-CCCCCC", "another output's");
	live = open(at("o.pvkit-tmp-BBBBBB"), O_RDONLY);
	assert_true(live >= 0);
	assert_int_equal(flock(live, LOCK_EX), 0);
	assert_int_equal(pvk_outfile_open(&a, at("o"), 0, &e), 0);
	assert_null(get("o.pvkit-tmp-AAAAAA"));
	assert_non_null(get("o.pvkit-tmp-BBBBBB"));
	assert_non_null(get("o.pvkit-tmp-toolong"));
	assert_non_null(get("p.pvkit-tmp-CCCCCC"));
	pvk_outfile_abort(&a);
	pvk_outfile_abort(&a);  /* twice is fine */
	close(live);
	unlink(at("o.pvkit-tmp-BBBBBB"));
	unlink(at("o.pvkit-tmp-toolong"));
	unlink(at("p.pvkit-tmp-CCCCCC"));
	assert_int_equal(others(NULL, 0), 0);
}

static void test_signal_removes_temps(void **s)
{
	int sigs[] = { SIGINT, SIGTERM, SIGHUP };

	(void)s;
	for (size_t i = 0; i < 3; i++) {
		int p[2], status;
		pid_t pid;
		char c;

		assert_int_equal(pipe(p), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct outfile a, b;
			struct pvk_err e;

			signal(sigs[i], SIG_DFL);
			pvk_outfile_trap_signals();
			if (pvk_outfile_open(&a, at("x"), 0, &e) || pvk_outfile_open(&b, at("y"), 0, &e))
				_exit(3);
			if (write(p[1], "r", 1) != 1)
				_exit(4);
			pause();
			_exit(5);
		}
		close(p[1]);
		assert_int_equal(read(p[0], &c, 1), 1);
		close(p[0]);
		kill(pid, sigs[i]);
		waitpid(pid, &status, 0);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), sigs[i]);
		assert_int_equal(others(NULL, 0), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_together, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undo_on_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_char_device_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_temps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signal_removes_temps, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
