from django.urls import path

from apps.reminders import views

urlpatterns = [
    path("rounds/<str:key>/remind", views.remind, name="round-remind"),
]
