"""Owners manage users, teams and roles here; every write goes through accounts.services so
the owner protections hold in the admin exactly as in the API."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.forms import (
    OwnerSetPasswordForm,
    OwnPasswordChangeForm,
    PermissionChoiceField,
    UserChangeForm,
    UserCreationForm,
)
from accounts.models import ApiToken, Role, Team, User, UserRole
from accounts.roles import role_description
from acountee.admin_mixins import ReadOnlyAdminMixin, RefusalRedirectMixin, ServiceCallMixin
from acountee.search import FoldedSearchAdminMixin


class OwnerOnlyAdmin(FoldedSearchAdminMixin, RefusalRedirectMixin, ServiceCallMixin, admin.ModelAdmin):
    """Only owners see or change identity and access."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_owner

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission  # type: ignore[assignment]


class UserRoleInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = UserRole
    fk_name = "user"
    extra = 0
    fields = ["role", "expires_at", "assigned_by", "assigned_at"]
    readonly_fields = ["role", "expires_at", "assigned_by", "assigned_at"]
    can_delete = False
    verbose_name_plural = _("roles (assign and revoke through the API or the actions)")

    # Role assignments change only through services (API or the owner's actions), never here.
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_owner)


@admin.register(User)
class UserAdmin(OwnerOnlyAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ["email", "name", "team", "is_active", "role_names", "created_at"]
    autocomplete_fields = ["team"]
    list_filter = ["is_active", "team"]
    search_fields = ["email", "name"]
    list_select_related = ["team"]
    ordering = ["email"]
    inlines = [UserRoleInline]
    actions = ["deactivate_users"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return selectors.user_list()

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change=change, **kwargs)

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else self.inlines

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return [(None, {"fields": ["email", "name", "team", "is_active", "password1", "password2"]})]
        return [(None, {"fields": ["email", "name", "team", "is_active", "language", "password"]})]

    def get_urls(self) -> list[Any]:
        # The header's language switcher (every signed-in user, for themselves, not only owners).
        view = self.admin_site.admin_view(require_POST(self.language_view))
        # The read-only password field's "change the password using this form" link points here.
        password = self.admin_site.admin_view(self.set_password_view)
        return [
            path("language/", view, name="accounts_user_language"),
            path("<id>/password/", password, name="accounts_user_password_change"),
            *super().get_urls(),
        ]

    def set_password_view(self, request: HttpRequest, id: str) -> HttpResponse:
        """Owners set a user's password (new password twice, the configured validators)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        user = self.get_object(request, unquote(id))
        if user is None:
            raise Http404
        form = OwnerSetPasswordForm(user, request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            password = form.cleaned_data["new_password1"]
            updated = self.call_service(request, services.user_update, user=user, actor=request.user, password=password)
            if updated is not None:
                if updated.pk == request.user.pk:
                    update_session_auth_hash(request, updated)  # an owner setting their own stays signed in
                self.message_user(
                    request, gettext("Password set for %(user)s.") % {"user": updated.email}, messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[updated.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Set password: %(user)s") % {"user": user.email},
            "opts": self.opts,
            "original": user,
            "form": form,
        }
        return TemplateResponse(request, "admin/accounts/user/set_password.html", context)

    def language_view(self, request: HttpRequest) -> HttpResponse:
        """POST language=<code> ("" follows the browser), next=<page to go back to>."""
        self.call_service(
            request,
            services.user_update,
            user=request.user,
            actor=request.user,
            language=request.POST.get("language", ""),
        )
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
            target = reverse("admin:index")
        return HttpResponseRedirect(target)

    @admin.display(description=_("roles"))
    def role_names(self, obj: User) -> str:
        return ", ".join(ur.role.name for ur in obj.user_roles.all())

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        if change:
            fields = {k: data[k] for k in ("email", "name", "team", "is_active", "language") if k in form.changed_data}
            updated = self._call_or_refuse(services.user_update, user=obj, actor=request.user, **fields)
        else:
            updated = self._call_or_refuse(
                services.user_create,
                actor=request.user,
                email=data["email"],
                name=data.get("name", ""),
                team=data.get("team"),
                is_active=data.get("is_active", True),
                password=data.get("password1"),
            )
        if updated is not None:
            obj.pk = updated.pk

    @admin.action(description=_("Deactivate selected users"))
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        done = 0
        for user in queryset:
            if self.call_service(request, services.user_deactivate, user=user, actor=request.user):
                done += 1
        if done:
            self.message_user(request, _("%(count)d user(s) deactivated.") % {"count": done})

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        self._call_or_refuse(services.user_deactivate, user=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self.deactivate_users(request, queryset)


def own_password_change(request: HttpRequest) -> HttpResponse:
    """/admin/password_change/ (acountee/urls.py routes it ahead of the site's own): Django's view
    and template, with a form that saves through the service."""
    from django.contrib.auth.views import PasswordChangeView

    request.current_app = admin.site.name
    return PasswordChangeView.as_view(
        form_class=OwnPasswordChangeForm,
        success_url=reverse("admin:password_change_done"),
        extra_context=admin.site.each_context(request),
    )(request)


@admin.register(Team)
class TeamAdmin(OwnerOnlyAdmin):
    list_display = ["name", "capabilities", "member_count"]
    ordering = ["name"]
    search_fields = ["name"]
    fields = ["name", "description", "capabilities"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return selectors.team_list().order_by("name")  # ordered for the team autocomplete

    @admin.display(description=_("members"))
    def member_count(self, obj: Team) -> int:
        return obj.member_count  # type: ignore[attr-defined]

    def save_model(self, request: HttpRequest, obj: Team, form: ModelForm, change: bool) -> None:
        data = {k: form.cleaned_data[k] for k in ("name", "description", "capabilities")}
        if change:
            self._call_or_refuse(services.team_update, team=obj, actor=request.user, **data)
        else:
            team = self._call_or_refuse(services.team_create, actor=request.user, **data)
            if team is not None:
                obj.pk = team.pk

    def delete_model(self, request: HttpRequest, obj: Team) -> None:
        self._call_or_refuse(services.team_delete, team=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Team]) -> None:
        for team in queryset:
            self.call_service(request, services.team_delete, team=team, actor=request.user)


@admin.register(Role)
class RoleAdmin(OwnerOnlyAdmin):
    list_display = ["name", "parent", "is_builtin", "role_description"]
    search_fields = ["name"]
    list_select_related = ["parent"]
    filter_horizontal = ["permissions"]
    autocomplete_fields = ["parent"]
    fields = ["name", "description", "parent", "permissions", "is_builtin"]
    readonly_fields = ["is_builtin"]

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "permissions":
            # In the reader's language, each read with its content type in the same query.
            kwargs["form_class"] = PermissionChoiceField
            kwargs["queryset"] = Permission.objects.select_related("content_type")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.is_owner_role:
            return self.get_fields(request, obj)
        return self.readonly_fields

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.is_owner_role:  # read-only: its description in the reader's language
            return ["role_description" if name == "description" else name for name in self.fields]
        return self.fields

    @admin.display(description=_("description"), ordering="description")
    def role_description(self, obj: Role) -> str:
        return role_description(obj)

    def save_model(self, request: HttpRequest, obj: Role, form: ModelForm, change: bool) -> None:
        request._role_form = form  # type: ignore[attr-defined]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        data = form.cleaned_data
        perms = [f"{p.content_type.app_label}.{p.codename}" for p in data.get("permissions", [])]
        fields = {
            "name": data.get("name"),
            "description": data.get("description", ""),
            "parent": data.get("parent"),
            "permissions": perms,
        }
        if change:
            self._call_or_refuse(services.role_update, role=form.instance, actor=request.user, **fields)
        else:
            role = self._call_or_refuse(services.role_create, actor=request.user, **fields)
            if role is not None:
                form.instance.pk = role.pk

    def delete_model(self, request: HttpRequest, obj: Role) -> None:
        self._call_or_refuse(services.role_delete, role=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Role]) -> None:
        for role in queryset:
            self.call_service(request, services.role_delete, role=role, actor=request.user)


@admin.register(ApiToken)
class ApiTokenAdmin(OwnerOnlyAdmin):
    list_display = ["prefix", "user", "created_at", "last_used_at"]
    search_fields = ["prefix", "user__email"]
    list_select_related = ["user"]
    readonly_fields = ["prefix", "user", "created_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # Deleting is revoking: through the service, so it leaves a `token_revoked` security event.
    def delete_model(self, request: HttpRequest, obj: ApiToken) -> None:
        services.api_token_revoke(token=obj, request=request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset.select_related("user"):
            services.api_token_revoke(token=token, request=request)


# Django's own groups page (it registers it itself): its permissions read like the roles page's, in the reader's
# language, not as Django stored their names ("Can add payment request").
admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest | None = None, **kwargs: Any) -> Any:
        if db_field.name == "permissions":
            kwargs["form_class"] = PermissionChoiceField
            kwargs["queryset"] = Permission.objects.select_related("content_type")
        return super().formfield_for_manytomany(db_field, request, **kwargs)
