"""envtest: the environment test suite's library (gather, policy, report, sandbox)."""

__version__ = "0.1.0"
