"""Tokens in the admin site show when they expire; deleting one revokes it."""

from django.contrib import admin
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import Token, TokenProxy

from apps.api.tokens import expires_at

admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class ExpiringTokenAdmin(TokenAdmin):
    list_display = ["key", "user", "created", "expires"]

    @admin.display(description="expires")
    def expires(self, token: Token):
        return expires_at(token)
