"""Browser views of the catalog. Thin: selectors to read, services to write, forms to show errors."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from governance import services as governance_services
from registry import permissions, selectors, services
from registry.choices import Stage
from registry.downloads import artifact_response
from registry.exceptions import DomainError
from registry.forms import (
    ArtifactUploadForm,
    GrantForm,
    ModelForm,
    ServiceAccountForm,
    TeamForm,
    TeamMemberForm,
    TokenForm,
    TransitionForm,
    VersionForm,
)
from registry.models import RegisteredModel
from registry.pagination import CappedPaginator
from registry.permissions import Action

User = get_user_model()

PAGE_SIZES = (10, 25, 50, 100)


def _page_size(request) -> int:
    try:
        size = int(request.GET.get("page_size", 25))
    except ValueError:
        return 25
    return size if size in PAGE_SIZES else 25


def catalog(request):
    models, filterset = selectors.model_list(user=request.user, filters=request.GET)
    paginator = CappedPaginator(models, _page_size(request))
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter": filterset,
        "page": page,
        "query": query.urlencode(),
        "page_sizes": PAGE_SIZES,
        "page_size": paginator.per_page,
        "filtered": any(v for k, v in request.GET.items() if k not in ("page", "page_size", "sort")),
        "can_create": permissions.can_create_model(request.user),
    }
    template = "registry/_catalog_results.html" if request.headers.get("HX-Request") else "registry/catalog.html"
    return render(request, template, context)


def _metric_series(versions) -> dict:
    """Metric values per version, for the model page's chart: {metric label: [[version, value], ...]}."""
    series: dict[str, list] = {}
    for version in sorted(versions, key=lambda v: v.version):
        for metric in version.metrics.all():
            label = metric.name + (f" ({metric.split})" if metric.split else "")
            series.setdefault(label, []).append([version.version, metric.value])
    return {label: points for label, points in series.items() if len(points) >= 1}


def model_detail(request, name):
    model = selectors.model_get(user=request.user, name=name)
    versions = list(selectors.version_list(user=request.user, model=model))
    context = {
        "model": model,
        "versions": versions,
        "perms": permissions.model_perms_for(request.user, model),
        "metric_series": _metric_series(versions),
        "tab": "overview",
    }
    return render(request, "registry/model_detail.html", context)


def _model_form_initial(model: RegisteredModel) -> dict:
    return {field: getattr(model, field) for field in services.MODEL_EDITABLE_FIELDS}


