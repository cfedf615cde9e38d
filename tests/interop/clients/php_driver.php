<?php
// The interop driver for PHP's gearman extension (Debian php-gearman, built on libgearman).
// Same command line as every driver in this folder (see ../README.md); prints one JSON object.
//   worker PORT FN JOBS RUNS_FILE UPDATES RELEASE_FILE
//   client plain|updates|twice PORT FN DATA UNIQUE
//   client background PORT FN DATA UNIQUE RELEASE_FILE

const TIMEOUT_MS = 15000;

function out($value) { echo json_encode($value), "\n"; }

function wait_for_file($path) {
    $deadline = microtime(true) + TIMEOUT_MS / 1000;
    while (!file_exists($path)) {
        if (microtime(true) > $deadline) { fwrite(STDERR, "release file never appeared\n"); exit(3); }
        usleep(10000);
    }
}

[$self, $role] = [$argv[0], $argv[1]];

if ($role === 'worker') {
    [, , $port, $fn, $jobs, $runs, $updates, $release] = $argv;
    $w = new GearmanWorker();
    $w->addServer('127.0.0.1', (int)$port);
    $w->setTimeout(TIMEOUT_MS);
    $w->addFunction($fn, function (GearmanJob $job) use ($runs, $updates, $release) {
        file_put_contents($runs, "run\n", FILE_APPEND);
        if ($updates === '1') {
            $job->sendStatus(1, 2);
            $job->sendData('part');
        }
        if ($release !== '-') wait_for_file($release);
        return strrev($job->workload());
    });
    for ($i = 0; $i < (int)$jobs; $i++) {
        if (!$w->work()) { fwrite(STDERR, "work(): " . $w->error() . "\n"); exit(1); }
    }
    out(['jobs' => (int)$jobs]);
    exit(0);
}

[, , $case, $port, $fn, $data, $unique] = $argv;
$c = new GearmanClient();
$c->addServer('127.0.0.1', (int)$port);
$c->setTimeout(TIMEOUT_MS);

switch ($case) {
case 'plain':
    $result = $c->doNormal($fn, $data, $unique);
    if ($c->returnCode() !== GEARMAN_SUCCESS) { fwrite(STDERR, "doNormal: " . $c->error() . "\n"); exit(1); }
    out(['result' => $result]);
    break;
case 'updates':
case 'twice':
    // The task API: one task per submission, callbacks per packet.
    $seen = ['status' => [], 'data' => [], 'results' => []];
    $c->setStatusCallback(function (GearmanTask $t) use (&$seen) {
        $seen['status'][] = [$t->taskNumerator(), $t->taskDenominator()];
    });
    $c->setDataCallback(function (GearmanTask $t) use (&$seen) { $seen['data'][] = $t->data(); });
    $c->setCompleteCallback(function (GearmanTask $t) use (&$seen) { $seen['results'][] = $t->data(); });
    $c->setFailCallback(function (GearmanTask $t) use (&$seen) { $seen['results'][] = null; });
    $tasks = $case === 'twice' ? 2 : 1;
    for ($i = 0; $i < $tasks; $i++) $c->addTask($fn, $data, null, $unique);
    if (!$c->runTasks()) { fwrite(STDERR, "runTasks: " . $c->error() . "\n"); out($seen); exit(1); }
    out($seen);
    break;
case 'background':
    $release = $argv[7];
    $handle = $c->doBackground($fn, $data, $unique);
    if ($c->returnCode() !== GEARMAN_SUCCESS) { fwrite(STDERR, "doBackground: " . $c->error() . "\n"); exit(1); }
    // Poll the job's status until it is gone, recording each distinct answer; once it shows the
    // worker's 1/2, let the worker finish.
    $statuses = [];
    $deadline = microtime(true) + TIMEOUT_MS / 1000;
    while (true) {
        [$known, $running, $num, $den] = $c->jobStatus($handle);
        $now = [(bool)$known, (bool)$running, (int)$num, (int)$den];
        if (!$statuses || end($statuses) !== $now) $statuses[] = $now;
        if ($known && $running && $num === 1) touch($release);
        if (!$known) break;
        if (microtime(true) > $deadline) { fwrite(STDERR, "job never finished\n"); out(['statuses' => $statuses]); exit(1); }
        usleep(10000);
    }
    out(['statuses' => $statuses]);
    break;
default:
    fwrite(STDERR, "unknown case $case\n");
    exit(2);
}
