from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from apps.api import views

router = DefaultRouter()
router.register("teams", views.TeamViewSet)
router.register("products", views.ProductViewSet)
router.register("rubrics", views.RubricViewSet)
router.register("rubric-versions", views.RubricVersionViewSet, basename="rubricversion")
router.register("rounds", views.SurveyRoundViewSet)
router.register("responses", views.ResponseViewSet, basename="response")

urlpatterns = [
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Split: the page loads its start-up script from this URL (?script), not inline (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]
