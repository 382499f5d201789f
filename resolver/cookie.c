/*
 * DNS cookies, server side (see cookie.h). The COOKIE option (RFC 7873
 * section 4) is a Client Cookie of 8 bytes, optionally followed by a Server
 * Cookie of 8 to 32 bytes. The only Server Cookie we make and accept is the
 * one of RFC 9018 section 4.2:
 *
 *      0                   1                   2                   3
 *      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |    Version    |                   Reserved                    |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |                           Timestamp                           |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |                             Hash                              |
 *     |                                                               |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *     Hash = SipHash-2-4(Client Cookie | Version | Reserved | Timestamp
 *                        | Client-IP, Server Secret)
 *
 * The hashed bytes are thus the first 16 bytes of the option as sent
 * (client cookie and the first half of the server cookie), followed by the
 * client's address. The input is at most 8 + 8 + 16 bytes and everything is
 * on the stack: nothing here allocates.
 */
#include "cookie.h"

#include <netinet/in.h>
#include <sodium.h>
#include <string.h>

#include "wire.h"

/* RFC 9018 section 4.2: the Version of the server cookie defined there. */
#define COOKIE_VERSION 1
/* The Hash field: the SipHash-2-4 output. */
#define COOKIE_HASH_LEN 8
/* Client Cookie, Version, Reserved and Timestamp: the hashed option bytes. */
#define COOKIE_HEAD_LEN (COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN - COOKIE_HASH_LEN)
/* RFC 7873 section 4: a Server Cookie is 8 to 32 bytes. */
#define COOKIE_SERVER_MIN 8
#define COOKIE_SERVER_MAX 32

/*
 * RFC 9018 section 4.3: a Server Cookie is invalid when its Timestamp is
 * more than an hour in the past or more than five minutes in the future
 * (the allowance for clock skew between the members of an anycast set). We
 * take at most 3600 s of age and less than 300 s ahead, a second stricter
 * than the RFC on the future side.
 */
#define COOKIE_MAX_AGE	 3600
#define COOKIE_MAX_AHEAD 300

_Static_assert(COOKIE_SECRET_LEN == crypto_shorthash_KEYBYTES, "secret is a SipHash key");
_Static_assert(COOKIE_HASH_LEN == crypto_shorthash_BYTES, "hash is a SipHash output");

void cookie_secret_init(struct cookie_secret *s)
{
#ifdef LOKI_FUZZING
	/* Fuzz runs must be reproducible (STYLE.md, point 12). */
	memset(s->key, 0xa5, sizeof(s->key));
#else
	/* main() has called sodium_init(); randombytes_buf() would set up its
	 * source by itself anyway (libsodium, randombytes.c). */
	randombytes_buf(s->key, sizeof(s->key));
#endif
}

/*
 * The Client-IP of RFC 9018 section 4.2: 4 bytes for IPv4, 16 for IPv6. A
 * client reached over an IPv4-mapped IPv6 address (a dual-stack socket) is
 * an IPv4 client, so it gets the same cookie whichever socket it used.
 * Returns the length, or 0 for another family.
 */
static size_t cookie_client_ip(const struct sockaddr *sa, uint8_t ip[16])
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	if (sa == NULL)
		return 0;
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)sa;
		memcpy(ip, &sin->sin_addr, 4);
		return 4;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(ip, &sin6->sin6_addr.s6_addr[12], 4);
			return 4;
		}
		memcpy(ip, &sin6->sin6_addr, 16);
		return 16;
	default:
		return 0;
	}
}

/* Hash = SipHash-2-4(head | ip, key), head being the COOKIE_HEAD_LEN option
 * bytes from the Client Cookie to the Timestamp. */
static void cookie_hash(const struct cookie_secret *s, const uint8_t *head, const uint8_t *ip,
			size_t ip_len, uint8_t hash[COOKIE_HASH_LEN])
{
	uint8_t msg[COOKIE_HEAD_LEN + 16];
	struct wire_writer w;

	wire_writer_init(&w, msg, sizeof(msg));
	wire_put_bytes(&w, head, COOKIE_HEAD_LEN);
	wire_put_bytes(&w, ip, ip_len);
	crypto_shorthash(hash, msg, w.pos, s->key);
	sodium_memzero(msg, sizeof(msg));
}

/*
 * RFC 1982 serial arithmetic on the 32-bit Timestamp (RFC 9018 section 4.3),
 * so that the check keeps working when the seconds since the epoch wrap in
 * 2106: only the differences matter, both taken modulo 2^32.
 */
