"""Markdown to safe HTML: raw HTML in the source is shown as text, and the output is cleaned by nh3.

The parser is markdown-it-py (CommonMark plus tables and strikethrough), linear in the length of its input:
unclosed brackets and emphasis runs, which made the previous parser quadratic, cost the same per character
as prose. Rendering happens once, when a description is saved (the models keep the result in
`description_html`); `manage.py markdown_render` re-renders everything after this module changes.
"""

from __future__ import annotations

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"align"}, "td": {"align"}}


# html=False: raw HTML in the source is escaped and shown as text, never interpreted.
_PARSER = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def render_markdown(text: str) -> SafeString:
    html = _PARSER.render(text or "")
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308  (cleaned by nh3 just above)


def rerender_descriptions(queryset, *, batch_size: int = 500) -> int:
    """Render every row's `description` again and store what changed in `description_html`, in batches
    (for `manage.py markdown_render` after the renderer changed, and the migration that added the column).
    Returns how many rows changed."""
    changed, batch = 0, []
    rows = queryset.order_by("pk").only("pk", "description", "description_html")
    for row in rows.iterator(chunk_size=batch_size):
        html = str(render_markdown(row.description))
        if html != row.description_html:
            row.description_html = html
            batch.append(row)
        if len(batch) >= batch_size:
            changed += queryset.model._base_manager.bulk_update(batch, ["description_html"])
            batch = []
    if batch:
        changed += queryset.model._base_manager.bulk_update(batch, ["description_html"])
    return changed
