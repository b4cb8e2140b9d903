"""STS: who the run is."""

from __future__ import annotations

from dataclasses import dataclass

from envtest.gather.services.base import Reader, call


@dataclass(frozen=True)
class CallerIdentity:
    """GetCallerIdentity's answer (STS API reference): the account, the caller's ARN, its user id."""

    account: str
    arn: str
    user_id: str

    @property
    def partition(self) -> str:
        """aws, aws-us-gov or aws-cn: the ARNs of this account are written in it."""
        return self.arn.split(":")[1]


class StsReads(Reader):
    def caller_identity(self) -> CallerIdentity:
        """Who the run's credentials are (GetCallerIdentity)."""

        def fetch() -> dict[str, str]:
            answer = call("sts:GetCallerIdentity", self.aws.client("sts").get_caller_identity)
            return {k: answer[k] for k in ("Account", "Arn", "UserId")}

        found = self._cached("sts.caller_identity", fetch)
        return CallerIdentity(found["Account"], found["Arn"], found["UserId"])
