"""Single sign-on services: signing a person in from their provider's verified claims (finding or creating
their account, applying the group mapping), and the administrators' settings (group mapping, linked
identities, break-glass accounts). Each change writes its audit event in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.audit import audit_record
from governance.audit_actions import AuditAction
from governance.models import Committee, CommitteeMembership
from governance.sso.models import BreakGlassAccount, GroupMapping, Identity
from registry import permissions
from registry.exceptions import Conflict, InvalidInput
from registry.models import Team
from registry.permissions import ROLE_NAMES, Role

User = get_user_model()
NO_MAPPED_GROUP = (
    "None of your groups at {provider} gives access to Arbiter. Ask your administrator to add you to a group that does."
)


class SignInRefused(Exception):
    """The provider vouched for this person, but Arbiter does not let them in; `message` says why, for them."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def _require_admin(actor) -> None:
    if actor is not None and not permissions.is_administrator(actor):
        raise PermissionDenied("Only administrators manage single sign-on.")


# --- Signing in -----------------------------------------------------------------------------------------


def provider_groups(claims: Mapping[str, Any]) -> list[str]:
    """The groups the provider put in the OIDC_GROUPS_CLAIM claim: a list of names, or one name."""
    value = claims.get(settings.OIDC_GROUPS_CLAIM) or []
    if isinstance(value, str):
        value = [value]
    return sorted({str(group) for group in value if isinstance(group, str | int)})


def sso_sign_in(*, claims: Mapping[str, Any]) -> Any:
    """The Arbiter user for verified ID token claims (`iss`, `sub`, the username and groups claims), with
    their roles, teams and committee seats brought in line with the group mapping. Raises SignInRefused,
    recorded in the audit trail with the subject an administrator needs to link an account.

    A first sign-in creates the account, unless a local account already has the username (an administrator
    links it first). With OIDC_REQUIRE_MAPPED_GROUP, a person whose groups map to nothing is refused, and an
    existing account is deactivated (its API tokens stop working) until their groups map to something again.
    """
    issuer, subject = str(claims.get("iss") or ""), str(claims.get("sub") or "")
    try:
        user, mapped = _sign_in(issuer, subject, claims)
        if not mapped and settings.OIDC_REQUIRE_MAPPED_GROUP:
            raise SignInRefused(NO_MAPPED_GROUP.format(provider=settings.OIDC_PROVIDER_NAME), code="no_mapped_group")
        if not user.is_active:
            raise SignInRefused("Your Arbiter account is disabled. Ask an administrator.", code="user_inactive")
    except SignInRefused as refusal:
        username = str(claims.get(settings.OIDC_USERNAME_CLAIM) or "")[:150]
        sso_refusal_record(username=username, issuer=issuer, subject=subject, code=refusal.code)
        raise
    return User.objects.get(pk=user.pk)  # fresh: no cached roles


@transaction.atomic
def _sign_in(issuer: str, subject: str, claims: Mapping[str, Any]) -> tuple[Any, bool]:
    groups = provider_groups(claims)
    identity = (
        Identity.objects.select_for_update().select_related("user").filter(issuer=issuer, subject=subject).first()
    )
    if identity is None and settings.OIDC_REQUIRE_MAPPED_GROUP and not GroupMapping.objects.filter(group__in=groups):
        raise SignInRefused(NO_MAPPED_GROUP.format(provider=settings.OIDC_PROVIDER_NAME), code="no_mapped_group")
    if identity is not None and not identity.user.is_active and not identity.deactivated_by_mapping:
        raise SignInRefused("Your Arbiter account is disabled. Ask an administrator.", code="user_inactive")
    user = identity.user if identity is not None else _first_sign_in(issuer, subject, claims)
    mapped = _apply_group_mapping(user, groups)
    if mapped and not user.is_active and identity is not None and identity.deactivated_by_mapping:
        _set_active(user, active=True, groups=groups)
        identity.deactivated_by_mapping = False
    elif not mapped and settings.OIDC_REQUIRE_MAPPED_GROUP and user.is_active:
        _set_active(user, active=False, groups=groups)
        if identity is not None:
            identity.deactivated_by_mapping = True
    if identity is not None:
        identity.last_sign_in_at = timezone.now()
        identity.save(update_fields=["last_sign_in_at", "deactivated_by_mapping"])
    _update_profile(user, claims)
    return user, mapped