@require_http_methods(["GET", "POST"])
def model_create(request):
    permissions.require_create_model(request.user)
    form = ModelForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            model = services.model_create(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.apply_error(exc)
        else:
            messages.success(request, f"Registered {model.name}. Next: register its first version.")
            return redirect(model)
    return render(request, "registry/model_form.html", {"form": form, "creating": True})


@require_http_methods(["GET", "POST"])
def model_edit(request, name):
    model = selectors.model_get(user=request.user, name=name, action=Action.CHANGE)
    form = ModelForm(request.POST or None, user=request.user, editing=True, initial=_model_form_initial(model))
    if request.method == "POST" and form.is_valid():
        try:
            services.model_update(actor=request.user, model=model, data=form.cleaned_data)
        except DomainError as exc:
            form.apply_error(exc)
        else:
            messages.success(request, "Saved.")
            return redirect(model)
    return render(request, "registry/model_form.html", {"form": form, "model": model, "creating": False})


@require_POST
def model_delete(request, name):
    model = selectors.model_get(user=request.user, name=name, action=Action.DELETE)
    try:
        services.model_delete(actor=request.user, model=model)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(model)
    messages.success(request, f"Deleted {name}.")
    return redirect("registry:catalog")


def _artifacts_context(request, model, version) -> dict:
    artifacts = list(version.artifacts.all())
    return {
        "model": model,
        "version": version,
        "artifacts": artifacts,
        "polling": any(a.in_progress for a in artifacts),
        "perms": permissions.model_perms_for(request.user, model),
        "is_admin": permissions.is_administrator(request.user),
    }


def version_detail(request, name, version, upload_form=None):
    model = selectors.model_get(user=request.user, name=name)
    found = selectors.version_get(user=request.user, model=model, version=version)
    context = {
        **_artifacts_context(request, model, found),
        "transition_form": TransitionForm(),
        "upload_form": upload_form or ArtifactUploadForm(),
        "next_stages": _next_stages(found.stage),
        "tab": "overview",
    }
    return render(request, "registry/version_detail.html", context, status=400 if upload_form else 200)


def version_artifacts(request, name, version):
    """The artifacts table alone: htmx polls it while files are being validated."""
    model = selectors.model_get(user=request.user, name=name)
    found = selectors.version_get(user=request.user, model=model, version=version)
    return render(request, "registry/_artifacts.html", _artifacts_context(request, model, found))


@require_POST
def artifact_upload(request, name, version):
    """Browser upload. With JavaScript the page posts it by XHR (progress bar) and swaps in the refreshed
    table, or the form with its errors; without, a normal post-redirect-get."""
    model = selectors.model_get(user=request.user, name=name)
    found = selectors.version_get(user=request.user, model=model, version=version, action=Action.UPLOAD)
    form = ArtifactUploadForm(request.POST, request.FILES)
    xhr = request.headers.get("X-Requested-With") == "XMLHttpRequest"
    if form.is_valid():
        try:
            services.artifact_upload(
                actor=request.user,
                version=found,
                uploaded_file=form.cleaned_data["file"],
                filename=form.cleaned_data["file"].name,
                kind=form.cleaned_data["kind"],
                declared_sha256=form.cleaned_data["sha256"],
            )
        except DomainError as exc:
            form.apply_error(exc)
            if "file" not in form.errors and exc.fields.get("filename"):
                form.add_error("file", exc.fields["filename"][0])
    if form.errors:
        if xhr:
            return render(
                request,
                "registry/_artifact_upload.html",
                {"upload_form": form, "model": model, "version": found},
                status=400,
            )
        return version_detail(request, name, version, upload_form=form)
    if xhr:
        found = selectors.version_get(user=request.user, model=model, version=version)
        return render(request, "registry/_artifacts.html", _artifacts_context(request, model, found))
    messages.success(request, "Uploaded. Validation runs in the background; the status updates on this page.")
    return redirect(found)


def artifact_download(request, name, version, artifact_id):
    model = selectors.model_get(user=request.user, name=name)
    found = selectors.version_get(user=request.user, model=model, version=version)
    artifact = selectors.artifact_get(user=request.user, version=found, artifact_id=artifact_id)
    try:
        return artifact_response(request, artifact, override=request.GET.get("override") == "1")
    except DomainError as exc:
        messages.error(request, exc.message)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    return redirect(found)


@require_POST
def artifact_delete(request, name, version, artifact_id):
    model = selectors.model_get(user=request.user, name=name)
    found = selectors.version_get(user=request.user, model=model, version=version)
    artifact = selectors.artifact_get(user=request.user, version=found, artifact_id=artifact_id)
    try:
        services.artifact_delete(actor=request.user, artifact=artifact)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Removed {artifact.filename}.")
    return redirect(found)


def _next_stages(current: str) -> list[tuple[str, str]]:
    return [(stage.value, stage.label) for stage in Stage if services.transition_refusal(current, stage) is None]


@require_http_methods(["GET", "POST"])
def version_create(request, name):
    model = selectors.model_get(user=request.user, name=name, action=Action.CHANGE)
    form = VersionForm(request.POST or None, initial={"framework": model.framework})
    if request.method == "POST" and form.is_valid():
        try:
            version = services.version_register(actor=request.user, model=model, **form.cleaned_data)
        except DomainError as exc:
            form.apply_error(exc)
        else:
            messages.success(request, f"Registered {model.name} v{version.version}.")
            return redirect(version)
    return render(request, "registry/version_form.html", {"form": form, "model": model, "creating": True})


@require_http_methods(["GET", "POST"])
def version_edit(request, name, version):
    model = selectors.model_get(user=request.user, name=name)
    found = selectors.version_get(user=request.user, model=model, version=version, action=Action.CHANGE)
    initial = {field: getattr(found, field) for field in services.VERSION_METADATA_FIELDS}
    initial["tags"] = found.tags
    initial["metrics"] = [
        {"name": m.name, "value": m.value, "dataset": m.dataset, "split": m.split} for m in found.metrics.all()
    ]
    form = VersionForm(request.POST or None, initial=initial)
    if found.metadata_frozen:
        for field in form.fields:
            if field not in services.VERSION_COMMENTARY_FIELDS:
                form.fields[field].disabled = True
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if not form.fields[k].disabled}
        try:
            services.version_update(actor=request.user, version=found, data=data)
        except DomainError as exc:
            form.apply_error(exc)
        else:
            messages.success(request, "Saved.")
            return redirect(found)
    context = {"form": form, "model": model, "version": found, "creating": False}
    return render(request, "registry/version_form.html", context)


