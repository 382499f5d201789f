/*
 * DNS cookies (RFC 7873), server side, with the interoperable server cookie
 * of RFC 9018: Version 1, Reserved 3 bytes, Timestamp 4 bytes, Hash 8 bytes,
 * where Hash = SipHash-2-4(Client Cookie | Version | Reserved | Timestamp |
 * Client-IP, secret) (libsodium crypto_shorthash).
 *
 * We never require cookies: a query without one, or with a bad one, is
 * answered as usual; a query with a client cookie gets a fresh server cookie.
 */
#ifndef LOKI_COOKIE_H
#define LOKI_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define COOKIE_CLIENT_LEN 8
#define COOKIE_SERVER_LEN 16 /* RFC 9018 server cookie */
#define COOKIE_SECRET_LEN 16

struct cookie_secret {
	uint8_t key[COOKIE_SECRET_LEN];
};

/* A random secret (randombytes_buf). */
void cookie_secret_init(struct cookie_secret *s);

enum cookie_status {
	COOKIE_NONE = 0,    /* no COOKIE option */
	COOKIE_CLIENT_ONLY, /* a client cookie, no server cookie yet */
	COOKIE_VALID,	    /* our server cookie, recent (RFC 9018 section 4.3) */
	COOKIE_BAD,	    /* a server cookie we did not make, or too old */
};

/*
 * Checks the COOKIE option bytes (cookie, len: 8, or 16..40) received from
 * client at now (seconds since the epoch) and writes the client cookie
 * followed by a fresh server cookie into out[COOKIE_CLIENT_LEN +
 * COOKIE_SERVER_LEN] (*out_len set; 0 when len is 0 or malformed).
 */
enum cookie_status cookie_check(const struct cookie_secret *s, const uint8_t *cookie, size_t len,
				const struct sockaddr *client, uint32_t now, uint8_t *out,
				size_t *out_len);

#endif
