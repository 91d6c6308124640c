/* splitmix: splitmix64, bulkreg's one 64-bit mixing function (the student
 * memo's hash, select's per-thread random order, the tests' checksums),
 * and its one hash of bytes, FNV-1a (the --users index, sections, header
 * names). */
#ifndef BULKREG_SPLITMIX_H
#define BULKREG_SPLITMIX_H

#include <stddef.h>
#include <stdint.h>

/* The step of the sequence: 2^64 / the golden ratio, odd. */
#define SPLITMIX64_GAMMA UINT64_C(0x9E3779B97F4A7C15)

/* Steele, Lea and Flood's splitmix64: the output for state x, whose next
 * state is x + SPLITMIX64_GAMMA -- a bijection on 64 bits whose every
 * output bit depends on every input bit. */
static inline uint64_t splitmix64(uint64_t x)
{
	x += SPLITMIX64_GAMMA;
	x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
	return x ^ (x >> 31);
}

/* FNV-1a, 64 bits: its start, and its step for one byte. */
#define FNV1A64_OFFSET UINT64_C(0xcbf29ce484222325)

static inline uint64_t fnv1a64_byte(uint64_t h, unsigned char c)
{
	return (h ^ c) * UINT64_C(0x100000001b3);
}

static inline uint64_t fnv1a64(const void *s, size_t len)
{
	const unsigned char *u = s;
	uint64_t h = FNV1A64_OFFSET;
	for (size_t i = 0; i < len; i++)
		h = fnv1a64_byte(h, u[i]);
	return h;
}

#endif
