from django.urls import path

from apps.surveys import views

urlpatterns = [
    path("", views.home, name="home"),
]
