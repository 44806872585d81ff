// MiMoLo Control, the Packages view: upload a package (picker or drag and drop), show
// Operations' inspection before confirming, confirm / cancel, remove with confirmation,
// every error inline with its code. No libraries, no inline handlers; the session's CSRF
// token on every request and a same-origin referrer policy (so Control can check Origin).
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const opts = { credentials: "same-origin", referrerPolicy: "same-origin" };
  const list = document.getElementById("package-list");
  const review = document.getElementById("package-review");
  const uploadForm = document.getElementById("package-upload");
  const fileInput = document.getElementById("package-file");
  const uploadStatus = document.getElementById("package-upload-status");
  const uploadError = document.getElementById("package-upload-error");
  const message = document.getElementById("package-message");
  if (!list || !uploadForm) return;

  function describe(data) {
    const text = data.message || "Something went wrong.";
    return data.error ? `${text} (${data.error})` : text;
  }

  async function send(url, body, contentType) {
    const headers = { "X-CSRF-Token": csrf, Accept: "application/json" };
    if (contentType) headers["Content-Type"] = contentType;
    let response;
    try {
      response = await fetch(url, { ...opts, method: "POST", headers, body });
    } catch (e) {
      return { ok: false, error: "network_error", message: "Control did not answer." };
    }
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    return data || { ok: false, error: `http_${response.status}`, message: `HTTP ${response.status}` };
  }

  function postForm(url, fields) {
    return send(url, new URLSearchParams(fields), "application/x-www-form-urlencoded");
  }

  function showError(el, data) {
    if (!el) return;
    if (!data || data.ok) { el.hidden = true; el.textContent = ""; return; }
    el.textContent = describe(data);
    el.dataset.code = data.error || "";
    el.hidden = false;
  }

  function say(text) {
    if (!message) return;
    message.textContent = text || "";
    message.hidden = !text;
  }

  async function refreshList() {
    if (list.querySelector("details.pkg-remove[open]")) return; // the user is deciding
    try {
      const response = await fetch(list.dataset.packagesLive, { ...opts, headers: { Accept: "text/html" } });
      if (!response.ok) return;
      const html = await response.text();
      if (html !== list.dataset.lastHtml) {
        list.innerHTML = html;
        list.dataset.lastHtml = html;
      }
    } catch (e) {
      // try again at the next tick
    }
  }

  async function upload(file) {
    if (!file) return;
    showError(uploadError, null);
    say("");
    review.innerHTML = "";
    uploadStatus.textContent = `Uploading ${file.name}…`;
    uploadForm.setAttribute("aria-busy", "true");
    const body = new FormData();
    body.append("package", file, file.name);
    const data = await send(uploadForm.getAttribute("action"), body, null);
    uploadForm.removeAttribute("aria-busy");
    fileInput.value = "";
    if (!data.ok) {
      uploadStatus.textContent = "";
      showError(uploadError, data);
      return;
    }
    uploadStatus.textContent = `Inspected ${file.name}: review it below before confirming.`;
    review.innerHTML = data.html;
    const first = review.querySelector("button[type=submit], [data-package-cancel]");
    if (first) first.focus();
  }

  fileInput.addEventListener("change", () => upload(fileInput.files && fileInput.files[0]));

  ["dragenter", "dragover"].forEach((name) => uploadForm.addEventListener(name, (event) => {
    event.preventDefault();
    uploadForm.classList.add("pkg-drop-over");
  }));
  ["dragleave", "drop"].forEach((name) => uploadForm.addEventListener(name, () => {
    uploadForm.classList.remove("pkg-drop-over");
  }));
  uploadForm.addEventListener("drop", (event) => {
    event.preventDefault();
    const files = event.dataTransfer && event.dataTransfer.files;
    if (!files || files.length !== 1) {
      showError(uploadError, { ok: false, error: "upload_invalid", message: "Drop one package file." });
      return;
    }
    upload(files[0]);
  });
  uploadForm.addEventListener("submit", (event) => event.preventDefault());

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (form.matches("form[data-package-confirm]")) {
      event.preventDefault();
      const action = event.submitter ? event.submitter.value : "";
      const error = form.querySelector(".pkg-error");
      form.querySelectorAll("button").forEach((b) => { b.disabled = true; });
      const data = await postForm(form.getAttribute("action"), { upload_id: form.elements.upload_id.value, action });
      if (data.ok) {
        review.innerHTML = "";
        uploadStatus.textContent = "";
        say(data.message);
        await refreshList();
      } else {
        showError(error, data);
        const cancel = form.querySelector("[data-package-cancel]");
        if (cancel) { cancel.disabled = false; cancel.textContent = "Close"; }
      }
    } else if (form.matches("form[data-package-remove]")) {
      event.preventDefault();
      const error = form.querySelector(".pkg-error");
      const submit = form.querySelector('[type="submit"]');
      if (submit) submit.disabled = true;
      const data = await postForm(form.getAttribute("action"), new FormData(form));
      if (submit) submit.disabled = false;
      if (data.ok) {
        form.closest("details").open = false;
        say(data.message);
        await refreshList();
      } else {
        showError(error, data);
      }
    }
  });

  document.addEventListener("click", async (event) => {
    const cancel = event.target.closest("[data-package-cancel]");
    if (!cancel) return;
    event.preventDefault();
    const form = cancel.closest("form");
    const id = form && form.elements.upload_id ? form.elements.upload_id.value : "";
    review.innerHTML = "";
    uploadStatus.textContent = "";
    if (id) await postForm("/api/packages/cancel", { upload_id: id });
  });

  setInterval(refreshList, parseInt(list.dataset.interval || "5000", 10));
})();