@require_POST
def version_transition(request, name, version):
    model = selectors.model_get(user=request.user, name=name)
    found = selectors.version_get(user=request.user, model=model, version=version, action=Action.CHANGE)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid stage.")
        return redirect(found)
    try:
        governance_services.version_transition(actor=request.user, version=found, **form.cleaned_data)
    except DomainError as exc:
        messages.error(request, exc.message)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "You may not make this change.")
    else:
        messages.success(request, f"v{found.version} moved to {Stage(form.cleaned_data['stage']).label.lower()}.")
    return redirect(found)


# --- Access tab ------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def model_access(request, name):
    model = selectors.model_get(user=request.user, name=name)
    perms = permissions.model_perms_for(request.user, model)
    form = GrantForm(request.POST or None) if perms["manage_access"] else None
    if request.method == "POST":
        permissions.require(request.user, Action.MANAGE_ACCESS, model)
        if form.is_valid():
            try:
                services.access_grant(
                    actor=request.user,
                    model=model,
                    grantee=form.cleaned_data["grantee"],
                    actions=form.cleaned_data["actions"],
                )
            except DomainError as exc:
                form.apply_error(exc)
            except PermissionDenied as exc:
                form.add_error("actions", str(exc))
            else:
                messages.success(request, "Access granted.")
                return redirect("registry:model-access", name=model.name)
    grants = selectors.access_list(user=request.user, model=model)
    context = {
        "model": model,
        "perms": perms,
        "form": form,
        "user_grants": grants["users"],
        "team_grants": grants["teams"],
        "group_grants": [(selectors.group_display_name(group), codes) for group, codes in grants["groups"]],
        "tab": "access",
        "action_labels": {a.value: permissions.ACTION_VERBS[a] for a in Action},
    }
    return render(request, "registry/model_access.html", context)


@require_POST
def model_access_revoke(request, name):
    model = selectors.model_get(user=request.user, name=name, action=Action.MANAGE_ACCESS)
    kind, ident = request.POST.get("grantee_type"), request.POST.get("grantee_id", "")
    if kind == "user":
        grantee = User.objects.filter(pk=ident).first() if ident.isdigit() else None
    else:
        grantee = Group.objects.filter(pk=ident).first() if ident.isdigit() else None
    if grantee is None:
        messages.error(request, "Unknown user or team.")
        return redirect("registry:model-access", name=model.name)
    try:
        services.access_revoke(actor=request.user, model=model, grantee=grantee, actions=list(Action))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Access revoked.")
    return redirect("registry:model-access", name=model.name)


# --- API tokens ------------------------------------------------------------------------------------------


def _token_create_from(request, form: TokenForm, *, owner) -> str | None:
    """Create a token from a valid form; the secret, to show once, or None with the errors on the form."""
    try:
        token, secret = services.token_create(actor=request.user, user=owner, **form.cleaned_data)
    except DomainError as exc:
        form.apply_error(exc)
        return None
    messages.success(request, f"Token {token.prefix} created. Copy it now: it will not be shown again.")
    return secret


@require_http_methods(["GET", "POST"])
def tokens(request):
    form = TokenForm(request.POST or None, owner=request.user)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        new_secret = _token_create_from(request, form, owner=request.user)
        if new_secret:
            form = TokenForm(owner=request.user)
    context = {"form": form, "tokens": selectors.token_list(user=request.user), "new_secret": new_secret}
    return render(request, "registry/tokens.html", context)


