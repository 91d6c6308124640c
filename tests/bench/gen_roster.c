/* gen_roster: a deterministic, realistic roster (or course list) generator. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Usage:
 *   gen_roster roster  ROWS [SEED]   > roster.csv
 *   gen_roster courses ROWS [SEED]   > courses.csv
 *
 * ROWS rows over 200 courses whose popularity follows a Zipf law, so the
 * popular courses overflow into their waitlists (capacities are drawn around
 * the expected demand, and sized from ROWS so both files agree).  About four
 * rows per student (students take several courses); names carry non-ASCII
 * letters; about 1% of the rows are bad in one of several ways (missing or
 * invalid email, invalid id, unknown course, a wrong field count) and a few
 * repeat an earlier row.  Same arguments, same bytes.
 */

#define COURSES 200

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_u64(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double next_unit(void)
{
	return (double)(next_u64() >> 11) / 9007199254740992.0;
}

static const char *const first_names[] = {
	"Amara", "Björn", "Chen", "Dana", "Elif", "Farid", "Gabriela", "Hiroshi",
	"Isabela", "José", "Kwame", "Laila", "Mateo", "Nadia", "Oliver", "Priya",
	"Quentin", "Rania", "Sofía", "Tomasz", "Uma", "Viktor", "Wen", "Xóchitl",
	"Yara", "Zoë", "Aarav", "Beatriz", "Ciarán", "Dmitri", "Émilie", "Fatima",
};
static const char *const last_names[] = {
	"Okafor", "Lindqvist", "Wei", "Whitfield", "Yılmaz", "Haddad", "Souza",
	"Tanaka", "Ferreira", "Martínez", "Mensah", "Rahimi", "Rossi", "Petrova",
	"Brown", "Natarajan", "Dubois", "Aziz", "García", "Kowalski", "Iyer",
	"Novák", "Zhang", "Hernández", "Müller", "Sharma", "Costa", "O'Brien",
	"Volkov", "Johansson", "Al-Sayed", "Łukasiewicz",
};
#define NFIRST (sizeof(first_names) / sizeof(first_names[0]))
#define NLAST (sizeof(last_names) / sizeof(last_names[0]))

/* Cumulative Zipf(s = 1.1) weights of the courses. */
static double cdf[COURSES];

static void init_zipf(void)
{
	double sum = 0;
	for (int i = 0; i < COURSES; i++)
		sum += 1.0 / pow(i + 1, 1.1);
	double acc = 0;
	for (int i = 0; i < COURSES; i++) {
		acc += 1.0 / pow(i + 1, 1.1) / sum;
		cdf[i] = acc;
	}
	cdf[COURSES - 1] = 1.0;
}

static int pick_course(void)
{
	double u = next_unit();
	int lo = 0, hi = COURSES - 1;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void gen_courses(long rows)
{
	puts("code,title,capacity,waitlist");
	for (int i = 0; i < COURSES; i++) {
		double share = cdf[i] - (i ? cdf[i - 1] : 0);
		double demand = share * (double)rows;
		/* Seats for 40%..110% of the demand: the top courses overflow. */
		long cap = (long)(demand * (0.4 + 0.7 * next_unit())) + 1;
		if (cap > 1000000)
			cap = 1000000;
		long wl = (long)(demand * 0.3) + 1;
		if (i % 7 == 3)
			printf("C%03d,Course %d: Topics,%ld,0\n", i, i, cap);
		else if (i % 5 == 1)
			printf("C%03d,Course %d,%ld,\n", i, i, cap);
		else
			printf("C%03d,Course %d,%ld,%ld\n", i, i, cap, wl > 1000000 ? 1000000 : wl);
	}
}

/* A student number from a student index: scattered, not sequential. */
static uint64_t student_number(uint64_t idx)
{
	uint64_t x = idx * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
	x ^= x >> 29;
	return 10000000 + x % 89999999;
}

static void gen_roster(long rows)
{
	long students = rows / 4 + 1;
	char line[512];
	fputs("student_id,first_name,last_name,email,course\n", stdout);
	for (long r = 0; r < rows; r++) {
		uint64_t s = next_u64() % (uint64_t)students;
		uint64_t num = student_number(s);
		const char *first = first_names[(s * 7) % NFIRST];
		const char *last = last_names[(s * 13 + 5) % NLAST];
		int course = pick_course();
		uint64_t bad = next_u64() % 1000;
		int n;
		if (bad < 2) /* missing email */
			n = snprintf(line, sizeof(line), "S%" PRIu64 ",%s,%s,,C%03d\n", num,
				     first, last, course);
		else if (bad < 4) /* invalid email */
			n = snprintf(line, sizeof(line),
				     "S%" PRIu64 ",%s,%s,s%" PRIu64 "-at-example.edu,C%03d\n",
				     num, first, last, num, course);
		else if (bad < 6) /* invalid student id */
			n = snprintf(line, sizeof(line),
				     "S %" PRIu64 ",%s,%s,s%" PRIu64 "@example.edu,C%03d\n",
				     num, first, last, num, course);
		else if (bad < 8) /* unknown course */
			n = snprintf(line, sizeof(line),
				     "S%" PRIu64 ",%s,%s,s%" PRIu64 "@example.edu,X%03d\n",
				     num, first, last, num, course);
		else if (bad < 9) /* wrong field count */
			n = snprintf(line, sizeof(line),
				     "S%" PRIu64 ",%s,%s,s%" PRIu64 "@example.edu\n", num,
				     first, last, num);
		else if (bad < 10) /* a quoted name with a comma */
			n = snprintf(line, sizeof(line),
				     "S%" PRIu64 ",\"%s, Jr.\",%s,s%" PRIu64
				     "@example.edu,C%03d\n",
				     num, first, last, num, course);
		else
			n = snprintf(line, sizeof(line),
				     "S%" PRIu64 ",%s,%s,s%" PRIu64 "@example.edu,C%03d\n",
				     num, first, last, num, course);
		fwrite(line, 1, (size_t)n, stdout);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[1], "roster") && strcmp(argv[1], "courses"))) {
		fprintf(stderr, "usage: gen_roster roster|courses ROWS [SEED]\n");
		return 2;
	}
	long rows = strtol(argv[2], NULL, 10);
	if (rows < 1) {
		fprintf(stderr, "gen_roster: ROWS must be positive\n");
		return 2;
	}
	if (argc > 3)
		rng ^= strtoull(argv[3], NULL, 10) * 0x9E3779B97F4A7C15ULL;
	if (rng == 0)
		rng = 1;
	init_zipf();
	static char buf[1 << 16];
	setvbuf(stdout, buf, _IOFBF, sizeof(buf));
	if (strcmp(argv[1], "courses") == 0)
		gen_courses(rows);
	else
		gen_roster(rows);
	return fflush(stdout) == 0 ? 0 : 1;
}
