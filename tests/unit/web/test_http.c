/* SPDX-License-Identifier: MIT */
/* The HTTP server in process, on a free loopback port, with the real
 * libmicrohttpd: routes, methods, an update seen by the next request, the
 * history loaded at start, reload (port change, removal). The secret
 * helpers are util/test_secret's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "web/http.h"
#include "store/results.h"

static char dir[] = "/tmp/epmon-test-http-XXXXXX";

/* A port nothing listens on right now. */
static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* One HTTP/1.0 request; the whole answer (malloc'd), or NULL when refused. */
static char *request(int port, const char *method, const char *path)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 5 };
	char req[256];
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_non_null(buf);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		free(buf);
		return NULL;
	}
	snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: x\r\n\r\n", method, path);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (len + 1 == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	buf[len] = '\0';
	close(fd);
	return buf;
}

static struct config *config_for(int port, int with_http)
{
	char text[1024];
	struct config_diag d = { 0 };
	struct config *cfg;

	snprintf(text, sizeof(text), "frequency: 60\nprobe_name: p1\nresults: {directory: %s}\n"
		 "state_directory: %s\n%s%d\"}\nsites:\n"
		 "  - {name: paris, external_ip: 192.0.2.1}\n", dir, dir,
		 with_http ? "http: {listen: \"127.0.0.1:" : "# \"", port);
	cfg = config_parse("t.yml", text, strlen(text), &d);
	for (size_t i = 0; i < d.nerrors; i++)
		print_message("%s\n", d.errors[i]);
	assert_non_null(cfg);
	config_diag_free(&d);
	return cfg;
}

static void has(const char *text, const char *part)
{
	if (!text || !strstr(text, part)) {
		print_message("missing '%s' in: %.300s\n", part, text ? text : "(refused)");
		fail();
	}
}

static void serve_update_reload(void **state)
{
	int port = free_port(), port2;
	struct config *cfg = config_for(port, 1), *moved, *gone;
	struct results *csv = results_new(dir);
	struct site_result r;
	struct http_server *s;
	char url[64], *t;

	/* one row of history */
	memset(&r, 0, sizeof(r));
	snprintf(r.site, sizeof(r.site), "paris");
	clock_gettime(CLOCK_REALTIME, &r.started);
	r.started.tv_sec -= 600;
	r.ok = 1;
	r.external_ran = 1;
	r.external = (struct ping_stats){ .sent = 1, .received = 1, .avg_ms = 7.5 };
	assert_int_equal(results_write(csv, &r), 0);
	results_free(csv);

	s = http_server_new(cfg, "4.5.6", NULL);
	assert_non_null(s);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	assert_string_equal(http_server_url(s), url);

	t = request(port, "GET", "/metrics");
	has(t, "HTTP/1.1 200 OK\r\n");
	has(t, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n");
	has(t, "epmon_build_info{probe=\"p1\",version=\"4.5.6\"} 1\n");
	has(t, "epmon_site_up{probe=\"p1\",site=\"paris\"} 1\n");        /* from the history */
	has(t, "epmon_cycles_total{probe=\"p1\"} 0\n");
	free(t);
	t = request(port, "GET", "/status");
	has(t, "\"history\":{\"rows\":1,");
	has(t, "\"from_history\":true");
	free(t);
	t = request(port, "GET", "/");
	has(t, "Content-Security-Policy: default-src 'none'");
	has(t, "<tr class=\"site up\" id=\"row-paris\">");
	free(t);
	t = request(port, "HEAD", "/");
	has(t, "HTTP/1.1 200 OK\r\n");
	assert_string_equal(strstr(t, "\r\n\r\n"), "\r\n\r\n");  /* no body */
	free(t);
	t = request(port, "POST", "/metrics");
	has(t, "HTTP/1.1 405 ");
	has(t, "Allow: GET, HEAD\r\n");
	free(t);
	t = request(port, "GET", "/other");
	has(t, "HTTP/1.1 404 ");
	free(t);

	/* an update is in the next answer (a new generation, not the cache) */
	clock_gettime(CLOCK_REALTIME, &r.started);
	r.ok = 0;
	r.failed_step = STEP_EXTERNAL_PING;
	r.external.received = 0;
	struct cycle_report rep = { .results = &r, .nresults = 1, .duration_s = 0.5 };
	http_server_update(s, &rep, 1, NULL, 2);
	t = request(port, "GET", "/metrics");
	has(t, "epmon_site_up{probe=\"p1\",site=\"paris\"} 0\n");
	has(t, "epmon_cycles_total{probe=\"p1\"} 1\n");
	has(t, "epmon_cycle_overruns_total{probe=\"p1\"} 1\n");
	has(t, "epmon_mail_spool_messages{probe=\"p1\"} 2\n");
	free(t);

	/* reload: another port; then no http: map */
	port2 = free_port();
	moved = config_for(port2, 1);
	http_server_reload(&s, moved, "4.5.6", NULL);
	assert_non_null(s);
	assert_null(request(port, "GET", "/metrics"));
	t = request(port2, "GET", "/status");
	has(t, "\"consecutive_failures\":1");
	free(t);
	gone = config_for(port2, 0);
	http_server_reload(&s, gone, "4.5.6", NULL);
	assert_null(s);
	assert_null(request(port2, "GET", "/metrics"));
	http_server_reload(&s, moved, "4.5.6", NULL);     /* and back */
	assert_non_null(s);
	t = request(port2, "GET", "/metrics");
	has(t, "HTTP/1.1 200 OK\r\n");
	free(t);
	http_server_free(s);
	config_free(cfg);
	config_free(moved);
	config_free(gone);
}

/* A port taken: NULL, not a crash; the reason is logged. */
static void busy_port(void **state)
{
	int port = free_port();
	struct config *cfg = config_for(port, 1);
	struct http_server *a = http_server_new(cfg, "x", NULL);

	assert_non_null(a);
	assert_null(http_server_new(cfg, "x", NULL));
	http_server_free(a);
	http_server_free(NULL);
	config_free(cfg);
}

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(serve_update_reload),
		cmocka_unit_test(busy_port),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
