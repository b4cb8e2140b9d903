"""A key above policy/default.toml that default.toml does not have stops the run, naming the file and line.

Without it, `[runner.config] pth = ...` in policy/envs/<env>.toml merges silently and the check it was meant
for runs on the default: the misspelling passes for a decision.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from envtest.errors import UsageError
from envtest.policy import OPEN_TABLES, known_revisions, line_of, load_policy
from envtest.policy.egress import ALLOW_KEYS

ROOT = Path(__file__).resolve().parents[1]


def _load(tmp_path: Path, text: str) -> None:
    override = tmp_path / "override.toml"
    override.write_text(text, encoding="utf-8")
    load_policy("sandbox", override=override)


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ('[runner.config]\npth = "/x"\n', ":2:", ["runner.config.pth", "[runner.config] has: path"]),
        ('acount_id = "123456789012"\n', ":1:", ["'acount_id'", "account_id"]),
        ('[images.lockdown_probe]\n# a comment\nwait = "60"\n', ":3:", ["is a string", "as a number"]),
        ("[hosts]\nasg = 3\n", ":2:", ["hosts.asg is a number", "as a table"]),
        ("[hosts.asg]\nnew-pool = 7\n", ":2:", ["hosts.asg.new-pool is a number", "values are"]),
        ("[edgee]\nhealth_path = '/'\n", ":1:", ["'edgee'"]),
        ('[lockdown]\nenv_accounts = "123456789012"\n', ":2:", ["lockdown.env_accounts is a string", "an array"]),
        # Kinds agree with default.toml, but not sections.py's types: an array's items, a whole number.
        ("[lockdown]\n\nenv_accounts = [123]\n", ":3:", ["[lockdown.env_accounts] is 123", "must be a str"]),
        ("[edge]\nhealth_attempts = 3.0\n", ":2:", ["[edge.health_attempts] is 3.0", "whole number"]),
        ("[runner]\n[runner.config]\npath = 7\n", ":3:", ["runner.config.path is a number", "as a string"]),
    ],
)
def test_a_misspelt_or_mistyped_key_is_named_with_its_line(
    tmp_path: Path, text: str, where: str, words: list[str]
) -> None:
    with pytest.raises(UsageError) as raised:
        _load(tmp_path, text)
    message = str(raised.value)
    assert f"override.toml{where}" in message, message
    assert all(word in message for word in words), message


def test_an_array_entry_with_a_misspelt_word_is_named_at_its_entry(tmp_path: Path) -> None:
    entry = '[[egress.allow]]\nreason = "r"\nprotocol = "tcp"\nports = [{port}]\n'
    text = "[egress]\n" + entry.format(port=443) + entry.format(port=80).replace('"r"\n', '"r"\nrequried = true\n')
    with pytest.raises(UsageError) as raised:
        _load(tmp_path, text)
    message = str(raised.value)
    assert "override.toml:8:" in message and "egress.allow[1].requried" in message and "required" in message, message


def test_open_tables_take_new_keys_and_waivers_are_their_own_parser_s(tmp_path: Path) -> None:
    _load(
        tmp_path,
        '[hosts.asg]\nnew-pool = "{env}-new"\n[s3_access.role_names]\nnew-pool = "r"\n'
        "[s3_access.matrix.newbucket]\nidp = []\n[[waivers]]\nanything = 1\n",
    )


def test_every_shipped_layer_uses_only_default_keys(tmp_path: Path) -> None:
    for revision in known_revisions():
        _load(tmp_path, f'revision = "{revision.name}"\n')
    for env_file in (ROOT / "policy" / "envs").glob("*.toml"):
        load_policy(env_file.stem)


def test_open_tables_are_tables_of_default_toml() -> None:
    data = load_policy("sandbox").data
    for dotted in OPEN_TABLES:
        node = data
        for part in dotted.split("."):
            node = node[part]
        assert isinstance(node, dict), dotted


def test_allow_keys_are_the_words_the_egress_fixture_reads() -> None:
    source = (ROOT / "envtest" / "fixtures" / "runner_network.py").read_text()
    read = set(re.findall(r"""line(?:\.get\(|\[)["']([a-z_]+)["']""", source)) | set(
        re.findall(r'"([a-z_]+)" in line\b', source)
    )
    assert read == set(ALLOW_KEYS)


def test_line_of_finds_headers_dotted_and_quoted_keys() -> None:
    text = '[a]\nx = 1\n[a.b]\n"q.r" = 2\nc.d = 3\n'
    assert line_of(text, "a") == 1
    assert line_of(text, "a.x") == 2
    assert line_of(text, "a.b") == 3
    # A quoted key holding a dot cannot be told from a path once joined: no line, and the message names the file.
    assert line_of(text, "a.b.q.r") is None
    assert line_of(text, "a.b.c.d") == 5
    assert line_of(text, "z") is None


def test_the_run_stops_with_exit_2(tmp_path: Path) -> None:
    override = tmp_path / "bad.toml"
    override.write_text('[runner.config]\npth = "/x"\n')
    environ = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "ENVTEST_POLICY_OVERRIDE": str(override),
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "not-a-secret",
    }
    done = subprocess.run(
        [str(ROOT / "run_tests.sh"), "sandbox"], env=environ, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{override}:2: unknown policy key 'runner.config.pth'" in done.stderr


def test_a_key_default_toml_leaves_unset_is_taken_from_a_layer(tmp_path: Path) -> None:
    override = tmp_path / "override.toml"
    override.write_text('[lockdown]\nenv_accounts = ["123456789012"]\n', encoding="utf-8")
    assert load_policy("sandbox", override=override).section("lockdown")["env_accounts"] == ["123456789012"]
    # Unset below the layers: the token's-reach check then says "could not evaluate", naming the key.
    assert "env_accounts" not in load_policy("sandbox").section("lockdown")
