from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.surveys.selectors import rounds_with_progress


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "surveys/home.html", {"rounds": rounds_with_progress()})
