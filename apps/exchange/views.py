from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404

from apps.exchange.exports import answer_csv, download, laggard_csv, result_csv
from apps.products.selectors import visible_product_ids
from apps.surveys.models import SurveyRound

EXPORTS = {"results": result_csv, "answers": answer_csv, "laggards": laggard_csv}


@login_required
def round_csv(request: HttpRequest, key: str, kind: str) -> StreamingHttpResponse:
    """A round's results, answers or products not submitted yet as CSV (with a BOM, for
    Excel). Team members get the rows of their own teams' products; viewers and
    administrators get every row."""
    survey_round = get_object_or_404(
        SurveyRound.objects.select_related("rubric_version__rubric"), key=key
    )
    chunks = EXPORTS[kind](survey_round, products=visible_product_ids(request.user), bom=True)
    return download(chunks, f"{key}-{kind}.csv")
