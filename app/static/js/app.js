// Behaviour set up here, not inline (the Content-Security-Policy forbids inline script).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  // One click, one submission: disable the buttons once the form is on its way.
  if (!event.defaultPrevented) {
    form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
      window.setTimeout(function () { b.disabled = true; }, 0);
    });
  }
});

// Pages with [data-job-url] poll a background job and show its progress.
document.querySelectorAll("[data-job-url]").forEach(function (box) {
  var bar = box.querySelector(".progress-bar");
  var text = box.querySelector("[data-job-text]");
  function poll() {
    fetch(box.getAttribute("data-job-url"), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (job) {
        var pct = job.total ? Math.round(100 * job.progress / job.total) : 0;
        if (bar) { bar.style.width = pct + "%"; bar.setAttribute("aria-valuenow", pct); }
        if (text) { text.textContent = job.message || (pct + "%"); }
        if (job.state === "done" || job.state === "failed") { window.location.reload(); }
        else { window.setTimeout(poll, 1000); }
      });
  }
  poll();
});
