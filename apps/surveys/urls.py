from django.urls import path

from apps.surveys import views

urlpatterns = [
    path("", views.home, name="home"),
    path("assess/<str:key>/<slug:slug>/", views.questionnaire, name="questionnaire"),
    path("assess/<str:key>/<slug:slug>/answer", views.save_answer, name="save-answer"),
    path("assess/<str:key>/<slug:slug>/review/", views.review, name="review-response"),
    path(
        "assess/<str:key>/<slug:slug>/history/<slug:question>/",
        views.question_history,
        name="question-history",
    ),
    path("assess/<str:key>/<slug:slug>/submit", views.submit, name="submit-response"),
    path("assess/<str:key>/<slug:slug>/prefill", views.prefill, name="prefill-response"),
    path("assess/<str:key>/<slug:slug>/confirm", views.confirm_area, name="confirm-area"),
    path("assess/<str:key>/<slug:slug>/reopen", views.reopen, name="reopen-response"),
]
