/* splitmix: splitmix64, bulkreg's one 64-bit mixing function (the student
 * memo's hash; the tests' checksums). */
#ifndef BULKREG_SPLITMIX_H
#define BULKREG_SPLITMIX_H

#include <stdint.h>

/* Steele, Lea and Flood's splitmix64: one step of the sequence that starts
 * at x -- a bijection on 64 bits whose every output bit depends on every
 * input bit. */
static inline uint64_t splitmix64(uint64_t x)
{
	x += UINT64_C(0x9E3779B97F4A7C15);
	x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
	return x ^ (x >> 31);
}

#endif
