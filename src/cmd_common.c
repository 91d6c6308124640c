/* cmd_common: messages, number parsing and terminal-safe output for the CLI. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "utf8.h"

void cli_error(const char *fmt, ...)
{
	va_list ap;
	fputs("bulkreg: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_warn(const struct cli *cli, const char *fmt, ...)
{
	if (cli->quiet)
		return;
	va_list ap;
	fputs("bulkreg: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_fail(enum status st, const struct error *err)
{
	cli_error("%s", err->msg);
	return status_exit_code(st);
}

int cli_usage_error(const char *usage, const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fputs("bulkreg: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%sTry 'bulkreg %s --help'.\n", usage, cmd);
	return 2;
}

int cli_open_db(const struct cli *cli, double wait_seconds, struct db **out)
{
	struct error err;
	enum status st = db_open(cli->db_path, wait_seconds, out, &err);
	if (st != ST_OK)
		return cli_fail(st, &err);
	return 0;
}

bool parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool parse_seconds(const char *s, double min, double max, double *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static size_t utf8_seq_len(const unsigned char *s, size_t len)
{
	size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3
						      : s[0] >= 0xC2 ? 2 : 0;
	if (n == 0 || n > len || !utf8_valid(s, n, NULL))
		return 0;
	return n;
}

/* One displayed piece of a value: a printable character or a \xNN escape. */
static size_t piece(const unsigned char *s, size_t len, size_t *cols)
{
	size_t n = utf8_seq_len(s, len);
	bool printable = n > 1 || (n == 1 && s[0] >= 0x20 && s[0] != 0x7F);
	*cols = printable ? 1 : 4;
	return printable ? n : 1;
}

static void put_piece(FILE *out, const unsigned char *s, size_t n, size_t cols)
{
	if (cols == 4)
		fprintf(out, "\\x%02x", s[0]);
	else
		fwrite(s, 1, n, out);
}

/* Columns of the whole value, escapes included. */
static size_t full_width(const unsigned char *s, size_t len)
{
	size_t total = 0, cols;
	for (size_t i = 0; i < len;) {
		i += piece(s + i, len - i, &cols);
		total += cols;
	}
	return total;
}

size_t text_value_width(const char *str, size_t len, size_t max)
{
	size_t w = full_width((const unsigned char *)str, len);
	return max && w > max ? max : w;
}

void text_write_value(FILE *out, const char *str, size_t len, size_t width,
		      size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t total = full_width(s, len), used = 0, cols;
	bool cut = max >= 4 && total > max;
	for (size_t i = 0; i < len;) {
		size_t n = piece(s + i, len - i, &cols);
		if (cut && used + cols > max - 3)
			break;
		put_piece(out, s + i, n, cols);
		used += cols;
		i += n;
	}
	if (cut) {
		fputs("...", out);
		used += 3;
	}
	for (; used < width; used++)
		fputc(' ', out);
}

int cli_close_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("standard output: write failed: %s", strerror(errno));
		return 3;
	}
	return 0;
}
