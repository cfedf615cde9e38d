#!/usr/bin/perl
# The interop driver for Perl's Gearman::Client, Gearman::Taskset and Gearman::Worker (Debian
# libgearman-client-perl). Same command line as every driver here (../README.md); prints one JSON
# object.
use strict;
use warnings;
use Gearman::Client;
use Gearman::Worker;
use JSON::PP;
use Time::HiRes qw(time sleep);

my $TIMEOUT = 15;    # seconds
my $json    = JSON::PP->new->canonical;
sub out { print $json->encode($_[0]), "\n" }

sub wait_for_file {
    my ($path) = @_;
    my $deadline = time + $TIMEOUT;
    until (-e $path) {
        die "release file never appeared\n" if time > $deadline;
        sleep 0.01;
    }
}

my $role = shift @ARGV;
if ($role eq 'worker') {
    my ($port, $fn, $jobs, $runs, $updates, $release) = @ARGV;
    my $w = Gearman::Worker->new(job_servers => ["127.0.0.1:$port"]);
    $w->register_function($fn => sub {
        my $job = shift;
        open(my $fh, '>>', $runs) or die; print $fh "run\n"; close $fh;
        if ($updates eq '1') {
            $job->set_status(1, 2);  # (Worker::send_work_status drops the denominator)
            $w->send_work_data($job, 'part');
        }
        wait_for_file($release) if $release ne '-';
        return scalar reverse ${ $job->argref };
    });
    my $done = 0;
    local $SIG{ALRM} = sub { die "worker timed out\n" };
    alarm $TIMEOUT;
    $w->work(on_complete => sub { $done++ }, stop_if => sub { $done >= $jobs });
    out({jobs => $done + 0});
    exit 0;
}

my ($case, $port, $fn, $data, $unique, $release) = @ARGV;
my $c = Gearman::Client->new(job_servers => ["127.0.0.1:$port"]);

if ($case eq 'background') {
    my $handle = $c->dispatch_background($fn, $data, {uniq => $unique})
        or die "dispatch_background failed\n";
    my @statuses;
    my $deadline = time + $TIMEOUT;
    while (1) {
        my $st  = $c->get_status($handle) or die "get_status failed\n";
        my ($num, $den) = @{ $st->progress || [0, 0] };
        my $now = [$st->known ? JSON::PP::true : JSON::PP::false,
                   $st->running ? JSON::PP::true : JSON::PP::false, $num + 0, $den + 0];
        push @statuses, $now unless @statuses && $json->encode($statuses[-1]) eq $json->encode($now);
        if ($st->known && $st->running && $num == 1 && !-e $release) {
            open(my $fh, '>', $release) or die; close $fh;
        }
        last unless $st->known;
        if (time > $deadline) { out({statuses => \@statuses}); die "job never finished\n" }
        sleep 0.01;
    }
    out({statuses => \@statuses});
    exit 0;
}

# plain, updates, twice: one Gearman::Taskset, one task per submission.
my %seen = (status => [], data => [], results => []);
my $ts = $c->new_task_set;
for (1 .. ($case eq 'twice' ? 2 : 1)) {
    $ts->add_task($fn, $data, {
        uniq        => $unique,
        on_complete => sub { push @{ $seen{results} }, ${ $_[0] } },
        on_fail     => sub { push @{ $seen{results} }, undef },
        on_status   => sub { push @{ $seen{status} }, [$_[0] + 0, $_[1] + 0] },
        on_data     => sub { push @{ $seen{data} }, ${ $_[0] } },
    }) or die "add_task failed\n";
}
$ts->wait(timeout => $TIMEOUT);
out($case eq 'plain' ? {result => $seen{results}[0]} : \%seen);
