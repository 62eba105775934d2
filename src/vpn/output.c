/* SPDX-License-Identifier: MIT */
/* The client's output on its way to the expect buffer, the tail and the
 * debug log: \r stripped, every copy of a secret masked before it is kept
 * or logged, even when the client echoes it split across two reads. */
#include "vpn/session_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "util/log.h"

#define LOG_LINE_MAX 1024   /* longer lines are logged in pieces */
#define READ_MAX 65536      /* per session_read(): a flooding client cannot starve the loop */

size_t session_unmask(char *dst, size_t cap, const char *src, size_t n)
{
	size_t out = 0, i = 0;

	if (cap == 0)
		return 0;
	while (i < n && out + 1 < cap) {
		if (src[i] != SESSION_MASK) {
			dst[out++] = src[i++];
			continue;
		}
		while (i < n && src[i] == SESSION_MASK)
			i++;
		size_t m = strlen(SESSION_MASK_TEXT);
		if (m > cap - 1 - out)
			m = cap - 1 - out;
		memcpy(dst + out, SESSION_MASK_TEXT, m);
		out += m;
	}
	dst[out] = '\0';
	return out;
}

static void tail_put(struct session *s, const char *p, size_t n)
{
	if (n >= SESSION_TAIL_MAX) {
		memcpy(s->tail, p + n - SESSION_TAIL_MAX, SESSION_TAIL_MAX);
		s->tail_len = SESSION_TAIL_MAX;
	} else {
		if (s->tail_len + n > SESSION_TAIL_MAX) {
			size_t drop = s->tail_len + n - SESSION_TAIL_MAX;
			memmove(s->tail, s->tail + drop, s->tail_len - drop);
			s->tail_len -= drop;
		}
		memcpy(s->tail + s->tail_len, p, n);
		s->tail_len += n;
	}
	s->tail[s->tail_len] = '\0';
}

static void tail_append(struct session *s, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;
		if (p[i] == SESSION_MASK) {
			while (j < n && p[j] == SESSION_MASK)
				j++;
			tail_put(s, SESSION_MASK_TEXT, strlen(SESSION_MASK_TEXT));
		} else {
			while (j < n && p[j] != SESSION_MASK)
				j++;
			tail_put(s, p + i, j - i);
		}
		i = j;
	}
}

/* A finished line (or a piece of one: a prompt, a very long line), masked:
 * timed against the marks, and logged. */
static void log_piece(struct session *s, const char *p, size_t n)
{
	char line[LOG_LINE_MAX + 16];
	int debug = log_enabled(LOG_LVL_DEBUG);

	if (n == 0 || (!debug && !s->marks_left))
		return;
	session_unmask(line, sizeof(line), p, n);
	if (s->marks_left)
		session_mark_line(s, line, s->trimmed + (size_t)(p - s->buf));
	if (debug)
		log_debug(s->spec.site, "client: %s", line);
}

/* Logs every finished line of [log_pos, settled). */
static void log_lines(struct session *s)
{
	for (;;) {
		size_t avail = s->settled - s->log_pos;
		const char *start = s->buf + s->log_pos;
		const char *nl = memchr(start, '\n', avail);
		if (!nl) {
			if (avail >= LOG_LINE_MAX) {
				log_piece(s, start, LOG_LINE_MAX);
				s->log_pos += LOG_LINE_MAX;
				continue;
			}
			return;
		}
		log_piece(s, start, (size_t)(nl - start));
		s->log_pos += (size_t)(nl - start) + 1;
	}
}

void session_log_partial(struct session *s)
{
	log_lines(s);
	log_piece(s, s->buf + s->log_pos, s->settled - s->log_pos);
	s->log_pos = s->settled;
}

/* Longest k < strlen(secret) with buf[from, len) ending in secret[0, k). */
static size_t secret_prefix_at_end(const struct session *s, size_t from, const char *secret)
{
	size_t slen = secret ? strlen(secret) : 0;
	size_t k = slen ? slen - 1 : 0;

	if (k > s->len - from)
		k = s->len - from;
	for (; k > 0; k--)
		if (memcmp(s->buf + s->len - k, secret, k) == 0)
			return k;
	return 0;
}

static void mask_secret(struct session *s, size_t from, const char *secret)
{
	size_t slen = secret ? strlen(secret) : 0;
	char *p = s->buf + from;

	if (slen == 0)
		return;
	while ((p = memmem(p, (size_t)(s->buf + s->len - p), secret, slen)) != NULL) {
		memset(p, SESSION_MASK, slen);
		p += slen;
	}
}

/* Moves settled forward to where no secret can start any more. */
static void settle(struct session *s)
{
	/* A secret cannot start before `settled`: the bytes from there to the
	 * old end would have been a secret prefix held back. */
	mask_secret(s, s->settled, s->spec.secret);
	mask_secret(s, s->settled, s->spec.stdin_secret);
	size_t hold = secret_prefix_at_end(s, s->settled, s->spec.secret);
	size_t hold2 = secret_prefix_at_end(s, s->settled, s->spec.stdin_secret);
	if (hold2 > hold)
		hold = hold2;
	size_t upto = s->len - hold;
	if (upto > s->settled) {
		tail_append(s, s->buf + s->settled, upto - s->settled);
		s->settled = upto;
	}
	log_lines(s);
}

void session_settle_all(struct session *s)
{
	if (s->len > s->settled) {
		tail_append(s, s->buf + s->settled, s->len - s->settled);
		s->settled = s->len;
	}
	session_log_partial(s);
}

static void trim(struct session *s)
{
	size_t drop = s->match_pos < s->log_pos ? s->match_pos : s->log_pos;

	if (drop == 0)
		return;
	s->buf_bol = s->buf[drop - 1] == '\n';
	memmove(s->buf, s->buf + drop, s->len - drop);
	s->trimmed += drop;
	s->len -= drop;
	s->settled -= drop;
	s->log_pos -= drop;
	s->match_pos -= drop;
	s->buf[s->len] = '\0';
}

static void make_room(struct session *s, size_t n)
{
	trim(s);
	if (SESSION_BUF_MAX - s->len >= n)
		return;
	/* Too much unmatched output: keep only its end, where a prompt would be. */
	if (s->len - s->match_pos > SESSION_MATCH_KEEP)
		s->match_pos = s->len - SESSION_MATCH_KEEP;
	session_log_partial(s);
	trim(s);
}

void session_feed(struct session *s, const char *data, size_t n)
{
	while (n > 0) {
		size_t chunk = n < 4096 ? n : 4096;
		make_room(s, chunk);
		for (size_t i = 0; i < chunk; i++) {
			char c = data[i];
			if (c == '\r' || c == '\0' || c == SESSION_MASK)
				continue;
			s->buf[s->len++] = c;
		}
		s->buf[s->len] = '\0';
		settle(s);
		if (!s->expecting)
			s->match_pos = s->len;
		data += chunk;
		n -= chunk;
	}
}

int session_read(struct session *s)
{
	char chunk[4096];
	size_t total = 0;

	/* during the login, little at a time: the patterns see every byte
	 * before make_room() drops unmatched output */
	size_t max = s->expecting ? SESSION_MATCH_KEEP : READ_MAX;

	while (!s->master_eof && total < max) {
		ssize_t n = read(s->master, chunk, sizeof(chunk));
		if (n > 0) {
			session_feed(s, chunk, (size_t)n);
			total += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* 0 or EIO: every slave fd is closed, the output is complete */
		s->master_eof = 1;
	}
	return total > 0;
}
