/* sha256: FIPS 180-4 SHA-256, streaming (for the roster's fingerprint). */
#ifndef BULKREG_SHA256_H
#define BULKREG_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t length;        /* bytes hashed so far */
	unsigned char block[64];
	size_t used;            /* bytes waiting in block */
	bool hardware;          /* rounds done by the CPU's SHA extensions */
};

/* Uses the CPU's SHA instructions when it has them. */
void sha256_init(struct sha256 *s);
/* Portable code only (tests compare the two). */
void sha256_init_portable(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, unsigned char digest[32]);
/* Finalises and writes 64 lowercase hex digits and a NUL. */
void sha256_final_hex(struct sha256 *s, char hex[65]);

#endif
