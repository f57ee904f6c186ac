/*
 * Extended-precision arithmetic for INCRBYFLOAT.
 *
 * Redis parses and adds INCRBYFLOAT operands as C `long double` (x87 80-bit on x86-64)
 * and prints the sum with "%.17Lf", trimming trailing zeros. Clients see those exact
 * digits (10.5 + 1000 prints as 1010.59999999999999998), which Rust's f64 cannot
 * reproduce, so this file does the same arithmetic in the platform's long double.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest operand text accepted, and the output buffer size the caller provides. */
#define TESSERA_LD_MAX_CHARS (5 * 1024)

/* Parses exactly like Redis: the whole text must be consumed, no leading space, no NaN,
 * and an overflow or underflow reported by strtold is a parse failure. */
static int parse_long_double(const char *s, size_t len, long double *out) {
    char buf[TESSERA_LD_MAX_CHARS];
    char *end;
    long double value;

    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    value = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || *end != '\0' || (size_t)(end - buf) != len) return 0;
    if (errno == ERANGE && (isinf(value) || fpclassify(value) == FP_ZERO)) return 0;
    if (isnan(value)) return 0;
    *out = value;
    return 1;
}

/* Formats `value` for humans: fixed notation with 17 decimals, trailing zeros and a bare
 * point removed, "-0" printed as "0". Returns the length, or 0 if it does not fit. */
static size_t format_long_double(long double value, char *out, size_t cap) {
    int n = snprintf(out, cap, "%.17Lf", value);
    if (n < 0 || (size_t)n + 1 > cap) return 0;
    size_t len = (size_t)n;
    if (memchr(out, '.', len) != NULL) {
        while (len > 0 && out[len - 1] == '0') len--;
        if (len > 0 && out[len - 1] == '.') len--;
    }
    if (len == 2 && out[0] == '-' && out[1] == '0') {
        out[0] = '0';
        len = 1;
    }
    out[len] = '\0';
    return len;
}

/*
 * current + increment, both given as text.
 * Returns 0 on success with the result in out[0..*out_len), 1 when `current` is not a
 * float, 2 when `increment` is not a float, 3 when the sum is NaN or infinite, 4 when the
 * result does not fit in `cap` bytes.
 */
int tessera_long_double_add(const char *current, size_t current_len, const char *increment,
                            size_t increment_len, char *out, size_t cap, size_t *out_len) {
    long double a, b, sum;
    if (!parse_long_double(current, current_len, &a)) return 1;
    if (!parse_long_double(increment, increment_len, &b)) return 2;
    sum = a + b;
    if (isnan(sum) || isinf(sum)) return 3;
    *out_len = format_long_double(sum, out, cap);
    return *out_len == 0 ? 4 : 0;
}

/* Returns 1 when `text` parses as a long double under the rules above. */
int tessera_long_double_valid(const char *text, size_t len) {
    long double ignored;
    return parse_long_double(text, len, &ignored);
}
