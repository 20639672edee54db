/* The Markdown editor on fields that opt in with data-upload: a toolbar (bold, code,
   link, list, image), a preview rendered by the server (POST /preview, the same
   sanitizer as a saved post), a draft kept in this browser while typing, and images
   by button, paste and drag-and-drop (POST /uploads; the Markdown it answers is
   inserted where the cursor is). Without JavaScript the field is a plain textarea. */
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

  function post(url, data) {
    return fetch(url, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": window.communityCsrfToken || "" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          throw new Error(body.error ? body.error.message : "That did not work (" + response.status + ").");
        }
        return body;
      });
    });
  }

  function wrap(textarea, before, after, placeholder) {
    var start = textarea.selectionStart, end = textarea.selectionEnd, value = textarea.value;
    var chosen = value.slice(start, end) || placeholder;
    textarea.value = value.slice(0, start) + before + chosen + after + value.slice(end);
    textarea.setSelectionRange(start + before.length, start + before.length + chosen.length);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    textarea.focus();
  }

  function listify(textarea) {
    var start = textarea.selectionStart, end = textarea.selectionEnd, value = textarea.value;
    var lineStart = value.lastIndexOf("\n", start - 1) + 1;
    var block = value.slice(lineStart, end) || "item";
    var listed = block.split("\n").map(function (line) { return /^- /.test(line) ? line : "- " + line; }).join("\n");
    textarea.value = value.slice(0, lineStart) + listed + value.slice(end);
    textarea.setSelectionRange(lineStart, lineStart + listed.length);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    textarea.focus();
  }

  function toolbar(textarea, input, preview) {
    var bar = document.createElement("div");
    bar.className = "editor-toolbar";
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", "Formatting");
    var actions = [
      ["Bold", "B", function () { wrap(textarea, "**", "**", "bold text"); }],
      ["Code", "</>", function () { wrap(textarea, "`", "`", "code"); }],
      ["Link", "Link", function () { wrap(textarea, "[", "](https://)", "link text"); }],
      ["Bulleted list", "• List", function () { listify(textarea); }],
      ["Add image", "Image", function () { input.click(); }],
      ["Preview", "Preview", preview]
    ];
    actions.forEach(function (action) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button small editor-button";
      button.setAttribute("aria-label", action[0]);
      button.title = action[0];
      button.textContent = action[1];
      button.addEventListener("click", action[2]);
      bar.appendChild(button);
    });
    return bar;
  }

  function draftKey(textarea) {
    return "draft:" + window.location.pathname + ":" + (textarea.name || textarea.id);
  }

  function keepDraft(textarea) {
    var form = textarea.form;
    if (!form || form.hasAttribute("data-ask-session")) { return; }  // the ask pages keep their own
    var key = draftKey(textarea), timer = null;
    try {
      var saved = window.localStorage.getItem(key);
      if (saved && !textarea.value) { textarea.value = saved; }
    } catch (e) { return; }
    textarea.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        try {
          if (textarea.value) { window.localStorage.setItem(key, textarea.value); }
          else { window.localStorage.removeItem(key); }
        } catch (e) { /* storage full or off */ }
      }, 400);
    });
    form.addEventListener("submit", function () {
      try { window.localStorage.removeItem(key); } catch (e) { /* ignore */ }
    });
  }

  function send(textarea, file, status) {
    var data = new FormData();
    data.append("file", file, file.name || "pasted-image.png");
    status.textContent = "Uploading " + (file.name || "image") + "…";
    post("/uploads", data).then(function (body) {
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

    var shown = document.createElement("div");
    shown.className = "post-body editor-preview";
    shown.hidden = true;
    shown.setAttribute("aria-live", "polite");
    bar.insertAdjacentElement("afterend", shown);
    function preview() {
      if (!shown.hidden) { shown.hidden = true; textarea.focus(); return; }
      var data = new FormData();
      data.append("body", textarea.value);
      post("/preview", data).then(function (body) {
        shown.innerHTML = body.html || "<p class=\"muted\">Nothing to preview yet.</p>";  // sanitized by the server
        shown.hidden = false;  // below the field, which stays in the form (and in its validation)
      }).catch(function (error) { status.textContent = error.message; });
    }
    textarea.insertAdjacentElement("beforebegin", toolbar(textarea, input, preview));
    keepDraft(textarea);

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
