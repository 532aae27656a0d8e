"""Single sign-on: who a person is at the identity provider, which provider groups give which roles, teams
and committee seats, and which local accounts may still use a password when password sign-in is off."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from registry.permissions import Role

ROLE_CHOICES = [(role.value, role.value) for role in Role]


class Identity(models.Model):
    """An Arbiter user's account at an OpenID provider: the issuer and the subject (`sub`) it never reuses.

    Sign-ins find the user by this pair, never by username or e-mail, so a renamed person keeps their account
    and a provider account cannot take over a local one that an administrator has not linked."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)
    # Set when the group mapping deactivated the account (OIDC_REQUIRE_MAPPED_GROUP): a later sign-in whose
    # groups map to something reactivates it; an account an administrator disabled stays disabled.
    deactivated_by_mapping = models.BooleanField(default=False)

    audit_type = "identity"

    class Meta:
        verbose_name_plural = "identities"
        ordering = ["user__username"]
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique_subject")]

    def __str__(self) -> str:
        return f"{self.user} = {self.subject} at {self.issuer}"


class GroupMapping(models.Model):
    """One provider group granting one thing: a role, a team membership or a seat on a committee.

    Applied at every sign-in through the provider: what the person's groups grant is added, and what they no
    longer grant is taken away (every role; the teams and committees some mapping names)."""

    group = models.CharField(max_length=255, help_text="The value in the provider's groups claim.")
    role = models.CharField(max_length=50, choices=ROLE_CHOICES, blank=True)
    team = models.ForeignKey("registry.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    committee = models.ForeignKey(
        "governance.Committee", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    audit_type = "group_mapping"

    class Meta:
        ordering = ["group", "role", "team__name", "committee__name"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    (~Q(role="") & Q(team__isnull=True) & Q(committee__isnull=True))
                    | (Q(role="") & Q(team__isnull=False) & Q(committee__isnull=True))
                    | (Q(role="") & Q(team__isnull=True) & Q(committee__isnull=False))
                ),
                name="sso_mapping_one_target",
            ),
            models.UniqueConstraint(fields=["group", "role"], condition=~Q(role=""), name="sso_mapping_unique_role"),
            models.UniqueConstraint(fields=["group", "team"], name="sso_mapping_unique_team"),
            models.UniqueConstraint(fields=["group", "committee"], name="sso_mapping_unique_committee"),
        ]

    def __str__(self) -> str:
        return f"{self.group} → {self.target_label}"

    @property
    def target_label(self) -> str:
        if self.role:
            return f"role {self.role}"
        if self.team_id:
            return f"team {self.team.name}"
        return f"committee {self.committee.name}"


class BreakGlassAccount(models.Model):
    """A local account that may sign in with its password even when PASSWORD_LOGIN is off: the way in for an
    administrator when the identity provider is down. Every such sign-in is flagged in the audit trail."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="break_glass")
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    audit_type = "break_glass_account"

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return str(self.user)
