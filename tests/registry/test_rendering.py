"""Markdown is rendered with raw HTML disabled and then cleaned by nh3: nothing a description contains can run
script, load content from elsewhere, or restyle the page."""

from html.parser import HTMLParser
from urllib.parse import urlparse

import pytest

from registry.rendering import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, render_markdown

NASTY = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle/></svg>",
    "<iframe src=https://evil.example></iframe>",
    "<object data=evil.swf></object><embed src=evil.swf>",
    "<style>body{display:none}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<a href="javascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](javas&#99;ript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](%6Aavascript:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<javascript:alert(1)>",
    "[click][1]\n\n[1]: javascript:alert(1)",
    '[x](https://ok.example "t\\" onmouseover=\\"alert(1))',
    "![x](javascript:alert(1))",
    "![x](https://tracker.example/pixel.png)",
    "<<script>script>alert(1)<</script>/script>",
    "<!-- --><script>alert(1)</script><!-- -->",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<form action=https://evil.example><input name=password><button>Go</button></form>",
    "<meta http-equiv=refresh content='0;url=https://evil.example'>",
    "<base href=https://evil.example/>",
    "| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | <b onclick=alert(1)>x</b> |",
    "```html\n<script>alert(1)</script>\n```",
    "`<script>alert(1)</script>`",
    '<a href="https://ok.example" onclick="alert(1)" target="_blank">x</a>',
]


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _safe_url(url: str) -> bool:
    """Browsers drop whitespace inside a scheme and do not percent-decode it: `%6Aavascript:` is a path."""
    return urlparse("".join(url.split()).lower()).scheme in ("", "http", "https", "mailto")


@pytest.mark.parametrize("source", NASTY)
def test_nothing_in_markdown_can_run_load_or_restyle(source):
    html = str(render_markdown(source))
    collector = _Collector()
    collector.feed(html)
    for tag, attrs in collector.tags:
        assert tag in ALLOWED_TAGS, f"{tag} survived in {html!r}"
        allowed = ALLOWED_ATTRIBUTES.get(tag, set()) | ({"rel"} if tag == "a" else set())
        assert set(attrs) <= allowed, f"{tag} kept {set(attrs) - allowed} in {html!r}"
        if "href" in attrs:
            assert _safe_url(attrs["href"] or ""), f"unsafe link {attrs['href']!r} in {html!r}"
            assert attrs.get("rel") == "noopener noreferrer nofollow"


def test_raw_html_is_shown_as_text_not_dropped_silently():
    html = str(render_markdown("Use <b>bold</b> and <script>alert(1)</script>"))
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "&lt;script&gt;" in html
    assert "<b>" not in html and "<script" not in html


def test_ordinary_markdown_still_renders():
    html = str(render_markdown("# Title\n\n**bold** [docs](https://example.org) `code`\n\n| a |\n|---|\n| 1 |"))
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">docs</a>' in html
    assert "<table>" in html
