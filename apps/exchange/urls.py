from django.urls import path

from apps.exchange import views

urlpatterns = [
    path(
        "rounds/<str:key>/results.csv",
        views.round_csv,
        {"kind": "results"},
        name="round-results-csv",
    ),
    path(
        "rounds/<str:key>/answers.csv",
        views.round_csv,
        {"kind": "answers"},
        name="round-answers-csv",
    ),
    path(
        "rounds/<str:key>/laggards.csv",
        views.round_csv,
        {"kind": "laggards"},
        name="round-laggards-csv",
    ),
]
