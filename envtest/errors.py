"""The two ways a check can end other than passing.

`CouldNotEvaluate` is for state the suite could not read (missing credentials,
an endpoint that does not answer, an object that is not there when the check
needs it). pytest reports it as an error, never as a pass or a silent skip.
"""


class CouldNotEvaluate(Exception):
    """The state a check needs could not be read; the check has no verdict."""


class UsageError(Exception):
    """The command line or the configuration is wrong (exit code 2)."""


class ReadOnlyViolation(AssertionError):
    """A call that would change AWS, refused by the read-only guard.

    An AssertionError so that pytest reports the test as failed, with the
    operation's name in the message.
    """
