<?php
// The `gearspec clients` adapter for PHP's gearman extension (Debian php-gearman 2.1.0, built on
// libgearman). It only translates the contract (docs/clients.md) into the extension's calls, as an
// application would make them: addTask* and runTasks for submissions, GearmanWorker::work for
// jobs. No test logic lives here.
//
// The extension blocks (runTasks, work), so a child process runs the commands and this parent
// only forwards them: on `quit` (or the end of stdin) it ends the child and exits.

function emit(string $event, array $fields = []): void {
    echo json_encode(['event' => $event] + $fields, JSON_UNESCAPED_SLASHES), "\n";
    fflush(STDOUT);
}

$servers = getenv('GEARSPEC_SERVERS') ?: '';
emit('hello', ['library' => 'php-gearman (pecl)', 'version' => phpversion('gearman') . ' on libgearman ' . gearman_version(),
    'based_on' => 'libgearman',
    'capabilities' => ['client', 'worker', 'background', 'unique', 'priority', 'status', 'exceptions', 'data', 'warning',
                       'work_status', 'timeout', 'can_do_timeout', 'several_servers', 'reconnect', 'task_set']]);

[$to_child, $from_parent] = stream_socket_pair(STREAM_PF_UNIX, STREAM_SOCK_STREAM, STREAM_IPPROTO_IP);
$child = pcntl_fork();
if ($child < 0) { fwrite(STDERR, "fork failed\n"); exit(1); }
if ($child > 0) {
    fclose($from_parent);
    pcntl_async_signals(true);
    // The extension dying in the child is the adapter dying: exit the same way.
    pcntl_signal(SIGCHLD, function () use ($child) {
        if (pcntl_waitpid($child, $status, WNOHANG) !== $child) return;
        if (pcntl_wifsignaled($status)) posix_kill(posix_getpid(), pcntl_wtermsig($status));
        exit(pcntl_wexitstatus($status));
    });
    while (($line = fgets(STDIN)) !== false) {
        $cmd = json_decode($line, true);
        if (is_array($cmd) && ($cmd['cmd'] ?? '') === 'quit') break;
        fwrite($to_child, $line);
    }
    pcntl_signal(SIGCHLD, SIG_DFL);
    posix_kill($child, SIGKILL);
    pcntl_waitpid($child, $status);
    exit(0);
}
fclose($to_child);

$client = null;
$worker = null;
$queued = [];

function client(): GearmanClient {
    global $client, $servers;
    if ($client === null) {
        $client = new GearmanClient();
        $client->addServers($servers);   // the extension asks for exceptions as it adds servers
    }
    return $client;
}

function worker(): GearmanWorker {
    global $worker, $servers;
    if ($worker === null) {
        $worker = new GearmanWorker();
        $worker->addServers($servers);
    }
    return $worker;
}

function error_class(int $rc): string {
    switch ($rc) {
        case GEARMAN_TIMEOUT: return 'timeout';
        case GEARMAN_LOST_CONNECTION: case GEARMAN_COULD_NOT_CONNECT: case GEARMAN_ERRNO: return 'connection';
        case GEARMAN_SERVER_ERROR: return 'server';
        default: return 'other';
    }
}