@require_POST
def token_revoke(request, prefix):
    token = selectors.token_list(user=request.user).filter(prefix=prefix).first()
    if token is None:
        messages.error(request, "No such token.")
    else:
        services.token_revoke(actor=request.user, token=token)
        messages.success(request, f"Token {prefix} revoked.")
    return redirect("registry:tokens")


# --- Service accounts (administrators) -------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def service_accounts(request):
    accounts = selectors.service_account_list(user=request.user)
    form = ServiceAccountForm(request.POST or None) if permissions.is_administrator(request.user) else None
    if request.method == "POST" and form is None:
        raise PermissionDenied("Only administrators create service accounts.")
    if request.method == "POST" and form.is_valid():
        try:
            account = services.service_account_create(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.apply_error(exc)
        else:
            messages.success(request, f"Created {account.user.get_username()}. Next: issue it a token.")
            return redirect("registry:service-account-detail", username=account.user.get_username())
    return render(request, "registry/service_accounts.html", {"accounts": accounts, "form": form})


@require_http_methods(["GET", "POST"])
def service_account_detail(request, username):
    account = selectors.service_account_get(user=request.user, username=username)
    form = TokenForm(request.POST or None, owner=account.user) if permissions.is_administrator(request.user) else None
    if request.method == "POST" and form is None:
        raise PermissionDenied("Only administrators issue tokens for service accounts.")
    new_secret = None
    if request.method == "POST" and form.is_valid():
        new_secret = _token_create_from(request, form, owner=account.user)
        if new_secret:
            form = TokenForm(owner=account.user)
    context = {
        "account": account,
        "form": form,
        "tokens": selectors.token_list(user=account.user),
        "new_secret": new_secret,
        "teams": [group.team for group in account.user.groups.filter(team__isnull=False).select_related("team")],
        "roles": sorted(permissions.roles(account.user)),
    }
    return render(request, "registry/service_account_detail.html", context)


@require_POST
def service_account_token_revoke(request, username, prefix):
    account = selectors.service_account_get(user=request.user, username=username)
    token = selectors.token_list(user=account.user).filter(prefix=prefix).first()
    if token is None:
        messages.error(request, "No such token.")
    else:
        services.token_revoke(actor=request.user, token=token)
        messages.success(request, f"Token {prefix} revoked.")
    return redirect("registry:service-account-detail", username=username)


# --- Teams (administrators) ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def teams(request):
    team_list = selectors.team_list(user=request.user)
    form = TeamForm(request.POST or None) if permissions.is_administrator(request.user) else None
    if request.method == "POST" and form is None:
        raise PermissionDenied("Only administrators create teams.")
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.apply_error(exc)
        else:
            messages.success(request, f"Created team {team.name}. Next: add its members.")
            return redirect("registry:team-detail", slug=team.slug)
    context = {"teams": team_list, "form": form, "all_teams": permissions.is_overseer(request.user)}
    return render(request, "registry/teams.html", context)


@require_http_methods(["GET", "POST"])
def team_detail(request, slug):
    team = selectors.team_get(user=request.user, slug=slug)
    form = TeamMemberForm(request.POST or None) if permissions.is_administrator(request.user) else None
    if request.method == "POST" and form is None:
        raise PermissionDenied("Only administrators manage team members.")
    if request.method == "POST" and form.is_valid():
        try:
            services.team_member_add(actor=request.user, team=team, user=form.cleaned_data["username"])
        except DomainError as exc:
            form.apply_error(exc)
        else:
            messages.success(request, f"Added {form.cleaned_data['username'].get_username()} to {team.name}.")
            return redirect("registry:team-detail", slug=team.slug)
    context = {"team": team, "members": list(team.group.user_set.all()), "form": form}
    return render(request, "registry/team_detail.html", context)


@require_POST
def team_member_remove(request, slug, user_id):
    team = selectors.team_get(user=request.user, slug=slug)
    member = team.group.user_set.filter(pk=user_id).first()
    if member is None:
        messages.error(request, "That person is not in this team.")
    else:
        services.team_member_remove(actor=request.user, team=team, user=member)
        messages.success(request, f"Removed {member.get_username()} from {team.name}.")
    return redirect("registry:team-detail", slug=team.slug)
