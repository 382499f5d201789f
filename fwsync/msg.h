/*
 * Messages of the address stream (DESIGN.md, "The address stream"), parsed
 * and validated on top of the strict JSON-line parser (resolver/jsonl.h).
 * A line that is not one of the four messages the resolver sends, or whose
 * fields are missing, of the wrong type or out of range, is an error: the
 * caller logs the reason and disconnects. Fields the message type does not
 * define are ignored, so that the resolver can add fields later.
 */
#ifndef LOKI_FWSYNC_MSG_H
#define LOKI_FWSYNC_MSG_H

#include <stddef.h>
#include <stdint.h>

/* The stream version this agent speaks ("version" of hello). */
#define MSG_VERSION 1
/* A DNS name in presentation form without the trailing dot (RFC 1035, 2.3.4). */
#define MSG_NAME_MAX 253
/* TTLs are 31-bit unsigned values (RFC 2181, section 8). */
#define MSG_TTL_MAX 2147483647u

enum msg_type {
	MSG_HELLO = 0,
	MSG_ADD,
	MSG_DEL,
	MSG_SYNCED,
};

struct msg {
	enum msg_type type;
	uint64_t seq;	  /* add, del, synced: >= 1; hello: 0 */
	uint64_t version; /* hello */
	char policy[32];  /* hello: may be empty */
	char name[1024];  /* add, del: presentation form, escapes kept */
	int family;	  /* add, del: 4 or 6 */
	uint8_t addr[16]; /* add, del: network order; IPv4 in the first 4 bytes */
	uint32_t ttl;	  /* add: seconds */
};

/*
 * Parses one line (without its newline) into out. Returns 0, or -EINVAL
 * with a short static reason in *why (may be NULL).
 */
int msg_parse(const char *line, size_t len, struct msg *out, const char **why);

/* The wire name of a message type ("hello", "add", ...). */
const char *msg_type_name(enum msg_type type);

/*
 * Formats m->addr as text (inet_ntop) into buf; returns buf, or "?" if it
 * does not fit. 46 bytes (INET6_ADDRSTRLEN) always fit.
 */
const char *msg_addr_str(int family, const uint8_t *addr, char *buf, size_t len);

#endif
