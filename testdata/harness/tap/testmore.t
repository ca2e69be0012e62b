#!/usr/bin/perl
# Test::More with its diagnostics on standard output, as a TAP producer
# that writes everything to one stream does.
use strict;
use warnings;
use Test::More tests => 3;

Test::More->builder->failure_output(\*STDOUT);
ok(1, 'first');
is(2 + 2, 5, 'arithmetic');
is_deeply([1, 2], [1, 2], 'lists');
