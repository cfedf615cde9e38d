"""The seed's 'processing page' pattern in Python.

A request starts a long job in the background with a random key; a page that wants to show the
progress submits a foreground job with the same key, which attaches to the running job (same
handle) and streams its WORK_STATUS updates and the result. Requirement UNIQ-PROCESSING-PAGE.
"""

import uuid

import gearspec


def test_processing_page(gearspec_server):
    key = "report-" + uuid.uuid4().hex
    function = "build_report_" + uuid.uuid4().hex[:8]
    starter, page, worker = gearspec.Client(gearspec_server), gearspec.Client(gearspec_server), gearspec.Worker(gearspec_server)

    handle = starter.submit(function, key, b"report parameters", kind="SUBMIT_JOB_BG")
    assert page.submit(function, key, b"report parameters") == handle  # attached, not a new job

    worker.can_do(function)
    assert worker.grab()[0] == handle
    for done in range(1, 4):
        worker.send("WORK_STATUS", handle, done, 3)
        page.expect("WORK_STATUS", handle, str(done), "3")
    worker.send("WORK_COMPLETE", handle, b"<html>report</html>")
    page.expect("WORK_COMPLETE", handle, b"<html>report</html>")
    starter.expect_none(0.1)  # the background submitter hears nothing
