// SPDX-License-Identifier: GPL-2.0
/*
 * The --prometheus endpoint: libmicrohttpd with its epoll set polled by
 * the main loop (MHD_USE_EPOLL without an internal thread), on a socket
 * of our own, so that a bad address or a port in use is a message and
 * exit 2 before anything is traced, and port 0 can be told.
 */
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "prom.h"
#include "util.h"

#define CT_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define CT_OM	"application/openmetrics-text; version=1.0.0; charset=utf-8"

enum {
	BODY_TEXT,
	BODY_OM,
	NBODY
};

struct lw_prom {
	struct MHD_Daemon *d;
	int fd;	      /* the listening socket, ours */
	int epoll_fd; /* libmicrohttpd's, polled by the main loop */
	char *body[NBODY];
	size_t len[NBODY];
};

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	if (!lw_verbose) /* a client that went away is no news */
		return;
	fputs("leakwatch: metrics server: ", stderr);
	vfprintf(stderr, fmt, ap);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status,
			     const char *type, const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body,
					    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **state)
{
	static const char not_found[] = "leakwatch serves /metrics only\n";
	static const char not_allowed[] = "GET or HEAD only\n";
	struct lw_prom *p = cls;
	const char *accept;
	int b;

	(void)version;
	(void)upload;
	(void)state;
	if (*upload_size)
		return MHD_NO; /* no request of ours has a body */
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
			     not_allowed, sizeof(not_allowed) - 1);
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", not_found,
			     sizeof(not_found) - 1);
	accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					     MHD_HTTP_HEADER_ACCEPT);
	b = accept && strstr(accept, "application/openmetrics-text")
		    ? BODY_OM
		    : BODY_TEXT;
	return reply(c, MHD_HTTP_OK, b == BODY_OM ? CT_OM : CT_TEXT,
		     p->body[b] ? p->body[b] : "", p->len[b]);
}

/* ADDR into host and port: HOST:PORT, :PORT (every interface), [V6]:PORT. */
static bool split_addr(const char *addr, char *host, size_t hlen, char *port,
		       size_t plen)
{
	const char *colon, *h = addr, *he;
	size_t n;
	long v;
	char *end;

	if (*addr == '[') {
		he = strchr(addr, ']');
		if (!he || he[1] != ':')
			return false;
		h = addr + 1;
		colon = he + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return false;
		he = colon;
		if (memchr(addr, ':', colon - addr))
			return false; /* an IPv6 address needs its brackets */
	}
	n = he - h;
	if (n >= hlen)
		return false;
	memcpy(host, h, n);
	host[n] = 0;
	if (!n)
		snprintf(host, hlen, "0.0.0.0");
	errno = 0;
	v = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || errno || v > 65535 ||
	    strlen(colon + 1) >= plen)
		return false;
	snprintf(port, plen, "%d", (int)v);
	return true;
}

static int listen_on(const char *addr, const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV },
			*res, *ai;
	int fd = -1, err, one = 1, saved = 0;

	err = getaddrinfo(host, port, &hints, &res);
	if (err) {
		lw_err("--prometheus %s: %s: %s", addr, host,
		       gai_strerror(err));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 64))
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		lw_err("--prometheus %s: cannot listen: %s", addr,
		       strerror(saved));
	return fd;
}

/* Where it listens, as a URL: the real port when 0 was asked for. */
static void say_where(int fd)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	char host[NI_MAXHOST], port[NI_MAXSERV];
	bool v6;

	if (getsockname(fd, (struct sockaddr *)&sa, &len) ||
	    getnameinfo((struct sockaddr *)&sa, len, host, sizeof(host), port,
			sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV))
		return;
	v6 = sa.ss_family == AF_INET6;
	fprintf(stderr, "leakwatch: metrics at http://%s%s%s:%s/metrics\n",
		v6 ? "[" : "", host, v6 ? "]" : "", port);
}

int prom_open(struct lw_prom **out, const char *addr)
{
	char host[256], port[16];
	const union MHD_DaemonInfo *info;
	struct lw_prom *p;

	*out = NULL;
	if (!split_addr(addr, host, sizeof(host), port, sizeof(port))) {
		lw_err("--prometheus: '%s' is not HOST:PORT, :PORT or "
		       "[IPV6]:PORT",
		       addr);
		return LW_EXIT_USAGE;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return LW_EXIT_ERROR;
	p->fd = listen_on(addr, host, port);
	if (p->fd < 0) {
		free(p);
		return LW_EXIT_USAGE;
	}
	p->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL,
				NULL, on_request, p, MHD_OPTION_LISTEN_SOCKET,
				p->fd, MHD_OPTION_CONNECTION_LIMIT,
				(unsigned int)64, MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned int)10, MHD_OPTION_EXTERNAL_LOGGER,
				mhd_log, NULL, MHD_OPTION_END);
	info = p->d ? MHD_get_daemon_info(p->d, MHD_DAEMON_INFO_EPOLL_FD)
		    : NULL;
	if (!info) {
		lw_err("--prometheus %s: the HTTP server did not start", addr);
		prom_close(p);
		return LW_EXIT_ERROR;
	}
	p->epoll_fd = info->epoll_fd;
	say_where(p->fd);
	*out = p;
	return LW_EXIT_OK;
}

int prom_poll_fd(const struct lw_prom *p)
{
	return p ? p->epoll_fd : -1;
}

void prom_serve(struct lw_prom *p)
{
	if (p)
		MHD_run(p->d);
}

void prom_update(struct lw_prom *p, struct lw_view *v, struct lw_system *sys,
		 const struct lw_prom_info *info)
{
	char *buf;
	size_t len;
	FILE *f;
	int b, rc;

	for (b = 0; p && b < NBODY; b++) {
		buf = NULL;
		f = open_memstream(&buf, &len);
		if (!f)
			continue; /* the last metrics stay served */
		rc = report_prom(f, v, sys, info, b == BODY_OM);
		if (fclose(f) || rc) {
			free(buf);
			lw_warn("--prometheus: the metrics could not be made "
				"(out of memory): the last ones stay served");
			continue;
		}
		free(p->body[b]);
		p->body[b] = buf;
		p->len[b] = len;
	}
}

void prom_close(struct lw_prom *p)
{
	int b;

	if (!p)
		return;
	if (p->d)
		MHD_stop_daemon(p->d); /* closes the listening socket too */
	else if (p->fd >= 0)
		close(p->fd);
	for (b = 0; b < NBODY; b++)
		free(p->body[b]);
	free(p);
}
