/*
 * Name policy: allowlist and deny sets of lower-case wire-form names, and the
 * verdict for a query name (DESIGN.md, "Policies").
 *
 * Each set is an open-addressing hash table with linear probing, kept at most
 * half full, keyed with SipHash-2-4 (crypto_shorthash) under a key drawn once
 * per policy. Allowlist names come from configuration and zone files, but the
 * query names probed against them come from clients, so an unkeyed hash would
 * let a client aim many lookups at one long probe chain.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hash.h"
#include "dns.h"
#include "policy.h"
#include "wire.h"

/* One slot of a name set. A NULL name marks an empty slot. */
struct name_slot {
	uint64_t hash;
	uint8_t *name; /* lower-case wire form, owned */
	uint8_t len;
};

struct name_set {
	struct name_slot *slots;
	size_t cap; /* 0 or a power of two */
	size_t count;
	/* Bit n set: some entry has n labels (bit 63: 63 or more). A lookup
	 * hashes only names of a label count the set holds, so a blocked name
	 * usually costs no hash at all against the wildcard set. */
	uint64_t label_mask;
};

struct policy {
	enum policy_mode mode;
	bool block_metadata;
	unsigned char key[crypto_shorthash_KEYBYTES];
	struct name_set allow_exact;
	struct name_set allow_wild; /* suffixes: "*.example.com" is stored as example.com */
	struct name_set deny_exact;
	struct name_set deny_wild;
};

#define NAME_SET_MIN_CAP 16

/*
 * The well-known cloud metadata names, in wire form. They are matched
 * exactly: a name below them is not a metadata endpoint.
 */
static const struct {
	const uint8_t *name;
	size_t len;
} metadata_names[] = {
#define WIRE(s)                                                                                    \
	{                                                                                          \
		(const uint8_t *)(s), sizeof(s)                                                    \
	}
	WIRE("\x08metadata\x06google\x08internal"),
	WIRE("\x08metadata"),
	WIRE("\x0dinstance-data\x03"
	     "ec2\x08internal"),
	WIRE("\x08metadata\x05"
	     "azure\x08internal"),
#undef WIRE
};

/*
 * Walks a wire-form name and returns its label count (root excluded), or -1
 * if it is not a well-formed uncompressed name of exactly len bytes.
 */
static int name_labels(const uint8_t *name, size_t len)
{
	size_t pos = 0;
	int labels = 0;

	if (name == NULL || len == 0 || len > DNS_NAME_MAX)
		return -1;
	while (pos < len) {
		uint8_t l = name[pos];

		if (l == 0)
			return pos + 1 == len ? labels : -1;
		/* Also rejects compression pointers and the 0x40 label types. */
		if (l > DNS_LABEL_MAX)
			return -1;
		pos += 1 + (size_t)l;
		labels++;
	}
	return -1;
}

static uint64_t label_bit(int labels)
{
	return (uint64_t)1 << (labels > 63 ? 63 : labels);
}

static bool set_may_hold(const struct name_set *s, int labels)
{
	return s->count != 0 && (s->label_mask & label_bit(labels)) != 0;
}

static uint64_t name_hash(const struct policy *p, const uint8_t *name, size_t len)
{
	return hash_siphash64(p->key, name, len);
}

static bool set_contains(const struct name_set *s, uint64_t hash, const uint8_t *name, size_t len)
{
	size_t mask, i;

	if (s->count == 0)
		return false;
	mask = s->cap - 1;
	/* The table is never more than half full, so an empty slot ends the probe. */
	for (i = (size_t)hash & mask; s->slots[i].name != NULL; i = (i + 1) & mask) {
		const struct name_slot *slot = &s->slots[i];

		if (slot->hash == hash && slot->len == len && memcmp(slot->name, name, len) == 0)
			return true;
	}
	return false;
}

static void set_place(struct name_slot *slots, size_t cap, const struct name_slot *entry)
{
	size_t mask = cap - 1;
	size_t i;

	for (i = (size_t)entry->hash & mask; slots[i].name != NULL; i = (i + 1) & mask)
		;
	slots[i] = *entry;
}

