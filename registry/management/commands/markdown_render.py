"""`manage.py markdown_render`: render every stored description again, after the Markdown renderer or its
sanitiser changed (an upgrade says so in its notes). Pages show the stored HTML and never render."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from registry.models import ModelVersion, RegisteredModel
from registry.rendering import rerender_descriptions


class Command(BaseCommand):
    help = "Re-render the stored HTML of every model and version description."

    def handle(self, *args, **options):
        for label, queryset in (("model", RegisteredModel.objects.all()), ("version", ModelVersion.objects.all())):
            changed = rerender_descriptions(queryset)
            self.stdout.write(f"{changed} {label} description(s) re-rendered.")
