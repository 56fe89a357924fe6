"""`podcast storage setup` (issue 25 item 8): a bucket's CORS rules and public-read policy, set
with boto3 against the real SeaweedFS (tests/s3server.py) — which, like AWS S3, sends no CORS
headers until a bucket's rules are set and lets unsigned requests read a test bucket only once a
bucket policy allows it. Listeners and browsers are played by urllib without credentials, with
an Origin header as a page of another site sends it. Nothing here contacts any host but 127.0.0.1.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podcast_tools.publish import access
from tests import s3server
from tests.conftest import edit, podcast
from tests.test_public import ROW, SAMPLE_BASE, SAMPLE_STORAGE, listener

ORIGIN = "https://player.example"  # a web player's site (only sent as a header, never contacted)


def point_at(root: Path, s3_server, bucket: str, prefix: str = "net") -> str:
    """network.toml's storage is s3://bucket/prefix, its base_url where the test server serves it."""
    base = f"{s3_server.endpoint}/{bucket}/{prefix}/"
    edit(root / "episodes/network.toml", SAMPLE_BASE, f'base_url = "{base}"')
    edit(root / "episodes/network.toml", SAMPLE_STORAGE, f'storage = "s3://{bucket}/{prefix}"')
    return base


def put(s3_server, bucket: str, key: str, body: bytes = b"<rss/>") -> None:
    s3_server.client().put_object(
        Bucket=bucket, Key=key, Body=body, ContentType="application/rss+xml"
    )


def cors_rules(s3_server, bucket: str) -> list[dict]:
    from botocore.exceptions import ClientError

    try:
        return s3_server.client().get_bucket_cors(Bucket=bucket)["CORSRules"]
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchCORSConfiguration"
        return []


def bucket_policy(s3_server, bucket: str) -> dict | None:
    from botocore.exceptions import ClientError

    try:
        return json.loads(s3_server.client().get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchBucketPolicy"
        return None


def as_browser(url: str, method: str = "GET") -> tuple[int, dict]:
    """(status, the Access-Control-* headers) of an unsigned request from a page of ORIGIN."""
    headers = {"Origin": ORIGIN}
    if method == "OPTIONS":
        headers |= {
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range",
        }
    status, answer, _ = listener(url, method=method, headers=headers)
    return status, {k.lower(): v for k, v in answer.items() if k.lower().startswith("access-")}


def test_setup_lets_listeners_and_web_players_read_the_prefix_and_nothing_else(
    sample: Path, s3_server, bucket: str
):
    base = point_at(sample, s3_server, bucket)
    put(s3_server, bucket, "net/itsmwp/feed.xml")
    put(s3_server, bucket, "net.state/manifest.json", b"{}")
    put(s3_server, bucket, "other/feed.xml")
    feed = f"{base}itsmwp/feed.xml"
    assert as_browser(feed) == (403, {})  # a fresh bucket: private, and no CORS

    dry = podcast(sample, "storage", "setup", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"s3://{bucket}: CORS rules would set (GET, HEAD from any origin" in dry.stdout
    assert (
        f"s3://{bucket}: bucket policy would set (anyone may s3:GetObject "
        f"arn:aws:s3:::{bucket}/net/*)" in dry.stdout
    )
    assert '"AllowedOrigins": [\n' in dry.stdout and '"s3:GetObject"' in dry.stdout
    assert cors_rules(s3_server, bucket) == [] and bucket_policy(s3_server, bucket) is None
    assert as_browser(feed) == (403, {})  # nothing set

    done = podcast(sample, "storage", "setup")
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines() == [
        f"s3://{bucket}: CORS rules set (GET, HEAD from any origin, with Range, If-Range, "
        "If-None-Match, If-Modified-Since)",
        f"s3://{bucket}: bucket policy set (anyone may s3:GetObject arn:aws:s3:::{bucket}/net/*)",
    ]
    status, cors = as_browser(feed)
    assert status == 200 and cors["access-control-allow-origin"] in ("*", ORIGIN)
    exposed = {h.strip().lower() for h in cors["access-control-expose-headers"].split(",")}
    assert {"content-length", "content-range", "etag", "accept-ranges"} <= exposed
    status, preflight = as_browser(feed, "OPTIONS")
    assert status in (200, 204) and preflight["access-control-allow-origin"] in ("*", ORIGIN)
    assert {"GET", "HEAD"} <= {
        m.strip() for m in preflight["access-control-allow-methods"].split(",")
    }
    assert "range" in preflight["access-control-allow-headers"].lower()
    # listeners read the prefix only: never the state beside it, nor the rest of the bucket
    assert listener(f"{s3_server.endpoint}/{bucket}/net.state/manifest.json")[0] == 403
    assert listener(f"{s3_server.endpoint}/{bucket}/other/feed.xml")[0] == 403
    assert listener(f"{base}itsmwp/feed.xml", method="PUT")[0] == 403

    rules, policy = cors_rules(s3_server, bucket), bucket_policy(s3_server, bucket)
    again = podcast(sample, "storage", "setup")  # idempotent: a second run changes nothing
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines() == [
        f"s3://{bucket}: CORS rules already set (GET, HEAD from any origin, with Range, "
        "If-Range, If-None-Match, If-Modified-Since)",
        f"s3://{bucket}: bucket policy already set (anyone may s3:GetObject "
        f"arn:aws:s3:::{bucket}/net/*)",
    ]
    assert (cors_rules(s3_server, bucket), bucket_policy(s3_server, bucket)) == (rules, policy)
    dry_again = podcast(sample, "storage", "setup", "--dry-run")
    assert dry_again.stdout == again.stdout  # nothing it would set: no documents printed


def test_the_buckets_other_rules_and_statements_are_kept(sample: Path, s3_server, bucket: str):
    point_at(sample, s3_server, bucket)
    client = s3_server.client()
    theirs = {
        "ID": "uploads-from-the-cms",
        "AllowedOrigins": ["https://cms.example"],
        "AllowedMethods": ["PUT"],
        "AllowedHeaders": ["*"],
        "MaxAgeSeconds": 600,
    }
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [theirs]})
    other_statement = access.policy_statement(bucket, "another-network")
    client.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [other_statement]}),
    )
    assert podcast(sample, "storage", "setup").exit_code == 0
    rules = cors_rules(s3_server, bucket)
    # a rule for named origins keeps its place: S3 takes the first match, and for the CMS's own
    # origin it goes on meaning what it meant; ours follows it (no rule for any origin before it)
    assert [rule.get("ID") for rule in rules] == ["uploads-from-the-cms", access.CORS_RULE_ID]
    assert rules[0]["AllowedOrigins"] == ["https://cms.example"]
    statements = bucket_policy(s3_server, bucket)["Statement"]
    resources = [statement["Resource"] for statement in statements]
    assert resources == [f"arn:aws:s3:::{bucket}/another-network/*", f"arn:aws:s3:::{bucket}/net/*"]


