"""One botocore data loader per process (gather/aws.py): the run's sessions (the preflight's, the host reads',
an assumed role's) read each service's model once, and each keeps its own credentials."""

from __future__ import annotations

from typing import Any

import botocore.credentials
import botocore.loaders
import botocore.session
import pytest

from envtest.gather.aws import Aws


@pytest.fixture
def model_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files botocore's loaders read from disk from now on."""
    reads: list[str] = []
    original = botocore.loaders.JSONFileLoader.load_file

    def recording(self: Any, file_path: str) -> Any:
        reads.append(file_path)
        return original(self, file_path)

    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file", recording)
    return reads


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDRUN")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "run-secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_a_second_session_reads_no_model_again(model_reads: list[str]) -> None:
    Aws("us-west-2").client("elasticache")  # read here, or by an earlier session of this process
    model_reads.clear()
    assumed = Aws("eu-west-1", credentials=botocore.credentials.Credentials("AKIDOTHER", "other-secret"))
    assumed.client("elasticache")
    assert model_reads == []


def test_a_session_of_its_own_reads_the_models_again(model_reads: list[str]) -> None:
    """The seeded case: a botocore session with a loader of its own reads every file again."""
    Aws("us-west-2").client("elasticache")
    model_reads.clear()
    botocore.session.Session().create_client("elasticache", region_name="us-west-2")
    assert any("elasticache" in path for path in model_reads)


def test_each_session_keeps_its_own_credentials() -> None:
    given = botocore.credentials.Credentials("AKIDOTHER", "other-secret")
    run = Aws("us-west-2").client("sts")
    other = Aws("us-west-2", credentials=given).client("sts")
    assert run._request_signer._credentials.access_key == "AKIDRUN"
    assert other._request_signer._credentials.access_key == "AKIDOTHER"


def test_a_built_client_is_handed_out_while_another_is_being_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """The host reads' SSM looks ask for their (built) client while the plan builds IAM's or EC2's, which holds the
    build for 0.05 to 0.2 s: they must not queue behind it (seen: SSM's first look 0.4 s late)."""
    import threading

    aws = Aws("us-west-2")
    ssm = aws.client("ssm")
    building, release = threading.Event(), threading.Event()
    original = botocore.session.Session.create_client

    def slow(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        if service_name == "iam":
            building.set()
            assert release.wait(timeout=30)
        return original(self, service_name, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", slow)
    builder = threading.Thread(target=aws.client, args=("iam",), daemon=True)
    builder.start()
    try:
        assert building.wait(timeout=10)
        handed: list[Any] = []
        asker = threading.Thread(target=lambda: handed.append(aws.client("ssm")), daemon=True)
        asker.start()
        asker.join(timeout=5)
        assert handed == [ssm], "the built SSM client waited for IAM's to be built"
    finally:
        release.set()
        builder.join(timeout=30)
    assert aws.client("iam") is aws.client("iam")  # built once, then handed out
