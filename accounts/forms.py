from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminPasswordChangeForm
from django.contrib.auth.forms import ReadOnlyPasswordHashField, SetPasswordForm
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
