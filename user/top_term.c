// SPDX-License-Identifier: GPL-2.0
/*
 * The terminal of the live view. While the view is up, nothing but curses
 * may write to the terminal, and nothing but the view may read from it: a
 * warning on stderr, a launched command's output or its reads of stdin
 * would tear the screen or steal keys. So the terminal moves to new fds
 * and fds 0, 1 and 2 become /dev/null, which a command launched meanwhile
 * inherits: it may outlive us, and its output must not pile up anywhere.
 * Our own messages (the stderr stream, and main.c's text output) go to an
 * unlinked log file instead: the view shows its last line, and at the end
 * it is written out to stderr.
 */
#define _GNU_SOURCE
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <term.h>
#include <unistd.h>
#include "safestr.h"
#include "top_int.h"
#include "util.h"

/* A chatty launched command must not fill the disk. */
#define LOG_MAX (4 << 20)

/* Whether the terminal can hold the view; says why not. */
static int check_terminal(void)
{
	int err = 0;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		lw_err("leakwatch top needs a terminal: stdin and stdout must "
		       "be a TTY (without 'top', leakwatch prints text "
		       "reports)");
		return -1;
	}
	if (setupterm(NULL, STDOUT_FILENO, &err) != OK) {
		lw_err("leakwatch top: the terminal type '%s' is unknown or "
		       "cannot address the cursor",
		       getenv("TERM") ? getenv("TERM") : "");
		return -1;
	}
	del_curterm(cur_term);
	return 0;
}

/* UTF-8 sparklines when the locale has them. Numbers stay in the C
 * locale: the JSON and text reports must not get decimal commas. */
static bool set_locale(void)
{
	const char *cs;

	setlocale(LC_ALL, "");
	setlocale(LC_NUMERIC, "C");
	cs = nl_langinfo(CODESET);
	return cs && !strcmp(cs, "UTF-8");
}

static int open_log(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/leakwatch-top-XXXXXX",
		 dir && dir[0] ? dir : "/tmp");
	fd = mkostemp(path, O_CLOEXEC | O_APPEND);
	if (fd < 0) {
		lw_err("leakwatch top: cannot create a log file in %s: %s",
		       dir && dir[0] ? dir : "/tmp", strerror(errno));
		return -1;
	}
	unlink(path);
	return fd;
}

/* Close-on-exec copies: a launched command must not get the terminal. */
static FILE *dup_stream(int fd, const char *mode)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	FILE *f;

	if (copy < 0)
		return NULL;
	f = fdopen(copy, mode);
	if (!f)
		close(copy);
	return f;
}

static int redirect(struct top_term *t)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), i, err = 0;

	if (null < 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < 3; i++)
		t->saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 3);
	for (i = 0; i < 3; i++)
		if (t->saved[i] < 0 || dup2(null, i) < 0)
			err = -1;
	close(null);
	if (err)
		return err;
	/* the stream everything of ours writes messages to */
	t->saved_stderr = stderr;
	stderr = t->log;
	return 0;
}

int term_open(struct top_term *t)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->log_fd = t->saved[0] = t->saved[1] = t->saved[2] = -1;
	if (check_terminal())
		return -1;
	t->utf8 = set_locale();
	t->log_fd = open_log();
	if (t->log_fd < 0)
		return -1;
	t->log = dup_stream(t->log_fd, "a");
	if (t->log) /* a line in the log is a line the view can show */
		setvbuf(t->log, NULL, _IOLBF, 0);
	t->in = dup_stream(STDIN_FILENO, "r");
	t->out = dup_stream(STDOUT_FILENO, "w");
	if (!t->log || !t->in || !t->out || redirect(t)) {
		err = errno;
		term_close(t); /* stderr is the terminal's again */
		lw_err("leakwatch top: cannot set up the terminal: %s",
		       strerror(err));
		return -1;
	}
	return 0;
}

static void init_colors(struct top_term *t)
{
	if (!has_colors() || start_color() != OK)
		return;
	use_default_colors();
	init_pair(1, COLOR_RED, -1);
	init_pair(2, COLOR_YELLOW, -1);
	t->color = true;
}

int term_start(struct top_term *t)
{
	if (t->started || t->failed)
		return t->failed ? -1 : 0;
	t->scr = newterm(NULL, t->out, t->in);
	if (!t->scr) {
		lw_err("leakwatch top: curses cannot use this terminal");
		t->failed = true;
		return -1;
	}
	set_term(t->scr);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25); /* Esc goes back at once, not after a second */
	init_colors(t);
	t->started = true;
	return 0;
}

/* Writes the log out to stderr, now the terminal's again. */
static void replay_log(struct top_term *t)
{
	char buf[8192];
	off_t off = 0;
	ssize_t n;

	if (t->log_dropped)
		fprintf(stderr,
			"leakwatch: %lld bytes of output written during the "
			"view were dropped; the rest follows\n",
			(long long)t->log_dropped);
	while ((n = pread(t->log_fd, buf, sizeof(buf), off)) > 0) {
		if (fwrite(buf, 1, n, stderr) != (size_t)n)
			break;
		off += n;
	}
	fflush(stderr);
}

static void restore_fds(struct top_term *t)
{
	int i;

	fflush(stdout);
	if (t->saved_stderr) {
		stderr = t->saved_stderr;
		t->saved_stderr = NULL;
	}
	for (i = 0; i < 3; i++) {
		if (t->saved[i] < 0)
			continue;
		dup2(t->saved[i], i);
		close(t->saved[i]);
		t->saved[i] = -1;
	}
}

void term_close(struct top_term *t)
{
	if (t->started) {
		endwin(); /* leaves the alternate screen */
		delscreen(t->scr);
		t->started = false;
	}
	restore_fds(t);
	if (t->in)
		fclose(t->in);
	if (t->out)
		fclose(t->out);
	if (t->log)
		fclose(t->log);
	t->in = t->out = t->log = NULL;
	if (t->log_fd >= 0) {
		replay_log(t);
		close(t->log_fd);
		t->log_fd = -1;
	}
}

/* Keeps the log bounded: what is dropped is counted and said at the end. */
static off_t log_size(struct top_term *t)
{
	struct stat st;

	if (fstat(t->log_fd, &st))
		return 0;
	if (st.st_size > LOG_MAX && !ftruncate(t->log_fd, 0)) {
		t->log_dropped += st.st_size;
		return 0;
	}
	return st.st_size;
}

void term_last_message(struct top_term *t, char *buf, size_t len)
{
	char tail[512], *nl;
	off_t size, from;
	ssize_t n;

	buf[0] = '\0';
	if (t->log_fd < 0)
		return;
	fflush(t->log);
	size = log_size(t);
	from = size > (off_t)sizeof(tail) - 1 ? size - (off_t)sizeof(tail) + 1
					      : 0;
	n = size ? pread(t->log_fd, tail, size - from, from) : 0;
	if (n <= 0)
		return;
	tail[n] = '\0';
	while (n && (tail[n - 1] == '\n' || tail[n - 1] == '\r'))
		tail[--n] = '\0';
	nl = strrchr(tail, '\n');
	/* a launched command's output too: escaped as the names are */
	lw_safe(nl ? nl + 1 : tail, buf, len, 0);
}
