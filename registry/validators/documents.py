"""Text formats (JSON, YAML, Markdown, plain text) and PDF.

Text must be UTF-8 throughout. The extension picks which text format a file is meant to be, since the same
bytes are often valid as several (all JSON is YAML, most text is Markdown); a file claiming to be JSON or YAML
must parse as such. YAML is composed with the safe loader and every tag is checked before anything is built:
`!!python/...` tags construct objects and run code under unsafe loaders, so they reject the file wherever
they appear, whatever the file is called.
"""

from __future__ import annotations

import codecs
import json
import re

from .context import ScanContext, Source, brief, read_up_to

CHUNK = 1024 * 1024
JSON_EXTENSIONS = {".json", ".jsonl", ".ipynb"}
YAML_EXTENSIONS = {".yaml", ".yml"}
MARKDOWN_EXTENSIONS = {".md", ".markdown"}
_YAML_CORE_TAGS = {
    f"tag:yaml.org,2002:{t}"
    for t in ("str", "int", "float", "bool", "null", "map", "seq", "omap", "pairs", "set", "binary", "timestamp",
              "merge", "value")
}  # fmt: skip
_PYTHON_TAG = re.compile(r"!!python/|!python/|tag:yaml\.org,2002:python/")
_YAML_LOOK = re.compile(r"^(---|%YAML|[\w\"'-][^\n:]*:(\s|$))", re.MULTILINE)
_MARKDOWN_LOOK = re.compile(r"^(#{1,6}\s|```|\s*[-*+]\s|\s*\d+\.\s)|\[[^\]]+\]\([^)]+\)", re.MULTILINE)
_BAD_CONTROLS = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
PDF_ACTIVE = {"JavaScript", "JS", "Launch", "EmbeddedFile", "EmbeddedFiles", "RichMedia", "XFA", "AA", "SubmitForm"}
_PDF_NAME = re.compile(rb"/([A-Za-z0-9#]{1,64})")


def check_text(source: Source, ctx: ScanContext, *, extension: str) -> str:
    """Decide which text format the file is and check it. Returns the refined format."""
    problem = _text_problem(source)
    if problem:
        ctx.info("text.not_text", f"The file starts like text but {problem}.")
        return "unknown"
    small = source.size <= ctx.limits.max_text_bytes
    text = _read_text(source) if small else None

    if extension in JSON_EXTENSIONS:
        return _check_json(text, ctx, extension)
    if extension in YAML_EXTENSIONS:
        return _check_yaml(text, ctx)
    if text is not None and _PYTHON_TAG.search(text):
        return _check_yaml(text, ctx)
    if extension in MARKDOWN_EXTENSIONS:
        return "markdown"
    if extension in (".txt", ".text", ".csv", ".tsv"):
        return "text"
    if text is None:
        return "text"
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("{", "["):
        try:
            json.loads(text)
            return _check_json(text, ctx, extension)
        except (ValueError, RecursionError):
            pass
    if _YAML_LOOK.match(stripped):
        probe = ScanContext(ctx.limits)
        fmt = _check_yaml(text, probe)
        if not probe.findings:
            return fmt
    if _MARKDOWN_LOOK.search(text[:65536]):
        return "markdown"
    return "text"


def _text_problem(source: Source) -> str | None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    with source.open() as stream:
        position = 0
        first = True
        while True:
            chunk = stream.read(CHUNK)
            if first and chunk.startswith(codecs.BOM_UTF8):
                chunk = chunk[3:]
                position = 3
            first = False
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return f"is not valid UTF-8 at byte {position + exc.start:,}"
            bad = _BAD_CONTROLS.search(text)
            if bad:
                return f"contains the control character {bad.group(0)!r}"
            if not chunk:
                return None
            position += len(chunk)


def _read_text(source: Source) -> str:
    with source.open() as stream:
        return read_up_to(stream, source.size).decode("utf-8-sig")


class _DuplicateKey(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, object]]) -> dict:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _check_json(text: str | None, ctx: ScanContext, extension: str) -> str:
    if text is None:
        ctx.warning(
            "json.too_large", f"The JSON is larger than {ctx.limits.max_text_bytes:,} bytes and was not parsed."
        )
        return "json"
    documents = text.splitlines() if extension == ".jsonl" else [text]
    for number, document in enumerate(documents, 1):
        if extension == ".jsonl" and not document.strip():
            continue
        where = f" (line {number})" if extension == ".jsonl" else ""
        try:
            json.loads(document, object_pairs_hook=_reject_duplicates)
        except _DuplicateKey as exc:
            ctx.warning(
                "json.duplicate_key",
                f"The JSON{where} repeats the key {str(exc)!r}; parsers disagree on which value wins.",
            )
        except RecursionError:
            ctx.error("json.malformed", f"The JSON{where} is nested too deeply to parse.")
        except ValueError as exc:
            ctx.error("json.malformed", f"The file is not valid JSON{where}: {exc}.")
            return "json"
    return "json"