def test_a_folder_target_is_told_what_its_web_server_must_send(sample: Path):
    result = podcast(sample, "storage", "setup")
    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()
    assert line.startswith(f"file://{sample}/public is a folder: the web server that serves it")
    assert "Access-Control-Allow-Origin: *" in line and "Range" in line


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("no bucket", "cannot read the CORS rules: NoSuchBucket: bucket {missing} does not exist"),
        ("no credentials", "no credentials (set AWS_PROFILE or AWS_ACCESS_KEY_ID"),
        ("wrong secret", "cannot read the CORS rules: SignatureDoesNotMatch"),
        ("read only", "cannot set the CORS rules: AccessDenied"),
    ],
)
def test_a_failure_is_one_line_and_exit_3(
    sample: Path, s3_server, bucket: str, monkeypatch, tmp_path: Path, case: str, expected: str
):
    missing = f"{bucket[:50]}-missing"
    point_at(sample, s3_server, missing if case == "no bucket" else bucket)
    if case == "no credentials":
        for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.delenv(variable)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    elif case == "wrong secret":
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    elif case == "read only":
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3server.READER_KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3server.READER_SECRET)
    result = podcast(sample, "storage", "setup")
    assert result.exit_code == 3, result.output
    [line] = result.stderr.strip().splitlines()
    assert expected.format(missing=missing) in line, line
    assert s3server.SECRET_KEY not in result.output and "not-the-secret" not in result.output
    assert cors_rules(s3_server, bucket) == [] and bucket_policy(s3_server, bucket) is None


def test_check_public_names_a_bucket_without_cors_and_setup_makes_it_pass(
    sample: Path, s3_server, bucket: str
):
    """A private bucket after `podcast publish`: listeners read nothing; after `podcast storage
    setup` every check holds, the CORS one included (issue 25 item 8)."""
    base = point_at(sample, s3_server, bucket)
    assert podcast(sample, "publish", ROW).exit_code == 0
    before = podcast(sample, "check-public")
    assert before.exit_code == 3
    assert f"FAIL feed {base}publisher.xml: answered 403; expected 200" in before.stdout

    # the policy alone (as a producer may have set it by hand): only the CORS check fails
    client = s3_server.client()
    policy = {"Version": "2012-10-17", "Statement": [access.policy_statement(bucket, "net")]}
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    no_cors = podcast(sample, "check-public")
    assert no_cors.exit_code == 3
    failed = [line for line in no_cors.stdout.splitlines() if line.startswith("FAIL ")]
    assert failed == [
        f"FAIL cors {base}publisher.xml: no Access-Control-Allow-Origin for a page of another "
        "site, so web players cannot fetch the feeds, chapters or transcripts; run `podcast "
        "storage setup`"
    ]

    assert podcast(sample, "storage", "setup").exit_code == 0
    after = podcast(sample, "check-public")
    assert after.exit_code == 0, after.stdout
    assert f"ok   cors {base}publisher.xml: Access-Control-Allow-Origin: " in after.stdout


