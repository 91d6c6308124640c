/* check_dbtarget: which store -d names, and that a password never shows. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dbtarget.h"
#include "testutil.h"

static const char *redacted(const char *target)
{
	static char out[1024];
	db_target_redact(target, out, sizeof(out));
	return out;
}

START_TEST(uris_select_postgresql)
{
	ck_assert(db_target_is_pg("postgresql://reg@db1:5432/reg?sslmode=require"));
	ck_assert(db_target_is_pg("postgres://db1/reg"));
	ck_assert(db_target_is_pg("postgresql://"));
	ck_assert(db_target_is_pg("POSTGRESQL://db1/reg"));
}
END_TEST

START_TEST(keyword_strings_select_postgresql)
{
	ck_assert(db_target_is_pg("service=registrar"));
	ck_assert(db_target_is_pg("host=db1 dbname=reg"));
	ck_assert(db_target_is_pg("  dbname = reg"));
}
END_TEST

START_TEST(paths_select_sqlite)
{
	ck_assert(!db_target_is_pg("bulkreg.db"));
	ck_assert(!db_target_is_pg("/var/lib/bulkreg/reg.db"));
	ck_assert(!db_target_is_pg("./host=x"));
	ck_assert(!db_target_is_pg("a=b.db"));        /* not a libpq keyword */
	ck_assert(!db_target_is_pg("file:reg.db"));
	ck_assert(!db_target_is_pg("postgresql.db"));
	ck_assert(!db_target_is_pg(""));
	ck_assert(!db_target_is_pg(NULL));
}
END_TEST

START_TEST(uri_password_is_hidden)
{
	ck_assert_str_eq(redacted("postgresql://reg:s3cret@db1:5432/reg"),
			 "postgresql://reg:***@db1:5432/reg");
	ck_assert_str_eq(redacted("postgres://reg:p%40ss@db1/reg?sslmode=require"),
			 "postgres://reg:***@db1/reg?sslmode=require");
	ck_assert_str_eq(redacted("postgresql://db1/reg?sslmode=require&password=x&user=u"),
			 "postgresql://db1/reg?sslmode=require&password=***&user=u");
	ck_assert_str_eq(redacted("postgresql://db1/reg?pass%77ord=x"),
			 "postgresql://db1/reg?pass%77ord=***");
	ck_assert_str_eq(redacted("postgresql://reg:a@b@db1/reg"),
			 "postgresql://reg:***@db1/reg");
	/* libpq: the password runs to the '@', a '?' or '&' in it too. */
	ck_assert_str_eq(redacted("postgresql://reg:s3c?r&t@db1/reg"),
			 "postgresql://reg:***@db1/reg");
	/* A '/' not encoded makes it a port and a database name to libpq,
	 * but it is what the user meant as the password. */
	ck_assert_str_eq(redacted("postgresql://reg:s3c/r3t@db1/reg?sslmode=require"),
			 "postgresql://reg:***@db1/reg?sslmode=require");
	ck_assert_str_eq(redacted("postgresql://db1/reg?sslmode=require&user=a@b"),
			 "postgresql://db1/reg?sslmode=require&user=a@b");
	/* With a '/' and a '?' in it, libpq cannot read it at all: what
	 * follows the '@' may be parameters. */
	ck_assert_str_eq(redacted("postgresql://reg:s3/c?r3t@db1/reg"),
			 "postgresql://reg:***@***");
	/* (libpq reads no upper-case scheme) */
	ck_assert_str_eq(redacted("POSTGRESQL://db1/?password=s3c:r3t@x"),
			 "POSTGRESQL://db1***@***");
	ck_assert_str_eq(redacted("POSTGRESQL://db1/?a@b&password=s3cret"),
			 "POSTGRESQL://db1***@***&password=***");
	ck_assert_str_eq(redacted("postgresql://db1/?password=s3c:r3t@x"),
			 "postgresql://db1/?password=***");
	/* A '&' in a ?password= value: the rest is no parameter. */
	ck_assert_str_eq(redacted("postgresql://db1/reg?password=s3c&r3t&sslmode=x"),
			 "postgresql://db1/reg?password=***&***&sslmode=***");
}
END_TEST

START_TEST(uri_without_password_is_unchanged)
{
	const char *u = "postgresql://reg@db1:5432,db2/reg?target_session_attrs=read-write";
	ck_assert_str_eq(redacted(u), u);
	ck_assert_str_eq(redacted("bulkreg.db"), "bulkreg.db");
}
END_TEST

