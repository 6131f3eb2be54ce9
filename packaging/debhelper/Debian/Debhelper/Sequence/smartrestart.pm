#!/usr/bin/perl
# debhelper sequence add-on: dh $@ --with smartrestart
#
# dh_smartrestart takes dh_installsystemd's place in the sequence: it runs
# dh_installsystemd itself, with --no-stop-on-upgrade for the units the
# package's rules fragment covers (smartrestart restarts those, once, at the
# end of the dpkg run, only when their files changed) and unchanged for the
# others.

use strict;
use warnings;
use Debian::Debhelper::Dh_Lib;

insert_after('dh_installsystemd', 'dh_smartrestart');
remove_command('dh_installsystemd');

1;
