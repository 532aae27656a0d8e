"""The default approval committees and policies (EU AI Act-aligned tiers).

Created by migration governance.0004 and again after any `migrate` (or a test run's flush) that finds no
committees and no policies at all: an operator's edits are never overwritten, and a fresh database always
starts governed. Membership is left to the administrators; `seed_demo` fills it for the demo.
"""

from governance.choices import QuorumRule

COMMITTEES = [
    (
        "Peer Review",
        "peer-review",
        "One independent reviewer signs off on minimal-risk models.",
        QuorumRule.COUNT,
        1,
        False,
    ),
    (
        "Model Review Committee",
        "model-review-committee",
        "Independent validation of model design, data, performance and limitations.",
        QuorumRule.COUNT,
        2,
        False,
    ),
    (
        "Risk & Compliance Committee",
        "risk-compliance-committee",
        "Regulatory and risk sign-off for high-risk models (EU AI Act, model risk policy).",
        QuorumRule.COUNT,
        1,
        True,
    ),
]

# (target stage, tier) -> (allowed, committee slugs, require assessment, note)
POLICIES = {
    ("staging", "unassessed"): (True, [], False, "Staging needs no approval; production needs an assessment."),
    ("staging", "minimal"): (True, [], False, ""),
    ("staging", "limited"): (True, [], False, ""),
    ("staging", "high"): (True, [], False, ""),
    ("staging", "prohibited"): (False, [], False, "Prohibited practices (EU AI Act Art. 5) are never promoted."),
    ("production", "unassessed"): (False, [], False, "Assess the model's risk before it can reach production."),
    ("production", "minimal"): (True, ["peer-review"], False, "One peer reviewer."),
    ("production", "limited"): (True, ["model-review-committee"], True, ""),
    ("production", "high"): (True, ["model-review-committee", "risk-compliance-committee"], True, ""),
    ("production", "prohibited"): (False, [], False, "Prohibited practices (EU AI Act Art. 5) are never promoted."),
}


def ensure_defaults(*, group_model, committee_model, policy_model) -> None:
    """Create the default committees and policy rows if the database has none."""
    Group, Committee, ApprovalPolicy = group_model, committee_model, policy_model
    if Committee.objects.exists() or ApprovalPolicy.objects.exists():
        return
    by_slug = {}
    for name, slug, purpose, rule, minimum, veto in COMMITTEES:
        group, _ = Group.objects.get_or_create(name=f"committee:{slug}")
        committee, _ = Committee.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "purpose": purpose,
                "quorum_rule": rule,
                "min_approvals": minimum,
                "veto_on_reject": veto,
                "group": group,
            },
        )
        by_slug[slug] = committee
    # Migration 0004 runs this with a policy model from before `require_files` (added, and set for production,
    # by migration 0009).
    has_require_files = any(f.name == "require_files" for f in ApprovalPolicy._meta.get_fields())
    for (stage, tier), (allowed, slugs, assessment, note) in POLICIES.items():
        defaults = {
            "allowed": allowed,
            "require_assessment": assessment,
            "note": note,
            "require_metadata": stage == "production",
        }
        if has_require_files:
            defaults["require_files"] = stage == "production"
        policy, _ = ApprovalPolicy.objects.get_or_create(target_stage=stage, risk_tier=tier, defaults=defaults)
        policy.committees.set([by_slug[slug] for slug in slugs])


def ensure_defaults_after_migrate(sender, **kwargs) -> None:
    from django.contrib.auth.models import Group

    from governance.models import ApprovalPolicy, Committee

    ensure_defaults(group_model=Group, committee_model=Committee, policy_model=ApprovalPolicy)
