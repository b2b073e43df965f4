from __future__ import annotations

from typing import Any

from django import forms
from django.apps import apps
from django.contrib.admin.forms import AdminPasswordChangeForm
from django.contrib.auth.forms import ReadOnlyPasswordHashField, SetPasswordForm
from django.contrib.auth.models import Permission
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import User


class UserCreationForm(forms.ModelForm):
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=_("Password confirmation"), widget=forms.PasswordInput, strip=False)

    class Meta:
        model = User
        fields = ["email", "name", "team", "is_active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # a ModelForm's clean() returns its cleaned_data (narrows the type)
        if data.get("password1") != data.get("password2"):
            raise forms.ValidationError(_("The two passwords do not match."))
        if data.get("password1"):
            validate_password(data["password1"])
        return data


class UserChangeForm(forms.ModelForm):
    password = ReadOnlyPasswordHashField(label=_("Password"))

    class Meta:
        model = User
        fields = ["email", "name", "team", "is_active", "language"]


class OwnerSetPasswordForm(SetPasswordForm):
    """An owner sets another user's password: the new password twice, checked by
    AUTH_PASSWORD_VALIDATORS against that user. Saving goes through accounts.services."""

    def save(self, commit: bool = True) -> Any:
        raise NotImplementedError("save through accounts.services.user_update(password=...)")


class OwnPasswordChangeForm(AdminPasswordChangeForm):
    """The admin's "Change password" for the signed-in user (old password, new one twice),
    saved through accounts.services so it is recorded like an owner's."""

    def save(self, commit: bool = True) -> Any:
        updated = services.user_update(user=self.user, actor=self.user, password=self.cleaned_data["new_password1"])
        self.user.password = updated.password  # the view keeps the session valid with the new hash
        return self.user


# Django stores a permission's name once, in English, when it is created ("Can add payment request"): shown
# as such on a Vietnamese page. These read it again in the reader's language from the model it belongs to.
DEFAULT_PERMISSION_LABELS = {
    "add": _("Can add %(model)s"),
    "change": _("Can change %(model)s"),
    "delete": _("Can delete %(model)s"),
    "view": _("Can view %(model)s"),
}


def permission_label(permission: Permission) -> str:
    """ "<app> | <what it allows>", translated: a model's own permission by its declared (translated) name, a
    default one from the model's translated name. Unknown models keep the stored name."""
    model = permission.content_type.model_class()
    if model is None:
        return permission.name
    app = apps.get_app_config(permission.content_type.app_label).verbose_name
    declared = dict(model._meta.permissions)
    if permission.codename in declared:
        what = str(declared[permission.codename])
    else:
        action = permission.codename.split("_", 1)[0]
        template = DEFAULT_PERMISSION_LABELS.get(action)
        if template is None:
            return permission.name
        what = str(template) % {"model": model._meta.verbose_name}
    return f"{app} | {what}"


class PermissionChoiceField(forms.ModelMultipleChoiceField):
    """Permissions listed in the reader's language (roles' admin form)."""

    def label_from_instance(self, obj: Permission) -> str:
        return permission_label(obj)
