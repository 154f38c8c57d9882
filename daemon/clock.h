/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's clock: monotonic milliseconds, the "now" that the engine,
 * the methods and the audit scheduler agree on. */
#ifndef BALLOOND_CLOCK_H
#define BALLOOND_CLOCK_H

#include <stdint.h>

/* Monotonic milliseconds. */
uint64_t clock_now_ms(void);

#endif
