// MiMoLo Control: the small script layer (no libraries, no inline handlers).
// - every request carries the session's CSRF token and a same-origin referrer policy,
//   so the server can check Origin on state changes;
// - [data-post] buttons and form[data-api] forms talk to the JSON API;
// - [data-live] regions are refreshed by fetch + swap;
// - the Operations banner follows /api/status; [data-requires-ops] is disabled while down;
// - form[data-report] starts a report job and polls its progress.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const opts = { credentials: "same-origin", referrerPolicy: "same-origin" };
  let opsAvailable = document.body.dataset.opsAvailable === "true";

  function toast(message, isError) {
    const el = document.getElementById("toast");
    if (!el || !message) return;
    el.textContent = message;
    el.classList.toggle("toast-error", !!isError);
    el.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { el.hidden = true; }, 4000);
  }
  window.mimoloToast = toast;  // review.js and rules.js show their messages with it

  async function postForm(url, params) {
    const response = await fetch(url, {
      ...opts,
      method: "POST",
      headers: {
        "X-CSRF-Token": csrf,
        "Content-Type": "application/x-www-form-urlencoded",
        Accept: "application/json",
      },
      body: params || new URLSearchParams(),
    });
    let data;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!data) data = { ok: false, message: `HTTP ${response.status}` };
    return data;
  }

  function setOpsAvailable(available, detail) {
    opsAvailable = available;
    document.body.dataset.opsAvailable = available ? "true" : "false";
    const banner = document.getElementById("ops-banner");
    if (banner) banner.hidden = available;
    const bannerDetail = document.getElementById("ops-banner-detail");
    if (bannerDetail) bannerDetail.textContent = detail || "";
    const pill = document.getElementById("ops-pill");
    if (pill) {
      pill.classList.toggle("ops-up", available);
      pill.classList.toggle("ops-down", !available);
      const text = document.getElementById("ops-pill-text");
      if (text) text.textContent = available ? "Operations running" : "Operations unavailable";
    }
    applyOpsState(document);
  }

  function applyOpsState(root) {
    root.querySelectorAll("[data-requires-ops]").forEach((el) => {
      if (el.tagName === "A") {
        el.setAttribute("aria-disabled", opsAvailable ? "false" : "true");
        el.classList.toggle("is-disabled", !opsAvailable);
      } else if (!el.dataset.busy) {
        el.disabled = !opsAvailable;
      }
    });
  }

  async function pollStatus() {
    try {
      const response = await fetch("/api/status", { ...opts, headers: { Accept: "application/json" } });
      if (response.ok) {
        const data = await response.json();
        if (data.ops_available !== opsAvailable) {
          setOpsAvailable(data.ops_available, data.message);
          refreshLive();
        }
      }
    } catch (e) {
      // Control itself is unreachable; keep the page as it is.
    }
  }

  async function refreshRegion(region) {
    const url = region.dataset.live;
    try {
      const response = await fetch(url, { ...opts, headers: { Accept: "text/html" } });
      if (!response.ok) return;
      const html = await response.text();
      if (html === region.dataset.lastHtml) return;
      const focusedKey = region.contains(document.activeElement)
        ? document.activeElement.dataset.post || document.activeElement.getAttribute("href")
        : null;
      region.innerHTML = html;
      region.dataset.lastHtml = html;
      applyOpsState(region);
      if (focusedKey) {
        const again = Array.from(region.querySelectorAll("[data-post], a[href]")).find(
          (el) => (el.dataset.post || el.getAttribute("href")) === focusedKey
        );
        if (again) again.focus();
      }
    } catch (e) {
      // try again at the next tick
    }
  }

  function refreshLive() {
    document.querySelectorAll("[data-live]").forEach(refreshRegion);
  }

  function showErrors(form, data) {
    form.querySelectorAll("[data-error-for]").forEach((el) => { el.hidden = true; el.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    if (!data || data.ok) return;
    let target = form.querySelector(`[data-error-for="${CSS.escape(data.key || "_form")}"]`);
    if (!target) target = form.querySelector('[data-error-for="_form"]');
    if (target) {
      target.textContent = data.message || "Something went wrong.";
      target.hidden = false;
      const input = form.querySelector(`[name="${CSS.escape(data.key || "")}"]`);
      if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
    } else {
      toast(data.message, true);
    }
  }

  document.addEventListener("click", async (event) => {
    const link = event.target.closest("a[data-requires-ops]");
    if (link && !opsAvailable) { event.preventDefault(); return; }
    const button = event.target.closest("button[data-post]");
    if (!button || button.disabled) return;
    event.preventDefault();
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    button.dataset.busy = "1";
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      const data = await postForm(button.dataset.post);
      toast(data.message, !data.ok);
    } finally {
      delete button.dataset.busy;
      button.removeAttribute("aria-busy");
      button.disabled = !opsAvailable;
      refreshLive();
    }
  });

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (form.matches("form[data-api]")) {
      event.preventDefault();
      const submit = form.querySelector('[type="submit"]');
      if (submit) submit.disabled = true;
      try {
        const data = await postForm(form.action, new URLSearchParams(new FormData(form)));
        showErrors(form, data);
        if (data.ok) {
          toast(data.message, false);
          if (data.redirect) window.location.assign(data.redirect);
          else refreshLive();
        }
      } finally {
        if (submit) submit.disabled = !opsAvailable;
      }
    } else if (form.matches("form[data-report]")) {
      event.preventDefault();
      runReport(form);
    }
  });

  async function runReport(form) {
    const box = document.getElementById("report-progress");
    const bar = document.getElementById("report-bar");
    const status = document.getElementById("report-status");
    const link = document.getElementById("report-download");
    const submit = form.querySelector('[type="submit"]');
    link.hidden = true;
    const data = await postForm(form.action, new URLSearchParams(new FormData(form)));
    showErrors(form, data);
    if (!data.ok) return;
    box.hidden = false;
    submit.disabled = true;
    status.textContent = "Starting…";
    const poll = async () => {
      const response = await fetch(`/api/reports/${encodeURIComponent(data.job_id)}`, {
        ...opts, headers: { Accept: "application/json" },
      });
      const job = await response.json();
      bar.value = job.progress || 0;
      if (job.state === "running") {
        status.textContent = `Working: ${job.message}`;
        setTimeout(poll, 500);
        return;
      }
      submit.disabled = false;
      refreshLive();
      if (job.state === "done") {
        status.textContent = `Ready: ${job.file_name}`;
        link.href = job.download;
        link.textContent = `Download ${job.file_name}`;
        link.hidden = false;
        link.focus();
      } else {
        status.textContent = `Failed: ${job.error || job.message}`;
      }
    };
    poll();
  }

  // A toggle that applies at once (the form still works without script).
  document.addEventListener("change", (event) => {
    const input = event.target;
    if (input.matches("input[data-autosubmit]") && input.form) input.form.requestSubmit();
  });

  document.querySelectorAll("[data-live]").forEach((region) => {
    const interval = parseInt(region.dataset.interval || "2000", 10);
    setInterval(() => refreshRegion(region), interval);
  });
  setInterval(pollStatus, 2000);
  applyOpsState(document);
})();
