"""S3: buckets, objects, and what decides a bucket's access (its policy, public access block, ACL)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

from envtest.errors import CouldNotEvaluate
from envtest.gather.services.base import ABSENT, NOT_FOUND, Reader, call
from envtest.redact import register

# The most of an object read whole. The largest the checks read is the env's terraform state (megabytes); the
# allowed-images file, the error pages and the token are kilobytes. An object past this is not the file a check
# expects, and reading it would hold the run's memory (and the run's cache, for a shared object) hostage.
OBJECT_LIMIT = 64 * 1024 * 1024
# A secret is measured and registered for redaction, which then looks for it in every output: a token is tens of
# bytes, and a "secret" of megabytes would be neither.
SECRET_LIMIT = 64 * 1024


@dataclass(frozen=True)
class SecretFacts:
    """The size and shape of a secret object: what a check may know of it (never its value)."""

    exists: bool
    size: int = 0
    stripped_length: int = 0
    lines: int = 0
    matches_pattern: bool = False


class S3Reads(Reader):
    def bucket_exists(self, bucket: str) -> bool:
        def fetch() -> bool:
            s3 = self.aws.client("s3")
            return call(f"s3:HeadBucket {bucket}", lambda: s3.head_bucket(Bucket=bucket), NOT_FOUND) is not ABSENT

        return self._cached(f"s3.bucket_exists:{bucket}", fetch)

    def secret_object_facts(self, bucket: str, key: str, label: str, pattern: str) -> SecretFacts:
        """Size and shape of a secret object; the value is registered for redaction and dropped."""

        def fetch() -> dict[str, Any]:
            body = self.object_bytes(bucket, key, limit=SECRET_LIMIT)
            if body is None:
                return {"exists": False}
            text = body.decode("utf-8", errors="replace")
            register(text, label)
            stripped = text.strip()
            return {
                "exists": True,
                "size": len(body),
                "stripped_length": len(stripped),
                "lines": len(stripped.splitlines()),
                "matches_pattern": bool(re.fullmatch(pattern, stripped)),
            }

        return SecretFacts(**self._cached(f"s3.secret_facts:{bucket}/{key}:{pattern}", fetch))

    def shared_object(self, bucket: str, key: str) -> bytes | None:
        """A non-secret object's content, read once per run and shared (None when absent)."""

        def fetch() -> str | None:
            body = self.object_bytes(bucket, key)
            return None if body is None else base64.b64encode(body).decode()

        encoded = self._cached(f"s3.object:{bucket}/{key}", fetch)
        return None if encoded is None else base64.b64decode(encoded)

    def bucket_policy(self, bucket: str) -> str | None:
        """The bucket's policy document as written; None when it has none (or the bucket does not exist)."""

        def fetch() -> str | None:
            s3 = self.aws.client("s3")
            absent = NOT_FOUND | {"NoSuchBucketPolicy"}
            found = call(f"s3:GetBucketPolicy {bucket}", lambda: s3.get_bucket_policy(Bucket=bucket), absent)
            return None if found is ABSENT else str(found["Policy"])

        return self._cached(f"s3.bucket_policy:{bucket}", fetch)

    def bucket_public_access_block(self, bucket: str) -> dict[str, bool] | None:
        """The bucket's own public access block (its four flags, by AWS's names); None when it has none."""

        def fetch() -> dict[str, bool] | None:
            s3 = self.aws.client("s3")
            absent = frozenset({"NoSuchPublicAccessBlockConfiguration"})
            found = call(f"s3:GetPublicAccessBlock {bucket}", lambda: s3.get_public_access_block(Bucket=bucket), absent)
            return None if found is ABSENT else dict(found["PublicAccessBlockConfiguration"])

        return self._cached(f"s3.public_access_block:{bucket}", fetch)

    def bucket_acl_grants(self, bucket: str) -> list[dict[str, Any]]:
        """The bucket ACL's grants, in GetBucketAcl's shape: policy/public_access.py judges them (a pure parser
        of that documented format, with its own tests), so they are handed on as AWS wrote them."""

        def fetch() -> list[dict[str, Any]]:
            s3 = self.aws.client("s3")
            return list(call(f"s3:GetBucketAcl {bucket}", lambda: s3.get_bucket_acl(Bucket=bucket)).get("Grants", []))

        return self._cached(f"s3.bucket_acl:{bucket}", fetch)

    def object_bytes(self, bucket: str, key: str, *, limit: int = OBJECT_LIMIT) -> bytes | None:
        """An object's content, not cached (it may be a secret, or large); None when absent.

        At most `limit` bytes are read: a larger object is CouldNotEvaluate, refused on its declared length
        before its body is read, or once more than `limit` bytes came."""
        s3 = self.aws.client("s3")

        def read() -> tuple[int, bytes]:  # inside call, so a failure is turned into a cause
            answer = s3.get_object(Bucket=bucket, Key=key)
            body = answer["Body"]
            try:
                declared = int(answer.get("ContentLength") or 0)
                data = b"" if declared > limit else bytes(body.read(limit + 1))
            finally:
                body.close()
            return declared, data

        found = call(f"s3:GetObject s3://{bucket}/{key}", read, NOT_FOUND)
        if found is ABSENT:
            return None
        declared, data = found
        if declared > limit or len(data) > limit:
            size = f"is {declared:,} bytes, larger" if declared > limit else "is larger"
            raise CouldNotEvaluate(
                f"s3://{bucket}/{key} {size} than the {limit:,}-byte cap on an object read whole: not read (it "
                "is not the file the check expects; look at what was uploaded there)"
            )
        return data
