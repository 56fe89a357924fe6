"""`podcast` with a kill switch, for the kill -9 loop (tests/hostile/test_kill_loop.py).

Run as ``python -m tests.hostile.killable ARGS…``: the `podcast` command, but the process sends
itself SIGKILL at the HTTP request numbered ``PODCAST_TEST_KILL_AT`` (counting every request
botocore sends, from any thread), ``before`` it is sent or ``after`` its answer arrived
(``PODCAST_TEST_KILL_WHEN``) — so a run dies between any two steps, in the middle of a multipart
upload, or right after a write the run never learns succeeded (``PODCAST_TEST_KILL_AT_URL``:
before the first request whose URL holds that text instead). Test code only: nothing in the
package knows about it. Also ``PODCAST_TEST_MULTIPART_BYTES`` (the part size, so that a file of
a few MB goes up in parts) and ``PODCAST_TEST_COUNT_FILE`` (where to write how many requests the
run sent).
"""

from __future__ import annotations

import os
import signal
import threading

import botocore.endpoint

from podcast_tools.cli import main
from podcast_tools.publish.storage import S3Storage

_lock = threading.Lock()
_count = [0]


def install() -> None:
    """Patch botocore and S3Storage in this process (only when run as a program:
    pytest's doctest collection imports this module too, and must not be patched)."""
    kill_at = int(os.environ.get("PODCAST_TEST_KILL_AT", "0") or 0)
    when = os.environ.get("PODCAST_TEST_KILL_WHEN", "before")
    match = os.environ.get("PODCAST_TEST_KILL_AT_URL")  # before the first request naming it
    real_send = botocore.endpoint.Endpoint._send

    def send(self, request):
        with _lock:
            _count[0] += 1
            number = _count[0]
        if match and match in request.url:
            os.kill(os.getpid(), signal.SIGKILL)
        if number == kill_at and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        answer = real_send(self, request)
        if number == kill_at and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return answer

    botocore.endpoint.Endpoint._send = send
    if "PODCAST_TEST_MULTIPART_BYTES" in os.environ:
        S3Storage.MULTIPART_BYTES = int(os.environ["PODCAST_TEST_MULTIPART_BYTES"])


if __name__ == "__main__":
    install()
    try:
        main()
    finally:
        count_file = os.environ.get("PODCAST_TEST_COUNT_FILE")
        if count_file:
            with open(count_file, "w") as handle:
                handle.write(str(_count[0]))
