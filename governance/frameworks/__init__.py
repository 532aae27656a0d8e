"""The seeded questionnaire templates (the YAML files in this folder) and the one routine that loads them.

Used by the data migration (with historical models, no audit events) and by `manage.py frameworks load`
(through `governance.services.frameworks_load`, which records an event per change). Loading is idempotent:

- a key seen for the first time becomes version 1;
- a file whose content has not changed since it was last loaded changes nothing, even if a risk officer has
  edited the template in the UI since (their version stays the latest);
- a changed file updates the latest version in place only if that version came from the file and no
  assessment uses it yet; otherwise it becomes a new version, and existing assessments keep theirs.

Top-level keys starting with `x-` are ignored, so a file can hold YAML anchors (shared option lists).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from governance.questionnaire import DefinitionError, validate_definition

FRAMEWORKS_DIR = Path(__file__).resolve().parent
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
FRAMEWORK_VALUES = ("eu_ai_act", "nist_ai_rmf", "iso_42001", "internal")


@dataclass(frozen=True)
class TemplateFile:
    """A template as read from a seed file: its identity, its normalised definition and a digest of both."""

    source: str
    key: str
    title: str
    framework: str
    description: str
    definition: dict[str, Any]

    @property
    def digest(self) -> str:
        return content_digest(
            key=self.key,
            title=self.title,
            framework=self.framework,
            description=self.description,
            definition=self.definition,
        )


def content_digest(**fields: Any) -> str:
    """SHA-256 over the canonical JSON of a template's content (sorted keys, no whitespace)."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse_template(data: Any, *, source: str) -> TemplateFile:
    """Check a parsed YAML/JSON document and return it as a TemplateFile, or raise DefinitionError."""
    if not isinstance(data, dict):
        raise DefinitionError([f"{source}: the file holds one object (key, title, framework, sections, scoring)"])
    data = {k: v for k, v in data.items() if not str(k).startswith("x-")}
    problems = []
    key = data.pop("key", None)
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        problems.append("key: 2-64 lower-case letters, digits and dashes")
    title = data.pop("title", None)
    if not isinstance(title, str) or not title.strip():
        problems.append("title: required")
    framework = data.pop("framework", None)
    if framework not in FRAMEWORK_VALUES:
        problems.append(f"framework: one of {', '.join(FRAMEWORK_VALUES)}")
    description = data.pop("description", "") or ""
    try:
        definition = validate_definition(data)
    except DefinitionError as exc:
        problems.extend(exc.problems)
        definition = {}
    if problems:
        raise DefinitionError([f"{source}: {p}" for p in problems])
    return TemplateFile(source, key, title.strip(), framework, str(description).strip(), definition)


def read_template_file(path: Path) -> TemplateFile:
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    try:
        source = str(path.relative_to(FRAMEWORKS_DIR.parent.parent))
    except ValueError:
        source = str(path)
    return parse_template(data, source=source)


def template_files(directory: Path | None = None) -> list[TemplateFile]:
    directory = directory or FRAMEWORKS_DIR
    paths = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
    files = [read_template_file(path) for path in paths]
    keys = [f.key for f in files]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise DefinitionError([f"more than one file defines key '{k}'" for k in duplicates])
    return files


def load_template(
    template_model, file: TemplateFile, *, is_used: Callable[[Any], bool], created_by_id: int | None = None
) -> tuple[str, Any]:
    """Bring the stored versions of `file.key` in line with `file`. Returns (outcome, template) where the
    outcome is `created`, `updated`, `versioned` or `unchanged`. The caller holds the transaction."""
    versions = template_model.objects.select_for_update().filter(key=file.key).order_by("-version")
    latest = versions.first()
    values = {
        "title": file.title,
        "framework": file.framework,
        "description": file.description,
        "definition": file.definition,
        "classifies": file.definition["scoring"]["classifies"],
        "source": file.source,
        "source_digest": file.digest,
    }
    if latest is None:
        return "created", template_model.objects.create(key=file.key, version=1, created_by_id=created_by_id, **values)
    # `source_digest` names the file content last loaded into a version; `source` is cleared when a risk
    # officer edits that version in the UI, so its content no longer equals the file.
    last_loaded = versions.exclude(source_digest="").first()
    if last_loaded is not None and last_loaded.source_digest == file.digest:
        return "unchanged", latest
    if latest.source and not is_used(latest):
        for field, value in values.items():
            setattr(latest, field, value)
        latest.save()
        return "updated", latest
    template = template_model.objects.create(
        key=file.key, version=latest.version + 1, created_by_id=created_by_id, **values
    )
    return "versioned", template
