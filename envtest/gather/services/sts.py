"""STS: who the run is."""

from __future__ import annotations

from envtest.gather.services.base import Reader, call


class StsReads(Reader):
    def caller_identity(self) -> dict[str, str]:
        """{"Account", "Arn", "UserId"} of the run's credentials (GetCallerIdentity)."""

        def fetch() -> dict[str, str]:
            answer = call("sts:GetCallerIdentity", self.aws.client("sts").get_caller_identity)
            return {k: answer[k] for k in ("Account", "Arn", "UserId")}

        return self._cached("sts.caller_identity", fetch)
