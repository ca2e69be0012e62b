#!/bin/sh
# Every test passes, then the script exits non-zero; plan at the end.
echo "ok 1 - one"
echo "ok 2 - two"
echo "1..2"
exit 3
