/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's attribute spellings for user-space shim code,
 * so that it reads (and lints) like the rest of kmemlab.
 */
#ifndef KML_SHIM_COMPILER_H
#define KML_SHIM_COMPILER_H

#define KML_ATTR(...)		__attribute__((__VA_ARGS__))

#ifndef __noreturn
#define __noreturn		KML_ATTR(__noreturn__)
#endif
#ifndef __cold
#define __cold			KML_ATTR(__cold__)
#endif
#ifndef noinline
#define noinline		KML_ATTR(__noinline__)
#endif
#ifndef __weak
#define __weak			KML_ATTR(__weak__)
#endif
#ifndef __printf
#define __printf(a, b)		KML_ATTR(__format__(printf, a, b))
#endif
#ifndef __maybe_unused
#define __maybe_unused		KML_ATTR(__unused__)
#endif
#ifndef __alias
#define __alias(sym)		KML_ATTR(__alias__(#sym))
#endif
#ifndef __copy
#define __copy(sym)		KML_ATTR(__copy__(sym))
#endif
#ifndef __visible_default
#define __visible_default	KML_ATTR(__visibility__("default"))
#endif
#ifndef __tls_initial_exec
#define __tls_initial_exec	KML_ATTR(__tls_model__("initial-exec"))
#endif
#ifndef likely
#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)
#endif
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

#endif /* KML_SHIM_COMPILER_H */
