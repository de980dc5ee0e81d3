"""OpenID Connect single sign-on (mozilla-django-oidc), turned on by OIDC_ENABLED."""

from mozilla_django_oidc.auth import OIDCAuthenticationBackend


class Backend(OIDCAuthenticationBackend):
    """Users are matched by e-mail and created with their preferred user name."""

    def create_user(self, claims):
        username = claims.get("preferred_username") or claims.get("email", "").split("@")[0]
        return self.UserModel.objects.create_user(
            username=username[:150], email=claims.get("email", "")
        )