def _set_active(user, *, active: bool, groups: list[str]) -> None:
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit_record(
        actor=None,
        action=AuditAction.USER_REACTIVATED if active else AuditAction.USER_DEACTIVATED,
        target=user,
        target_type="user",
        changes={"is_active": {"before": not active, "after": active}, **_claim_note(groups)},
    )


def _claim_note(groups: list[str]) -> dict[str, Any]:
    return {"claim": settings.OIDC_GROUPS_CLAIM, "provider_groups": groups}


def _first_sign_in(issuer: str, subject: str, claims: Mapping[str, Any]):
    username = str(claims.get(settings.OIDC_USERNAME_CLAIM) or "").strip()[:150]
    if not issuer or not subject:
        raise SignInRefused("The provider's answer had no subject.", code="no_subject")
    if not username:
        raise SignInRefused(
            f"Your provider sent no '{settings.OIDC_USERNAME_CLAIM}' claim to name your account. "
            "Ask your administrator to check OIDC_USERNAME_CLAIM.",
            code="no_username",
        )
    if User.objects.filter(username__iexact=username).exists():
        raise SignInRefused(
            f"An Arbiter account named {username} already exists and is not linked to your "
            f"{settings.OIDC_PROVIDER_NAME} account, so it was not taken over. Ask an administrator to link it "
            f"(Sign-in page, subject {subject}).",
            code="account_exists",
        )
    user = User(username=username)
    user.set_unusable_password()
    user.save()
    Identity.objects.create(user=user, issuer=issuer, subject=subject, last_sign_in_at=timezone.now())
    audit_record(
        actor=None,
        action=AuditAction.USER_CREATED,
        target=user,
        target_type="user",
        changes={"username": username, "issuer": issuer, "subject": subject},
    )
    return user


def _update_profile(user, claims: Mapping[str, Any]) -> None:
    fields = {
        "email": str(claims.get("email") or "")[:254],
        "first_name": str(claims.get("given_name") or "")[:150],
        "last_name": str(claims.get("family_name") or "")[:150],
    }
    changed = [name for name, value in fields.items() if value and getattr(user, name) != value]
    for name in changed:
        setattr(user, name, fields[name])
    if changed:
        user.save(update_fields=changed)


