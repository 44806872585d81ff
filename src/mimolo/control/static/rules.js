// MiMoLo Control: the rules editor.
// - rows are added (from a <template>), moved and removed in place;
// - every edit (debounced) posts the rules as typed to /api/rules/catch and shows, on each
//   row, how much time that rule catches in the week; a bad rule is named on its row;
// - Save posts the same rules to /api/rules (Operations' set_rules).
"use strict";

(function () {
  const form = document.getElementById("rules-form");
  if (!form) return;
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const list = document.getElementById("rules-list");
  let timer = null;
  let generation = 0;

  const toast = window.mimoloToast;  // app.js (loaded first, by every page)

  function tags(text) {
    return text.split(/[\s,]+/).map((t) => t.trim()).filter(Boolean);
  }

  function value(row, key) {
    const el = row.querySelector(`[data-key="${key}"]`);
    if (!el) return null;
    if (el.type === "checkbox") return el.checked;
    const text = el.value.trim();
    return text === "" ? null : text;
  }

  function ruleOf(row) {
    const match = {};
    ["instance_id", "plugin_id", "client_id", "application", "title", "path", "mode"].forEach((k) => {
      const v = value(row, `match.${k}`);
      if (v !== null) match[k] = v;
    });
    return {
      rule_id: value(row, "rule_id") || "",
      label: value(row, "label") || "",
      enabled: value(row, "enabled") !== false,
      match,
      assign: {
        client_id: value(row, "assign.client_id"),
        project: value(row, "assign.project"),
        tags: tags(value(row, "assign.tags") || ""),
      },
    };
  }

  function rows() { return Array.from(list.querySelectorAll("[data-rule]")); }

  function defaultOf() {
    const box = document.getElementById("rule-default");
    return {
      client_id: value(box, "client_id"),
      project: value(box, "project"),
      tags: tags(value(box, "tags") || ""),
    };
  }

  function body() {
    return new URLSearchParams({
      rules: JSON.stringify(rows().map(ruleOf)),
      default: JSON.stringify(defaultOf()),
      date: form.dataset.date || "",
    });
  }

  async function post(url) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin", referrerPolicy: "same-origin",
      headers: {
        "X-CSRF-Token": csrf, Accept: "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: body(),
    });
    try { return await response.json(); } catch (e) { return { ok: false, message: `HTTP ${response.status}` }; }
  }

  function clearErrors() {
    form.querySelectorAll("[data-rule-error], [data-error-for]").forEach((el) => { el.hidden = true; el.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  }

  // A refusal's key ("rules[2].match.title") lands on that row and input.
  function showError(data) {
    const found = /^rules\[(\d+)\]\.?(.*)$/.exec(data.key || "");
    const row = found ? rows()[parseInt(found[1], 10)] : null;
    if (row) {
      const note = row.querySelector("[data-rule-error]");
      note.textContent = data.message;
      note.hidden = false;
      const input = found[2] ? row.querySelector(`[data-key="${found[2]}"]`) : null;
      if (input) input.setAttribute("aria-invalid", "true");
      return;
    }
    const target = form.querySelector(`[data-error-for="${data.key === "default" ? "default" : "_form"}"]`);
    target.textContent = data.message || "Something went wrong.";
    target.hidden = false;
  }

  async function refreshCounts() {
    const mine = ++generation;
    const data = await post("/api/rules/catch");
    if (mine !== generation) return; // a newer edit is on its way
    clearErrors();
    if (!data.ok) {
      showError(data);
      rows().forEach((row) => { row.querySelector("[data-catch]").textContent = "—"; });
      return;
    }
    rows().forEach((row) => {
      const id = value(row, "rule_id") || "";
      const hit = data.catch[id];
      const el = row.querySelector("[data-catch]");
      el.textContent = hit ? `catches ${hit.text}` : "—";
      el.dataset.seconds = hit ? String(hit.seconds) : "";
    });
    const rest = data.catch[data.default_key];
    const el = form.querySelector("[data-catch-default]");
    el.textContent = rest ? `default catches ${rest.text}` : "—";
    el.dataset.seconds = rest ? String(rest.seconds) : "";
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refreshCounts, 250);
  }

  function freshId() {
    const taken = new Set(rows().map((row) => value(row, "rule_id")));
    let n = rows().length + 1;
    while (taken.has(`rule-${n}`)) n += 1;
    return `rule-${n}`;
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);

  form.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const row = button.closest("[data-rule]");
    if (button.id === "rule-add") {
      const fresh = document.getElementById("rule-template").content.firstElementChild.cloneNode(true);
      fresh.querySelector('[data-key="rule_id"]').value = freshId();
      list.appendChild(fresh);
      fresh.querySelector('[data-key="match.title"]').focus();
      schedule();
    } else if (row && button.dataset.move) {
      const step = parseInt(button.dataset.move, 10);
      const sibling = step < 0 ? row.previousElementSibling : row.nextElementSibling;
      if (sibling) {
        if (step < 0) list.insertBefore(row, sibling); else list.insertBefore(sibling, row);
        button.focus();
        schedule();
      }
    } else if (row && button.hasAttribute("data-remove")) {
      row.remove();
      schedule();
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const save = document.getElementById("rules-save");
    save.disabled = true;
    try {
      const data = await post(form.action);
      clearErrors();
      if (data.ok) toast(data.message, false); else showError(data);
    } finally {
      save.disabled = document.body.dataset.opsAvailable !== "true";
    }
    schedule();
  });

  refreshCounts();
})();
