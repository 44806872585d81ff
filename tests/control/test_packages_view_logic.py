"""The Packages view's pure part: rows from ``list_installed_packages``, the trust policy,
and the review of an ``inspect_package`` answer (the action Operations offers, or why not)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mimolo.control.package_view import installed_rows, policy_of, review_of, trust_of
from mimolo.packages.versions import compare_versions


def pkg(version: str, package_hash: str = "h", **extra: Any) -> dict[str, Any]:
    return {
        "plugin_id": "demo",
        "version": version,
        "package_hash": package_hash,
        "trust": "verified",
        "publisher": "0123456789abcdef",
        **extra,
    }


def inspection(**extra: Any) -> dict[str, Any]:
    return {
        "plugin_id": "demo",
        "version": "2.0.0",
        "label": "Demo",
        "package_hash": "abc",
        "publisher": "0123456789abcdef",
        "claimed_signer": "0123456789abcdef",
        "trust": "verified",
        "trust_code": None,
        "trust_reason": None,
        "capabilities": ["summary", "heartbeat"],
        "entry": ["python3", "agent.py"],
        "params": [{"name": "mode", "type": "choice", "default": "passive", "help": "h"}],
        "payload_ok": True,
        "payload_error": None,
        "installed_versions": ["1.0.0"],
        "action": "upgrade",
        "refusal": None,
        **extra,
    }


def test_trust_that_is_missing_or_odd_is_never_shown_verified() -> None:
    assert trust_of({}).state == "refused"
    odd = trust_of({"trust": "trusted, trust me"})
    assert odd.state == "refused" and odd.reason == "Operations gave no trust decision"
    shown = trust_of(
        {"trust": "UNVERIFIED", "claimed_signer": "abc", "trust_code": "key_untrusted"}
    )
    assert (shown.state, shown.signer, shown.claimed_signer, shown.code) == (
        "UNVERIFIED", None, "abc", "key_untrusted",
    )  # fmt: skip


def test_rows_group_versions_current_first_and_name_the_instances() -> None:
    packages = [
        pkg("1.2.0", "old", label="Old"),
        pkg(
            "1.10.0",
            "new",
            current=True,
            label="Demo",
            capabilities=["summary"],
            entry=["sh", "a.sh"],
            instances=[
                {
                    "instance_id": "demo-1",
                    "instance_label": "Demo one",
                    "state": "running",
                    "version": "1.2.0",
                },
                {"instance_label": "no id: dropped"},
            ],
        ),
        {"plugin_id": "another", "version": "0.1.0", "package_hash": "x"},
    ]
    rows = installed_rows(packages)
    assert [r.plugin_id for r in rows] == ["another", "demo"]
    demo = rows[1]
    assert (demo.version, demo.label, demo.package_hash) == ("1.10.0", "Demo", "new")
    assert [(v.version, v.current) for v in demo.versions] == [("1.10.0", True), ("1.2.0", False)]
    assert demo.capabilities == ("summary",) and demo.entry == ("sh", "a.sh")
    assert [(i.instance_id, i.state, i.version) for i in demo.instances] == [
        ("demo-1", "running", "1.2.0")
    ]
    assert demo.trust.signer == "0123456789abcdef"
    assert rows[0].trust.state == "refused" and rows[0].instances == ()


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=6))
def test_without_a_current_flag_the_highest_version_leads(pairs: list[tuple[int, int]]) -> None:
    versions = sorted({f"{a}.{b}.0" for a, b in pairs})
    row = installed_rows([pkg(v) for v in versions])[0]
    shown = [v.version for v in row.versions]
    assert row.version == shown[0]
    assert all(compare_versions(x, y) > 0 for x, y in pairwise(shown))


def test_the_policy_as_shown() -> None:
    policy = policy_of(
        {
            "mode": "developer",
            "developer_mode": True,
            "trusted_keys": [{"key_id": "aaaa"}, {"key_id": "bbbb"}, "junk"],
            "allowlist": {"version": 3, "key_id": "aaaa", "entries": [{}, {}]},
            "allowlist_problem": None,
        }
    )
    assert policy.developer_mode and policy.trusted_keys == ("aaaa", "bbbb")
    assert (policy.allowlist_version, policy.allowlist_entries) == (3, 2)
    empty = policy_of({"mode": "release", "trusted_keys": [], "allowlist": None})
    assert not empty.developer_mode and empty.allowlist_version is None


def test_a_review_shows_the_manifest_and_the_offer() -> None:
    review = review_of(inspection())
    assert (review.plugin_id, review.version, review.action) == ("demo", "2.0.0", "upgrade")
    assert review.installed == ("1.0.0",) and review.entry == ("python3", "agent.py")
    assert [(p.name, p.default) for p in review.params] == [("mode", "passive")]
    assert review.refusal is None


def test_a_refused_package_is_offered_nothing_and_says_why() -> None:
    review = review_of(
        inspection(
            trust="refused",
            publisher=None,
            trust_code="signature_missing",
            action=None,
            refusal={"code": "signature_missing", "message": "demo 2.0.0 is not signed"},
        )
    )
    assert review.action is None and review.trust.state == "refused"
    assert (review.refusal_code, review.refusal) == (
        "signature_missing",
        "demo 2.0.0 is not signed",
    )


def test_a_payload_that_does_not_match_is_offered_nothing() -> None:
    review = review_of(
        inspection(
            payload_ok=False,
            payload_error={"code": "archive_hash_mismatch", "message": "agent.py differs"},
        )
    )
    assert (review.action, review.refusal_code) == (None, "archive_hash_mismatch")


def test_an_unknown_action_is_never_offered() -> None:
    review = review_of(inspection(action="overwrite"))
    assert review.action is None and review.refusal


def test_an_unverified_package_in_developer_mode_is_offered_install() -> None:
    review = review_of(inspection(trust="UNVERIFIED", trust_reason="not signed", action="install"))
    assert (review.action, review.trust.state, review.trust.reason) == (
        "install", "UNVERIFIED", "not signed",
    )  # fmt: skip
