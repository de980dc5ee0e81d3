"""Read a figure (the plain dict figures.py builds) through plotly's graph objects."""

import json

import plotly.graph_objects as go

from apps.dashboards import figures


def plotted(figure: dict) -> go.Figure:
    """The figure as a plotly Figure, for the tests to read (figure.data, figure.layout).
    Building it checks every property against plotly's schema (an unknown or invalid one
    raises), and plotly must serialise it to exactly the JSON the page embeds: nothing that
    plotly would have coerced or dropped."""
    read = go.Figure(figure)
    assert json.loads(read.to_json()) == json.loads(figures.to_json(figure))
    return read
