// Autosave: every change to a question saves that question alone, at once (text after a pause).
// A save carries the revision it started from; if someone saved meanwhile, their answer is shown
// and the user chooses. Without JavaScript each question has its own Save button.
(() => {
  const csrf = () => document.querySelector("[name=csrfmiddlewaretoken]").value;
  // Messages in the page's language, from the template.
  const text = document.getElementById("survey-text").dataset;

  function state(form, text, kind) {
    const element = form.querySelector(".save-state");
    element.textContent = text;
    element.dataset.kind = kind;
  }

  function refreshCounts() {
    let total = 0;
    for (const section of document.querySelectorAll("section.area")) {
      const done = [...section.querySelectorAll("form.question")].filter(
        (form) => form.querySelector("input[name=value]:checked"),
      ).length;
      total += done;
      const counter = document.querySelector(`[data-area-count="${section.dataset.area}"]`);
      if (counter) counter.textContent = done;
    }
    document.getElementById("overall-count").textContent = total;
    document.getElementById("overall-progress").value = total;
  }

  async function save(form) {
    state(form, text.saving, "saving");
    const body = new FormData(form);
    if (!form.querySelector("input[name=value]:checked")) body.set("value", "");
    let reply;
    try {
      reply = await fetch(form.action, {
        method: "POST",
        body,
        headers: { Accept: "application/json", "X-CSRFToken": csrf() },
        credentials: "same-origin",
      });
    } catch {
      state(form, text.offline, "error");
      return;
    }
    const data = await reply.json();
    if (reply.ok) {
      form.querySelector("[name=revision]").value = data.revision;
      state(form, text.saved, "saved");
      refreshCounts();
    } else if (reply.status === 409) {
      conflict(form, data);
    } else {
      state(form, `${text.failed} ${data.error}`, "error");
    }
  }

  function conflict(form, data) {
    const theirs = data.current;
    const box = document.createElement("div");
    box.className = "conflict";
    box.setAttribute("role", "alert");
    box.innerHTML = `<p></p><p class="muted"></p>
      <button type="button" data-keep="theirs"></button>
      <button type="button" data-keep="mine"></button>`;
    box.querySelector("[data-keep=theirs]").textContent = text.keepTheirs;
    box.querySelector("[data-keep=mine]").textContent = text.keepMine;
    box.querySelector("p").textContent = data.error;
    box.querySelector(".muted").textContent =
      `${text.theirs} ${theirs.value || text.none} — ${theirs.evidence || ""}`;
    form.querySelector(".conflict")?.remove();
    form.append(box);
    state(form, text.conflict, "error");
    box.addEventListener("click", (event) => {
      const choice = event.target.dataset.keep;
      if (!choice) return;
      form.querySelector("[name=revision]").value = theirs.revision;
      if (choice === "theirs") {
        for (const radio of form.querySelectorAll("input[name=value]")) {
          radio.checked = radio.value === theirs.value;
        }
        form.querySelector("[name=evidence]").value = theirs.evidence;
        form.querySelector("[name=evidence_url]").value = theirs.evidence_url;
        state(form, text.showing, "saved");
        refreshCounts();
      } else {
        save(form);
      }
      box.remove();
    });
  }

  for (const form of document.querySelectorAll("form.question")) {
    let timer;
    form.addEventListener("change", (event) => {
      if (event.target.name === "value") save(form);
    });
    form.addEventListener("input", (event) => {
      if (event.target.name === "value") return;
      clearTimeout(timer);
      state(form, text.pending, "pending");
      timer = setTimeout(() => save(form), 700);
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      save(form);
    });
  }
})();