START_TEST(keyword_password_is_hidden)
{
	ck_assert_str_eq(redacted("host=db1 password=s3cret dbname=reg"),
			 "host=db1 password=*** dbname=reg");
	ck_assert_str_eq(redacted("host=db1 password = 'it\\'s a b' dbname=reg"),
			 "host=db1 password = *** dbname=reg");
	ck_assert_str_eq(redacted("password=a\\ b user=u"), "password=*** user=u");
}
END_TEST

START_TEST(redaction_never_overflows)
{
	char out[12];
	db_target_redact("postgresql://reg:s3cret@db1/reg", out, sizeof(out));
	ck_assert_uint_eq(strlen(out), sizeof(out) - 1);
	ck_assert_ptr_null(strstr(out, "s3c"));
}
END_TEST

START_TEST(malformed_strings_are_usage_errors)
{
	struct error err;
	ck_assert_int_eq(db_target_check("postgresql://reg:s3cret@[::1/reg", &err),
			 ST_USAGE);
	ck_assert_ptr_null(strstr(err.msg, "s3cret"));
	ck_assert_ptr_nonnull(strstr(err.msg, "reg:***@"));
	ck_assert_int_eq(db_target_check("host=db1 password=s3cret bogus=1", &err),
			 ST_USAGE);
	ck_assert_ptr_null(strstr(err.msg, "s3cret"));
	ck_assert_int_eq(db_target_check("postgresql://reg@db1/reg", &err), ST_OK);
	/* libpq quotes the token it could not parse: it may be the password
	 * (review 15, A1). */
	static const char *const leaky[] = {
		"postgresql://registrar:50%off@db1/reg",
		"postgres://registrar:Tr0ub4dor%@db1/reg",
		"postgresql://registrar@db1/reg?password=50%off",
		"postgresql://registrar:secret%00x@db1/reg",
		"user=registrar password hunter2",
	};
	static const char *const secret[] = {"50%off", "Tr0ub4dor", "50%off",
					     "secret", "hunter2"};
	for (size_t i = 0; i < sizeof(leaky) / sizeof(leaky[0]); i++) {
		ck_assert_int_eq(db_target_check(leaky[i], &err), ST_USAGE);
		ck_assert_msg(!strstr(err.msg, secret[i]), "%s", err.msg);
		ck_assert_ptr_nonnull(strstr(err.msg, "not a valid PostgreSQL"));
	}
	/* What is not a password still helps. */
	ck_assert_int_eq(db_target_check("host=db1 passwd=x", &err), ST_USAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "\"passwd\""));
	ck_assert_int_eq(db_target_check("postgresql://db1/reg?no_such=1", &err),
			 ST_USAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "\"no_such\""));
}
END_TEST

/* Found by tests/fuzz/fuzz_dbtarget: in a keyword string libpq cannot
 * read, any value may hold the password: "host= password = x" is
 * host=password then "= x", "host= password='x '" is host=password='x,
 * and "pasword" is a misspelt password. */
START_TEST(malformed_keyword_values_are_hidden)
{
	ck_assert_str_eq(redacted("host= password = s3cret"),
			 "host= *** = ***");
	ck_assert_str_eq(redacted("host= password='s3cret x' dbname=reg"),
			 "host= *** *** ***");
	ck_assert_str_eq(redacted("host=db1 pasword=s3cret dbname=reg"),
			 "host=*** ***=*** dbname=***");
	ck_assert_str_eq(redacted("host= password='a b=c d'"), "host= *** ***=*** ***");
	struct error err;
	ck_assert_int_eq(db_target_check("host= password='s3cret x'", &err), ST_USAGE);
	ck_assert_msg(!strstr(err.msg, "s3cret"), "%s", err.msg);
	ck_assert_int_eq(db_target_check("host= password = s3cret", &err), ST_USAGE);
	ck_assert_msg(!strstr(err.msg, "s3cret"), "%s", err.msg);
	ck_assert_int_eq(db_target_check("host=db1 pasword=s3cret", &err), ST_USAGE);
	ck_assert_msg(!strstr(err.msg, "s3cret"), "%s", err.msg);
	/* libpq reads an upper-case scheme as a keyword string, and quotes
	 * "POSTGRESQL://u:s3cret" back as an option it does not know. */
	ck_assert_int_eq(db_target_check("POSTGRESQL://u:s3cret=@db1/reg", &err),
			 ST_USAGE);
	ck_assert_msg(!strstr(err.msg, "s3cret"), "%s", err.msg);
	/* libpq quotes a token with a '"' in it as it is. */
	ck_assert_int_eq(db_target_check("host= password='ab\"s3cret' x", &err),
			 ST_USAGE);
	ck_assert_msg(!strstr(err.msg, "s3cret"), "%s", err.msg);
	ck_assert_int_eq(db_target_check("postgresql://a?}\"s3cret", &err), ST_USAGE);
	ck_assert_msg(!strstr(err.msg, "s3cret"), "%s", err.msg);
	ck_assert_int_eq(db_target_check("postgresql://:}\"\n%:s3cret@/", &err), ST_USAGE);
	ck_assert_msg(!strstr(err.msg, "s3cret"), "%s", err.msg);
	/* Known keywords keep their values. */
	ck_assert_str_eq(redacted("host=db1 dbname=reg sslmode=require"),
			 "host=db1 dbname=reg sslmode=require");
}
END_TEST

