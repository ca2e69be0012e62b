#!/usr/bin/perl
# TAP 12 from Perl: passing, failing, skipped and TODO tests.
use strict;
use warnings;

$| = 1;
print "1..6\n";
print "ok 1 - starts\n";
print "not ok 2 - compares\n";
print STDERR "#   Failed test 'compares'\n";
print "ok 3 # SKIP no network here\n";
print "not ok 4 - future feature # TODO not written yet\n";
print "ok 5 - escaped \\# hash in name\n";
print "ok - unnumbered\n";
exit 1;
