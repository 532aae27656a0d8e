"""JSON, YAML, text, Markdown and PDF."""

from __future__ import annotations

import pytest

from . import builders
from .conftest import codes, finding


@pytest.mark.parametrize(
    "document",
    [
        b"!!python/object/apply:os.system ['echo pwned']\n",
        b"model: !!python/object/new:subprocess.Popen [['id']]\n",
        b"a: !!python/name:os.system\n",
        b"- !<tag:yaml.org,2002:python/object/apply:os.system> [id]\n",
    ],
)
def test_yaml_python_tags_are_rejected(scan, document):
    for filename in ("config.yaml", "config.txt", "config"):
        result = scan(document, filename=filename, kind="config")
        assert result.verdict == "rejected", filename
        assert "python/" in finding(result, "yaml.unsafe_tag").message


def test_yaml_custom_tags_and_duplicate_keys_need_review(scan):
    result = scan(b"a: !custom 1\n", filename="c.yaml", kind="config")
    assert (result.verdict, "yaml.custom_tag" in codes(result)) == ("needs_review", True)
    result = scan(b"lr: 0.1\nlr: 10\n", filename="c.yaml", kind="config")
    assert "yaml.duplicate_key" in codes(result)


def test_yaml_billion_laughs_is_composed_without_expanding(scan):
    lines = [b"a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(9))}]".encode() for i in range(1, 12)]
    result = scan(b"\n".join(lines) + b"\n", filename="c.yaml", kind="config")
    assert result.format == "yaml"


def test_malformed_yaml_and_json_are_rejected(scan):
    result = scan(b"model: [1, 2\n  name: x", filename="config.yaml", kind="config")
    assert (result.format, result.verdict) == ("yaml", "rejected")
    assert "yaml.malformed" in codes(result)
    result = scan(b'{"hidden_size": 768,}', filename="config.json", kind="config")
    assert (result.format, result.verdict) == ("json", "rejected")
    assert "not valid JSON" in finding(result, "json.malformed").message


def test_json_duplicate_keys_need_review(scan):
    result = scan(b'{"lr": 0.1, "lr": 10}', filename="config.json", kind="config")
    assert (result.verdict, "json.duplicate_key" in codes(result)) == ("needs_review", True)


def test_deeply_nested_json_is_rejected_not_crashed(scan):
    result = scan(b"[" * 100_000 + b"]" * 100_000, filename="config.json", kind="config")
    assert result.verdict == "rejected"


def test_text_format_follows_content_when_the_name_says_nothing(scan):
    assert scan(b'{"a": [1, 2]}', filename="config", kind="config").format == "json"
    assert scan(b"layers: 12\nheads: 8\n", filename="config", kind="config").format == "yaml"
    assert scan(b"# Title\n\nSome *text*.\n", filename="README", kind="documentation").format == "markdown"
    assert scan(b"just words\n", filename="NOTES", kind="documentation").format == "text"


def test_not_utf8_is_not_text(scan):
    result = scan("caf\u00e9 cr\u00e8me\n".encode("latin-1") * 10, filename="notes.txt", kind="documentation")
    assert result.format == "unknown"
    assert result.verdict == "rejected"  # .txt promised text


def test_pdf_active_content_and_truncation(scan):
    assert scan(builders.pdf(), filename="r.pdf", kind="documentation").verdict == "valid"
    result = scan(builders.pdf(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"), filename="r.pdf")
    assert "JavaScript" in finding(result, "pdf.active_content").message
    hidden = scan(builders.pdf(b"/OpenAction << /S /J#61vaScript >>"), filename="r.pdf", kind="documentation")
    assert "pdf.active_content" in codes(hidden)
    result = scan(builders.pdf()[:-8], filename="r.pdf", kind="documentation")
    assert (result.verdict, "pdf.truncated" in codes(result)) == ("rejected", True)