START_TEST(messages_are_scrubbed)
{
	char msg[64] = "bad value \"pw-1\" near pw-1!";
	db_target_scrub("postgresql://u:pw-1@db1/reg", msg, sizeof(msg));
	ck_assert_str_eq(msg, "bad value \"***\" near ***!");
	char msg2[64] = "x pw-2 y";
	db_target_scrub("host=db1 password=pw-2", msg2, sizeof(msg2));
	ck_assert_str_eq(msg2, "x *** y");
	char msg3[16] = "no password";
	db_target_scrub("postgresql://db1/reg", msg3, sizeof(msg3));
	ck_assert_str_eq(msg3, "no password");
}
END_TEST

/* Found by tests/fuzz/fuzz_dbtarget: a copy near the end of a full
 * buffer made the length to move negative (a crash), and a password that
 * "***" holds was found again in its own replacement (no end). */
START_TEST(scrub_near_the_end_stays_in_the_buffer)
{
	char msg[16] = "aaaaaaaaaaaaaaQ";
	db_target_scrub("postgresql://u:Q@db1/reg", msg, sizeof(msg));
	ck_assert_str_eq(msg, "aaaaaaaaaaaaaa");
	char msg2[16] = "aaaaaaaaaaaaQ!!";
	db_target_scrub("postgresql://u:Q@db1/reg", msg2, sizeof(msg2));
	ck_assert_str_eq(msg2, "aaaaaaaaaaaa***");
	char msg3[16] = "aaQbbbbbbbbbbbb";
	db_target_scrub("postgresql://u:Q@db1/reg", msg3, sizeof(msg3));
	ck_assert_str_eq(msg3, "aa***bbbbbbbbbb");
}
END_TEST

START_TEST(scrub_of_a_starred_password_ends)
{
	char msg[32] = "bad \"***\" or *";
	db_target_scrub("postgresql://u:***@db1/reg", msg, sizeof(msg));
	ck_assert_str_eq(msg, "bad \"***\" or *");
	char msg2[32] = "bad \"*\"";
	db_target_scrub("host=db1 password=*", msg2, sizeof(msg2));
	ck_assert_str_eq(msg2, "bad \"***\"");
}
END_TEST

/* Review 20, F01: libpq hides sslpassword (the client key's passphrase)
 * as it hides password, and a dbname may be a connection string of its
 * own, its password in it. */
