"""Refuse, with a 400 and a clear message, requests that no page or API call can take: a NUL
character anywhere in the path, the query string, a form field or a JSON body (PostgreSQL
cannot store one, so it would end as a database error), or a JSON body nested deeper than any
document the app accepts (Python's parser would give up with a RecursionError)."""

import re

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _

NUL = "\x00"
# A rubric document, the deepest body the API takes, is 7 levels deep.
MAX_JSON_DEPTH = 32
# A \u0000 escape that is not itself escaped text: after an even number of backslashes.
ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
JSON_BRACKET = re.compile(rb"[\[\]{}]")
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class BadInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = bad_input(request)
        if problem is None:
            return self.get_response(request)
        if request.path.startswith("/api/") or _is_json(request.content_type):
            return JsonResponse({"detail": problem}, status=400)
        return HttpResponseBadRequest(problem, content_type="text/plain; charset=utf-8")


def bad_input(request: HttpRequest) -> str | None:
    """Why the request cannot be taken (a message for its sender), or None if it can."""
    if NUL in request.path or _has_nul(request.GET):
        return nul_message()
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if _is_json(request.content_type):
        return json_body_problem(request.body)
    if request.content_type in FORMS and _has_nul(request.POST):
        return nul_message()
    return None


def json_body_problem(body: bytes) -> str | None:
    """A NUL (raw or as a \\u0000 escape) or nesting deeper than MAX_JSON_DEPTH, if any."""
    if b"\x00" in body or ESCAPED_NUL.search(body):
        return nul_message()
    if json_depth(body) > MAX_JSON_DEPTH:
        return _("The JSON body is nested more than %(depth)d levels deep.") % {
            "depth": MAX_JSON_DEPTH
        }
    return None


def json_depth(body: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (at most MAX_JSON_DEPTH + 1), read
    without parsing it: brackets inside strings do not count."""
    depth = deepest = 0
    for bracket in JSON_BRACKET.finditer(JSON_STRING.sub(b'""', body)):
        depth += 1 if bracket.group() in b"[{" else -1
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            break
    return deepest


def nul_message() -> str:
    return _(
        "The request contains a NUL character (\\x00), which no field accepts: "
        "remove it and send it again."
    )


def _has_nul(data: MultiValueDict) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in data.lists())


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")
