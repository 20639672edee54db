/* Images in Markdown fields: an "Add image" button, paste and drag-and-drop.
   Each file goes to POST /uploads (the server checks and re-encodes it) and the
   Markdown it answers is inserted where the cursor is. Fields opt in with data-upload. */
(function () {
  "use strict";

  function insertAtCursor(textarea, text) {
    var start = textarea.selectionStart, end = textarea.selectionEnd, value = textarea.value;
    var before = value.slice(0, start), after = value.slice(end);
    var pad = before && !/\n$/.test(before) ? "\n" : "";
    textarea.value = before + pad + text + "\n" + after;
    var caret = (before + pad + text + "\n").length;
    textarea.setSelectionRange(caret, caret);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    textarea.focus();
  }

  function send(textarea, file, status) {
    var data = new FormData();
    data.append("file", file, file.name || "pasted-image.png");
    status.textContent = "Uploading " + (file.name || "image") + "…";
    fetch("/uploads", {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": window.communityCsrfToken || "" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          throw new Error(body.error ? body.error.message : "The image could not be uploaded (" + response.status + ").");
        }
        return body;
      });
    }).then(function (body) {
      insertAtCursor(textarea, body.markdown);
      status.textContent = "Image added.";
    }).catch(function (error) {
      status.textContent = error.message;
    });
  }

  function images(list) {
    return Array.prototype.filter.call(list || [], function (file) { return /^image\//.test(file.type); });
  }

  function setup(textarea) {
    if (!window.fetch || !window.FormData) { return; }
    var bar = document.createElement("div");
    bar.className = "upload-bar";
    var label = document.createElement("label");
    label.className = "button small upload-button";
    label.appendChild(document.createTextNode("Add image"));
    var input = document.createElement("input");
    input.type = "file";
    input.accept = "image/png,image/jpeg,image/gif,image/webp";
    input.className = "visually-hidden";
    input.setAttribute("aria-label", "Add an image to " + (textarea.labels && textarea.labels[0] ? textarea.labels[0].textContent.trim() : "the text"));
    label.appendChild(input);
    var status = document.createElement("span");
    status.className = "muted upload-status";
    status.setAttribute("role", "status");
    var hint = document.createElement("span");
    hint.className = "muted upload-hint";
    hint.textContent = "PNG, JPEG, GIF or WebP; you can also paste or drop an image.";
    bar.appendChild(label);
    bar.appendChild(hint);
    bar.appendChild(status);
    textarea.insertAdjacentElement("afterend", bar);

    input.addEventListener("change", function () {
      images(input.files).forEach(function (file) { send(textarea, file, status); });
      input.value = "";
    });
    textarea.addEventListener("paste", function (event) {
      var files = images(event.clipboardData && event.clipboardData.files);
      if (files.length) {
        event.preventDefault();
        files.forEach(function (file) { send(textarea, file, status); });
      }
    });
    textarea.addEventListener("dragover", function (event) {
      if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0) {
        event.preventDefault();
        textarea.classList.add("drop-target");
      }
    });
    textarea.addEventListener("dragleave", function () { textarea.classList.remove("drop-target"); });
    textarea.addEventListener("drop", function (event) {
      var files = images(event.dataTransfer && event.dataTransfer.files);
      textarea.classList.remove("drop-target");
      if (files.length) {
        event.preventDefault();
        files.forEach(function (file) { send(textarea, file, status); });
      }
    });
  }

  document.querySelectorAll("textarea[data-upload]").forEach(setup);
})();
