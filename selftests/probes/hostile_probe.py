"""Not collected by the self-tests: a check whose failure text is hostile, to prove the JUnit survives it."""

from envtest.problems import Problem, fail


def test_hostile_failure_text() -> None:
    fail(
        Problem(
            resource="bucket \x00\x1b[31mred\x1b[0m ]]><testcase name='forged'/> & \ufffe",
            expected="a value \x07 with a bell",
            found="x" * 200_000 + " invalid utf-8 as read: " + b"\xff\xfe".decode("utf-8", "surrogateescape"),
            fix="line one\r\nline two\x0c",
        )
    )
