"""Test data, created through the services so grants and audit events are as real as in production."""

from __future__ import annotations

import itertools

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile

from registry import services
from registry.models import Artifact, ModelVersion, RegisteredModel
from tests.artifact_files import safetensors_bytes

User = get_user_model()
PASSWORD = "correct-horse-battery"
_names = itertools.count(1)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password(PASSWORD)


def make_user(username: str, *, roles=(), teams=(), **extra):
    user = UserFactory(username=username, **extra)
    user.groups.add(*Group.objects.filter(name__in=[str(r) for r in roles]))
    for team in teams:
        team.group.user_set.add(user)
    return User.objects.get(pk=user.pk)  # fresh object: no cached roles or permissions


def make_model(actor, *, name: str | None = None, title: str | None = None, **fields) -> RegisteredModel:
    name = name or f"model-{next(_names)}"
    return services.model_create(actor=actor, name=name, title=title or name.replace("-", " ").title(), **fields)


def make_version(actor, model: RegisteredModel, *, files: bool = False, **fields) -> ModelVersion:
    """A registered version; `files=True` also gives it a valid file (production policies require one)."""
    fields.setdefault("metrics", [{"name": "accuracy", "value": 0.9, "dataset": "holdout", "split": "test"}])
    version = services.version_register(actor=actor, model=model, **fields)
    if files:
        add_valid_file(actor, version)
    return version


def add_valid_file(actor, version: ModelVersion, filename: str = "model.safetensors") -> Artifact:
    """Upload a small safetensors file to a version in development and validate it, as the worker would:
    production policies require files held by Arbiter."""
    upload = SimpleUploadedFile(filename, safetensors_bytes())
    artifact = services.artifact_upload(actor=actor, version=version, uploaded_file=upload, filename=filename)
    return services.artifact_validate(artifact_id=artifact.pk)
