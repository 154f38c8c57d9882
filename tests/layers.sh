#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The house has floors: no circle of includes between the modules of lib/,
# sim/, daemon/ and ctl/ (a module is NAME.c with its NAME.h). In C a file
# calls another only through the other's header, so a circle of includes is
# where a lower file would call back up. tsort (coreutils) finds circles.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top_srcdir" || exit 1

edges=$(for f in lib/*.[ch] sim/*.[ch] daemon/*.[ch] ctl/*.[ch]; do
	from=${f%.*}
	[ -e "$from.c" ] || continue # a header of its own (shared types): no floor
	grep -o '^#include "[^"]*\.h"' "$f" | sed 's/^#include "\(.*\)\.h"$/\1/' |
		while read -r inc; do
			for to in lib/$inc sim/$inc daemon/$inc ctl/$inc; do
				[ -e "$to.c" ] && [ "$to" != "$from" ] && echo "$from $to"
			done
		done
done | sort -u)
n=$(grep -c "" <<<"$edges")
if loop=$(tsort <<<"$edges" 2>&1 >/dev/null) && [ -z "$loop" ]; then
	echo "ok: $n include edges between modules, no circle"
	exit 0
fi
echo "FAIL: a circle of includes between modules:"
echo "$loop"
exit 1
