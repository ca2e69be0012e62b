#!/bin/sh
# Skips everything with a reason.
echo "1..0 # SKIP no database configured"