static bool cookie_fresh(uint32_t ts, uint32_t now)
{
	uint32_t ahead = ts - now;
	uint32_t age = now - ts;

	return ahead < COOKIE_MAX_AHEAD || age <= COOKIE_MAX_AGE;
}

/*
 * Checks the server cookie that follows the client cookie in the option
 * bytes cookie[len]. Only our own format can be verified: any other length
 * or Version is a cookie we did not make. The Reserved bytes are not checked
 * but are part of the hash, as they were sent (RFC 9018 section 4.2).
 */
static enum cookie_status cookie_verify(const struct cookie_secret *s, const uint8_t *cookie,
					size_t len, const uint8_t *ip, size_t ip_len, uint32_t now)
{
	uint8_t want[COOKIE_HASH_LEN];
	const uint8_t *head, *hash;
	struct wire_cursor c, hc;
	uint8_t version;
	uint32_t ts;
	int diff;

	if (len != COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN)
		return COOKIE_BAD;
	wire_cursor_init(&c, cookie, len);
	head = wire_bytes(&c, COOKIE_HEAD_LEN);
	hash = wire_bytes(&c, COOKIE_HASH_LEN);
	if (head == NULL || hash == NULL)
		return COOKIE_BAD;

	wire_cursor_init(&hc, head, COOKIE_HEAD_LEN);
	wire_skip(&hc, COOKIE_CLIENT_LEN);
	version = wire_u8(&hc);
	wire_skip(&hc, 3); /* Reserved */
	ts = wire_u32(&hc);
	if (!wire_ok(&hc) || version != COOKIE_VERSION || !cookie_fresh(ts, now))
		return COOKIE_BAD;

	cookie_hash(s, head, ip, ip_len, want);
	diff = sodium_memcmp(want, hash, COOKIE_HASH_LEN);
	sodium_memzero(want, sizeof(want));
	return diff == 0 ? COOKIE_VALID : COOKIE_BAD;
}

/*
 * Writes client cookie | Version 1 | Reserved 0 | now | Hash to out. RFC
 * 9018 section 4.3 asks for a new cookie only once the old one is half an
 * hour old; making one every time is allowed and keeps us stateless.
 */
static size_t cookie_make(const struct cookie_secret *s, const uint8_t *client_cookie,
			  const uint8_t *ip, size_t ip_len, uint32_t now, uint8_t *out)
{
	uint8_t hash[COOKIE_HASH_LEN];
	struct wire_writer w;

	wire_writer_init(&w, out, COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN);
	wire_put_bytes(&w, client_cookie, COOKIE_CLIENT_LEN);
	wire_put_u8(&w, COOKIE_VERSION);
	wire_put_u8(&w, 0); /* Reserved, 3 bytes */
	wire_put_u16(&w, 0);
	wire_put_u32(&w, now);
	if (w.err)
		return 0;
	cookie_hash(s, w.base, ip, ip_len, hash);
	wire_put_bytes(&w, hash, sizeof(hash));
	return w.err ? 0 : w.pos;
}

enum cookie_status cookie_check(const struct cookie_secret *s, const uint8_t *cookie, size_t len,
				const struct sockaddr *client, uint32_t now, uint8_t *out,
				size_t *out_len)
{
	uint8_t ip[16];
	size_t ip_len;
	struct wire_cursor c;
	const uint8_t *client_cookie;
	enum cookie_status st;

	*out_len = 0;
	if (cookie == NULL || len == 0)
		return COOKIE_NONE;
	/* RFC 7873 section 5.2.2 makes other lengths FORMERR; wire_parse_query
	 * does that, so here they can only come from a caller's mistake. */
	if (len != COOKIE_CLIENT_LEN && (len < COOKIE_CLIENT_LEN + COOKIE_SERVER_MIN ||
					 len > COOKIE_CLIENT_LEN + COOKIE_SERVER_MAX))
		return COOKIE_BAD;
	/* A cookie is bound to an address; without one there is none to make. */
	ip_len = cookie_client_ip(client, ip);
	if (ip_len == 0)
		return COOKIE_BAD;

	wire_cursor_init(&c, cookie, len);
	client_cookie = wire_bytes(&c, COOKIE_CLIENT_LEN);
	if (client_cookie == NULL)
		return COOKIE_BAD;
	if (len == COOKIE_CLIENT_LEN)
		st = COOKIE_CLIENT_ONLY;
	else
		st = cookie_verify(s, cookie, len, ip, ip_len, now);
	*out_len = cookie_make(s, client_cookie, ip, ip_len, now, out);
	return st;
}
