"""`podcast` with a kill switch, for the kill -9 loop (tests/hostile/test_kill_loop.py).

Run as ``python -m tests.hostile.killable ARGS…``: the `podcast` command, but the process sends
itself SIGKILL at the HTTP request numbered ``PODCAST_TEST_KILL_AT`` (counting every request
botocore sends, from any thread), ``before`` it is sent or ``after`` its answer arrived
(``PODCAST_TEST_KILL_WHEN``) — so a run dies between any two steps, in the middle of a multipart
upload, or right after a write the run never learns succeeded (``PODCAST_TEST_KILL_AT_URL``:
before the first request whose URL holds that text instead). Test code only: nothing in the
package knows about it. Also for the test: ``PODCAST_TEST_STALE_UPLOAD_S`` (the age from which a
rerun aborts incomplete uploads; a real one cannot be backdated) and
``PODCAST_TEST_MULTIPART_BYTES`` (part size, so small files go multipart).
"""

from __future__ import annotations

import os
import signal
import threading

import botocore.endpoint

from podcast_tools.cli import main
from podcast_tools.publish.run import Publisher
from podcast_tools.publish.storage import S3Storage

_lock = threading.Lock()
_count = [0]
_kill_at = int(os.environ.get("PODCAST_TEST_KILL_AT", "0") or 0)
_when = os.environ.get("PODCAST_TEST_KILL_WHEN", "before")
_match = os.environ.get("PODCAST_TEST_KILL_AT_URL")  # or: before the first request whose URL has it
_real_send = botocore.endpoint.Endpoint._send


def _send(self, request):
    with _lock:
        _count[0] += 1
        number = _count[0]
    if _match and _match in request.url:
        os.kill(os.getpid(), signal.SIGKILL)
    if number == _kill_at and _when == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    answer = _real_send(self, request)
    if number == _kill_at and _when == "after":
        os.kill(os.getpid(), signal.SIGKILL)
    return answer


botocore.endpoint.Endpoint._send = _send

if "PODCAST_TEST_MULTIPART_BYTES" in os.environ:
    S3Storage.MULTIPART_BYTES = int(os.environ["PODCAST_TEST_MULTIPART_BYTES"])

if "PODCAST_TEST_STALE_UPLOAD_S" in os.environ:
    _real_init = Publisher.__init__

    def _init(self, *args, **kwargs):
        kwargs.setdefault("stale_upload_s", float(os.environ["PODCAST_TEST_STALE_UPLOAD_S"]))
        _real_init(self, *args, **kwargs)

    Publisher.__init__ = _init

if __name__ == "__main__":
    try:
        main()
    finally:
        count_file = os.environ.get("PODCAST_TEST_COUNT_FILE")
        if count_file:
            with open(count_file, "w") as handle:
                handle.write(str(_count[0]))
