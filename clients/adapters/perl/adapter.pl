#!/usr/bin/perl
# The `gearspec clients` adapter for Perl's Gearman::Client, Gearman::Taskset and Gearman::Worker
# (Debian libgearman-client-perl 2.004). It only translates the contract (docs/clients.md) into the
# library's calls, as an application would make them; no test logic lives here.
#
# The library blocks (Taskset::wait, Worker::work), so a child process runs the commands and this
# parent only forwards them: on `quit` (or the end of stdin) it ends the child and exits.
use strict;
use warnings;
use Gearman::Client;
use Gearman::Worker;
use JSON::PP;
use IO::Handle;
use Time::HiRes qw(sleep);

my $json = JSON::PP->new->canonical;
STDOUT->autoflush(1);

sub emit {
    my ($event, %fields) = @_;
    print $json->encode({event => $event, %fields}), "\n";
}

my @servers = split /,/, ($ENV{GEARSPEC_SERVERS} // '');
emit('hello', library => 'Gearman::Client (Perl)', version => "$Gearman::Client::VERSION",
     capabilities => [qw(client worker background unique priority status exceptions data warning
                         work_status timeout can_do_timeout several_servers reconnect task_set)]);

pipe(my $from_parent, my $to_child) or die "pipe: $!";
my $child = fork() // die "fork: $!";
if ($child) {
    close $from_parent;
    $to_child->autoflush(1);
    # The library dying in the child is the adapter dying: exit the same way.
    $SIG{CHLD} = sub {
        return unless waitpid($child, 0) == $child;
        my $status = $?;
        kill($status & 127, $$) if $status & 127;
        exit($status >> 8);
    };
    while (my $line = <STDIN>) {
        my $cmd = eval { $json->decode($line) };
        last if $cmd && ($cmd->{cmd} // '') eq 'quit';
        print $to_child $line;
    }
    $SIG{CHLD} = 'DEFAULT';
    kill 'KILL', $child;
    waitpid($child, 0);
    exit 0;
}
close $to_child;

my ($client, $worker, @queued);
my $jobs_done = 0;

sub client {
    $client //= Gearman::Client->new(job_servers => [@servers], exceptions => 1);
    return $client;
}

sub worker {
    $worker //= Gearman::Worker->new(job_servers => [@servers]);
    return $worker;
}

sub hex_of { unpack 'H*', $_[0] // '' }
sub bytes_of { pack 'H*', $_[0] // '' }

sub run_task_set {
    my $ts = client()->new_task_set;
    my @waiting;
    for my $s (@queued) {
        my $data = bytes_of($s->{data_hex});
        my %opts;
        $opts{uniq} = $s->{unique} if defined $s->{unique} && length $s->{unique};
        $opts{priority} = $s->{priority} if $s->{priority} && $s->{priority} ne 'normal';
        if ($s->{background}) {
            my $handle = client()->dispatch_background($s->{function}, \$data, \%opts);
            if (defined $handle) {
                # The library qualifies handles with their server ("host:port//H:..."): the
                # protocol's handle is the part after "//".
                emit('created', id => $s->{id}, handle => ($handle =~ s{^.*//}{}r));
            } else {
                emit('error', id => $s->{id}, class => 'other', message => 'dispatch_background returned undef');
            }
            next;
        }
        $opts{timeout} = $s->{timeout_ms} / 1000 if $s->{timeout_ms};
        my $id = $s->{id};
        my $ended = 0;
        $opts{on_complete}  = sub { $ended = 1; emit('complete', id => $id, data_hex => hex_of(${ $_[0] })) };
        $opts{on_fail}      = sub { $ended = 1; emit('fail', id => $id, (defined $_[0] ? (message => "$_[0]") : ())) };
        $opts{on_exception} = sub { $ended = 1; emit('exception', id => $id, data_hex => hex_of(ref $_[0] ? ${ $_[0] } : $_[0])) };
        $opts{on_data}      = sub { emit('data', id => $id, data_hex => hex_of(${ $_[0] })) };
        $opts{on_warning}   = sub { emit('warning', id => $id, data_hex => hex_of(${ $_[0] })) };
        $opts{on_status}    = sub { emit('status', id => $id, numerator => $_[0] + 0, denominator => $_[1] + 0) };
        my $handle = $ts->add_task($s->{function}, \$data, \%opts);
        emit('error', id => $id, class => 'connection', message => 'add_task returned undef') unless defined $handle;
        push @waiting, [$id, \$ended];
    }
    # A timeout is given to Taskset::wait, which is where the library enforces it.
    my @timeouts = sort { $a <=> $b } map { $_->{timeout_ms} / 1000 } grep { $_->{timeout_ms} } @queued;
    @queued = ();
    $ts->wait(@timeouts ? (timeout => $timeouts[0]) : ());
    for my $w (@waiting) {
        emit('error', id => $w->[0], class => 'other', message => 'the task set ended without a result')
            unless ${ $w->[1] };
    }
    emit('done');
}

sub job_function {
    my ($script) = @_;
    return sub {
        my $job = shift;
        emit('job', function => $job->{func} // '', handle => $job->handle,
             data_hex => hex_of(${ $job->argref }));
        for my $a (@$script) {
            my $do = $a->{do};
            my $bytes = bytes_of($a->{data_hex});
            if ($do eq 'data') { worker()->send_work_data($job, $bytes) }
            elsif ($do eq 'warning') { worker()->send_work_warning($job, $bytes) }
            elsif ($do eq 'status') { $job->set_status($a->{numerator}, $a->{denominator}) }
            elsif ($do eq 'sleep') { sleep($a->{ms} / 1000) }
            elsif ($do eq 'complete') { return $bytes }
            elsif ($do eq 'fail') { return undef }
            elsif ($do eq 'exception') { die "$bytes\n" }   # the library's way to throw
        }
        return '';
    };
}

while (my $line = <$from_parent>) {
    my $c = $json->decode($line);
    my $verb = $c->{cmd};
    if ($verb eq 'submit') {
        push @queued, $c;
    } elsif ($verb eq 'run') {
        run_task_set();
    } elsif ($verb eq 'status') {
        # get_status wants the library's qualified handle: the first server's, as a bare handle
        # names no server.
        my $handle = $c->{handle} =~ m{//} ? $c->{handle} : "$servers[0]//$c->{handle}";
        my $st = client()->get_status($handle);
        if (!$st) {
            emit('error', id => $c->{id}, class => 'connection', message => 'get_status returned undef');
        } else {
            my ($n, $d) = @{ $st->progress || [0, 0] };
            emit('status_answer', id => $c->{id}, known => $st->known ? JSON::PP::true : JSON::PP::false,
                 running => $st->running ? JSON::PP::true : JSON::PP::false,
                 numerator => ($n // 0) + 0, denominator => ($d // 0) + 0);
        }
    } elsif ($verb eq 'register') {
        # The library takes the timeout in seconds (Gearman::Worker's register_function).
        my @timeout = $c->{timeout_ms} ? (int($c->{timeout_ms} / 1000)) : ();
        worker()->register_function($c->{function}, @timeout, job_function($c->{script} // []));
    } elsif ($verb eq 'unregister') {
        worker()->unregister_function($c->{function});
    } elsif ($verb eq 'work') {
        my $wanted = $c->{jobs};
        my $done = 0;
        worker()->work(on_complete => sub { $done++ }, on_fail => sub { $done++ },
                       stop_if => sub { $done >= $wanted });
        emit('done');
    } else {
        emit('error', class => 'unsupported', message => "unknown command $verb");
    }
}
exit 0;
