from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from apps.accounts.views import set_language
from config.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(extra_context={"oidc_enabled": settings.OIDC_ENABLED}),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Django's language switch (django.conf.urls.i18n), remembering a signed-in user's choice.
    path("i18n/setlang/", set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("", include("apps.api.urls")),
    path("", include("apps.exchange.urls")),
    path("", include("apps.reminders.urls")),
    path("", include("apps.dashboards.urls")),
    path("", include("apps.surveys.urls")),
]

handler404 = "apps.api.errors.not_found"  # JSON under /api/

if settings.OIDC_ENABLED:
    urlpatterns.insert(0, path("oidc/", include("mozilla_django_oidc.urls")))

admin.site.site_header = "ML maturity assessments"
admin.site.site_title = "ML maturity admin"
