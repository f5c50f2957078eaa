// Review pages: the live total on the score sheet, and the draw job's progress.
// The server computes the real total (scoring.review_total) on submit; this only shows it.
(function () {
  var sheet = document.getElementById("score-sheet");
  if (sheet) {
    var output = document.getElementById("live-total");
    var inputs = sheet.querySelectorAll("input[data-criterion]");
    var recompute = function () {
      var weighted = 0, weights = 0;
      inputs.forEach(function (input) {
        var key = input.getAttribute("data-criterion");
        var na = document.getElementById("na-" + key);
        if (na && na.checked) { input.value = ""; return; }
        if (input.value === "") { return; }
        var value = Number(input.value);
        var min = Number(input.getAttribute("data-min"));
        var max = Number(input.getAttribute("data-max"));
        var weight = Number(input.getAttribute("data-weight"));
        var bad = !isFinite(value) || value < min || value > max;
        input.classList.toggle("is-invalid", bad);
        if (bad) { return; }
        weighted += weight * (value - min) / (max - min);
        weights += weight;
      });
      output.textContent = weights > 0 ? (100 * weighted / weights).toFixed(2) : "—";
    };
    // Submitting locks the sheet: ask first (the button carries the question).
    sheet.addEventListener("submit", function (event) {
      var button = event.submitter;
      var question = button && button.getAttribute("data-confirm");
      if (question && !window.confirm(question)) { event.preventDefault(); }
    });
    sheet.addEventListener("input", recompute);
    sheet.addEventListener("change", recompute);
    recompute();
  }

  var job = document.querySelector("[data-job-url]");
  if (job) {
    var poll = function () {
      fetch(job.getAttribute("data-job-url"), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          job.querySelector("[data-job-state]").textContent = data.state;
          var bar = job.querySelector("[data-job-progress]");
          bar.max = data.total || 1;
          bar.value = data.progress;
          if (data.state === "queued" || data.state === "running") {
            window.setTimeout(poll, 1500);
          } else if (job.getAttribute("data-reload") && data.result && data.result.ok) {
            window.location.reload();
          }
        });
    };
    var state = job.querySelector("[data-job-state]").textContent;
    if (state === "queued" || state === "running") { poll(); }
  }
})();