def _apply_group_mapping(user, groups: list[str]) -> bool:
    """Grant what the groups map to and take away what they no longer grant; True if any group is mapped.

    Every role is the mapping's to decide; among teams and committees, only those some mapping names, so
    administrators still manage the others by hand."""
    rows = list(GroupMapping.objects.select_related("team__group", "committee__group"))
    matched = [row for row in rows if row.group in groups]
    note = _claim_note(groups)

    # No mapped role: a Viewer, or nothing at all when unmapped people are refused (and deactivated).
    fallback = set() if settings.OIDC_REQUIRE_MAPPED_GROUP else {Role.VIEWER.value}
    wanted_roles = {row.role for row in matched if row.role} or fallback
    current_roles = set(user.groups.filter(name__in=ROLE_NAMES).values_list("name", flat=True))
    for role in sorted(wanted_roles - current_roles):
        user.groups.add(Group.objects.get(name=role))
        audit_record(
            actor=None,
            action=AuditAction.USER_ROLE_ADDED,
            target=user,
            target_type="user",
            changes={"role": role, **note},
        )
    for role in sorted(current_roles - wanted_roles):
        user.groups.remove(Group.objects.get(name=role))
        audit_record(
            actor=None,
            action=AuditAction.USER_ROLE_REMOVED,
            target=user,
            target_type="user",
            changes={"role": role, **note},
        )

    managed_teams = {row.team for row in rows if row.team_id}
    wanted_teams = {row.team for row in matched if row.team_id}
    member_of = set(user.groups.values_list("pk", flat=True))
    username = user.get_username()
    for team in sorted(managed_teams, key=lambda t: t.slug):
        if team in wanted_teams and team.group_id not in member_of:
            team.group.user_set.add(user)
            audit_record(
                actor=None,
                action=AuditAction.TEAM_MEMBER_ADDED,
                target=team,
                changes={"members": {"added": [username]}, **note},
            )
        elif team not in wanted_teams and team.group_id in member_of:
            team.group.user_set.remove(user)
            audit_record(
                actor=None,
                action=AuditAction.TEAM_MEMBER_REMOVED,
                target=team,
                changes={"members": {"removed": [username]}, **note},
            )

    managed_committees = {row.committee for row in rows if row.committee_id}
    wanted_committees = {row.committee for row in matched if row.committee_id}
    seats = set(CommitteeMembership.objects.filter(user=user).values_list("committee_id", flat=True))
    for committee in sorted(managed_committees, key=lambda c: c.slug):
        if committee in wanted_committees and committee.pk not in seats:
            CommitteeMembership.objects.create(committee=committee, user=user, role="member")
            committee.group.user_set.add(user)
            audit_record(
                actor=None,
                action=AuditAction.COMMITTEE_MEMBER_SET,
                target=committee,
                changes={"member": username, "role": {"before": None, "after": "member"}, **note},
            )
        elif committee not in wanted_committees and committee.pk in seats:
            CommitteeMembership.objects.filter(committee=committee, user=user).delete()
            committee.group.user_set.remove(user)
            audit_record(
                actor=None,
                action=AuditAction.COMMITTEE_MEMBER_REMOVED,
                target=committee,
                changes={"member": username, **note},
            )
    return bool(matched)


def sso_refusal_record(*, username: str, issuer: str, subject: str, code: str) -> None:
    """Record a provider sign-in Arbiter refused, with the subject an administrator needs to link the account."""
    with transaction.atomic():
        audit_record(
            actor=None,
            action=AuditAction.LOGIN_REFUSED,
            target_type="user",
            target_id=username,
            target_label=username,
            changes={"reason": code, "issuer": issuer, "subject": subject},
        )


@transaction.atomic
def break_glass_sign_in_record(*, user) -> None:
    """Record a password sign-in by a break-glass account while password sign-in is off."""
    audit_record(
        actor=user,
        action=AuditAction.LOGIN_BREAK_GLASS,
        target=user,
        target_type="user",
        changes={"method": "password"},
    )


# --- Administration -------------------------------------------------------------------------------------


@transaction.atomic
def group_mapping_create(
    *, actor, group: str, role: str = "", team: Team | None = None, committee=None
) -> GroupMapping:
    """Map a provider group to one role, team or committee seat. Administrators only."""
    _require_admin(actor)
    group = (group or "").strip()
    if not group:
        raise InvalidInput("Name the provider group.", fields={"group": ["Required."]})
    if sum(bool(x) for x in (role, team, committee)) != 1:
        raise InvalidInput("Choose one role, team or committee.", fields={"role": ["Choose exactly one target."]})
    if role and role not in ROLE_NAMES:
        raise InvalidInput(f"{role} is not a role.", fields={"role": ["Unknown role."]})
    try:
        with transaction.atomic():
            mapping = GroupMapping.objects.create(group=group, role=role or "", team=team, committee=committee)
    except IntegrityError as exc:
        raise Conflict(f"{group} already maps to that.", code="mapping_exists") from exc
    audit_record(
        actor=actor,
        action=AuditAction.SSO_MAPPING_CREATED,
        target=mapping,
        changes={"group": group, "target": mapping.target_label},
    )
    return mapping


@transaction.atomic
def group_mapping_delete(*, actor, mapping: GroupMapping) -> None:
    """Remove a mapping row; people keep what it granted until their next sign-in. Administrators only."""
    _require_admin(actor)
    audit_record(
        actor=actor,
        action=AuditAction.SSO_MAPPING_DELETED,
        target=mapping,
        changes={"group": mapping.group, "target": mapping.target_label},
    )
    mapping.delete()