static int set_grow(struct name_set *s)
{
	struct name_slot *slots;
	size_t cap, i;

	cap = s->cap == 0 ? NAME_SET_MIN_CAP : s->cap * 2;
	if (cap < s->cap || cap > SIZE_MAX / sizeof(*slots))
		return -ENOMEM;
	slots = calloc(cap, sizeof(*slots));
	if (slots == NULL)
		return -ENOMEM;
	for (i = 0; i < s->cap; i++)
		if (s->slots[i].name != NULL)
			set_place(slots, cap, &s->slots[i]);
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
	return 0;
}

/* Adds a lower-case wire-form name; adding a name already present does nothing. */
static int set_insert(const struct policy *p, struct name_set *s, const uint8_t *name, size_t len)
{
	struct name_slot entry = {.hash = name_hash(p, name, len), .len = (uint8_t)len};
	int rc;

	if (set_contains(s, entry.hash, name, len))
		return 0;
	/* Keep the load at or below one half, so probe chains stay short. */
	if ((s->count + 1) * 2 > s->cap) {
		rc = set_grow(s);
		if (rc != 0)
			return rc;
	}
	entry.name = malloc(len);
	if (entry.name == NULL)
		return -ENOMEM;
	memcpy(entry.name, name, len);
	set_place(s->slots, s->cap, &entry);
	s->count++;
	s->label_mask |= label_bit(name_labels(name, len));
	return 0;
}

static void set_deinit(struct name_set *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		free(s->slots[i].name);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

struct policy *policy_new(enum policy_mode mode, bool block_metadata)
{
	struct policy *p;

	/* sodium_init() is idempotent and thread-safe; it fails only when the
	 * system has no usable randomness, and then no key can be made. */
	if (sodium_init() < 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->mode = mode;
	p->block_metadata = block_metadata;
#ifdef LOKI_FUZZING
	/* Fuzz runs must be reproducible (STYLE.md, point 12). */
	memset(p->key, 0x5a, sizeof(p->key));
#else
	randombytes_buf(p->key, sizeof(p->key));
#endif
	return p;
}

void policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	set_deinit(&p->allow_exact);
	set_deinit(&p->allow_wild);
	set_deinit(&p->deny_exact);
	set_deinit(&p->deny_wild);
	sodium_memzero(p->key, sizeof(p->key));
	free(p);
}

/*
 * Adds a name to the exact or wildcard set of a pair. The root is refused in
 * both: as an exact entry it is not a host name, and as a wildcard it would
 * match every name, which is what "unrestricted" is for.
 */
static int add_wire(struct policy *p, struct name_set *exact, struct name_set *wild,
		    const uint8_t *name, size_t len, bool wildcard)
{
	uint8_t lc[DNS_NAME_MAX];

	if (p == NULL || name_labels(name, len) < 1)
		return -EINVAL;
	wire_name_lower(lc, name, len);
	return set_insert(p, wildcard ? wild : exact, lc, len);
}

int policy_allow_wire(struct policy *p, const uint8_t *name, size_t len, bool wildcard)
{
	if (p == NULL)
		return -EINVAL;
	return add_wire(p, &p->allow_exact, &p->allow_wild, name, len, wildcard);
}

int policy_deny_wire(struct policy *p, const uint8_t *name, size_t len, bool wildcard)
{
	if (p == NULL)
		return -EINVAL;
	return add_wire(p, &p->deny_exact, &p->deny_wild, name, len, wildcard);
}

int policy_allow_text(struct policy *p, const char *name)
{
	uint8_t wire[DNS_NAME_MAX];
	bool wildcard = false;
	const char *c;
	size_t len;

	if (p == NULL || name == NULL)
		return -EINVAL;
	if (name[0] == '*' && name[1] == '.') {
		wildcard = true;
		name += 2;
	}
	/*
	 * A '*' anywhere else is a legal DNS label byte, but in an allowlist it
	 * is almost surely a mistaken glob ("api*.example.com"), which would
	 * silently match nothing. Blanks and control bytes likewise come from
	 * a badly split list, not from a host name.
	 */
	for (c = name; *c != '\0'; c++)
		if (*c == '*' || (unsigned char)*c <= ' ' || *c == 0x7f)
			return -EINVAL;
	if (name[0] == '\0')
		return -EINVAL;
	len = wire_name_from_text(name, wire);
	if (len == 0)
		return -EINVAL;
	return policy_allow_wire(p, wire, len, wildcard);
}

/* True if the name itself is in exact, or one of its proper parents is in
 * wild. labels is the name's label count, as name_labels() found it. */
static bool match(const struct policy *p, const struct name_set *exact, const struct name_set *wild,
		  const uint8_t *name, size_t len, int labels)
{
	size_t pos;
	int n;

	if (set_may_hold(exact, labels) && set_contains(exact, name_hash(p, name, len), name, len))
		return true;
	if (wild->count == 0)
		return false;
	/*
	 * Each proper parent suffix starts at a label boundary after the
	 * first label: for a.b.example.com these are b.example.com (3 labels),
	 * example.com (2) and com (1). The root is never stored, so it is not
	 * probed. The caller has checked that the name is well formed.
	 */
	for (pos = 1 + (size_t)name[0], n = labels - 1; pos < len && name[pos] != 0;
	     pos += 1 + (size_t)name[pos], n--)
		if (set_may_hold(wild, n) &&
		    set_contains(wild, name_hash(p, name + pos, len - pos), name + pos, len - pos))
			return true;
	return false;
}

static bool is_metadata(const uint8_t *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(metadata_names) / sizeof(metadata_names[0]); i++)
		if (len == metadata_names[i].len && memcmp(name, metadata_names[i].name, len) == 0)
			return true;
	return false;
}

