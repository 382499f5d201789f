/*
 * The agent's side of nftables: one libnftables context (nft_ctx) with its
 * output and errors buffered, so every failure can be reported with nft's
 * own text. It creates the table and the two sets when they are missing,
 * applies a batch of element updates as one transaction, chooses how an
 * element's expiry is refreshed, and in dry-run mode prints the commands
 * instead of running them (DESIGN.md, "loki-fwsync command line").
 *
 * The prefix is fwnft_ because nft_ belongs to libnftables (STYLE.md,
 * point 1).
 */
#ifndef LOKI_FWSYNC_NFT_H
#define LOKI_FWSYNC_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* How an element that may already be in the set gets a fresh expiry. */
enum fwnft_refresh {
	/* Probe the running kernel once (fwnft_detect_refresh). */
	FWNFT_REFRESH_AUTO = 0,
	/* "add element ... { A timeout T expires T }": one command, refreshes
	 * only on kernels that update an existing element's expiry. */
	FWNFT_REFRESH_ADD,
	/* add + delete + add in one transaction: works on every kernel. */
	FWNFT_REFRESH_REPLACE,
};

/* Longest timeout written to the kernel: one week. */
#define FWNFT_TIMEOUT_MAX (7u * 86400u)
/* Longest table or set name accepted here. */
#define FWNFT_NAME_MAX 64

enum fwnft_op {
	FWNFT_ADD = 0,
	FWNFT_DEL,
};

struct fwnft_elem {
	enum fwnft_op op;
	int family;	  /* 4 or 6 */
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
	uint32_t timeout; /* FWNFT_ADD: seconds, 1 .. FWNFT_TIMEOUT_MAX */
};

struct fwnft_opts {
	const char *family; /* table family: inet, ip, ip6, bridge, netdev */
	const char *table;
	const char *set4;
	const char *set6;
	enum fwnft_refresh refresh;
	bool dry_run; /* print commands to dry_out instead of running them */
	FILE *dry_out;
};

/* What one fwnft_apply did. */
struct fwnft_stats {
	size_t applied;	  /* elements committed */
	size_t failed;	  /* elements nft refused (after the per-element retry) */
	size_t forbidden; /* elements refused by fwnft_addr_forbidden */
	bool retried;	  /* the batch failed and was retried element by element */
};

struct fwnft;

/*
 * Validates the names and creates the context; touches no kernel state.
 * Returns 0 or -EINVAL (bad name, message in err) or -ENOMEM.
 */
int fwnft_new(const struct fwnft_opts *opts, struct fwnft **out, char *err, size_t errlen);
void fwnft_free(struct fwnft *n);

/*
 * Creates the table and both sets (type ipv4_addr / ipv6_addr, flags
 * timeout) if missing, in one transaction. Existing ones are kept with
 * their elements. Returns 0, or -EPERM without CAP_NET_ADMIN, or -EIO with
 * nft's text in fwnft_error().
 */
int fwnft_ensure(struct fwnft *n);

/*
 * Probes the running kernel in a private temporary table: adds an element
 * with timeout 100s, re-adds it with 200s, and checks whether the expiry
 * moved; then the same with an unchanged timeout and an explicit expiry.
 * *out becomes FWNFT_REFRESH_ADD if both moved, else FWNFT_REFRESH_REPLACE.
 * Returns 0 or a negative errno (then *out is FWNFT_REFRESH_REPLACE).
 */
int fwnft_detect_refresh(struct fwnft *n, enum fwnft_refresh *out);
void fwnft_set_refresh(struct fwnft *n, enum fwnft_refresh mode);
enum fwnft_refresh fwnft_get_refresh(const struct fwnft *n);
const char *fwnft_refresh_name(enum fwnft_refresh mode);

/*
 * Applies count elements as one transaction; elements that
 * fwnft_addr_forbidden refuses are skipped. If the transaction fails, its
 * error is logged, the table and sets are re-created if missing, the batch
 * is tried once more, and then each element alone, so that one bad element
 * cannot block the rest. Returns 0 if the batch or at least one element of
 * it was committed (or nothing was left to commit), else -EIO (or -EPERM).
 * st may be NULL.
 */
int fwnft_apply(struct fwnft *n, const struct fwnft_elem *e, size_t count, struct fwnft_stats *st);

/*
 * Writes the command text of the elements (one command per line, as nft
 * syntax) into a malloc'ed string in *out. Forbidden addresses are left out
 * and counted in *forbidden (may be NULL). Returns the number of commands,
 * or -ENOMEM.
 */
int fwnft_format(const struct fwnft *n, const struct fwnft_elem *e, size_t count, char **out,
		 size_t *forbidden);

/*
 * Loads a ruleset file as `nft -f` does (in dry-run mode: checks it as
 * `nft -c -f` does). Returns 0, or -EIO / -EPERM with nft's text in
 * fwnft_error().
 */
int fwnft_install_ruleset(struct fwnft *n, const char *path);

/* Runs command text as one transaction; 0, or -EIO / -EPERM with nft's text. */
int fwnft_run(struct fwnft *n, const char *cmds);

/*
 * Looks one element up in its set: its timeout and remaining expiry in
 * milliseconds (0 for an element without timeout). Returns 0, -ENOENT if
 * it is not in the set, or -EIO.
 */
int fwnft_lookup(struct fwnft *n, int family, const uint8_t *addr, uint64_t *timeout_ms,
		 uint64_t *expires_ms);

/* nft's error text of the last failed call (never NULL; "" if none). */
const char *fwnft_error(const struct fwnft *n);

/*
 * Defence in depth: addresses never put in a set whatever the stream says.
 * IPv4 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/4 and
 * 255.255.255.255; IPv6 ::, ::1, fe80::/10, ff00::/8 and the IPv4-mapped
 * (::ffff:0:0/96) forms of the IPv4 ones.
 */
bool fwnft_addr_forbidden(int family, const uint8_t *addr);

/* Parses an nft time ("1m40s", "3m19s996ms", "330s") into milliseconds. */
int fwnft_parse_time(const char *s, size_t len, uint64_t *ms);

#endif
