from django.urls import path

from apps.dashboards import views

urlpatterns = [
    path("dashboard/", views.overview, name="dashboard"),
    path("rounds/<str:key>/", views.round_page, name="round"),
    path("products/", views.catalogue, name="catalogue"),
    path("products/<slug:slug>/", views.product_page, name="product"),
]