# --- the merging itself (no server) ---------------------------------------------------------------


def test_a_statement_granting_the_same_in_another_shape_counts_as_set():
    ours = access.policy_statement("media", "net")
    assert ours["Resource"] == "arn:aws:s3:::media/net/*"
    assert access.policy_statement("media", "")["Resource"] == "arn:aws:s3:::media/*"
    assert (
        access.policy_statement("media", "a")["Sid"] != access.policy_statement("media", "b")["Sid"]
    )
    by_hand = {  # one value as a list, another Sid, a lone statement instead of a list
        "Sid": "ListenersReadThePublicPrefix",
        "Effect": "Allow",
        "Principal": "*",
        "Action": ["s3:GetObject"],
        "Resource": ["arn:aws:s3:::media/net/*"],
    }
    assert access.merged_policy({"Version": "2012-10-17", "Statement": by_hand}, ours) is None
    # with a condition it grants less: ours is added, the other kept
    limited = {**by_hand, "Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}}
    merged = access.merged_policy({"Version": "2012-10-17", "Statement": [limited]}, ours)
    assert merged["Statement"] == [limited, ours]
    # an older statement of ours (same Sid, another grant) is replaced, not doubled
    older = {**ours, "Action": "s3:GetObjectVersion"}
    merged = access.merged_policy({"Version": "2012-10-17", "Statement": [older]}, ours)
    assert merged["Statement"] == [ours]


def test_an_equal_cors_rule_counts_as_set_and_an_older_one_of_ours_is_replaced():
    wanted = access.cors_rule()
    reordered = {
        key: list(reversed(value)) if isinstance(value, list) else value
        for key, value in wanted.items()
        if key != "ID"
    }
    assert access.merged_rules([reordered]) is None
    older = {**wanted, "AllowedHeaders": ["Range"]}
    other = {"AllowedOrigins": ["https://cms.example"], "AllowedMethods": ["PUT"]}
    # a rule for named origins keeps its place before ours: S3 takes the first match, and for
    # its origins it must go on meaning what it meant (an admin site's credentials, its headers)
    assert access.merged_rules([older, other]) == [other, wanted]
    assert access.merged_rules([other, wanted]) is None
    assert access.merged_rules([wanted, other]) is None
    assert access.merged_rules([]) == [wanted]
    # ours goes before the first rule that allows any origin, which would otherwise win for
    # every web player without exposing the range and size headers
    star = {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}
    assert access.merged_rules([other, star]) == [other, wanted, star]
    assert access.merged_rules([other, star, wanted]) == [other, wanted, star]
    assert access.merged_rules([other, wanted, star]) is None


def test_a_wildcard_in_the_prefix_is_refused_before_any_policy(tmp_path: Path):
    """Review of issue 25 item 8: s3://media/p* made the grant arn:aws:s3:::media/p*/*, which a
    policy reads as a wildcard matching the state's p*.state/manifest.json."""
    from podcast_tools.publish import StorageError
    from podcast_tools.publish.storage import S3Storage

    for prefix in ("p*", "net/a?c"):
        with pytest.raises(StorageError) as caught:
            S3Storage("media", prefix)
        assert str(caught.value) == (
            f's3://media/{prefix}: the prefix "{prefix}" holds a * or ?, which a bucket policy '
            "reads as a wildcard (its public-read grant could reach other keys, the state's "
            "among them)"
        )
        with pytest.raises(AssertionError):
            access.policy_statement("media", prefix)


def test_our_cors_rule_goes_first_before_a_rule_that_would_win(
    sample: Path, s3_server, bucket: str
):
    """Review of issue 25 item 8: S3 applies the FIRST rule matching the origin and method; an
    existing */GET rule without ExposeHeaders, before ours, hid Content-Range from players."""
    point_at(sample, s3_server, bucket)
    plain = {"ID": "any-site-may-get", "AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}
    client = s3_server.client()
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [plain]})
    assert podcast(sample, "storage", "setup").exit_code == 0
    rules = cors_rules(s3_server, bucket)
    assert [rule.get("ID") for rule in rules] == [access.CORS_RULE_ID, "any-site-may-get"]
    assert rules[0]["ExposeHeaders"] == list(access.EXPOSED_HEADERS)
    again = podcast(sample, "storage", "setup")
    assert "CORS rules already set" in again.stdout
    assert cors_rules(s3_server, bucket) == rules


