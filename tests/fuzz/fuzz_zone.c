/*
 * Fuzz target for the RPZ zone loader (resolver/zones.c): any text is loaded
 * into a fresh ai-only policy, which is then freed. The loader must never
 * crash, leak or read past the input, whatever the bytes.
 */
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "zones.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = policy_new(POLICY_AI_ONLY, true);
	char err[256];

	if (p == NULL)
		return 0;
	zones_load_text(p, (const char *)data, size, "fuzz", err, sizeof(err));
	policy_free(p);
	return 0;
}
