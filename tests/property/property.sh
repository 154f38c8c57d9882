#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Seeded property runs: generated hosts and histories (sim/scengen.c) run by
# balloond --simulate-random through the --simulate path, every invariant at
# every step, then the properties of daemon/property.c. Fails naming each
# failing seed and the command that reproduces it alone.
#
# The fixed set is sized for make check (~25 s of CPU): seeds 1..100 on hosts
# of 4-16 GiB. Longer runs:
#   BALLOOND_PROPERTY_SEEDS=1..2000 BALLOOND_PROPERTY_MAX_HOST=64G make check TESTS=tests/property/property.sh
# BALLOOND_PROPERTY_SEEDS is FIRST..LAST or FIRST (with BALLOOND_PROPERTY_COUNT);
# BALLOOND_PROPERTY_MAX_HOST is the largest host (up to 256G; ~7 ms of CPU per
# GiB and run, more for hosts that balloon much).
set -u
builddir=${top_builddir:-.}
seeds=${BALLOOND_PROPERTY_SEEDS:-1..100}
export BALLOOND_PROPERTY_MAX_HOST=${BALLOOND_PROPERTY_MAX_HOST:-16G}
if [ -n "${BALLOOND_PROPERTY_COUNT:-}" ]; then
	exec "$builddir/daemon/balloond" --simulate-random "$seeds" --count "$BALLOOND_PROPERTY_COUNT"
fi
exec "$builddir/daemon/balloond" --simulate-random "$seeds"