@transaction.atomic
def group_map_load(*, actor, group_map: Mapping[str, Any]) -> list[GroupMapping]:
    """Add the rows of an OIDC_GROUP_MAP document that are missing (idempotent):
    `{"group": {"roles": ["Reviewer"], "teams": ["alpha"], "committees": ["model-review-committee"]}}`."""
    _require_admin(actor)
    if not isinstance(group_map, Mapping):
        raise InvalidInput("OIDC_GROUP_MAP must be a JSON object keyed by provider group.")
    created = []
    for group, targets in group_map.items():
        if not isinstance(targets, Mapping) or set(targets) - {"roles", "teams", "committees"}:
            raise InvalidInput(f"{group}: expected an object with roles, teams and/or committees lists.")
        wanted: list[dict[str, Any]] = [{"role": role} for role in targets.get("roles", [])]
        for slug in targets.get("teams", []):
            team = Team.objects.filter(slug=slug).first()
            if team is None:
                raise InvalidInput(f"{group}: no team with slug {slug}.")
            wanted.append({"team": team})
        for slug in targets.get("committees", []):
            committee = Committee.objects.filter(slug=slug).first()
            if committee is None:
                raise InvalidInput(f"{group}: no committee with slug {slug}.")
            wanted.append({"committee": committee})
        for target in wanted:
            if not GroupMapping.objects.filter(group=group, **target).exists():
                created.append(group_mapping_create(actor=actor, group=group, **target))
    return created


@transaction.atomic
def identity_link(*, actor, user, subject: str, issuer: str | None = None) -> Identity:
    """Let the provider account with this subject sign in as an existing (local) account. Administrators only."""
    _require_admin(actor)
    issuer = issuer or settings.OIDC_ISSUER
    subject = (subject or "").strip()
    if not issuer:
        raise InvalidInput("Single sign-on is not configured (OIDC_ISSUER).")
    if not subject:
        raise InvalidInput("Give the provider subject.", fields={"subject": ["Required."]})
    if permissions.is_service_account(user):
        raise InvalidInput("Service accounts use API tokens.", fields={"username": ["A service account."]})
    if Identity.objects.filter(issuer=issuer, subject=subject).exists():
        raise Conflict("That provider account is already linked.", code="identity_exists")
    identity = Identity.objects.create(user=user, issuer=issuer, subject=subject)
    audit_record(
        actor=actor,
        action=AuditAction.SSO_IDENTITY_LINKED,
        target=user,
        target_type="user",
        changes={"issuer": issuer, "subject": subject},
    )
    return identity


@transaction.atomic
def break_glass_grant(*, actor, user, reason: str) -> BreakGlassAccount:
    """Let an administrator's local account keep its password sign-in when PASSWORD_LOGIN is off."""
    _require_admin(actor)
    if not (reason or "").strip():
        raise InvalidInput("Say why this account needs a password.", fields={"reason": ["Required."]})
    if not permissions.is_administrator(user) or permissions.is_service_account(user):
        raise InvalidInput(
            "Only administrators' personal accounts can be break-glass accounts.",
            fields={"username": ["Not an administrator."]},
        )
    account, created = BreakGlassAccount.objects.get_or_create(user=user, defaults={"reason": reason.strip()})
    if not created:
        raise Conflict(f"{user.get_username()} is already a break-glass account.", code="break_glass_exists")
    audit_record(
        actor=actor,
        action=AuditAction.SSO_BREAK_GLASS_GRANTED,
        target=user,
        target_type="user",
        changes={"reason": account.reason},
    )
    return account


@transaction.atomic
def break_glass_revoke(*, actor, account: BreakGlassAccount) -> None:
    """Take away an account's password sign-in while PASSWORD_LOGIN is off."""
    _require_admin(actor)
    audit_record(actor=actor, action=AuditAction.SSO_BREAK_GLASS_REVOKED, target=account.user, target_type="user")
    account.delete()
