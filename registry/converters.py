"""URL converters: model names are URL-safe by construction (see `RegisteredModel.name`)."""

from django.urls import register_converter


class ModelNameConverter:
    regex = r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ModelNameConverter, "model")
