/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sizes and durations as operators type them. Sizes are KiB internally
 * (XenStore's unit); durations are milliseconds. Pure: no I/O. */
#ifndef BALLOOND_UNITS_H
#define BALLOOND_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Largest size accepted anywhere: 1 PiB, in KiB. */
#define SIZE_MAX_KIB (UINT64_C(1) << 40)

/* Largest duration accepted: 30 days, in ms. */
#define DURATION_MAX_MS (UINT64_C(30) * 24 * 3600 * 1000)

/* Parse "512M", "4G", "4GiB", "1.5G", "900K", "2T" (binary units, case-
 * insensitive, optional "B"/"iB"; a bare number is an error: no unit is
 * guessed). Decimals are rounded to the nearest KiB.
 * Returns 0 and sets *ret_kib, or -EINVAL (garbage, missing unit, negative)
 * or -ERANGE (above SIZE_MAX_KIB); *ret_kib is untouched on error. */
int size_parse(const char *s, uint64_t *ret_kib);

/* Human form of a size: "512M", "1.5G", "16G", "900K" (at most one decimal,
 * exact values without one). Always NUL-terminates; returns buf. */
char *size_format(uint64_t kib, char *buf, size_t len);
/* Formats two sizes as size_format does, but with more digits when that
 * would show two different sizes the same ("3.4G -> 3.4G"). */
void size_format_pair(uint64_t a_kib, uint64_t b_kib, char *ret_a, char *ret_b, size_t len);

/* Parse "250ms", "5s", "2m", "1h", "1.5s" into ms. A bare number is an error.
 * Returns 0, -EINVAL or -ERANGE (above DURATION_MAX_MS). */
int duration_parse(const char *s, uint64_t *ret_ms);

/* Human form of a duration: "250ms", "5s", "1m30s", "2h". Returns buf. */
char *duration_format(uint64_t ms, char *buf, size_t len);

/* Parse a plain unsigned decimal (digits only, no sign, no spaces, no
 * leading "+"), at most max. For values from guests and XenStore.
 * Returns 0, -EINVAL or -ERANGE. */
int u64_parse_strict(const char *s, uint64_t max, uint64_t *ret);

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: shortest form,
 * no surrogates, at most U+10FFFF) within n bytes (n > 0), or 0 if there is
 * none. For text that goes out in messages and JSON. */
size_t utf8_char_len(const unsigned char *s, size_t n);

/* Copy src into dst (len bytes, NUL-terminated) with every control
 * character (below 0x20, 0x7f) and every byte that is not part of
 * well-formed UTF-8 written as \xNN; never cuts an escape or a character.
 * Idempotent: the output holds nothing it would escape. Returns dst. */
char *text_escape(const char *src, char *dst, size_t len);

/* Xen's low-memory alarm (VIRQ_ENOMEM) threshold, in KiB, from the
 * hypervisor's command line: the last low_mem_virq_limit=SIZE (Xen's size
 * syntax: T, G, M, K or B suffix, none = KiB, 0x for hex), at most 1 GiB,
 * rounded down to a power of two pages; 64 MiB when the option is absent
 * or unreadable; 0 when it is 0 (the alarm is off). cmdline may be NULL. */
uint64_t xen_low_mem_virq_kib(const char *cmdline);

#endif
