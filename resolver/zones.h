/*
 * Allowlist zones in RPZ form (draft-vixie-dnsop-dns-rpz), read with ldns's
 * zone parser so that Unbound, Knot Resolver or BIND can load the same files.
 * Supported triggers and actions, relative to the zone's origin:
 *
 *   api.example.com    CNAME rpz-passthru.   ; allow the name
 *   *.example.com      CNAME rpz-passthru.   ; allow names below it
 *   bad.example.com    CNAME .               ; deny (NXDOMAIN) the name
 *
 * The SOA and NS records at the apex are required by RPZ and ignored here.
 * Any other record is an error naming the file and line.
 */
#ifndef LOKI_ZONES_H
#define LOKI_ZONES_H

#include <stddef.h>

#include "policy.h"

/* The text of zones/ai-apis.rpz, compiled in (generated zones_builtin.c). */
extern const char zones_builtin_ai_apis[];

/*
 * Loads one RPZ zone into p. label names the source in errors ("FILE:LINE:
 * message"). Returns 0, or -EINVAL/-ENOENT/-EACCES/-ENOMEM with err set.
 */
int zones_load_file(struct policy *p, const char *path, char *err, size_t errlen);
int zones_load_text(struct policy *p, const char *text, size_t len, const char *label, char *err,
		    size_t errlen);

#endif
