"""A command the suite gives up on is cancelled (botocore's Stubber: SSM's documented answers, no sandbox).

The sandbox's SSM double does not implement CancelCommand, so the proof is here, through the real run_command.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.stub import Stubber

from envtest.errors import CouldNotEvaluate
from envtest.gather.aws_guard import writes_allowed
from envtest.gather.inventory import Inventory
from envtest.hosts.ssm import run_command
from envtest.hosts.ssm_cancel import cancelled_if_abandoned
from selftests.conftest import ScriptedLooks, stub

INSTANCE = "i-0123456789abcdef0"
COMMAND_ID = "11111111-2222-3333-4444-555555555555"


def _sent(ssm: Stubber, status: str | None) -> None:
    """The instance Online, the command sent, and its answer fetched once the looks list it as finished (SSM API
    reference: SendCommand, GetCommandInvocation); the looks themselves are the test's (ScriptedLooks)."""
    ssm.add_response(
        "describe_instance_information",
        {"InstanceInformationList": [{"InstanceId": INSTANCE, "PingStatus": "Online"}]},
    )
    ssm.add_response(
        "send_command",
        {"Command": {"CommandId": COMMAND_ID, "InstanceIds": [INSTANCE], "RequestedDateTime": datetime.now(UTC)}},
    )
    if status != "Success":
        return  # never listed as finished: never fetched
    ssm.add_response(
        "get_command_invocation",
        {
            "CommandId": COMMAND_ID,
            "InstanceId": INSTANCE,
            "Status": status,
            "ResponseCode": 0,
            "StandardOutputContent": "op=put rc=0 ",
        },
        {"CommandId": COMMAND_ID, "InstanceId": INSTANCE},
    )


# What the live access matrix declares of these (tests/test_s3_access.py).
DECLARED = ("ssm:SendCommand", "ssm:CancelCommand")


def test_a_write_the_wait_gives_up_on_is_cancelled_before_the_error_goes_on(
    inventory: Inventory, ssm_looks: ScriptedLooks
) -> None:
    ssm_looks.say({INSTANCE: "InProgress"})
    ssm = stub(inventory, "ssm")
    _sent(ssm, "InProgress")
    ssm.add_response("cancel_command", {}, {"CommandId": COMMAND_ID})
    ssm.add_response(
        "list_command_invocations",
        {"CommandInvocations": [{"CommandId": COMMAND_ID, "InstanceId": INSTANCE, "Status": "Cancelled"}]},
        {"CommandId": COMMAND_ID},
    )
    gives_up = pytest.raises(CouldNotEvaluate, match="no result in time")
    with (
        writes_allowed(True, "a disruptive check's put", DECLARED),
        gives_up,
        cancelled_if_abandoned(inventory.aws) as left,
    ):
        run_command(inventory.aws, [INSTANCE], "aws s3api put-object ...", writes=True, timeout=0)
    ssm.assert_no_pending_responses()
    assert left == []


def test_an_interrupt_cancels_too_and_names_a_command_not_cancelled(
    inventory: Inventory, ssm_looks: ScriptedLooks
) -> None:
    """Ctrl-C (or a cancelled job's SIGTERM, raised as one) while the run waits on the command."""
    ssm_looks.say({INSTANCE: "Success"})  # listed as finished: the fetch of its answer is where the interrupt comes
    ssm = stub(inventory, "ssm")
    _sent(ssm, None)

    def interrupted(**_: object) -> None:
        raise KeyboardInterrupt

    # The first event of a call, before the Stubber answers: the interrupt comes while the run waits.
    inventory.aws.client("ssm").meta.events.register("provide-client-params.ssm.GetCommandInvocation", interrupted)
    ssm.add_client_error("cancel_command", "InvalidCommandId", expected_params={"CommandId": COMMAND_ID})
    allowed = writes_allowed(True, "a disruptive check's put", DECLARED)
    with allowed, pytest.raises(KeyboardInterrupt), cancelled_if_abandoned(inventory.aws, settle=0) as left:
        run_command(inventory.aws, [INSTANCE], "aws s3api put-object ...", writes=True, timeout=30)
    ssm.assert_no_pending_responses()
    assert left == [f"command {COMMAND_ID}: not cancelled (InvalidCommandId)"]


def test_a_command_that_finished_is_not_cancelled(inventory: Inventory, ssm_looks: ScriptedLooks) -> None:
    ssm_looks.say({INSTANCE: "Success"})
    ssm = stub(inventory, "ssm")
    _sent(ssm, "Success")
    with writes_allowed(True, "a disruptive check's put", DECLARED), cancelled_if_abandoned(inventory.aws) as left:
        results = run_command(inventory.aws, [INSTANCE], "aws s3api put-object ...", writes=True, timeout=5)
    assert results[INSTANCE].exit_code == 0 and left == []
    ssm.assert_no_pending_responses()  # and nothing else was called: the Stubber refuses an unexpected call


def test_a_refused_cancel_does_not_hide_the_cause(inventory: Inventory, ssm_looks: ScriptedLooks) -> None:
    """A check that sends commands but does not declare CancelCommand: the guard refuses the cancel, the wait's
    own error goes on, and the command is named as not cancelled."""
    ssm_looks.say({INSTANCE: "InProgress"})
    ssm = stub(inventory, "ssm")
    _sent(ssm, "InProgress")
    ssm.add_response("cancel_command", {}, {"CommandId": COMMAND_ID})  # what AWS would answer: never asked
    gives_up = pytest.raises(CouldNotEvaluate, match="no result in time")
    sends_only = writes_allowed(True, "a disruptive check's command", ["ssm:SendCommand"])
    with sends_only, gives_up, cancelled_if_abandoned(inventory.aws) as left:
        run_command(inventory.aws, [INSTANCE], "cat /etc/hostname", timeout=0)
    assert len(left) == 1 and left[0].startswith(
        f"command {COMMAND_ID}: not cancelled (read-only guard refused ssm:CancelCommand"
    ), left