def parse_json(raw: bytes) -> object:
    """Parse JSON from an archive member (a Keras config), rejecting duplicate keys. Raises ValueError."""
    return json.loads(raw.decode("utf-8-sig"), object_pairs_hook=_reject_duplicates)


def _check_yaml(text: str | None, ctx: ScanContext) -> str:
    import yaml

    ctx.used("pyyaml")
    if text is None:
        ctx.warning(
            "yaml.too_large", f"The YAML is larger than {ctx.limits.max_text_bytes:,} bytes and was not parsed."
        )
        return "yaml"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        documents = list(yaml.compose_all(text, Loader=loader))
    except yaml.YAMLError as exc:
        if _PYTHON_TAG.search(text):
            ctx.error("yaml.unsafe_tag", "The YAML uses !!python/ tags, which construct Python objects and run code.")
        ctx.error("yaml.malformed", f"The file is not valid YAML: {brief(exc, 300)}.")
        return "yaml"
    unsafe, custom, duplicates = _walk_yaml(documents)
    for tag in unsafe[:5]:
        ctx.error(
            "yaml.unsafe_tag",
            f"The YAML uses the tag {tag.replace('tag:yaml.org,2002:', '!!')}, which constructs Python objects and "
            "can run code when loaded with an unsafe loader.",
        )
    if custom:
        ctx.warning(
            "yaml.custom_tag", f"The YAML uses non-standard tags ({', '.join(custom[:5])}) that safe loaders reject."
        )
    if duplicates:
        ctx.warning(
            "yaml.duplicate_key",
            f"The YAML repeats mapping keys ({', '.join(duplicates[:5])}); loaders disagree on which value wins.",
        )
    if not unsafe and not custom:
        try:
            for _ in yaml.load_all(text, Loader=loader):  # noqa: S506 - the safe loader
                pass
        except yaml.YAMLError as exc:
            ctx.error("yaml.malformed", f"The file is not valid YAML: {brief(exc, 300)}.")
    return "yaml"


def _walk_yaml(documents: list) -> tuple[list[str], list[str], list[str]]:
    """Tags and duplicate keys of composed YAML nodes, visiting each node once (aliases share nodes)."""
    import yaml

    unsafe: list[str] = []
    custom: list[str] = []
    duplicates: list[str] = []
    seen: set[int] = set()
    stack = [d for d in documents if d is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        tag = node.tag or ""
        if tag.startswith("tag:yaml.org,2002:python/"):
            unsafe.append(tag)
        elif tag not in _YAML_CORE_TAGS:
            custom.append(tag)
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in keys:
                        duplicates.append(repr(key.value)[:60])
                    keys.add(key.value)
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return unsafe, custom, duplicates


def check_pdf(source: Source, ctx: ScanContext) -> str:
    """A PDF must end with %%EOF; active content (JavaScript, launch actions, embedded files) needs a human."""
    tail = source.tail if source.tail is not None else b""
    if b"%%EOF" not in tail[-1024:]:
        ctx.error("pdf.truncated", "The PDF does not end with an %%EOF marker; it is truncated or damaged.")
    found: set[str] = set()
    limit = min(source.size, ctx.limits.max_text_bytes)
    with source.open() as stream:
        carry = b""
        read = 0
        while read < limit:
            chunk = stream.read(min(CHUNK, limit - read))
            if not chunk:
                break
            read += len(chunk)
            window = carry + chunk
            for match in _PDF_NAME.finditer(window):
                name = _pdf_name(match.group(1))
                if name in PDF_ACTIVE:
                    found.add(name)
            carry = window[-80:]
    if found:
        ctx.warning(
            "pdf.active_content",
            f"The PDF contains active content ({', '.join(sorted(found))}); a reviewer must confirm it is harmless.",
        )
    if source.size > limit:
        ctx.warning(
            "pdf.partially_scanned", f"Only the first {limit:,} bytes of the PDF were searched for active content."
        )
    return "pdf"


def _pdf_name(raw: bytes) -> str:
    """Decode #xx escapes, which hide names like /JavaScript as /J#61vaScript."""
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw).decode("latin-1")
