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
whole bucket's; ours first, as S3 applies the first rule that matches) together with a
public-read bucket policy (`put_bucket_policy`: s3:GetObject on the objects under the storage's
prefix — never the state, which `locate` keeps outside it, and the prefix holds no wildcard).
Other CORS rules and policy statements of the bucket are kept — but an older statement of ours
that lets anyone read the state is removed, and another's is warned of; a run that finds both as
wanted changes nothing (idempotent); `dry_run` says what would be set and sets nothing. A store
without bucket policies (Cloudflare R2) gets the CORS rules and a line on what to set by hand.
"""

from __future__ import annotations

import hashlib
import json
import re
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
OUR_SID = "PodcastToolsPublicRead"  # + a hash of the prefix: one statement per prefix
#: how stores without bucket policies (Cloudflare R2 …) answer their calls
UNSUPPORTED = ("NotImplemented", "MethodNotAllowed", "NotImplementedError")
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
    sid = OUR_SID + hashlib.sha256(prefix.encode()).hexdigest()[:8]
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
    """The bucket's CORS rules with ours before every rule that allows any origin, or None when
    ours (or an equal rule) is already there, after no such rule. S3 applies the first rule that
    matches a request's origin and method: an earlier `*` rule without our exposed headers would
    hide Content-Range from players, while a rule for named origins (an admin site's, say) keeps
    its place — before ours, or after — and so its meaning for those origins. A rule of ours
    that differs (an older version) is replaced."""
    wanted = cors_rule()
    for rule in rules:
        if _same_rule(rule, wanted):
            return None  # in place: no rule for any origin before it
        if _any_origin(rule):
            break
    others = [r for r in rules if r.get("ID") != CORS_RULE_ID and not _same_rule(r, wanted)]
    at = next((i for i, rule in enumerate(others) if _any_origin(rule)), len(others))
    return others[:at] + [wanted] + others[at:]


def _any_origin(rule: dict) -> bool:
    return "*" in _listed(rule.get("AllowedOrigins"))


def _statements(policy: dict | None) -> list[dict]:
    statements = (policy or {}).get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def merged_policy(
    policy: dict | None, statement: dict, *, dropped: tuple[dict, ...] = ()
) -> dict | None:
    """The bucket policy with the public-read statement in it and without the `dropped` ones, or
    None when an equal statement is already there and nothing is dropped. Other statements are
    kept; one of ours with the same Sid is replaced."""
    if policy is None:
        return {"Version": POLICY_VERSION, "Statement": [statement]}
    statements = [found for found in _statements(policy) if found not in dropped]
    if any(_same_statement(found, statement) for found in statements) and not dropped:
        return None
    kept = [found for found in statements if found.get("Sid") != statement["Sid"]]
    if any(_same_statement(found, statement) for found in kept):
        return {**policy, "Statement": kept}
    return {**policy, "Statement": kept + [statement]}


def _lets_anyone_read(statement: dict) -> bool:
    """Whether a statement allows anyone s3:GetObject (as ours does, or more)."""
    principal = statement.get("Principal")
    anyone = principal == "*" or (
        isinstance(principal, dict) and "*" in _listed(principal.get("AWS"))
    )
    actions = [str(action).lower() for action in _listed(statement.get("Action"))]
    reads = any(
        action == "s3:getobject"
        or (action.endswith("*") and "s3:getobject".startswith(action[:-1]))
        for action in actions
    )
    return (
        statement.get("Effect") == "Allow" and anyone and reads and "NotResource" not in statement
    )


def covers_state(statement: dict, bucket: str, state_prefix: str) -> bool:
    """Whether a statement lets anyone read keys under `state_prefix`/ of `bucket` (its Resource
    patterns, * and ? as a policy reads them, matched against a state key).

    >>> covers_state(policy_statement("media", ""), "media", "podcast.state")
    True
    >>> covers_state(policy_statement("media", "podcast"), "media", "podcast.state")
    False
    """
    if not _lets_anyone_read(statement):
        return False
    keys = [f"arn:aws:s3:::{bucket}/{state_prefix}/{key}" for key in ("manifest.json", "x")]
    for resource in _listed(statement.get("Resource")):
        pattern = re.escape(str(resource)).replace(r"\*", ".*").replace(r"\?", ".")
        if any(re.fullmatch(pattern, key, re.S) for key in keys):
            return True
    return False


def _exposing(policy: dict | None, bucket: str, state_prefix: str | None) -> list[dict]:
    """The policy's statements that let anyone read the state (none when it is elsewhere)."""
    if state_prefix is None:
        return []
    return [found for found in _statements(policy) if covers_state(found, bucket, state_prefix)]


@dataclass(frozen=True)
class Setting:
    """One thing `set_up` sets: what, on which bucket, the document, and whether it changes."""

    what: str  # "CORS rules" or "bucket policy"
    bucket: str
    document: dict | None  # what is (or would be) set; None when it is already there
    summary: str
    note: str | None = None  # said instead (what could not be set, what else was found)

    def line(self, *, dry_run: bool) -> str:
        if self.note is not None:
            return f"s3://{self.bucket}: {self.note}"
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
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if "policy" in action and (code in UNSUPPORTED or status == 501):
                raise NoPolicies(f"s3://{self.bucket}: cannot {action}: {code or status}") from None
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


class NoPolicies(StorageError):
    """The store has no bucket policies (Cloudflare R2: NotImplemented)."""


_NO_CORS = ("NoSuchCORSConfiguration",)
_NO_POLICY = ("NoSuchBucketPolicy",)


def _no_policies(storage: S3Storage) -> Setting:
    """What to say for a store without bucket policies: where public read must be set."""
    where = f"the objects under {storage.prefix}/" if storage.prefix else "the bucket"
    note = (
        f"this store has no bucket policies: make {where} publicly readable in the provider's "
        "console (Cloudflare R2: the bucket's public access), never the state"
    )
    return Setting("bucket policy", storage.bucket, None, "", note=note)


def _state_notes(
    bucket: str, dropped: list[dict], foreign: list[dict], state_prefix: str, dry_run: bool
) -> list[Setting]:
    """One line per statement that let anyone read the state: ours (older, another prefix)
    removed; another's warned of by its Sid."""
    verb = "would remove" if dry_run else "removed"
    state = f"{bucket}/{state_prefix}/"
    notes = [
        f"bucket policy: {verb} our older statement {found.get('Sid')} "
        f"({', '.join(_listed(found.get('Resource')))}): it let anyone read the state {state}"
        for found in dropped
    ] + [
        f"warning: the bucket policy's statement {found.get('Sid') or '(no Sid)'} lets anyone "
        f"read the state {state}; remove it or narrow its Resource"
        for found in foreign
    ]
    return [Setting("bucket policy", bucket, None, "", note=note) for note in notes]


def set_up(
    storage: S3Storage, *, dry_run: bool = False, state: object | None = None
) -> list[Setting]:
    """Give the storage's bucket the CORS rule web players need (first among its rules) and a
    policy letting anyone read the objects under its prefix; both read first, so a second run
    changes nothing. With `dry_run`, only read. `state`: the state's store; when it is in the
    same bucket, our older statements that let anyone read it are removed, others' warned of.
    A store without bucket policies still gets the CORS rules and a line on what to do by hand.
    Raises StorageError (one line) on any other failure."""
    bucket = _Bucket(storage)
    statement = policy_statement(storage.bucket, storage.prefix)
    rules = merged_rules(bucket.rules())
    cors = Setting(
        "CORS rules",
        storage.bucket,
        None if rules is None else {"CORSRules": rules},
        f"{', '.join(METHODS)} from any origin, with {', '.join(REQUEST_HEADERS)}",
    )
    same_bucket = getattr(state, "bucket", None) == storage.bucket
    state_prefix = getattr(state, "prefix", None) if same_bucket else None
    try:
        found = bucket.policy()
    except NoPolicies:
        settings = [cors, _no_policies(storage)]
    else:
        exposing = _exposing(found, storage.bucket, state_prefix)
        dropped = [it for it in exposing if str(it.get("Sid", "")).startswith(OUR_SID)]
        policy = merged_policy(found, statement, dropped=tuple(dropped))
        summary = f"anyone may s3:GetObject {statement['Resource']}"
        settings = [cors, Setting("bucket policy", storage.bucket, policy, summary)]
        foreign = [it for it in exposing if it not in dropped]
        settings += _state_notes(storage.bucket, dropped, foreign, state_prefix or "", dry_run)
    if not dry_run:
        if rules is not None:
            bucket.put_rules(rules)
        if settings[1].document is not None:
            try:
                bucket.put_policy(settings[1].document)
            except NoPolicies:
                settings[1] = _no_policies(storage)
    return settings
