"""The Packages view's pure part: rows from Operations' answers, the trust policy, and the
one action an inspected package is offered (install, upgrade, force reinstall, or none)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mimolo.control.package_view import (
    Trust,
    choose_action,
    installed_rows,
    policy_of,
    review_of,
    trust_of,
)
from mimolo.packages.versions import compare_versions

VERIFIED = Trust(state="verified", signer="0123456789abcdef")


def pkg(version: str, package_hash: str = "h", **extra: Any) -> dict[str, Any]:
    return {"plugin_id": "demo", "version": version, "package_hash": package_hash, **extra}


def test_a_new_plugin_is_offered_install() -> None:
    assert choose_action("1.0.0", "h1", VERIFIED, []) == ("install", None)


def test_a_higher_version_is_offered_upgrade() -> None:
    installed = [pkg("1.0.0"), pkg("1.2.0")]
    assert choose_action("1.10.0", "h2", VERIFIED, installed) == ("upgrade", None)


def test_only_the_identical_package_is_offered_force_reinstall() -> None:
    assert choose_action("1.0.0", "h1", VERIFIED, [pkg("1.0.0", "h1")]) == ("reinstall", None)
    action, why = choose_action("1.0.0", "other", VERIFIED, [pkg("1.0.0", "h1")])
    assert action is None and why is not None and "different contents" in why


def test_an_older_or_equal_version_is_offered_nothing() -> None:
    action, why = choose_action("1.0.0", "h0", VERIFIED, [pkg("1.1.0", "h1")])
    assert action is None and why is not None and "not newer than the installed 1.1.0" in why


def test_a_refused_package_is_offered_nothing_and_says_why() -> None:
    refused = Trust(state="refused", reason="hello 1.0.0 is not signed", code="signature_missing")
    assert choose_action("1.0.0", "h", refused, []) == (None, "hello 1.0.0 is not signed")


def test_an_unverified_package_in_developer_mode_can_be_installed() -> None:
    unverified = Trust(state="UNVERIFIED", reason="not signed", code="signature_missing")
    assert choose_action("1.0.0", "h", unverified, []) == ("install", None)


versions = st.builds(
    lambda a, b, c: f"{a}.{b}.{c}", st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)
)


@given(
    version=versions,
    digest=st.sampled_from(["h1", "h2"]),
    installed=st.lists(st.tuples(versions, st.sampled_from(["h1", "h2"])), max_size=4),
)
def test_the_offer_follows_the_install_rules(
    version: str, digest: str, installed: list[tuple[str, str]]
) -> None:
    rows = [pkg(v, h) for v, h in installed]
    action, why = choose_action(version, digest, VERIFIED, rows)
    assert (action is None) == (why is not None)
    if action == "install":
        assert not rows
    elif action == "upgrade":
        assert rows and all(compare_versions(version, v) > 0 for v, _ in installed)
    elif action == "reinstall":
        assert (version, digest) in installed
    else:
        assert rows
        assert (version, digest) not in installed
        assert any(compare_versions(version, v) <= 0 for v, _ in installed)


def test_trust_that_is_missing_or_odd_is_never_shown_verified() -> None:
    assert trust_of(None).state == "refused"
    assert trust_of({"state": "trusted-trust-me"}).state == "refused"
    shown = trust_of({"state": "UNVERIFIED", "claimed_signer": "abc", "code": "key_untrusted"})
    assert (shown.state, shown.publisher, shown.code) == ("UNVERIFIED", "abc", "key_untrusted")


def test_rows_group_versions_highest_first_and_name_the_instances() -> None:
    packages = [
        pkg("1.2.0", "old", trust={"state": "verified", "signer": "k1"}, manifest={"label": "Old"}),
        pkg(
            "1.10.0",
            "new",
            trust={"state": "verified", "signer": "k1"},
            manifest={"label": "Demo", "capabilities": ["summary"], "entry": ["sh", "a.sh"]},
        ),
        {"plugin_id": "another", "version": "0.1.0", "package_hash": "x", "trust": None},
    ]
    instances = [
        {"instance_id": "demo-1", "plugin_id": "demo", "instance_label": "Demo one"},
        {"instance_id": "other", "plugin_id": "agent_example", "instance_label": "Example"},
    ]
    rows = installed_rows(packages, instances)
    assert [r.plugin_id for r in rows] == ["another", "demo"]
    demo = rows[1]
    assert (demo.version, demo.label, demo.package_hash) == ("1.10.0", "Demo", "new")
    assert [v.version for v in demo.versions] == ["1.10.0", "1.2.0"]
    assert [v.current for v in demo.versions] == [True, False]
    assert demo.capabilities == ("summary",) and demo.entry == ("sh", "a.sh")
    assert [(i.instance_id, i.instance_label) for i in demo.instances] == [("demo-1", "Demo one")]
    assert rows[0].trust.state == "refused" and rows[0].instances == ()


def test_the_version_flagged_current_by_operations_wins() -> None:
    rows = installed_rows([pkg("2.0.0"), pkg("1.0.0", current=True)], [])
    assert rows[0].version == "1.0.0"


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
    inspection = {
        "manifest": {
            "plugin_id": "demo",
            "version": "2.0.0",
            "label": "Demo",
            "entry": ["python3", "agent.py"],
            "capabilities": ["summary", "heartbeat"],
            "params": [{"name": "mode", "type": "choice", "default": "passive", "help": "h"}],
        },
        "package_hash": "abc",
        "trust": {"state": "verified", "signer": "k1"},
    }
    review = review_of(inspection, [pkg("1.0.0"), {"plugin_id": "x", "version": "9.0.0"}])
    assert (review.plugin_id, review.version, review.action) == ("demo", "2.0.0", "upgrade")
    assert review.installed == ("1.0.0",)
    assert review.entry == ("python3", "agent.py")
    assert [(p.name, p.default) for p in review.params] == [("mode", "passive")]