function run_task_set(): void {
    global $queued;
    $c = client();
    $ended = [];
    $timeouts = array_filter(array_map(fn($s) => $s['timeout_ms'] ?? 0, $queued));
    $c->setTimeout($timeouts ? min($timeouts) : -1);
    $c->setCreatedCallback(function (GearmanTask $t, $ctx) use (&$ended) {
        emit('created', ['id' => $ctx['id'], 'handle' => $t->jobHandle()]);
        if ($ctx['background']) $ended[$ctx['id']] = true;
    });
    $c->setDataCallback(fn(GearmanTask $t, $ctx) => emit('data', ['id' => $ctx['id'], 'data_hex' => bin2hex($t->data())]));
    $c->setWarningCallback(fn(GearmanTask $t, $ctx) => emit('warning', ['id' => $ctx['id'], 'data_hex' => bin2hex($t->data())]));
    $c->setStatusCallback(fn(GearmanTask $t, $ctx) => emit('status', ['id' => $ctx['id'], 'numerator' => $t->taskNumerator(), 'denominator' => $t->taskDenominator()]));
    $c->setCompleteCallback(function (GearmanTask $t, $ctx) use (&$ended) {
        $ended[$ctx['id']] = true;
        emit('complete', ['id' => $ctx['id'], 'data_hex' => bin2hex($t->data())]);
    });
    $c->setFailCallback(function (GearmanTask $t, $ctx) use (&$ended) {
        $ended[$ctx['id']] = true;
        emit('fail', ['id' => $ctx['id']]);
    });
    $c->setExceptionCallback(function (GearmanTask $t, $ctx) use (&$ended) {
        $ended[$ctx['id']] = true;
        emit('exception', ['id' => $ctx['id'], 'data_hex' => bin2hex($t->data())]);
    });
    foreach ($queued as $s) {
        $data = hex2bin($s['data_hex'] ?? '');
        $unique = ($s['unique'] ?? '') === '' ? null : $s['unique'];
        $ctx = ['id' => $s['id'], 'background' => !empty($s['background'])];
        $priority = $s['priority'] ?? 'normal';
        $method = 'addTask' . ($priority === 'high' ? 'High' : ($priority === 'low' ? 'Low' : '')) . (empty($s['background']) ? '' : 'Background');
        $task = $c->$method($s['function'], $data, $ctx, $unique);
        if ($task === false) {
            $ended[$s['id']] = true;
            emit('error', ['id' => $s['id'], 'class' => error_class($c->returnCode()), 'message' => $c->error()]);
        }
    }
    $ok = @$c->runTasks();
    foreach ($queued as $s) {
        if (empty($ended[$s['id']]))
            emit('error', ['id' => $s['id'], 'class' => error_class($c->returnCode()), 'message' => (string)$c->error()]);
    }
    $queued = [];
    emit('done');
}

function job_function(array $script): callable {
    return function (GearmanJob $job) use ($script) {
        emit('job', ['function' => $job->functionName(), 'handle' => $job->handle(), 'unique' => (string)$job->unique(),
                     'data_hex' => bin2hex($job->workload())]);
        foreach ($script as $a) {
            $bytes = hex2bin($a['data_hex'] ?? '');
            switch ($a['do']) {
                case 'data': $job->sendData($bytes); break;
                case 'warning': $job->sendWarning($bytes); break;
                case 'status': $job->sendStatus((int)$a['numerator'], (int)$a['denominator']); break;
                case 'sleep': usleep((int)$a['ms'] * 1000); break;
                case 'complete': return $bytes;
                case 'fail': $job->setReturn(GEARMAN_WORK_FAIL); return null;
                case 'exception':   // the extension's way to throw: send the exception, return failure
                    $job->sendException($bytes);
                    $job->setReturn(GEARMAN_WORK_EXCEPTION);
                    return null;
            }
        }
        return '';
    };
}

while (($line = fgets($from_parent)) !== false) {
    $c = json_decode($line, true);
    switch ($c['cmd']) {
        case 'submit': $queued[] = $c; break;
        case 'run': run_task_set(); break;
        case 'status':
            $st = @client()->jobStatus($c['handle']);
            if (!is_array($st))
                emit('error', ['id' => $c['id'], 'class' => error_class(client()->returnCode()), 'message' => (string)client()->error()]);
            else
                emit('status_answer', ['id' => $c['id'], 'known' => (bool)$st[0], 'running' => (bool)$st[1],
                                       'numerator' => (int)$st[2], 'denominator' => (int)$st[3]]);
            break;
        case 'register':
            // The extension takes the timeout in seconds, as libgearman does.
            $timeout = isset($c['timeout_ms']) ? intdiv((int)$c['timeout_ms'], 1000) : 0;
            worker()->addFunction($c['function'], job_function($c['script'] ?? []), null, $timeout);
            break;
        case 'unregister': worker()->unregister($c['function']); break;
        case 'work':
            for ($done = 0; $done < (int)$c['jobs'];) {
                if (@worker()->work() || in_array(worker()->returnCode(), [GEARMAN_WORK_FAIL, GEARMAN_WORK_EXCEPTION], true)) {
                    $done++;
                } else {
                    fwrite(STDERR, "work(): " . worker()->error() . "\n");   // applications loop on
                    usleep(100000);
                }
            }
            emit('done');
            break;
        default:
            emit('error', ['class' => 'unsupported', 'message' => 'unknown command ' . $c['cmd']]);
    }
}
exit(0);
