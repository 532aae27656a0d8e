"""URL converters. A model name may hold any character but `/` (see `model_name_validator`): `reverse()` and
`{% url %}` percent-encode it (a space becomes `%20`) and Django decodes the path before matching."""

from django.urls import register_converter

from registry.models import MODEL_NAME_MAX_LENGTH


class ModelNameConverter:
    regex = rf"[^/]{{1,{MODEL_NAME_MAX_LENGTH}}}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ModelNameConverter, "model")