def statements(s3_server, bucket: str) -> list[dict]:
    return (bucket_policy(s3_server, bucket) or {}).get("Statement", [])


def test_an_older_grant_of_ours_that_exposes_the_state_is_removed_anothers_is_named(
    sample: Path, s3_server, bucket: str
):
    """Review of issue 25 item 8: statements are keyed by their prefix, so a grant of ours from
    before a move to s3://BUCKET/net (media/* , for a network at the bucket's root) stayed and
    let anyone read the state net.state/. Ours is removed (one line); another's is named."""
    point_at(sample, s3_server, bucket)
    put(s3_server, bucket, "net.state/manifest.json", b"{}")
    older = access.policy_statement(bucket, "")
    elsewhere = access.policy_statement(bucket, "another-network")
    client = s3_server.client()
    document = {"Version": "2012-10-17", "Statement": [older, elsewhere]}
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(document))
    state = f"{s3_server.endpoint}/{bucket}/net.state/manifest.json"
    assert listener(state)[0] == 200  # the leak

    dry = podcast(sample, "storage", "setup", "--dry-run")
    line = (
        f"s3://{bucket}: bucket policy: would remove our older statement {older['Sid']} "
        f"(arn:aws:s3:::{bucket}/*): it let anyone read the state {bucket}/net.state/"
    )
    assert line in dry.stdout.splitlines()
    assert listener(state)[0] == 200  # nothing set

    done = podcast(sample, "storage", "setup")
    assert done.exit_code == 0, done.output
    assert line.replace("would remove", "removed") in done.stdout.splitlines()
    resources = [statement["Resource"] for statement in statements(s3_server, bucket)]
    assert resources == [f"arn:aws:s3:::{bucket}/another-network/*", f"arn:aws:s3:::{bucket}/net/*"]
    assert listener(state)[0] == 403

    theirs = {**older, "Sid": "EverythingIsPublic", "Action": ["s3:Get*"]}
    document = {"Version": "2012-10-17", "Statement": [*statements(s3_server, bucket), theirs]}
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(document))
    warned = podcast(sample, "storage", "setup")
    assert warned.exit_code == 0, warned.output
    assert warned.stdout.splitlines()[1:] == [
        f"s3://{bucket}: bucket policy already set (anyone may s3:GetObject "
        f"arn:aws:s3:::{bucket}/net/*)",
        f"s3://{bucket}: warning: the bucket policy's statement EverythingIsPublic lets anyone "
        f"read the state {bucket}/net.state/; remove it or narrow its Resource",
    ]
    assert statements(s3_server, bucket)[-1]["Sid"] == "EverythingIsPublic"  # not ours: kept


@pytest.mark.parametrize(
    ("operation", "code", "status"),
    [("GetBucketPolicy", "NotImplemented", 501), ("PutBucketPolicy", "MethodNotAllowed", 405)],
)
def test_a_store_without_bucket_policies_still_gets_its_cors_rules(
    sample: Path, s3_server, bucket: str, monkeypatch, operation: str, code: str, status: int
):
    """Review of issue 25 item 8: Cloudflare R2 implements no bucket policies; setup failed as
    a whole. The fault is injected (SeaweedFS has policies) on the policy call only: the CORS
    rules go to the real server, and one line says where public read must be set."""
    from botocore.awsrequest import AWSResponse

    def refuse(**_):
        error = {"Code": code, "Message": f"{operation} is not implemented"}
        metadata = {"HTTPStatusCode": status}
        answer = AWSResponse(f"{s3_server.endpoint}/{bucket}?policy", status, {}, None)
        return answer, {"Error": error, "ResponseMetadata": metadata}

    opened = access._Bucket.__init__

    def with_fault(self, storage):
        opened(self, storage)
        self.client.meta.events.register(f"before-call.s3.{operation}", refuse)

    monkeypatch.setattr(access._Bucket, "__init__", with_fault)
    point_at(sample, s3_server, bucket)
    result = podcast(sample, "storage", "setup")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"s3://{bucket}: CORS rules set (GET, HEAD from any origin, with Range, If-Range, "
        "If-None-Match, If-Modified-Since)",
        f"s3://{bucket}: this store has no bucket policies: make the objects under net/ publicly "
        "readable in the provider's console (Cloudflare R2: the bucket's public access), never "
        "the state",
    ]
    assert [rule["ID"] for rule in cors_rules(s3_server, bucket)] == [access.CORS_RULE_ID]
    assert bucket_policy(s3_server, bucket) is None
