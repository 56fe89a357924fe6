"""What a public place must let browsers and listeners do, and `podcast storage setup`, which sets
it on an S3 bucket.

A web player on another site fetches the feed, the chapters JSON and the transcripts with
`fetch()`, and asks for audio by byte ranges: the browser reads an answer only when it carries
`Access-Control-Allow-Origin`, and asks first (an OPTIONS "preflight") before a request with a
header such as `If-None-Match` or a non-simple `Range`. The rules here are the one statement of
what is allowed — `check-public` looks for them, and `podcast preview` sends the same headers to
pages of this machine only (an Origin of 127.0.0.1, localhost or [::1], echoed instead of `*`: the
preview serves unpublished episodes, which a website the producer visits must not read):

- any origin (`*`; nothing published needs credentials), methods GET and HEAD;
- the request headers Range, If-Range, If-None-Match and If-Modified-Since (seeking, revalidating);
- exposed to scripts: Accept-Ranges, Content-Length, Content-Range, Content-Type, ETag and
  Last-Modified (a player reads the size and the range it got);
- preflights cached for a day.

`set_up` applies them to the storage's bucket (`put_bucket_cors`: a bucket's CORS rules are the
whole bucket's) together with a public-read bucket policy (`put_bucket_policy`: s3:GetObject on
the objects under the storage's prefix — never the state, which `locate` keeps outside it). Other
CORS rules and policy statements of the bucket are kept; a run that finds both as wanted changes
nothing (idempotent); `dry_run` says what would be set and sets nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from podcast_tools.publish.storage import S3Storage, StorageError

ALLOW_ORIGIN = "*"
METHODS = ("GET", "HEAD")
REQUEST_HEADERS = ("Range", "If-Range", "If-None-Match", "If-Modified-Since")
EXPOSED_HEADERS = (
    "Accept-Ranges",
    "Content-Length",
    "Content-Range",
    "Content-Type",
    "ETag",
    "Last-Modified",
)
MAX_AGE_S = 86400
CORS_RULE_ID = "podcast-tools-web-players"
POLICY_VERSION = "2012-10-17"


def cors_rule() -> dict[str, Any]:
    """The bucket CORS rule web players need (S3's CORSRule shape)."""
    return {
        "ID": CORS_RULE_ID,
        "AllowedOrigins": [ALLOW_ORIGIN],
        "AllowedMethods": list(METHODS),
        "AllowedHeaders": list(REQUEST_HEADERS),
        "ExposeHeaders": list(EXPOSED_HEADERS),
        "MaxAgeSeconds": MAX_AGE_S,
    }


def folder_advice(where: str) -> str:
    """The one line for a folder target: what the web server serving it must send."""
    return (
        f"{where} is a folder: the web server that serves it must send "
        f"`Access-Control-Allow-Origin: {ALLOW_ORIGIN}` and "
        f"`Access-Control-Expose-Headers: {', '.join(EXPOSED_HEADERS)}` with every answer, and "
        f"answer OPTIONS with `Access-Control-Allow-Methods: {', '.join(METHODS)}` and "
        f"`Access-Control-Allow-Headers: {', '.join(REQUEST_HEADERS)}` — this tool cannot set "
        "that for you"
    )


def policy_statement(bucket: str, prefix: str) -> dict[str, Any]:
    """Anyone may read (s3:GetObject) the objects under `prefix` — the whole bucket when empty."""
    # a wildcard in the prefix would widen the grant (`locate` refuses such a prefix)
    assert "*" not in prefix and "?" not in prefix, prefix
    objects = f"{prefix}/*" if prefix else "*"
    sid = "PodcastToolsPublicRead" + hashlib.sha256(prefix.encode()).hexdigest()[:8]
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/{objects}",
    }


def _listed(value: Any) -> list:
    return sorted(value) if isinstance(value, list) else [value]


def _same_rule(a: dict, b: dict) -> bool:
    """Whether two CORS rules allow the same (ID and list order aside)."""
    keys = ("AllowedOrigins", "AllowedMethods", "AllowedHeaders", "ExposeHeaders")
    return all(
        sorted(map(str.lower, a.get(k, []))) == sorted(map(str.lower, b.get(k, []))) for k in keys
    ) and a.get("MaxAgeSeconds") == b.get("MaxAgeSeconds")


def _same_statement(a: dict, b: dict) -> bool:
    """Whether two policy statements grant the same (Sid aside; one value and a list of it alike)."""
    keys = ("Effect", "Principal", "Action", "Resource")
    return all(_listed(a.get(k)) == _listed(b.get(k)) for k in keys) and "Condition" not in a