/*
 * Checks a query name's form and returns it lower-cased: the name itself,
 * or its lower-cased copy in lc. The caller promises a lower-case name, but
 * a mixed-case one must not slip past the metadata or deny sets; looking
 * costs less than copying. *labels gets the label count.
 */
static const uint8_t *query_name(const uint8_t *name, size_t len, uint8_t lc[DNS_NAME_MAX],
				 int *labels)
{
	*labels = name_labels(name, len);
	if (*labels < 0)
		return NULL;
	if (!wire_name_has_upper(name, len))
		return name;
	wire_name_lower(lc, name, len);
	return lc;
}

enum policy_verdict policy_check(const struct policy *p, const uint8_t *name_lc, size_t len,
				 uint8_t labels)
{
	uint8_t buf[DNS_NAME_MAX];
	const uint8_t *lc;
	int n;

	/* labels is not trusted: the walk in query_name() counts them again,
	 * so a wrong count can neither widen nor narrow a match. */
	(void)labels;
	if (p == NULL || (lc = query_name(name_lc, len, buf, &n)) == NULL)
		return VERDICT_BLOCK;
	if (p->block_metadata && is_metadata(lc, len))
		return VERDICT_METADATA;
	if (match(p, &p->deny_exact, &p->deny_wild, lc, len, n))
		return VERDICT_DENY;
	switch (p->mode) {
	case POLICY_UNRESTRICTED:
		return VERDICT_ALLOW;
	case POLICY_AI_ONLY:
		return match(p, &p->allow_exact, &p->allow_wild, lc, len, n) ? VERDICT_ALLOW
									     : VERDICT_BLOCK;
	case POLICY_NONE:
	default:
		return VERDICT_BLOCK;
	}
}

bool policy_listed(const struct policy *p, const uint8_t *name_lc, size_t len, uint8_t labels)
{
	uint8_t buf[DNS_NAME_MAX];
	const uint8_t *lc;
	int n;

	(void)labels;
	if (p == NULL || (lc = query_name(name_lc, len, buf, &n)) == NULL)
		return false;
	return match(p, &p->allow_exact, &p->allow_wild, lc, len, n);
}

enum policy_mode policy_mode(const struct policy *p)
{
	return p->mode;
}

bool policy_blocks_metadata(const struct policy *p)
{
	return p->block_metadata;
}

size_t policy_count(const struct policy *p)
{
	return p->allow_exact.count + p->allow_wild.count;
}

static const char *const mode_names[] = {
	[POLICY_UNRESTRICTED] = "unrestricted",
	[POLICY_AI_ONLY] = "ai-only",
	[POLICY_NONE] = "none",
};

int policy_mode_parse(const char *text)
{
	size_t i;

	if (text == NULL)
		return -1;
	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcmp(text, mode_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *policy_mode_name(enum policy_mode mode)
{
	if ((size_t)mode >= sizeof(mode_names) / sizeof(mode_names[0]))
		return "unknown";
	return mode_names[mode];
}
