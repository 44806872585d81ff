"""``[review]`` and ``settings.timezone`` in agent_config.toml: read, checked, every error
naming the key as the file spells it."""

from __future__ import annotations

import pytest

from mimolo.errors import ConfigError, RulesInvalid
from mimolo.operations.config import builtin_resolver, parse_config_text
from mimolo.protocol.config_schema import lenient_config

GOOD = """\
[settings]
timezone = "America/Los_Angeles"

[review]
currency = "USD"
default_rate = "95.50"
rounding = "entry"
rounding_minutes = 15
invoice_number_format = "INV-{year}-{seq:03d}"
default = { client_id = "internal" }

[review.clients.acme]
rate = "120"
bill_to = "ACME Corp."
projects = { website = "140" }

[[review.rules]]
rule_id = "acme-cad"
label = "ACME drawings"
match = { application = "freecad", title = "acme.*\\\\.fcstd" }
assign = { client_id = "acme", project = "website", tags = ["cad"] }

[[review.rules]]
rule_id = "mail"
enabled = false
match = { application = "thunderbird" }
"""


def test_a_review_table_is_read() -> None:
    config = parse_config_text(GOOD, builtin_resolver())
    assert config.settings.timezone == "America/Los_Angeles"
    review = config.review
    assert [r.rule_id for r in review.rules] == ["acme-cad", "mail"]
    assert review.rules[0].assign.tags == ("cad",)
    assert review.rules[0].match.title == "acme.*\\.fcstd"
    assert review.rules[1].enabled is False
    assert review.clients["acme"].projects == {"website": "140"}
    assert review.default.client_id == "internal"
    assert review.invoice_number_format == "INV-{year}-{seq:03d}"


def test_without_review_the_defaults() -> None:
    config = parse_config_text("[settings]\n", builtin_resolver())
    assert config.settings.timezone == ""
    assert config.review.rules == ()
    assert config.review.invoice_number_format == "{year}-{seq:04d}"


@pytest.mark.parametrize(
    ("replace", "by", "code", "field"),
    [
        ('title = "acme.*', 'title = "acme(.*', "rules_invalid", "review.rules[0].match.title"),
        ('application = "thunderbird"', 'application = "[x"', "rules_invalid",
         "review.rules[1].match.application"),
        ('rule_id = "mail"', 'rule_id = "acme-cad"', "rules_invalid", "review.rules[1].rule_id"),
        ('rule_id = "mail"', 'rule_id = "Mail Rule"', "rules_invalid", "review.rules[1].rule_id"),
        ('timezone = "America/Los_Angeles"', 'timezone = "Mars/Olympus"', "config_invalid",
         "settings.timezone"),
        ('timezone = "America/Los_Angeles"', 'timezone = "../etc/passwd"', "config_invalid",
         "settings.timezone"),
        ('default_rate = "95.50"', 'default_rate = "lots"', "config_invalid",
         "review.default_rate"),
        ('rate = "120"', 'rate = "-1"', "config_invalid", "review.clients.acme.rate"),
        ('website = "140"', 'website = "NaN"', "config_invalid",
         "review.clients.acme.projects.website"),
        ('currency = "USD"', 'currency = "dollars"', "config_invalid", "review.currency"),
        ("rounding_minutes = 15", "rounding_minutes = 0", "config_invalid",
         "review.rounding_minutes"),
        ('rounding = "entry"', 'rounding = "weekly"', "config_invalid", "review.rounding"),
        ('"INV-{year}-{seq:03d}"', '"INV-{year}"', "config_invalid",
         "review.invoice_number_format"),
        ('"INV-{year}-{seq:03d}"', '"INV-{seq}"', "config_invalid",
         "review.invoice_number_format"),
        ('"INV-{year}-{seq:03d}"', '"INV-{client}-{seq}"', "config_invalid",
         "review.invoice_number_format"),
        ('"INV-{year}-{seq:03d}"', '"{year}/{seq}"', "config_invalid",
         "review.invoice_number_format"),
        ('client_id = "acme", project', 'client_id = "ACME!", project', "invalid_id",
         "review.rules[0].assign.client_id"),
        ("[review.clients.acme]", "[review.clients.Acme]", "invalid_id", "review.clients.Acme"),
        ('currency = "USD"', 'currency = "USD"\nsurprise = 1', "config_invalid",
         "review.surprise"),
    ],
)  # fmt: skip
def test_bad_review_settings_are_named(replace: str, by: str, code: str, field: str) -> None:
    assert replace in GOOD
    with pytest.raises(ConfigError) as caught:
        parse_config_text(GOOD.replace(replace, by, 1), builtin_resolver())
    assert caught.value.code == code
    assert caught.value.field == field
    if code == "rules_invalid":
        assert isinstance(caught.value, RulesInvalid)


def test_the_lenient_reader_keeps_what_converts() -> None:
    raw = {
        "settings": {"timezone": "Europe/Berlin"},
        "review": {
            "currency": "EUR",
            "rounding": "weekly",
            "rules": [{"rule_id": "a"}, {"rule_id": "b", "match": {"nope": 1}}, {"rule_id": "c"}],
        },
    }
    config, warnings = lenient_config(raw)
    assert config.settings.timezone == "Europe/Berlin"
    assert [r.rule_id for r in config.review.rules] == ["a", "c"]
    assert config.review.rounding == "none"
    assert any(w.startswith("review.rounding") for w in warnings)
    assert any(w.startswith("review.rules[1]") for w in warnings)
