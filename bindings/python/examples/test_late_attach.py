"""Late attach written in Python instead of YAML (compare scenarios/attach/late-attach-half-way.yaml).

A second client that submits the same function and unique key half-way through the run gets the
same handle, the updates sent after it attached, and the result. Requirement UNIQ-ATTACH-RUNNING.
"""

import gearspec


def test_late_attach_half_way(gearspec_server):
    first, late, worker = (gearspec.Client(gearspec_server), gearspec.Client(gearspec_server),
                           gearspec.Worker(gearspec_server))
    worker.can_do("resize")
    handle = first.submit("resize", "photo-17", b"jpeg bytes")
    assert worker.grab()[2] == b"jpeg bytes"
    worker.send("WORK_STATUS", handle, 1, 4)
    first.expect("WORK_STATUS", handle, "1", "4")

    assert late.submit("resize", "photo-17", b"jpeg bytes") == handle

    worker.send("WORK_STATUS", handle, 2, 4)
    worker.send("WORK_COMPLETE", handle, b"thumbnail")
    for client in (first, late):
        client.expect("WORK_STATUS", handle, "2", "4")
        client.expect("WORK_COMPLETE", handle, b"thumbnail")
