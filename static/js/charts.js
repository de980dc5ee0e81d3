// Render the figures the server built (Plotly JSON in <script type="application/json">).
// One chart per frame: the browser paints the first chart before drawing the next, so a
// page of charts shows its first one as soon as plotly.js has drawn it, not after all.
const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));

document.addEventListener("DOMContentLoaded", async () => {
  for (const element of document.querySelectorAll(".chart")) {
    const source = document.getElementById(element.id.replace(/^chart-/, ""));
    if (!source || !window.Plotly) continue;
    const figure = JSON.parse(source.textContent);
    // A tall figure (the question heatmap) keeps its card as tall as itself.
    if (figure.layout && figure.layout.height) element.style.minHeight = `${figure.layout.height}px`;
    await window.Plotly.newPlot(element, figure.data, figure.layout, {
      responsive: true,
      displaylogo: false,
    });
    await nextFrame();
  }
});
