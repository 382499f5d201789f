/*
 * Stream message validation. The JSON syntax is checked by jsonl_parse; here
 * each message type gets its required fields, their types and their ranges
 * (DESIGN.md, "The address stream").
 */
#include "msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "jsonl.h"

const char *msg_type_name(enum msg_type type)
{
	switch (type) {
	case MSG_HELLO:
		return "hello";
	case MSG_ADD:
		return "add";
	case MSG_DEL:
		return "del";
	case MSG_SYNCED:
		return "synced";
	}
	return "?";
}

const char *msg_addr_str(int family, const uint8_t *addr, char *buf, size_t len)
{
	if (inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, buf, (socklen_t)len) == NULL)
		return "?";
	return buf;
}

/*
 * A name in presentation form (RFC 1035, section 5.1), lower-case, without
 * the trailing dot: non-empty labels of at most 63 octets, at most 253
 * octets in all, printable ASCII, where "\DDD" and "\X" stand for one octet.
 * The name only labels log lines here, but a malformed one means the peer is
 * not the resolver we expect.
 */
static int check_name(const char *s, size_t len, const char **why)
{
	size_t i = 0, label = 0, total = 0;

	if (len == 0) {
		*why = "empty name";
		return -EINVAL;
	}
	while (i < len) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '.') {
			if (label == 0) {
				*why = "empty label in name";
				return -EINVAL;
			}
			label = 0;
			total++;
			i++;
			continue;
		}
		if (ch <= 0x20 || ch >= 0x7f) {
			*why = "name has a non-printable character";
			return -EINVAL;
		}
		if (ch >= 'A' && ch <= 'Z') {
			*why = "name is not lower-case";
			return -EINVAL;
		}
		if (ch == '\\') {
			if (i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '9') {
				unsigned v = 0, k;

				for (k = 1; k <= 3; k++) {
					if (s[i + k] < '0' || s[i + k] > '9') {
						*why = "bad \\DDD escape in name";
						return -EINVAL;
					}
					v = v * 10 + (unsigned)(s[i + k] - '0');
				}
				if (v > 255) {
					*why = "bad \\DDD escape in name";
					return -EINVAL;
				}
				i += 4;
			} else if (i + 1 < len && !(s[i + 1] >= '0' && s[i + 1] <= '9')) {
				i += 2;
			} else {
				*why = "bad escape in name";
				return -EINVAL;
			}
		} else {
			i++;
		}
		label++;
		total++;
		if (label > 63) {
			*why = "label longer than 63 octets";
			return -EINVAL;
		}
	}
	if (label == 0) {
		*why = "name ends with a dot";
		return -EINVAL;
	}
	if (total > MSG_NAME_MAX) {
		*why = "name longer than 253 octets";
		return -EINVAL;
	}
	return 0;
}

static int get_seq(const struct jsonl_object *o, struct msg *out, const char **why)
{
	const struct jsonl_field *f = jsonl_get(o, "seq");

	if (f == NULL) {
		*why = "missing seq";
		return -EINVAL;
	}
	if (f->type != JSONL_NUMBER || f->num == 0) {
		*why = "seq is not a positive integer";
		return -EINVAL;
	}
	out->seq = f->num;
	return 0;
}

/* name, family and addr: common to add and del. */
static int get_addr(const struct jsonl_object *o, struct msg *out, const char **why)
{
	const struct jsonl_field *name = jsonl_get(o, "name");
	const struct jsonl_field *fam = jsonl_get(o, "family");
	const struct jsonl_field *addr = jsonl_get(o, "addr");

	if (name == NULL || name->type != JSONL_STRING) {
		*why = name == NULL ? "missing name" : "name is not a string";
		return -EINVAL;
	}
	if (name->str_len >= sizeof(out->name)) {
		*why = "name too long";
		return -EINVAL;
	}
	if (check_name(name->str, name->str_len, why) != 0)
		return -EINVAL;
	memcpy(out->name, name->str, name->str_len + 1);

	if (fam == NULL || fam->type != JSONL_NUMBER || (fam->num != 4 && fam->num != 6)) {
		*why = fam == NULL ? "missing family" : "family is not 4 or 6";
		return -EINVAL;
	}
	out->family = (int)fam->num;

	if (addr == NULL || addr->type != JSONL_STRING) {
		*why = addr == NULL ? "missing addr" : "addr is not a string";
		return -EINVAL;
	}
	/* inet_pton reads up to the NUL; the string holds no other NUL (jsonl.h). */
	if (inet_pton(out->family == 4 ? AF_INET : AF_INET6, addr->str, out->addr) != 1) {
		*why = inet_pton(out->family == 4 ? AF_INET6 : AF_INET, addr->str, out->addr) == 1
			       ? "addr does not match family"
			       : "addr is not an IP address";
		memset(out->addr, 0, sizeof(out->addr));
		return -EINVAL;
	}
	return 0;
}

int msg_parse(const char *line, size_t len, struct msg *out, const char **why)
{
	struct jsonl_object o;
	const char *reason = NULL;
	const char *type;
	uint64_t ttl;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (jsonl_parse(line, len, &o, &reason) != 0)
		goto out;
	type = jsonl_get_str(&o, "type");
	if (type == NULL) {
		reason = jsonl_get(&o, "type") == NULL ? "missing type" : "type is not a string";
		goto out;
	}
	if (strcmp(type, "hello") == 0) {
		const struct jsonl_field *pol = jsonl_get(&o, "policy");

		out->type = MSG_HELLO;
		if (!jsonl_get_num(&o, "version", &out->version)) {
			reason = "hello without a numeric version";
			goto out;
		}
		if (out->version != MSG_VERSION) {
			reason = "unsupported stream version";
			goto out;
		}
		if (pol != NULL) {
			if (pol->type != JSONL_STRING || pol->str_len >= sizeof(out->policy)) {
				reason = "bad policy";
				goto out;
			}
			memcpy(out->policy, pol->str, pol->str_len + 1);
		}
	} else if (strcmp(type, "add") == 0) {
		out->type = MSG_ADD;
		if (get_seq(&o, out, &reason) != 0 || get_addr(&o, out, &reason) != 0)
			goto out;
		if (!jsonl_get_num(&o, "ttl", &ttl)) {
			reason = jsonl_get(&o, "ttl") == NULL ? "missing ttl"
							      : "ttl is not a number";
			goto out;
		}
		if (ttl > MSG_TTL_MAX) {
			reason = "ttl out of range";
			goto out;
		}
		out->ttl = (uint32_t)ttl;
	} else if (strcmp(type, "del") == 0) {
		out->type = MSG_DEL;
		if (get_seq(&o, out, &reason) != 0 || get_addr(&o, out, &reason) != 0)
			goto out;
	} else if (strcmp(type, "synced") == 0) {
		out->type = MSG_SYNCED;
		if (get_seq(&o, out, &reason) != 0)
			goto out;
	} else {
		reason = "unknown message type";
		goto out;
	}
	rc = 0;
out:
	if (rc != 0 && why != NULL)
		*why = reason != NULL ? reason : "malformed";
	return rc;
}
