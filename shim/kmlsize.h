/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmlsize.h - the one way kmemlab's user space reads a size: decimal
 * digits, then at most one suffix K, M or G (either case) for KiB, MiB or
 * GiB, and nothing else (no sign, blank, hex or trailing text). Used by
 * the malloc's KMEMLAB_MALLOC_* variables, kml.c's KMEMLAB_BRK_RESERVE and
 * kmlheap's arguments.
 *
 * Nothing here allocates or depends on the locale, so that code under
 * malloc can use it; kml_size_complain() writes with write(2) only.
 */
#ifndef KML_SIZE_H
#define KML_SIZE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* 0 with *out set, or -1 when s is no size or one beyond SIZE_MAX. */
static inline int kml_parse_size(const char *s, size_t *out)
{
	unsigned int shift = 0;
	size_t v = 0, d;

	if (!s || *s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		d = (size_t)(*s - '0');
		if (v > (SIZE_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	switch (*s) {
	case 'K':
	case 'k':
		shift = 10;
		break;
	case 'M':
	case 'm':
		shift = 20;
		break;
	case 'G':
	case 'g':
		shift = 30;
		break;
	}
	if (shift)
		s++;
	if (*s || v > SIZE_MAX >> shift)
		return -1;
	*out = v << shift;
	return 0;
}

/* s on stderr with write(2) alone: no stdio, no allocation */
static inline void kml_puts(const char *s)
{
	size_t len = strlen(s);
	ssize_t n;

	while (len) {
		n = write(STDERR_FILENO, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= n;
	}
}

/*
 * One line on stderr, "who: name=value: why; ignored". Callers read each
 * variable once, so each bad value is reported once.
 */
static inline void kml_size_complain(const char *who, const char *name, const char *value,
				     const char *why)
{
	kml_puts(who);
	kml_puts(": ");
	kml_puts(name);
	kml_puts("=");
	kml_puts(value);
	kml_puts(": ");
	kml_puts(why);
	kml_puts("; ignored\n");
}

#define KML_SIZE_WHY	"not a size (digits, then K, M or G at most)"

#endif /* KML_SIZE_H */
