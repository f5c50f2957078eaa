// The application form: live budget totals and caps, tranche sum, and extra rows.
// The server checks the same caps on submission; this only shows them while typing.
(function () {
  var form = document.getElementById("application-form");
  if (!form) { return; }

  function toFen(text) {
    var raw = (text || "").replace(/[\uFF10-\uFF19]/g, function (c) {
      return String.fromCharCode(c.charCodeAt(0) - 0xFEE0);
    }).replace(/[,\s元]/g, "").replace("\uFF0E", ".");
    if (raw === "") { return 0; }
    if (!/^\d+(\.\d{1,2})?$/.test(raw)) { return null; }
    var parts = raw.split(".");
    var cents = ((parts[1] || "") + "00").slice(0, 2);
    return parseInt(parts[0], 10) * 100 + parseInt(cents, 10);
  }

  function yuan(fen) {
    var s = String(Math.floor(fen / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return s + "." + String(fen % 100).padStart(2, "0");
  }

  var cap = parseInt(form.getAttribute("data-project-cap"), 10) || 0;
  var indirectPct = parseInt(form.getAttribute("data-indirect-pct"), 10) || 0;
  var matchingPct = parseInt(form.getAttribute("data-matching-pct"), 10) || 0;
  var warnings = document.getElementById("budget-warnings");

  function recompute() {
    var totals = { fund: 0, matching: 0, self: 0 };
    var direct = 0, indirect = 0, problems = [];
    document.querySelectorAll("#budget-table tbody tr").forEach(function (row) {
      var rowTotal = 0;
      row.querySelectorAll("input[data-source]").forEach(function (input) {
        var fen = toFen(input.value);
        var overCap = false;
        if (fen === null) { problems.push("金额格式不正确：" + input.value); fen = 0; }
        totals[input.getAttribute("data-source")] += fen;
        rowTotal += fen;
        if (input.getAttribute("data-source") === "fund") {
          if (row.getAttribute("data-line") === "indirect") { indirect += fen; } else { direct += fen; }
          var lineCap = parseInt(row.getAttribute("data-cap"), 10);
          if (lineCap && fen > lineCap) {
            overCap = true;
            problems.push(row.querySelector("th").firstChild.textContent.trim() + "超过科目上限 " + yuan(lineCap) + " 元");
          }
        }
        // The field itself is marked too, not only the list under the table.
        input.classList.toggle("is-invalid", toFen(input.value) === null || overCap);
      });
      row.querySelector("[data-row-total]").textContent = yuan(rowTotal);
    });
    ["fund", "matching", "self"].forEach(function (k) {
      document.querySelector('[data-total="' + k + '"]').textContent = yuan(totals[k]);
    });
    document.querySelector('[data-total="all"]').textContent = yuan(totals.fund + totals.matching + totals.self);
    if (cap && totals.fund > cap) { problems.push("申请专项资金超过单项资助上限 " + yuan(cap) + " 元"); }
    if (indirect * 100 > direct * indirectPct) { problems.push("间接费用超过直接费用的 " + indirectPct + "%"); }
    var needed = Math.ceil(totals.fund * matchingPct / 100);
    if (matchingPct && totals.matching < needed) { problems.push("地方配套低于要求的 " + yuan(needed) + " 元"); }
    warnings.innerHTML = "";
    problems.forEach(function (text) {
      var li = document.createElement("li");
      li.textContent = text;
      warnings.appendChild(li);
    });
    var pct = 0;
    form.querySelectorAll("input[data-pct]").forEach(function (input) { pct += parseInt(input.value, 10) || 0; });
    var pctBox = document.getElementById("pct-total");
    pctBox.textContent = "当前合计 " + pct + "%";
    pctBox.classList.toggle("text-danger", pct !== 100);
  }

  form.addEventListener("input", recompute);
  recompute();

  // "增加一行": copy the last row of a repeating table with the next index, emptied.
  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    button.addEventListener("click", function () {
      var prefix = button.getAttribute("data-add-row");
      var body = document.querySelector('[data-rows="' + prefix + '"] tbody');
      var last = body.lastElementChild;
      var copy = last.cloneNode(true);
      var index = body.children.length;
      var pattern = new RegExp("^(f-)?" + prefix + "-\\d+-");
      copy.querySelectorAll("input, select, label").forEach(function (el) {
        ["name", "id", "for"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value && pattern.test(value)) {
            el.setAttribute(attr, value.replace(/-\d+-/, "-" + index + "-"));
          }
        });
        if (el.tagName === "INPUT") { el.value = ""; el.removeAttribute("readonly"); }
      });
      body.appendChild(copy);
    });
  });
})();
