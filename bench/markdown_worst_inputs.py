"""CPU time of the Markdown renderer on the penetration test's worst inputs (issue 22, item 2).

    .venv/bin/python bench/markdown_worst_inputs.py

No database: renders each input once with `registry.rendering.render_markdown` (parse and nh3) and prints
this process's CPU seconds, which stay steady on a busy machine where wall-clock time does not.
"""

from __future__ import annotations

import os
import time

import django

INPUTS = {
    "12,000 [": "[" * 12_000,
    "8,000 [a](": "[a](" * 8_000,
    "200,000 * then 50,000 [": "*" * 200_000 + "[" * 50_000,
    "50,000 [ (the MARKDOWN_MAX_CHARS cap)": "[" * 50_000,
}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from registry.rendering import render_markdown

    for name, source in INPUTS.items():
        started = time.process_time()
        render_markdown(source)
        print(f"{name:40} {time.process_time() - started:6.2f} s CPU ({len(source):,} characters)")


if __name__ == "__main__":
    main()
