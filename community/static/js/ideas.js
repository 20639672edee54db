// Idea exchange enhancements; every form works without this file.
(function () {
  "use strict";

  // Vote toggle without a reload (the form posts normally without JS).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("idea-vote-form") || !window.fetch) { return; }
    event.preventDefault();
    var button = form.querySelector("button.idea-vote");
    if (button) { button.disabled = true; }
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin",
                         headers: { "Accept": "application/json", "X-CSRFToken": window.communityCsrfToken || "" } })
      .then(function (response) { return response.json().then(function (data) { return { ok: response.ok, data: data }; }); })
      .then(function (result) {
        if (button) { button.disabled = false; }
        var message = result.ok ? "" : (result.data.error ? result.data.error.message : "Could not vote.");
        if (window.communityExplain) { window.communityExplain(form, message); }
        if (!result.ok) { return; }
        var n = result.data.votes;
        form.querySelector("[data-vote-count]").textContent = n.toLocaleString();
        // Every other place on the page that shows this idea's total (the sidebar).
        document.querySelectorAll("[data-vote-total]").forEach(function (el) { el.textContent = n.toLocaleString(); });
        var label = form.querySelector(".idea-count-label");
        if (label) { label.textContent = n === 1 ? "vote" : "votes"; }
        if (button) {
          button.classList.toggle("on", result.data.voted);
          button.setAttribute("aria-pressed", result.data.voted ? "true" : "false");
          button.textContent = result.data.voted ? "✓ Voted" : "▲ Vote";
          button.title = result.data.voted ? "Withdraw your vote" : "Vote for this idea";
        }
      })
      .catch(function () { form.submit(); });
  });

  // Similar ideas as you type the title of a new idea.
  var title = document.querySelector("input[data-similar-url]");
  var box = document.getElementById("similar-ideas");
  if (!title || !box || !window.fetch) { return; }
  var timer = null;
  var last = "";
  function render(results) {
    var list = box.querySelector("ul");
    list.textContent = "";
    results.forEach(function (r) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = r.url; a.textContent = r.title; a.target = "_blank"; a.rel = "noopener";
      var pill = document.createElement("span");
      pill.className = "pill idea-status status-" + r.status; pill.textContent = r.status_label;
      var votes = document.createElement("span");
      votes.className = "muted"; votes.textContent = r.votes + (r.votes === 1 ? " vote" : " votes");
      li.append(a, " ", pill, " ", votes);
      list.appendChild(li);
    });
    box.hidden = results.length === 0;
  }
  title.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var q = title.value.trim();
      if (q === last) { return; }
      last = q;
      if (q.length < 3) { render([]); return; }
      fetch(title.getAttribute("data-similar-url") + "?q=" + encodeURIComponent(q), { headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) { if (title.value.trim() === q) { render(data.results || []); } })
        .catch(function () {});
    }, 250);
  });
})();
