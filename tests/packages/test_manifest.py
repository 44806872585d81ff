"""The manifest: strict decoding, every rule with its field, canonical bytes and hash."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mimolo.errors import ManifestInvalid
from mimolo.packages.manifest import canonical_manifest_bytes, decode_manifest, package_hash

from ._pkgs import encode, manifest_dict

FILES = manifest_dict()["files"]

# (overrides, the field the error names, a word of the message)
BAD: list[tuple[dict[str, Any], str | None, str]] = [
    ({"format": 2}, "format", "format 1"),
    ({"plugin_id": "Hello World"}, "plugin_id", "slug"),
    ({"version": "1.0"}, "version", "semantic"),
    ({"version": "01.0.0"}, "version", "semantic"),
    ({"label": ""}, "label", "printable"),
    ({"protocol": "0.3"}, "protocol", "clause"),
    ({"capabilities": ["a", "a"]}, "capabilities", "once"),
    ({"entry": []}, "entry", "argv"),
    ({"entry": ["/bin/sh", "agent.sh"]}, "entry[0]", "absolute"),
    ({"entry": ["sh", "/tmp/agent.sh"]}, "entry[1]", "absolute"),
    ({"entry": ["sh", "../agent.sh"]}, "entry[1]", ".."),
    ({"entry": ["sh", "agent.sh", "--x=/etc/passwd"]}, "entry[2]", "absolute"),
    ({"entry": ["sh", "agent.sh", "--x=../up"]}, "entry[2]", ".."),
    ({"entry": ["sh", "agent.sh; rm -rf ~"]}, "entry[1]", "metacharacters"),
    ({"entry": ["sh", "agent.sh", "$(id)"]}, "entry[2]", "metacharacters"),
    ({"entry": ["sh", "agent.sh", "a|b"]}, "entry[2]", "metacharacters"),
    ({"entry": ["sh", "agent.sh", "a b"]}, "entry[2]", "whitespace"),
    ({"entry": ["sh", "agent.sh", "`id`"]}, "entry[2]", "metacharacters"),
    ({"entry": ["sh", "agent.sh", "a\nb"]}, "entry[2]", "metacharacters"),
    ({"entry": ["bash", "agent.sh"]}, "entry[0]", "not a file of the package"),
    ({"entry": ["sh"]}, "entry[1]", "script"),
    ({"entry": ["sh", "missing.sh"]}, "entry[1]", "not a file"),
    ({"entry": ["agent.sh"]}, "entry[0]", "not marked executable"),
    ({"files": {}}, "files", "at least"),
    ({"files": {**FILES, "/etc/passwd": FILES["agent.sh"]}}, "files./etc/passwd", "absolute"),
    ({"files": {**FILES, "a/../b": FILES["agent.sh"]}}, "files.a/../b", ".."),
    ({"files": {**FILES, "a//b": FILES["agent.sh"]}}, "files.a//b", "empty"),
    ({"files": {**FILES, "a\\b": FILES["agent.sh"]}}, "files.a\\b", "letters"),
    ({"files": {**FILES, "AGENT.SH": FILES["agent.sh"]}}, "files.AGENT.SH", "case"),
    ({"files": {**FILES, "manifest.sig": FILES["agent.sh"]}}, "files.manifest.sig", "own"),
    ({"files": {**FILES, "agent.sh/x": FILES["agent.sh"]}}, "files.agent.sh/x", "itself a file"),
    ({"files": {"agent.sh": {"sha256": "XY" * 32, "bytes": 1}}}, "files.agent.sh.sha256", "hex"),
    ({"files": {"agent.sh": {"sha256": "ab" * 32, "bytes": -1}}}, "files.agent.sh.bytes", "0 and"),
    ({"params": [{"name": "a", "type": "int"}] * 2}, "params[1].name", "twice"),
    ({"params": [{"name": "a b", "type": "int"}]}, "params[0].name", "identifier"),
    ({"params": [{"name": "c", "type": "choice"}]}, "params[0].choices", "choices"),
    ({"params": [{"name": "n", "type": "int", "default": "x"}]}, "params[0].default", "integer"),
    ({"params": [{"name": "n", "type": "int", "secret": 1}]}, "params[0]", "unknown field"),
    ({"surprise": True}, None, "unknown field"),
    ({"entry": "sh agent.sh"}, "entry", "array"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "field", "word"), BAD)
def test_each_bad_manifest_names_its_field(
    overrides: dict[str, Any], field: str | None, word: str
) -> None:
    with pytest.raises(ManifestInvalid) as caught:
        decode_manifest(encode(manifest_dict(**overrides)))
    assert caught.value.code == "manifest_invalid"
    assert caught.value.field == field
    assert word in caught.value.message


@pytest.mark.parametrize(
    "data",
    [b"", b"not json", b"[1, 2]", b"\xff\xfe", b'{"format": 1,' + b" " * 10],
)
def test_malformed_json_is_manifest_invalid(data: bytes) -> None:
    with pytest.raises(ManifestInvalid):
        decode_manifest(data)


def test_deeply_nested_json_is_refused_cleanly() -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    doc = encode(manifest_dict()).replace(
        b'"format":1', b'"format":1,"params":[{"name":"x","type":"str","default":' + deep + b"}]"
    )
    with pytest.raises(ManifestInvalid, match="nested too deeply"):
        decode_manifest(doc)


def test_oversized_manifest_is_refused_before_decoding() -> None:
    doc = manifest_dict(description="x" * (2 * 1024 * 1024))
    with pytest.raises(ManifestInvalid, match="over"):
        decode_manifest(encode(doc))


def test_an_executable_entry_and_every_interpreter_are_accepted() -> None:
    assert (
        decode_manifest(encode(manifest_dict(entry=["bin/run", "--mode=x"]))).entry[0] == "bin/run"
    )
    for interpreter in ("python3", "sh", "node"):
        decode_manifest(encode(manifest_dict(entry=[interpreter, "agent.sh"])))


def test_canonical_bytes_ignore_key_order_and_whitespace() -> None:
    doc = manifest_dict(params=[{"name": "n", "type": "int", "default": 3, "minimum": 1}])
    pretty = json.dumps(doc, indent=4, sort_keys=False).encode()
    reversed_keys = json.dumps(dict(reversed(list(doc.items())))).encode()
    a, b = decode_manifest(pretty), decode_manifest(reversed_keys)
    assert canonical_manifest_bytes(a) == canonical_manifest_bytes(b)
    assert package_hash(a) == package_hash(b)
    canonical = canonical_manifest_bytes(a)
    assert b" " not in canonical.replace(b'"Hello"', b"")
    assert json.loads(canonical) == json.loads(json.dumps(json.loads(canonical), sort_keys=True))
    assert list(json.loads(canonical)) == sorted(json.loads(canonical))
    assert decode_manifest(canonical) == a


def test_any_change_changes_the_hash() -> None:
    base = package_hash(decode_manifest(encode(manifest_dict())))
    other_files = {**FILES, "agent.sh": {"sha256": "cd" * 32, "bytes": 8}}
    for changed in (
        {"version": "1.0.1"},
        {"entry": ["sh", "agent.sh", "-v"]},
        {"files": other_files},
    ):
        assert package_hash(decode_manifest(encode(manifest_dict(**changed)))) != base


def test_params_are_the_protocol_param_type() -> None:
    from mimolo.protocol.params import Param, validate_params

    m = decode_manifest(
        encode(manifest_dict(params=[{"name": "n", "type": "int", "default": 3, "maximum": 9}]))
    )
    assert isinstance(m.params[0], Param)
    assert validate_params(m.params, {}) == {"n": 3}
    with pytest.raises(Exception, match="<= 9"):
        validate_params(m.params, {"n": 10})