START_TEST(every_secret_is_hidden)
{
	ck_assert_str_eq(redacted("host=db1 user=u sslpassword=K3Y dbname=reg"),
			 "host=db1 user=u sslpassword=*** dbname=reg");
	ck_assert_str_eq(redacted("host=db1 sslpassword = 'a b' password=p"),
			 "host=db1 sslpassword = *** password=***");
	ck_assert_str_eq(redacted("postgresql://u@/reg?host=/s&sslpassword=K3Y"),
			 "postgresql://u@/reg?host=/s&sslpassword=***");
	ck_assert_str_eq(redacted("postgresql://u@/reg?ssl%70assword=K3Y&sslmode=require"),
			 "postgresql://u@/reg?ssl%70assword=***&sslmode=require");
	ck_assert_str_eq(redacted("dbname='host=/s user=u password=PW'"),
			 "dbname=***");
	ck_assert_str_eq(redacted("host=db1 dbname=postgresql://u:PW@db2/reg"),
			 "host=db1 dbname=***");
	ck_assert_str_eq(redacted("postgresql://u@db1/host%3Ddb2%20password%3DPW?sslmode=require"),
			 "postgresql://u@db1/***?sslmode=require");
	ck_assert_str_eq(redacted("postgresql://db1/?dbname=password%3DPW&user=u"),
			 "postgresql://db1/?dbname=***&user=u");
	/* An ordinary database name still shows. */
	ck_assert_str_eq(redacted("postgresql://db1/reg%20a?dbname=reg2"),
			 "postgresql://db1/reg%20a?dbname=reg2");
	ck_assert_str_eq(redacted("host=db1 dbname='reg a'"), "host=db1 dbname='reg a'");

	char msg[96] = "key K3Y-1 bad; db \"host=s password=PW-9\": PW-9";
	db_target_scrub("host=db1 sslpassword=K3Y-1 dbname='host=s password=PW-9'",
			msg, sizeof(msg));
	ck_assert_str_eq(msg, "key *** bad; db \"***\": ***");
	char msg2[64] = "x K3Y-2 y";
	db_target_scrub("postgresql://db1/reg?sslpassword=K3Y-2", msg2, sizeof(msg2));
	ck_assert_str_eq(msg2, "x *** y");
	/* Found by tests/fuzz/fuzz_dbtarget: libpq's user name runs to the
	 * '@', a '?' in it too, and the path after it is the dbname. */
	ck_assert_str_eq(redacted("postgresql://u?x@db1/host%3Dh%20password%3DPW"),
			 "postgresql://u?x@db1/***");
	ck_assert_str_eq(redacted("postgresql://db1/%00%20password%3DPW"),
			 "postgresql://db1/***");
	struct error err;
	/* libpq's message cut at an " in URI" inside the quoted token. */
	ck_assert_int_eq(db_target_check("postgresql://u:a%zz in URI s3cret@db1/", &err),
			 ST_USAGE);
	ck_assert_msg(!strstr(err.msg, "s3cret"), "%s", err.msg);
	ck_assert_int_eq(db_target_check("host=db1 sslpassword=K3Y-3 bogus=1", &err),
			 ST_USAGE);
	ck_assert_msg(!strstr(err.msg, "K3Y-3"), "%s", err.msg);
}
END_TEST

START_TEST(schema_names)
{
	ck_assert(db_schema_name_valid("bulkreg"));
	ck_assert(db_schema_name_valid("_reg2"));
	ck_assert(!db_schema_name_valid("Reg"));
	ck_assert(!db_schema_name_valid("2reg"));
	ck_assert(!db_schema_name_valid("reg-x"));
	ck_assert(!db_schema_name_valid("reg\"; drop"));
	ck_assert(!db_schema_name_valid("pg_catalog"));
	ck_assert(!db_schema_name_valid(""));
	char longname[80];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert(!db_schema_name_valid(longname));
}
END_TEST

static Suite *dbtarget_suite(void)
{
	Suite *s = suite_create("dbtarget");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, uris_select_postgresql);
	tcase_add_test(tc, keyword_strings_select_postgresql);
	tcase_add_test(tc, paths_select_sqlite);
	tcase_add_test(tc, uri_password_is_hidden);
	tcase_add_test(tc, uri_without_password_is_unchanged);
	tcase_add_test(tc, keyword_password_is_hidden);
	tcase_add_test(tc, redaction_never_overflows);
	tcase_add_test(tc, malformed_strings_are_usage_errors);
	tcase_add_test(tc, malformed_keyword_values_are_hidden);
	tcase_add_test(tc, messages_are_scrubbed);
	tcase_add_test(tc, scrub_near_the_end_stays_in_the_buffer);
	tcase_add_test(tc, every_secret_is_hidden);
	tcase_add_test(tc, schema_names);
	suite_add_tcase(s, tc);
	/* Without the fix it never ends: a short limit of its own. */
	TCase *tc_loop = tcase_create("scrub_ends");
	tcase_set_timeout(tc_loop, 10);
	tcase_add_test(tc_loop, scrub_of_a_starred_password_ends);
	suite_add_tcase(s, tc_loop);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dbtarget_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
