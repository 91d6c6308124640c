/* check_sha256: FIPS 180-4 test vectors, streamed in pieces of any size. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "testutil.h"

static const char *const MSG448 =
	"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char *const MSG896 =
	"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	"hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

/* Both implementations (hardware if present, portable) in one go. */
static void init(struct sha256 *s, int portable)
{
	if (portable)
		sha256_init_portable(s);
	else
		sha256_init(s);
}

static void hash_hex(const void *data, size_t len, int portable, char hex[65])
{
	struct sha256 s;
	init(&s, portable);
	sha256_update(&s, data, len);
	sha256_final_hex(&s, hex);
}

START_TEST(empty_message)
{
	char hex[65];
	hash_hex("", 0, _i, hex);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb924"
			      "27ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(abc)
{
	char hex[65];
	hash_hex("abc", 3, _i, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223"
			      "b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(message_of_448_bits)
{
	char hex[65];
	hash_hex(MSG448, strlen(MSG448), _i, hex);
	ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039"
			      "a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

START_TEST(message_of_896_bits)
{
	char hex[65];
	hash_hex(MSG896, strlen(MSG896), _i, hex);
	ck_assert_str_eq(hex, "cf5b16a778af8380036ce59e7b049237"
			      "0b249b11e8f07a51afac45037afee9d1");
}
END_TEST

START_TEST(one_million_a)
{
	size_t n = 1000000;
	char *a = malloc(n);
	ck_assert_ptr_nonnull(a);
	memset(a, 'a', n);
	char hex[65];
	hash_hex(a, n, _i, hex);
	free(a);
	ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67"
			      "f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

START_TEST(one_million_a_in_odd_pieces)
{
	static const size_t sizes[] = {1, 3, 7, 63, 64, 65, 127, 1000, 4099};
	char a[4099];
	memset(a, 'a', sizeof(a));
	struct sha256 s;
	init(&s, _i);
	size_t done = 0, k = 0;
	while (done < 1000000) {
		size_t n = sizes[k++ % (sizeof(sizes) / sizeof(sizes[0]))];
		if (n > 1000000 - done)
			n = 1000000 - done;
		sha256_update(&s, a, n);
		done += n;
	}
	char hex[65];
	sha256_final_hex(&s, hex);
	ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67"
			      "f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

START_TEST(every_split_point_gives_the_same_digest)
{
	char whole[65], split[65];
	hash_hex(MSG896, strlen(MSG896), _i, whole);
	for (size_t cut = 0; cut <= strlen(MSG896); cut++) {
		struct sha256 s;
		init(&s, _i);
		sha256_update(&s, MSG896, cut);
		sha256_update(&s, MSG896 + cut, strlen(MSG896) - cut);
		sha256_final_hex(&s, split);
		ck_assert_str_eq(split, whole);
	}
}
END_TEST

START_TEST(padding_boundaries_match_between_implementations)
{
	unsigned char data[200];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)mix64(i);
	/* 55, 56 and 64 bytes are where the length no longer fits. */
	for (size_t len = 0; len <= sizeof(data); len++) {
		char hw[65], sw[65];
		hash_hex(data, len, 0, hw);
		hash_hex(data, len, 1, sw);
		ck_assert_msg(strcmp(hw, sw) == 0, "length %zu", len);
	}
}
END_TEST

START_TEST(raw_digest_matches_hex)
{
	struct sha256 s;
	unsigned char d[32];
	init(&s, _i);
	sha256_update(&s, "abc", 3);
	sha256_final(&s, d);
	ck_assert_uint_eq(d[0], 0xba);
	ck_assert_uint_eq(d[31], 0xad);
	ck_assert_uint_eq(s.length, 3);
}
END_TEST

static Suite *sha256_suite(void)
{
	Suite *s = suite_create("sha256");
	TCase *tc = tcase_create("vectors");
	/* Loop index 0: sha256_init (hardware if any); 1: portable. */
	tcase_add_loop_test(tc, empty_message, 0, 2);
	tcase_add_loop_test(tc, abc, 0, 2);
	tcase_add_loop_test(tc, message_of_448_bits, 0, 2);
	tcase_add_loop_test(tc, message_of_896_bits, 0, 2);
	tcase_add_loop_test(tc, one_million_a, 0, 2);
	tcase_add_loop_test(tc, one_million_a_in_odd_pieces, 0, 2);
	tcase_add_loop_test(tc, every_split_point_gives_the_same_digest, 0, 2);
	tcase_add_loop_test(tc, raw_digest_matches_hex, 0, 2);
	tcase_add_test(tc, padding_boundaries_match_between_implementations);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sha256_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
