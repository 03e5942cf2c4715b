// SPDX-License-Identifier: GPL-2.0
/*
 * The demo target: a pretend request handler. Request buffers and
 * parsed headers are freed again (churn); every session also lands in a
 * cache that is never evicted (the leak leakwatch should find).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct session {
	struct session *next;
	char user[120];
	char token[904];
};

static struct session *cache;

static __attribute__((noinline)) void cache_insert(const char *user)
{
	struct session *s = malloc(sizeof(*s)); /* never evicted */

	if (!s)
		return;
	snprintf(s->user, sizeof(s->user), "%s", user);
	memset(s->token, 'x', sizeof(s->token));
	s->next = cache;
	cache = s;
}

static __attribute__((noinline)) char *parse_headers(const char *req)
{
	char *h = strdup(req);

	for (char *p = h; *p; p++)
		if (*p == ':')
			*p = '=';
	return h;
}

static __attribute__((noinline)) void handle_request(int i)
{
	char *buf = malloc(4096 + (i % 7) * 512);
	char *hdr;

	snprintf(buf, 4096, "GET /item/%d\r\nUser: user%d\r\n", i, i % 100);
	hdr = parse_headers(buf);
	if (i % 4 == 0)
		cache_insert(hdr);
	free(hdr);
	free(buf);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 15;
	struct timespec tick = { 0, 10 * 1000 * 1000 }, t0, now;
	int i = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		handle_request(i++);
		nanosleep(&tick, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - t0.tv_sec + (now.tv_nsec - t0.tv_nsec) / 1e9 <
		 seconds);
	printf("demo-server: handled %d requests, cached %d sessions\n", i,
	       (i + 3) / 4);
	return 0;
}
