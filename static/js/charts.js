// Render the figures the server built (Plotly JSON in <script type="application/json">).
document.addEventListener("DOMContentLoaded", () => {
  for (const element of document.querySelectorAll(".chart")) {
    const source = document.getElementById(element.id.replace(/^chart-/, ""));
    if (!source || !window.Plotly) continue;
    const figure = JSON.parse(source.textContent);
    // A tall figure (the question heatmap) keeps its card as tall as itself.
    if (figure.layout && figure.layout.height) element.style.minHeight = `${figure.layout.height}px`;
    window.Plotly.newPlot(element, figure.data, figure.layout, {
      responsive: true,
      displaylogo: false,
    });
  }
});
