"""Parsers of what hosts report: cloud-init status.json, filebeat and logstash stats, dig's output."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envtest.parsers.host_status import cloud_init_errors, dig_result, filebeat_output, logstash_summary
from envtest_double import app_host_files


def test_a_clean_boot_has_no_cloud_init_errors() -> None:
    assert cloud_init_errors(app_host_files.cloud_init_status()) == []


def test_cloud_init_errors_are_named_with_their_stage() -> None:
    text = app_host_files.cloud_init_status(["Runcmd failed:\n chef-client exited 1"])
    assert cloud_init_errors(text) == ["modules-final: Runcmd failed: chef-client exited 1"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not JSON"),
        ("<html>502 Bad Gateway</html>", "starts '<html>502"),
        ("[]", "not an object"),
        ('{"v2": {}}', 'no "v1"'),
        ('{"v1": {"init": {"errors": "boom"}}}', "not a list"),
    ],
)
def test_unreadable_cloud_init_status_says_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cloud_init_errors(text)


def test_filebeat_and_logstash_stats_read_as_the_checks_need() -> None:
    assert filebeat_output(app_host_files.filebeat_stats(write_errors=3, write_bytes=10)).write_errors == 3
    summary = logstash_summary(app_host_files.logstash_stats(status="red", events_out=0))
    assert (summary.status, summary.events_out) == ("red", 0)


@pytest.mark.parametrize(
    "text",
    ['{"libbeat": {}}', '{"libbeat": {"output": {"write": {"errors": "none", "bytes": 1}}}}', "null"],
)
def test_filebeat_stats_of_the_wrong_shape_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        filebeat_output(text)


def test_logstash_stats_need_a_status_and_a_number_of_events() -> None:
    with pytest.raises(ValueError, match="no status"):
        logstash_summary(json.dumps({"events": {"out": 1}}))
    with pytest.raises(ValueError, match=r"events\.out"):
        logstash_summary(json.dumps({"status": "green", "events": {"out": True}}))


DIG_SERVFAIL = """
; <<>> DiG 9.18.49 <<>> +time=3 +tries=2 A dnssec-failed.org
;; global options: +cmd
;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: SERVFAIL, id: 35779
;; flags: qr rd ra; QUERY: 1, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 0
"""
DIG_ANSWER = """
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 1
;; flags: qr rd ra; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 0

;; QUESTION SECTION:
;idp.sandbox.identitysandbox.gov. IN	A

;; ANSWER SECTION:
idp.sandbox.identitysandbox.gov. 60 IN	A	10.42.0.80

;; Query time: 0 msec
"""


def test_dig_output_gives_status_and_answers() -> None:
    assert dig_result(DIG_SERVFAIL).status == "SERVFAIL"
    result = dig_result(DIG_ANSWER)
    assert (result.status, result.answers) == ("NOERROR", ["A 10.42.0.80"])
    assert dig_result(";; connection timed out; no servers could be reached\n").status == "NO ANSWER"
    with pytest.raises(ValueError, match="without a status line"):
        dig_result("bash: dig: command not found")


@given(st.text(max_size=300))
def test_host_status_parsers_take_any_text_without_crashing(text: str) -> None:
    for parse in (cloud_init_errors, filebeat_output, logstash_summary, dig_result):
        with contextlib.suppress(ValueError):
            parse(text)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda c: st.lists(c) | st.dictionaries(st.text(max_size=5), c),
        max_leaves=20,
    )
)
def test_host_status_parsers_take_any_json_without_crashing(value: object) -> None:
    text = json.dumps({"v1": value, "libbeat": value, "status": value, "events": value})
    for parse in (cloud_init_errors, filebeat_output, logstash_summary):
        with contextlib.suppress(ValueError):
            parse(text)
