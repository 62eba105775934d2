/* SPDX-License-Identifier: MIT */
/* ICMP sockets of the ping engine: opening (raw, else ping socket), sending
 * echo requests and decoding what comes back. Internal to icmp*.c. */
#ifndef EPMON_PROBE_ICMP_SOCKET_H
#define EPMON_PROBE_ICMP_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#define ICMP_PAYLOAD_LEN 56 /* like iputils: 64-byte ICMP message */

struct icmp_sock {
	int fd;
	int family;             /* AF_INET or AF_INET6 */
	int raw;                /* 1: SOCK_RAW; 0: ping socket (kernel owns the id) */
	int has_rx_ts;          /* SO_TIMESTAMPNS is on */
	uint16_t ident;         /* echo identifier on the wire */
};

enum icmp_msg_kind { ICMP_MSG_NONE = 0, ICMP_MSG_REPLY, ICMP_MSG_ERROR };

/* One received datagram, decoded. For a reply, `peer` is its source; for an
 * error, `peer` is the destination of our original request and `offender`
 * the host that sent the error. */
struct icmp_msg {
	enum icmp_msg_kind kind;
	uint16_t ident, seq;
	struct sockaddr_storage peer;
	struct sockaddr_storage offender;
	int type, code;                 /* of the error */
	const uint8_t *payload;         /* reply data after the ICMP header */
	size_t payload_len;
	int has_rx_ts;
	struct timespec rx_ts;          /* CLOCK_REALTIME, from the kernel */
};

/* Opens a socket for `family`, bound to `interface` when not NULL; `ident`
 * is used on raw sockets (a ping socket gets its id from the kernel).
 * Returns 0; -1 when no ICMP socket may be created (permissions, no such
 * family); -2 when the socket was made but could not be set up (e.g. no
 * such interface). err says why. */
int icmp_sock_open(struct icmp_sock *s, int family, const char *interface,
		   uint16_t ident, char *err, size_t errlen);
void icmp_sock_close(struct icmp_sock *s);

/* Sends one echo request; returns 0 or an errno value. */
int icmp_sock_send(const struct icmp_sock *s, const struct sockaddr *to,
		   socklen_t tolen, uint16_t seq, const uint8_t *payload,
		   size_t len);

/* Reads one datagram without blocking (from the error queue when
 * `errqueue`). Returns 1 with m filled (kind NONE: not ours to care about),
 * 0 when nothing is queued. buf holds the datagram m->payload points into. */
int icmp_sock_recv(const struct icmp_sock *s, int errqueue,
		   struct icmp_msg *m, uint8_t *buf, size_t buflen);

/* "destination host unreachable" for an ICMP(v6) error type/code. */
void icmp_error_text(int family, int type, int code, char *buf, size_t len);

/* Numeric text of an address ("10.0.0.1", "fe80::1"). */
void icmp_addr_text(const struct sockaddr_storage *a, char *buf, size_t len);

#endif
