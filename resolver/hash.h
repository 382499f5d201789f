/*
 * SipHash-2-4 (libsodium's crypto_shorthash) as a 64-bit integer, for the
 * hash tables whose keys an attacker chooses (STYLE.md point 12): query
 * names, cache keys, addresses from upstream answers. Each table draws its
 * own random key.
 */
#ifndef LOKI_HASH_H
#define LOKI_HASH_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t hash_siphash64(const unsigned char key[crypto_shorthash_KEYBYTES],
				      const void *data, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, data, (unsigned long long)len, key);
	memcpy(&h, out, sizeof(h));
	return h;
}

#endif
