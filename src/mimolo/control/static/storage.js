// MiMoLo Control, Storage view: forms that answer with the next step's HTML.
// - form[data-swap] posts its fields (and the pressed button's name/value) with the
//   session's CSRF token; an HTML answer replaces the element named by data-swap, a JSON
//   answer is a refusal shown in the form ([data-error-for]);
// - the purge plan's Continue / Back switch between the archive choice and the
//   confirmation, which repeats the chosen decision in words.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

  function clearErrors(form) {
    form.querySelectorAll("[data-error-for]").forEach((el) => { el.hidden = true; el.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  }

  function showError(form, key, message) {
    let target = form.querySelector(`[data-error-for="${CSS.escape(key || "_form")}"]`);
    if (!target) target = form.querySelector('[data-error-for="_form"]');
    if (!target) return;
    target.textContent = message || "Something went wrong.";
    target.hidden = false;
    const input = form.querySelector(`[name="${CSS.escape(key || "")}"]`);
    if (input) input.setAttribute("aria-invalid", "true");
  }

  function focusStep(root) {
    const el = root.querySelector("[data-focus]") || root.querySelector("h2, h3, h4");
    if (!el) return;
    el.setAttribute("tabindex", "-1");
    el.focus();
  }

  async function submitSwap(form, submitter) {
    const body = new URLSearchParams(new FormData(form));
    if (submitter && submitter.name) body.set(submitter.name, submitter.value);
    const buttons = Array.from(form.querySelectorAll("button"));
    buttons.forEach((b) => { b.disabled = true; b.dataset.busy = "1"; });
    form.setAttribute("aria-busy", "true");
    clearErrors(form);
    try {
      const response = await fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        referrerPolicy: "same-origin",
        headers: {
          "X-CSRF-Token": csrf,
          "Content-Type": "application/x-www-form-urlencoded",
          Accept: "text/html",
        },
        body,
      });
      const type = response.headers.get("content-type") || "";
      if (response.ok && type.startsWith("text/html")) {
        const target = document.getElementById(form.dataset.swap);
        if (!target) return;
        target.innerHTML = await response.text();
        target.hidden = false;
        focusStep(target);
        return;
      }
      let data = null;
      try { data = await response.json(); } catch (e) { data = null; }
      showError(form, data && data.key, (data && data.message) || `HTTP ${response.status}`);
    } catch (e) {
      showError(form, "_form", "Control did not answer; try again.");
    } finally {
      form.removeAttribute("aria-busy");
      buttons.forEach((b) => { delete b.dataset.busy; b.disabled = false; });
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.matches("form[data-swap]")) return;
    event.preventDefault();
    submitSwap(form, event.submitter);
  });

  document.addEventListener("click", (event) => {
    const next = event.target.closest("[data-purge-next]");
    const back = event.target.closest("[data-purge-back]");
    if (!next && !back) return;
    const form = (next || back).closest("form");
    const choose = form.querySelector('[data-step="choose"]');
    const confirmStep = form.querySelector('[data-step="confirm"]');
    clearErrors(form);
    if (back) {
      confirmStep.hidden = true;
      choose.hidden = false;
      focusStep(choose);
      return;
    }
    const choice = form.querySelector('input[name="archive_choice"]:checked');
    if (!choice) {
      showError(form, "archive_choice", "Choose whether to archive these files first.");
      return;
    }
    form.querySelector("[data-decision-text]").textContent = choice.dataset.summary || choice.value;
    choose.hidden = true;
    confirmStep.hidden = false;
    focusStep(confirmStep);
  });
})();
