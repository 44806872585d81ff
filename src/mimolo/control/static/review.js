// MiMoLo Control: review the day (timeline page).
// - a drag across #review-chart selects a span: the selection form gets its local times
//   (in the page's zone) and exact UTC instants;
// - a selection overlapping a locked period disables Apply and names the invoice;
// - form[data-review] posts to the review API (CSRF header, the pressed button's value),
//   shows a refusal next to its field, and swaps the #review panel for a fresh one.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const MINUTE = 60000;
  let drag = null;

  const toast = window.mimoloToast;  // app.js (loaded first, by every page)

  function chart() { return document.getElementById("review-chart"); }
  function zone() { return document.getElementById("review")?.dataset.zone || "UTC"; }

  // "YYYY-MM-DDTHH:MM" of an instant in the page's zone (a datetime-local value).
  function localValue(ms) {
    const parts = {};
    new Intl.DateTimeFormat("en-CA", {
      timeZone: zone(), year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    }).formatToParts(new Date(ms)).forEach((p) => { parts[p.type] = p.value; });
    return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
  }

  // The instant under a pointer's x, snapped to the minute and clamped to the range.
  function instantAt(svg, clientX) {
    const box = svg.getBoundingClientRect();
    const width = parseFloat(svg.dataset.width);
    const plotX = parseFloat(svg.dataset.plotX);
    const plotW = parseFloat(svg.dataset.plotW);
    const start = Date.parse(svg.dataset.start);
    const end = Date.parse(svg.dataset.end);
    const x = ((clientX - box.left) * width) / box.width;
    const fraction = Math.max(0, Math.min(1, (x - plotX) / plotW));
    const ms = Math.round((start + fraction * (end - start)) / MINUTE) * MINUTE;
    return Math.max(start, Math.min(end, ms));
  }

  function xOf(svg, ms) {
    const start = Date.parse(svg.dataset.start);
    const end = Date.parse(svg.dataset.end);
    return parseFloat(svg.dataset.plotX) + ((ms - start) / (end - start)) * parseFloat(svg.dataset.plotW);
  }

  function drawSelection(svg, a, b) {
    const rect = document.getElementById("review-selection");
    if (!rect) return;
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    rect.setAttribute("x", xOf(svg, lo).toFixed(1));
    rect.setAttribute("width", Math.max(xOf(svg, hi) - xOf(svg, lo), 1).toFixed(1));
    rect.setAttribute("visibility", "visible");
  }

  function setField(id, value) {
    const el = document.getElementById(id);
    if (el) el.value = value;
  }

  function select(a, b) {
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    setField("sel-start", localValue(lo));
    setField("sel-end", localValue(hi));
    setField("sel-start-utc", new Date(lo).toISOString());
    setField("sel-end-utc", new Date(hi).toISOString());
    checkLocks();
    document.getElementById("review-select")?.classList.add("has-selection");
  }

  // The selected range in ms: the exact instants of a drag, else the typed local times
  // read as the browser's clock would not know the zone; the server re-checks anyway.
  function selectedRange() {
    const lo = Date.parse(document.getElementById("sel-start-utc")?.value || "");
    const hi = Date.parse(document.getElementById("sel-end-utc")?.value || "");
    return Number.isNaN(lo) || Number.isNaN(hi) ? null : [lo, hi];
  }

  function checkLocks() {
    const note = document.getElementById("sel-locked");
    const apply = document.getElementById("sel-apply");
    if (!note || !apply) return;
    const range = selectedRange();
    const hit = range && Array.from(document.querySelectorAll("[data-lock]")).find((el) => {
      const lo = Date.parse(el.dataset.lockStart);
      const hi = Date.parse(el.dataset.lockEnd);
      return range[0] < hi && range[1] > lo;
    });
    if (hit) {
      note.textContent = `This span is inside the period locked by invoice ${hit.dataset.lockNumber} (${hit.dataset.lockClient}): void that invoice first to change it.`;
      note.hidden = false;
      apply.disabled = true;
      apply.dataset.busy = "locked"; // app.js leaves a busy button alone
    } else {
      note.hidden = true;
      if (apply.dataset.busy === "locked") delete apply.dataset.busy;
      apply.disabled = document.body.dataset.opsAvailable !== "true";
    }
  }

  document.addEventListener("pointerdown", (event) => {
    const svg = event.target.closest?.("#review-chart");
    if (!svg || event.button !== 0) return;
    event.preventDefault();
    const at = instantAt(svg, event.clientX);
    drag = { svg, from: at, to: at };
    svg.setPointerCapture?.(event.pointerId);
    drawSelection(svg, at, at);
  });

  document.addEventListener("pointermove", (event) => {
    if (!drag) return;
    drag.to = instantAt(drag.svg, event.clientX);
    drawSelection(drag.svg, drag.from, drag.to);
  });

  document.addEventListener("pointerup", (event) => {
    if (!drag) return;
    const { svg, from } = drag;
    const to = instantAt(svg, event.clientX);
    drag = null;
    if (Math.abs(to - from) < MINUTE) return; // a click, not a drag
    drawSelection(svg, from, to);
    select(from, to);
    document.getElementById("sel-reason")?.focus();
  });

  document.addEventListener("input", (event) => {
    const id = event.target.id;
    if (id === "sel-start" || id === "sel-end") {
      setField(`${id}-utc`, ""); // typed: the server reads the local time in the zone
      checkLocks();
    }
  });

  document.addEventListener("click", (event) => {
    if (event.target.id !== "sel-clear") return;
    ["sel-start", "sel-end", "sel-start-utc", "sel-end-utc", "sel-reason"].forEach((id) => setField(id, ""));
    document.getElementById("review-selection")?.setAttribute("visibility", "hidden");
    checkLocks();
  });

  function showErrors(form, data) {
    form.querySelectorAll("[data-error-for]").forEach((el) => { el.hidden = true; el.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    if (!data || data.ok) return;
    const key = data.key || "_form";
    const target = form.querySelector(`[data-error-for="${CSS.escape(key)}"]`)
      || form.querySelector('[data-error-for="_form"]');
    if (!target) { toast(data.message, true); return; }
    target.textContent = data.message || "Something went wrong.";
    target.hidden = false;
    const input = form.querySelector(`[name="${CSS.escape(key)}"]:not([type="hidden"])`);
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
  }

  async function refreshReview() {
    const region = document.getElementById("review");
    if (!region) return;
    const response = await fetch(region.dataset.reviewSrc, {
      credentials: "same-origin", headers: { Accept: "text/html" },
    });
    if (!response.ok) return;
    const holder = document.createElement("div");
    holder.innerHTML = await response.text();
    const fresh = holder.querySelector("#review");
    if (fresh) region.replaceWith(fresh);
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.matches("form[data-review]")) return;
    event.preventDefault();
    const button = event.submitter;
    if (button?.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    const body = new URLSearchParams(new FormData(form, button || undefined));
    if (button) button.disabled = true;
    let data = null;
    try {
      const response = await fetch(form.action, {
        method: "POST", credentials: "same-origin", referrerPolicy: "same-origin",
        headers: {
          "X-CSRF-Token": csrf, Accept: "application/json",
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body,
      });
      try { data = await response.json(); } catch (e) { data = { ok: false, message: `HTTP ${response.status}` }; }
    } finally {
      if (button) button.disabled = false;
    }
    showErrors(form, data);
    if (data && data.ok) {
      toast(data.message, false);
      document.dispatchEvent(new CustomEvent("review:changed"));
      await refreshReview();
    }
  });
})();
