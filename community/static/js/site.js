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
        if (!result.ok) { window.alert(result.data.error ? result.data.error.message : "Could not vote."); return; }
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
