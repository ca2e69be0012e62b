#!/bin/sh
# TAP 13 from a shell script: a YAML diagnostic block after a failure.
echo "TAP version 13"
echo "1..3"
echo "ok 1 - first"
echo "not ok 2 - second"
echo "  ---"
echo "  message: 'expected 3, got 4'"
echo "  severity: fail"
echo "  ..."
echo "ok 3 - third"
exit 1