def merged_rules(rules: list[dict]) -> list[dict] | None:
    """The bucket's CORS rules with ours among them, or None when they already allow it (ours or
    an equal rule is there). A rule of ours that differs (an older version) is replaced."""
    wanted = cors_rule()
    if any(_same_rule(rule, wanted) for rule in rules):
        return None
    return [rule for rule in rules if rule.get("ID") != CORS_RULE_ID] + [wanted]


def merged_policy(policy: dict | None, statement: dict) -> dict | None:
    """The bucket policy with the public-read statement in it, or None when an equal statement is
    already there. Other statements are kept; one of ours with the same Sid is replaced."""
    if policy is None:
        return {"Version": POLICY_VERSION, "Statement": [statement]}
    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    if any(_same_statement(found, statement) for found in statements):
        return None
    kept = [found for found in statements if found.get("Sid") != statement["Sid"]]
    return {**policy, "Statement": kept + [statement]}


@dataclass(frozen=True)
class Setting:
    """One thing `set_up` sets: what, on which bucket, the document, and whether it changes."""

    what: str  # "CORS rules" or "bucket policy"
    bucket: str
    document: dict | None  # what is (or would be) set; None when it is already there
    summary: str

    def line(self, *, dry_run: bool) -> str:
        if self.document is None:
            return f"s3://{self.bucket}: {self.what} already set ({self.summary})"
        verb = "would set" if dry_run else "set"
        return f"s3://{self.bucket}: {self.what} {verb} ({self.summary})"


class _Bucket:
    """The three calls of `set_up` on a storage's bucket, each failure one StorageError line."""

    def __init__(self, storage: S3Storage):
        self.storage, self.bucket = storage, storage.bucket
        self.client = storage._client

    def _call(self, action: str, call, *, absent: tuple[str, ...] = (), **kwargs):
        from botocore.exceptions import ClientError

        try:
            return call(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in absent:
                return None
            if code == "AccessDenied" and "policy" in action:
                raise StorageError(
                    f"s3://{self.bucket}: cannot {action}: AccessDenied: these credentials may "
                    "not, or the bucket's Block Public Access settings forbid a public policy"
                ) from None
            raise self._failed(action, exc) from None
        except Exception as exc:  # no credentials, no connection …
            raise self._failed(action, exc) from None

    def _failed(self, action: str, exc: Exception) -> StorageError:
        failed = self.storage._fail(action, "", exc)
        # the bucket is what is set up, not the prefix: name it so
        return StorageError(str(failed).replace(self.storage.description, f"s3://{self.bucket}", 1))

    def rules(self) -> list[dict]:
        found = self._call("read the CORS rules", self.client.get_bucket_cors, absent=_NO_CORS)
        return list(found.get("CORSRules", [])) if found else []

    def policy(self) -> dict | None:
        found = self._call(
            "read the bucket policy", self.client.get_bucket_policy, absent=_NO_POLICY
        )
        if not found:
            return None
        try:
            return json.loads(found["Policy"])
        except (KeyError, ValueError):
            raise StorageError(
                f"s3://{self.bucket}: the bucket policy is not JSON; fix or delete it first"
            ) from None

    def put_rules(self, rules: list[dict]) -> None:
        self._call(
            "set the CORS rules",
            self.client.put_bucket_cors,
            CORSConfiguration={"CORSRules": rules},
        )

    def put_policy(self, policy: dict) -> None:
        self._call(
            "set the bucket policy", self.client.put_bucket_policy, Policy=json.dumps(policy)
        )


_NO_CORS = ("NoSuchCORSConfiguration",)
_NO_POLICY = ("NoSuchBucketPolicy",)


def set_up(storage: S3Storage, *, dry_run: bool = False) -> list[Setting]:
    """Give the storage's bucket the CORS rule web players need and a policy letting anyone read
    the objects under its prefix; both read first, so a second run changes nothing. With
    `dry_run`, only read. Raises StorageError (one line) on any failure."""
    bucket = _Bucket(storage)
    statement = policy_statement(storage.bucket, storage.prefix)
    rules = merged_rules(bucket.rules())
    policy = merged_policy(bucket.policy(), statement)
    settings = [
        Setting(
            "CORS rules",
            storage.bucket,
            None if rules is None else {"CORSRules": rules},
            f"{', '.join(METHODS)} from any origin, with {', '.join(REQUEST_HEADERS)}",
        ),
        Setting(
            "bucket policy",
            storage.bucket,
            policy,
            f"anyone may s3:GetObject {statement['Resource']}",
        ),
    ]
    if not dry_run:
        if rules is not None:
            bucket.put_rules(rules)
        if policy is not None:
            bucket.put_policy(policy)
    return settings
