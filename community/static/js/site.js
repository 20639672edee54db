// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]');
  window.communityCsrfToken = csrf ? csrf.getAttribute("content") : "";

  // Confirm destructive actions.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  // Phone menu: one button folds the navigation (CSS shows it open without scripts).
  var toggle = document.querySelector(".menu-toggle");
  var menu = document.getElementById("site-menu");
  if (toggle && menu) {
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      menu.classList.toggle("open", open);
    });
  }

  // Tabs that scroll sideways on narrow screens fade at the edge that has more.
  function markScroll(tabs) {
    tabs.classList.toggle("more-right", tabs.scrollLeft + tabs.clientWidth < tabs.scrollWidth - 2);
    tabs.classList.toggle("more-left", tabs.scrollLeft > 2);
  }
  document.querySelectorAll(".tabs").forEach(function (tabs) {
    markScroll(tabs);
    tabs.addEventListener("scroll", function () { markScroll(tabs); }, { passive: true });
    window.addEventListener("resize", function () { markScroll(tabs); });
  });

  // Drop-down menus (<details>): one open at a time; Escape or a click elsewhere closes them.
  var dropdowns = document.querySelectorAll(".dropdown > details");
  function closeDropdowns(except) {
    dropdowns.forEach(function (d) { if (d !== except) { d.removeAttribute("open"); } });
  }
  document.addEventListener("click", function (event) {
    var inside = event.target.closest(".dropdown > details");
    closeDropdowns(inside);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = document.querySelector(".dropdown > details[open]");
    if (open) { open.removeAttribute("open"); open.querySelector("summary").focus(); }
  });

  // A refusal (locked privilege, own post, suspension) is shown beside the control, not in a pop-up.
  function explain(form, message) {
    var id = form.getAttribute("data-message");
    var box = id ? document.getElementById(id) : form.parentNode.querySelector(".action-message");
    if (!box) {
      box = document.createElement("p");
      box.className = "action-message";
      box.setAttribute("role", "status");
      form.parentNode.appendChild(box);
    }
    box.textContent = message;
  }
  window.communityExplain = explain;

  // Vote without reloading the page; falls back to the normal form post.
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".vote-form button.vote");
    if (!button || !window.fetch) { return; }
    event.preventDefault();
    var form = button.form;
    var body = new FormData(form);
    body.set("value", button.value);
    fetch(form.action, { method: "POST", body: body, headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json().then(function (data) { return { ok: response.ok, status: response.status, data: data }; }); })
      .then(function (result) {
        if (result.status === 401) {
          window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname + "#" + form.closest("article").id);
          return;
        }
        if (!result.ok) { explain(form, result.data.error ? result.data.error.message : "Could not vote."); return; }
        explain(form, "");
        form.querySelector(".score").textContent = result.data.score;
        form.querySelectorAll("button.vote").forEach(function (b) {
          var on = String(result.data.vote) === b.dataset.vote;
          b.value = on ? "0" : b.dataset.vote;  // pressing a pressed arrow withdraws
          b.classList.toggle("on", on);
          b.setAttribute("aria-pressed", on ? "true" : "false");
        });
      })
      .catch(function () { form.submit(); });
  });
})();
