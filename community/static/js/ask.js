// Search-before-you-post on /ask and /support/contact, and the thread prompt.
// Progressive enhancement: without this file the forms still work (a first
// submit shows the matches, "post anyway" posts).
(function () {
  "use strict";

  var DEBOUNCE_MS = 300;
  var MIN_LENGTH = 3;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function storageKey(form) { return "askDraft:" + (form.getAttribute("data-page") || "ask"); }

  function draftFields(form) {
    return Array.prototype.filter.call(form.elements, function (field) {
      return field.name && field.type !== "hidden" && field.type !== "submit" && field.tagName !== "BUTTON";
    });
  }

  // Keep what was typed (this browser only), so that "I still need help" brings it back.
  function saveDraft(form) {
    var data = {};
    draftFields(form).forEach(function (field) { data[field.name] = field.value; });
    try { window.localStorage.setItem(storageKey(form), JSON.stringify({ at: Date.now(), fields: data })); } catch (e) { /* private mode */ }
  }

  function restoreDraft(form) {
    var raw;
    try { raw = window.localStorage.getItem(storageKey(form)); } catch (e) { return; }
    if (!raw) { return; }
    var saved;
    try { saved = JSON.parse(raw); } catch (e) { return; }
    if (!saved || !saved.fields || Date.now() - saved.at > 24 * 3600 * 1000) { return; }
    // Fill only the fields the server left empty: what it rendered (an error, a preview) wins.
    draftFields(form).forEach(function (field) {
      var value = saved.fields[field.name];
      if (value === undefined || value === "" || (field.value && field.tagName !== "SELECT")) { return; }
      if (field.tagName === "SELECT" && field.value) { return; }
      field.value = value;
    });
  }

  function openUrl(form, item) {
    var base = form.getAttribute("data-open-base");
    if (!base) { return item.url; }
    return base + encodeURIComponent(item.type) + "/" + encodeURIComponent(item.id) +
      "?via=" + encodeURIComponent(form.getAttribute("data-page") || "ask");
  }

  function render(form, panel, items) {
    var list = panel.querySelector("[data-suggest-list]");
    var heading = panel.querySelector("[data-suggest-heading]");
    list.textContent = "";
    if (!items.length) { panel.hidden = true; return; }
    if (heading && !panel.classList.contains("is-preview")) { heading.textContent = "These may already answer it"; }
    items.forEach(function (item) {
      var li = el("li", "suggest-item");
      var a = el("a", "suggest-title", item.title);
      a.href = openUrl(form, item);
      li.appendChild(a);
      if (item.type === "idea") { li.appendChild(document.createTextNode(" ")); li.appendChild(el("span", "pill pill-idea", "Idea")); }
      else if (item.type === "article") { li.appendChild(document.createTextNode(" ")); li.appendChild(el("span", "pill pill-official", "Official article")); }
      else if (item.solved) { li.appendChild(document.createTextNode(" ")); li.appendChild(el("span", "pill pill-solved", "✓ Solved")); }
      if (item.snippet) {
        var p = el("p", "suggest-snippet");
        if (item.solved && item.type === "thread") { p.appendChild(el("span", "suggest-label", "Accepted answer:")); p.appendChild(document.createTextNode(" ")); }
        var text = String(item.snippet).replace(/<[^>]*>/g, "");
        p.appendChild(document.createTextNode(text.length > 220 ? text.slice(0, 217) + "…" : text));
        li.appendChild(p);
      }
      list.appendChild(li);
    });
    panel.hidden = false;
  }

  // Tell the server that a browser runs this page (both arms alike, before anything the
  // arm changes): scripts that replay URLs never send it (docs/metrics.md, excluded traffic).
  // Sent again at most every 5 minutes while the visitor types, so the session stays open.
  function beacon(form) {
    var session = form.getAttribute("data-ask-session");
    var url = form.getAttribute("data-beacon-url");
    if (!session || !url || !window.fetch) { return; }
    var body = new FormData();
    body.append("session", session);
    fetch(url, { method: "POST", body: body, credentials: "same-origin",
                 headers: { "Accept": "application/json", "X-CSRFToken": window.communityCsrfToken || "" } })
      .catch(function () { /* best effort */ });
  }

  function setupForm(form) {
    beacon(form);
    var lastBeacon = Date.now();
    form.addEventListener("input", function () {
      if (Date.now() - lastBeacon > 5 * 60 * 1000) { lastBeacon = Date.now(); beacon(form); }
    });
    var jsField = form.querySelector('input[name="js"]');
    if (jsField) { jsField.value = "1"; }
    restoreDraft(form);
    form.addEventListener("input", function () { saveDraft(form); });
    form.addEventListener("submit", function () {
      try { window.localStorage.removeItem(storageKey(form)); } catch (e) { /* ignore */ }
    });
    if (form.getAttribute("data-arm") === "holdout") { return; }
    var source = form.querySelector("[data-suggest-source]");
    var panel = form.querySelector("[data-suggestions]");
    if (!source || !panel || !window.fetch) { return; }
    var timer = null, sequence = 0, lastQuery = null;

    function lookup() {
      var query = source.value.replace(/\s+/g, " ").trim();
      if (query.length < MIN_LENGTH) { panel.hidden = true; lastQuery = query; return; }
      if (query === lastQuery) { return; }
      lastQuery = query;
      var mine = ++sequence;
      var url = form.getAttribute("data-suggest-url") + "?q=" + encodeURIComponent(query) +
        "&type=" + encodeURIComponent(form.getAttribute("data-types") || "thread,article,idea");
      var session = form.getAttribute("data-ask-session");
      if (session) { url += "&session=" + encodeURIComponent(session); }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (!response.ok) { lastQuery = null; }  // search failed (503): the next keystroke asks again
          return response.ok ? response.json() : { results: [] };
        })
        .then(function (data) {
          if (mine !== sequence) { return; }  // a newer query is on its way
          render(form, panel, data.holdout ? [] : (data.results || []));
        })
        .catch(function () { /* suggestions are optional */ });
    }

    source.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(lookup, DEBOUNCE_MS);
    });
    if (source.value && panel.hidden) { lookup(); }
  }

  function setupPrompt(prompt) {
    var form = prompt.querySelector("[data-deflect-form]");
    if (!form || !window.fetch) { return; }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRFToken": window.communityCsrfToken || "" }
      }).then(function (response) {
        if (!response.ok) { throw new Error("not recorded"); }
        prompt.textContent = "";
        var done = el("p", "deflect-done");
        done.setAttribute("role", "status");
        done.appendChild(el("strong", "", "Glad this solved it."));
        done.appendChild(document.createTextNode(" Thanks for telling us: it helps others find this answer."));
        prompt.appendChild(done);
        try { window.localStorage.removeItem("askDraft:ask"); window.localStorage.removeItem("askDraft:contact"); } catch (e) { /* ignore */ }
      }).catch(function () { form.submit(); });
    });
  }

  document.querySelectorAll("form[data-ask-session]").forEach(setupForm);
  document.querySelectorAll("[data-deflect-prompt]").forEach(setupPrompt);
})();
