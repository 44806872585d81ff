// MiMoLo Control: widget canvases on the dashboard cards.
// - every [data-widget-slot="<instance_id>"] gets a canvas: toolbar (Refresh, Pause/Play,
//   status line) and a body filled with the server-sanitized HTML of the agent's widget;
// - the widget's HTML lives in a shadow root of its own ([data-widget-view]) with the widget
//   stylesheet (static/widget.css, the w-… classes) linked inside it: the page's classes
//   cannot reach a widget, and the view clips whatever it holds (contain: content);
// - auto-refresh follows the frame's ttl_ms (never faster than the manifest's
//   min_refresh_ms), pauses while the tab is hidden, and can be paused per canvas;
// - Refresh asks the agent for an immediate summary (widget action "refresh"), then
//   re-renders bypassing the cache;
// - failures (render_timeout, widget_not_supported, agent_not_running, ops_unavailable …)
//   are shown inside the canvas; the rest of the page never breaks;
// - the cards region is re-rendered by app.js every few seconds, so canvases live outside
//   it and are moved back into the fresh slots (images and state survive the swap).
// The HTML inserted here has already been sanitized by Control (protocol/widget_html.py);
// the CSP is the second wall.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const opts = { credentials: "same-origin", referrerPolicy: "same-origin" };
  const DEFAULT_INTERVAL_MS = 5000;
  const FLOOR_INTERVAL_MS = 1000;
  const RETRY_INTERVAL_MS = 10000;
  const STOP_CODES = new Set(["widget_not_supported", "invalid_id", "unknown_instance"]);
  const WIDGET_CSS = "/static/widget.css";
  const canvases = new Map();

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function setStatus(canvas, text) {
    canvas.status.textContent = text;
  }

  function setPlaying(canvas, playing) {
    canvas.playing = playing;
    canvas.root.dataset.widgetPlaying = playing ? "true" : "false";
    canvas.toggle.textContent = playing ? "Pause" : "Play";
    canvas.toggle.setAttribute("aria-pressed", playing ? "false" : "true");
    canvas.toggle.title = playing ? "Pause auto-refresh" : "Resume auto-refresh";
    clearTimeout(canvas.timer);
    if (playing) schedule(canvas, 0);
  }

  function create(instanceId) {
    const root = el("div", "widget-canvas");
    root.dataset.widgetCanvas = instanceId;
    root.dataset.widgetState = "loading";
    const bar = el("div", "widget-toolbar");
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", `Widget controls for ${instanceId}`);
    const refresh = el("button", "button button-quiet", "Refresh");
    refresh.type = "button";
    refresh.dataset.widgetRefresh = instanceId;
    const toggle = el("button", "button button-quiet", "Pause");
    toggle.type = "button";
    toggle.dataset.widgetToggle = instanceId;
    const status = el("span", "widget-status small muted");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    bar.append(refresh, toggle, status);
    const body = el("div", "widget-body");
    body.dataset.widgetBody = instanceId;
    const note = el("div", "widget-notice");
    note.hidden = true;
    const view = el("div", "widget-view");
    view.dataset.widgetView = instanceId;
    view.hidden = true;
    const shadow = view.attachShadow({ mode: "open" });
    const sheet = document.createElement("link");
    sheet.rel = "stylesheet";
    sheet.href = WIDGET_CSS;
    const frame = el("div", "w-frame");
    shadow.append(sheet, frame);
    body.append(note, view);
    root.append(bar, body);
    const canvas = {
      instanceId, root, body, note, view, frame, status, toggle, refresh,
      playing: true, timer: null, inflight: false, focused: null, interval: DEFAULT_INTERVAL_MS,
      html: null,
    };
    refresh.addEventListener("click", () => refreshNow(canvas));
    toggle.addEventListener("click", () => setPlaying(canvas, !canvas.playing));
    root.addEventListener("focusin", (event) => { canvas.focused = event.target; });
    root.addEventListener("focusout", (event) => {
      if (event.relatedTarget && !root.contains(event.relatedTarget)) canvas.focused = null;
    });
    setStatus(canvas, "Loading…");
    canvases.set(instanceId, canvas);
    setPlaying(canvas, true);
    return canvas;
  }

  // Conditions that are not failures of the widget: shown quietly, not in red.
  const QUIET = new Map([
    ["widget_not_supported", "This agent has no widget."],
    ["agent_not_running", "The widget appears while the agent runs."],
    ["ops_unavailable", "Operations is unavailable; the widget will come back with it."],
  ]);

  function showError(canvas, code, message) {
    code = code || "error";
    let box;
    if (QUIET.has(code)) {
      box = el("p", "widget-note small muted", `${QUIET.get(code)} (${code})`);
    } else {
      box = el("div", "widget-error card-error");
      box.setAttribute("role", "note");
      box.append(el("strong", "", code), document.createTextNode(" "));
      box.append(el("span", "", message || "The widget could not be shown."));
    }
    canvas.note.replaceChildren(box);
    canvas.note.hidden = false;
    canvas.view.hidden = true;
    canvas.frame.replaceChildren();
    canvas.html = null;
    canvas.root.dataset.widgetState = "error";
    canvas.root.dataset.widgetError = code;
  }

  function schedule(canvas, delay) {
    clearTimeout(canvas.timer);
    if (!canvas.playing) return;
    canvas.timer = setTimeout(() => {
      if (document.hidden) { schedule(canvas, canvas.interval); return; }
      render(canvas, false);
    }, delay);
  }

  async function render(canvas, force) {
    if (canvas.inflight) return;
    canvas.inflight = true;
    const url = `/api/widgets/${encodeURIComponent(canvas.instanceId)}/render${force ? "?force=1" : ""}`;
    let next = RETRY_INTERVAL_MS;
    try {
      let data;
      try {
        const response = await fetch(url, { ...opts, headers: { Accept: "application/json" } });
        data = await response.json();
      } catch (e) {
        data = { ok: false, error: "control_unreachable", message: "Control did not answer." };
      }
      if (data && data.ok) {
        if (canvas.root.dataset.widgetState !== "ok" || canvas.html !== data.html) {
          // sanitized by Control; inside the widget's own shadow root; CSP forbids script
          canvas.frame.innerHTML = data.html;
          canvas.html = data.html; // unchanged frames keep their DOM (no image refetch)
        }
        canvas.note.hidden = true;
        canvas.note.replaceChildren();
        canvas.view.hidden = false;
        canvas.root.dataset.widgetState = "ok";
        delete canvas.root.dataset.widgetError;
        const when = new Date().toLocaleTimeString();
        setStatus(canvas, `Updated ${when}${data.cached ? " (cached)" : ""}`);
        const floor = Math.max(FLOOR_INTERVAL_MS, Number(data.min_refresh_ms) || 0);
        next = Math.max(floor, Number(data.ttl_ms) || DEFAULT_INTERVAL_MS);
        canvas.interval = next;
      } else {
        const code = (data && data.error) || "error";
        showError(canvas, code, data && data.message);
        setStatus(canvas, "Failed");
        if (STOP_CODES.has(code)) {
          setPlaying(canvas, false);
          return;
        }
      }
    } finally {
      canvas.inflight = false;
    }
    schedule(canvas, next);
  }

  async function refreshNow(canvas) {
    canvas.refresh.disabled = true;
    setStatus(canvas, "Refreshing…");
    try {
      const response = await fetch(`/api/widgets/${encodeURIComponent(canvas.instanceId)}/action`, {
        ...opts,
        method: "POST",
        headers: {
          "X-CSRF-Token": csrf,
          "Content-Type": "application/x-www-form-urlencoded",
          Accept: "application/json",
        },
        body: new URLSearchParams({ action: "refresh" }),
      });
      let data = null;
      try { data = await response.json(); } catch (e) { data = null; }
      if (data && !data.ok && data.error !== "unsupported_action") {
        showError(canvas, data.error, data.message);
        setStatus(canvas, "Refresh failed");
        return;
      }
      await render(canvas, true);
    } catch (e) {
      showError(canvas, "control_unreachable", "Control did not answer.");
    } finally {
      canvas.refresh.disabled = false;
    }
  }

  function attach(slot) {
    const instanceId = slot.dataset.widgetSlot;
    if (!instanceId) return;
    const canvas = canvases.get(instanceId) || create(instanceId);
    if (canvas.root.parentNode === slot) return;
    slot.replaceChildren(canvas.root);
    slot.classList.add("widget-slot-live");
    if (canvas.focused && document.activeElement === document.body && canvas.root.contains(canvas.focused)) {
      canvas.focused.focus();
    }
  }

  function scan() {
    document.querySelectorAll("[data-widget-slot]").forEach(attach);
    for (const [instanceId, canvas] of canvases) {
      if (!document.contains(canvas.root)) {
        clearTimeout(canvas.timer);
        canvases.delete(instanceId);
      }
    }
  }

  let pending = false;
  new MutationObserver(() => {
    if (pending) return;
    pending = true;
    queueMicrotask(() => { pending = false; scan(); });
  }).observe(document.body, { childList: true, subtree: true });

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return;
    canvases.forEach((canvas) => { if (canvas.playing) schedule(canvas, 0); });
  });

  scan();
})();
