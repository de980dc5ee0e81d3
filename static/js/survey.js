// The questionnaire. Autosave (on editable pages): every change to a question saves that
// question alone, at once (text after a pause). A save carries the revision it started from; if
// someone saved meanwhile, their answer is shown and the user chooses. Without JavaScript each
// question has its own Save button. On every page the area list marks the area in use.
(() => {
  const csrf = () => document.querySelector("[name=csrfmiddlewaretoken]").value;
  // Messages in the page's language, from the template; absent when the page is read-only.
  const text = document.getElementById("survey-text")?.dataset;

  function state(form, text, kind) {
    const element = form.querySelector(".save-state");
    element.textContent = text;
    element.dataset.kind = kind;
  }

  const answered = (form) => form.querySelector("input[name=value]:checked") !== null;
  // A carried-over answer (copied by prefill) counts only once a team member confirms it.
  const carried = (form) => form.hasAttribute("data-carried");
  const confirmed = (form) => answered(form) && !carried(form);

  // The N/A reason is asked for only while N/A is chosen.
  function showReason(form) {
    const reason = form.querySelector("[data-na-reason]");
    if (reason) reason.hidden = form.querySelector("input[name=value][value=na]:checked") === null;
  }

  // The error of one field (the N/A reason), beside it; cleared by a successful save.
  function fieldError(form, field, message) {
    for (const element of form.querySelectorAll("[data-field-error]")) {
      const mine = element.dataset.fieldError === field;
      element.textContent = mine ? message : "";
      const input = form.querySelector(`[name=${element.dataset.fieldError}]`);
      if (mine) input?.setAttribute("aria-invalid", "true");
      else input?.removeAttribute("aria-invalid");
    }
  }

  // The overall and per-area counts and bars, and the "not answered yet" list after a refused
  // submit, follow the answers on the page.
  function refreshCounts() {
    let total = 0;
    let totalCarried = 0;
    for (const section of document.querySelectorAll("section.area")) {
      const forms = [...section.querySelectorAll("form.question")];
      const done = forms.filter(confirmed).length;
      const waiting = forms.filter(carried).length;
      total += done;
      totalCarried += waiting;
      const key = section.dataset.area;
      const mark = document.querySelector(`[data-area-carried="${key}"]`);
      if (mark) {
        mark.hidden = waiting === 0;
        mark.textContent = text.toConfirm.replace("%s", waiting);
      }
      const confirmAll = section.querySelector("form.confirm-area");
      if (confirmAll) confirmAll.hidden = waiting === 0;
      document.querySelector(`[data-area-count="${key}"]`).textContent = done;
      document.querySelector(`[data-area-progress="${key}"]`).value = done;
      document.querySelector(`[data-area-link="${key}"]`).toggleAttribute(
        "data-complete",
        done === forms.length,
      );
    }
    document.getElementById("overall-count").textContent = total;
    document.getElementById("overall-progress").value = total;
    document.getElementById("carried-count").textContent = totalCarried;
    document.querySelector(".carried-count").hidden = totalCarried === 0;
    for (const item of document.querySelectorAll("#unconfirmed li[data-unconfirmed]")) {
      const form = document.querySelector(
        `form.question[data-question="${item.dataset.unconfirmed}"]`,
      );
      item.hidden = !carried(form);
    }
    for (const item of document.querySelectorAll("#unanswered li[data-question]")) {
      const form = document.querySelector(`form.question[data-question="${item.dataset.question}"]`);
      item.hidden = answered(form);
    }
  }

  // One save at a time per question: a change made while a save is on its way (arrow keys
  // run through the choices quickly) is sent after it, with the revision it returned, so
  // the page never conflicts with itself.
  const busy = new WeakSet();
  const again = new WeakSet();
  const typing = new WeakSet(); // text changed, waiting for the pause before its save
  const timers = new Map(); // form → the pending pause's timer
  const inFlight = new Set(); // promises of the saves on their way
  const failed = new Set(); // forms whose last save failed: still unsaved

  function save(form) {
    if (busy.has(form)) {
      again.add(form);
      return Promise.resolve();
    }
    const done = saveNow(form);
    inFlight.add(done);
    done.finally(() => inFlight.delete(done));
    return done;
  }

  async function saveNow(form) {
    busy.add(form);
    let outcome = "failed";
    let more = false;
    try {
      outcome = await send(form);
    } finally {
      busy.delete(form);
      more = again.delete(form);
    }
    if (outcome === "saved") failed.delete(form);
    else failed.add(form);
    // A change made meanwhile is sent even when this save failed (an evidence link saved
    // half typed, say): it carries the newer input. After a conflict the person chooses.
    if (more && outcome !== "conflict") await save(form);
  }

  // Send every change still waiting for its pause, retry the failed ones, and wait for all
  // of them (again, while more was typed meanwhile): what was typed just before Submit (or
  // leaving) is saved first.
  async function flush() {
    for (const form of failed) {
      if (!form.querySelector(".conflict")) save(form);
    }
    do {
      for (const [form, timer] of timers) {
        clearTimeout(timer);
        timers.delete(form);
        typing.delete(form);
        save(form);
      }
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    } while (timers.size);
    return failed.size === 0;
  }

  async function send(form) {
    state(form, text.saving, "saving");
    const body = new FormData(form);
    if (!answered(form)) body.set("value", "");
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
      return "failed";
    }
    // A login page after the session ended, a CSRF refusal or a proxy's error page: not JSON.
    let data;
    try {
      if (reply.redirected || !(reply.headers.get("Content-Type") || "").includes("json")) {
        throw new TypeError("not a JSON reply");
      }
      data = await reply.json();
    } catch {
      const expired = reply.ok || reply.status === 403;
      state(form, expired ? text.signedOut : `${text.failed} ${reply.status}`, "error");
      return "failed";
    }
    if (reply.ok) {
      form.querySelector("[name=revision]").value = data.revision;
      // Any save confirms a carried-over answer (the server cleared its mark).
      form.removeAttribute("data-carried");
      form.querySelector("[data-carried-mark]")?.remove();
      // The link's own problem stays beside the link (the rest is saved); others clear.
      const linkError = data.errors?.evidence_url || "";
      fieldError(form, linkError ? "evidence_url" : "", linkError);
      // Text typed meanwhile is not in this save: it is not "saved" until its own save is.
      if (typing.has(form)) state(form, text.pending, "pending");
      else if (linkError) state(form, text.partial, "partial");
      else state(form, text.saved, "saved");
      refreshCounts();
      // The level and evidence are saved; the typed link is not (it stays in its field).
      return linkError ? "failed" : "saved";
    }
    if (reply.status === 409) {
      conflict(form, data);
      return "conflict";
    }
    // Refused (an evidence link saved half typed, say): if more typing waits for its save,
    // the question is still unsaved rather than failed; that save reports for itself.
    fieldError(form, data.field, data.error);
    if (typing.has(form)) state(form, text.pending, "pending");
    else state(form, `${text.failed} ${data.error}`, "error");
    return "failed";
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
      `${text.theirs} ${theirs.label || text.none} — ${theirs.evidence || ""}`;
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
        const reason = form.querySelector("[name=not_applicable_reason]");
        if (reason) reason.value = theirs.not_applicable_reason || "";
        showReason(form);
        state(form, text.showing, "saved");
        refreshCounts();
      } else {
        save(form);
      }
      // The buttons go away with the box: keep the keyboard focus in this question.
      form.querySelector("input[name=value]:checked, input[name=value]")?.focus();
      box.remove();
    });
  }

  for (const form of document.querySelectorAll("form.question")) showReason(form);
  for (const form of text ? document.querySelectorAll("form.question") : []) {
    form.addEventListener("change", (event) => {
      if (event.target.name !== "value") return;
      showReason(form);
      save(form);
    });
    form.addEventListener("input", (event) => {
      if (event.target.name === "value") return;
      clearTimeout(timers.get(form));
      typing.add(form);
      state(form, text.pending, "pending");
      timers.set(
        form,
        setTimeout(() => {
          timers.delete(form);
          typing.delete(form);
          save(form);
        }, 700),
      );
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      save(form);
    });
  }

  // Submit (which opens the review), Prefill, Reopen: every other form posting from this
  // page, only once everything typed is saved; otherwise say so and stay.
  const others = "form[method=post]:not(.question), form[data-after-saves]";
  for (const other of text ? document.querySelectorAll(others) : []) {
    // Submit opens the review: a plain link, so no empty "?" of a field-less GET form.
    const go = other.hasAttribute("data-after-saves")
      ? () => window.location.assign(other.action)
      : () => other.submit();
    other.addEventListener("submit", async (event) => {
      if (!timers.size && !inFlight.size && !failed.size && other.method === "post") return;
      event.preventDefault();
      const button = other.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      const saved = await flush();
      if (button) button.disabled = false;
      if (saved) {
        go();
        return;
      }
      let note = other.querySelector(".submit-error");
      if (!note) {
        note = document.createElement("p");
        note.className = "submit-error";
        note.setAttribute("role", "alert");
        other.prepend(note);
      }
      note.textContent = text.unsavedSubmit;
      const first = [...failed][0];
      first?.scrollIntoView({ block: "center" });
      first?.querySelector("input[name=value], textarea")?.focus();
    });
  }

  // Leaving the page: text still waiting for its pause is sent with a request that outlives
  // the page (keepalive), unless a save of that question is on its way (its revision would
  // be stale); then, and while a save failed or is on its way, the browser asks first.
  const risky = () =>
    failed.size > 0 || inFlight.size > 0 || [...timers.keys()].some((form) => busy.has(form));
  window.addEventListener("beforeunload", (event) => {
    if (risky()) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
  window.addEventListener("pagehide", () => {
    for (const [form, timer] of timers) {
      if (busy.has(form)) continue;
      clearTimeout(timer);
      timers.delete(form);
      typing.delete(form);
      const body = new FormData(form);
      if (!answered(form)) body.set("value", "");
      fetch(form.action, {
        method: "POST",
        body,
        keepalive: true,
        headers: { Accept: "application/json", "X-CSRFToken": csrf() },
        credentials: "same-origin",
      });
    }
  });
  // Back to a page the browser kept (back/forward cache): its revisions may be stale after
  // the requests sent on leaving, so show the stored answers again.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) window.location.reload();
  });

  // A question's history, loaded the first time its disclosure opens (a link without JS).
  for (const details of document.querySelectorAll("details.history[data-url]")) {
    details.addEventListener("toggle", async () => {
      if (!details.open || details.dataset.loaded) return;
      details.dataset.loaded = "loading";
      const body = details.querySelector(".history-body");
      try {
        const reply = await fetch(details.dataset.url, {
          headers: { "X-Requested-With": "fetch" },
          credentials: "same-origin",
        });
        if (!reply.ok) throw new Error(String(reply.status));
        const page = new DOMParser().parseFromString(await reply.text(), "text/html");
        const fragment = page.querySelector(".history-entries");
        if (!fragment) throw new Error("no history in the reply");
        body.replaceChildren(document.importNode(fragment, true));
        details.dataset.loaded = "yes";
      } catch {
        delete details.dataset.loaded; // opening it again tries again; the link still works
      }
    });
  }

  // Mark the area being worked on in the area list: the one holding the keyboard focus, or
  // else the one scrolled to the top part of the window.
  const links = new Map(
    [...document.querySelectorAll("[data-area-link]")].map((link) => [link.dataset.areaLink, link]),
  );
  function current(key) {
    for (const [area, link] of links) {
      if (area === key) link.setAttribute("aria-current", "location");
      else link.removeAttribute("aria-current");
    }
  }
  for (const [area, link] of links) link.addEventListener("click", () => current(area));
  for (const section of document.querySelectorAll("section.area")) {
    section.addEventListener("focusin", () => current(section.dataset.area));
  }
  const watcher = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (entry.isIntersecting) current(entry.target.dataset.area);
      }
    },
    { rootMargin: "0px 0px -70% 0px" },
  );
  for (const section of document.querySelectorAll("section.area")) watcher.observe(section);
})();
