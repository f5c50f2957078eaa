// The programme dashboard's charts: data from a JSON block (not executed), no inline script.
(function () {
  var source = document.getElementById("dashboard-data");
  if (!source || typeof echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var text = data.text;
  var charts = [];

  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var chart = echarts.init(el);
    chart.setOption(option);
    charts.push(chart);
  }

  function bars(id, rows, labelKey, name) {
    draw(id, {
      tooltip: { trigger: "axis" },
      grid: { left: 40, right: 10, bottom: 70 },
      xAxis: { type: "category", data: rows.map(function (r) { return r[labelKey]; }),
               axisLabel: { rotate: 30, interval: 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ name: name, type: "bar", data: rows.map(function (r) { return r.count; }) }]
    });
  }

  bars("chart-category", data.by_category, "label", text.projects);
  bars("chart-city", data.by_city, "name", text.projects);

  var money = data.money;
  var stages = Object.keys(money.labels);
  draw("chart-money", {
    tooltip: { trigger: "axis" },
    legend: { data: stages.map(function (s) { return money.labels[s]; }) },
    grid: { left: 60, right: 20, bottom: 40 },
    xAxis: { type: "category", data: money.months },
    yAxis: { type: "value", name: text.fen_to_wan },
    series: stages.map(function (s) {
      return {
        name: money.labels[s],
        type: "line",
        data: money.cumulative[s].map(function (fen) { return fen / 1000000; })
      };
    })
  });

  draw("chart-grades", {
    tooltip: { trigger: "item" },
    series: [{ type: "pie", radius: "65%",
               data: data.grades.map(function (g) { return { name: g.label, value: g.count }; }) }]
  });

  draw("chart-scores", {
    tooltip: { trigger: "axis" },
    legend: { data: [text.evaluation, text.review] },
    grid: { left: 40, right: 10, bottom: 30 },
    xAxis: { type: "category", data: data.scores.evaluation.map(function (b) { return b.label; }) },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: text.evaluation, type: "bar", data: data.scores.evaluation.map(function (b) { return b.count; }) },
      { name: text.review, type: "bar", data: data.scores.review.map(function (b) { return b.count; }) }
    ]
  });

  var part = data.participation;
  draw("chart-participation", {
    tooltip: { trigger: "item" },
    series: [{ type: "pie", radius: ["40%", "65%"], data: [
      { name: text.participating, value: part.participating },
      { name: text.not_participating, value: Math.max(part.registered - part.participating, 0) }
    ] }]
  });

  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.resize(); });
  });
})();
