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

  // A pie of all-zero slices would be drawn as equal slices: leave empty ones out.
  function slices(rows) {
    return rows.filter(function (r) { return r.count > 0; })
               .map(function (r) { return { name: r.label, value: r.count }; });
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
               data: slices(data.grades) }]
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

  var st = data.stations;
  if (st) {
    draw("chart-station-city", {
      tooltip: { trigger: "axis" },
      legend: { data: [st.text.stations, st.text.bases, st.text.needs_posted, st.text.needs_solved] },
      grid: { left: 40, right: 10, bottom: 70 },
      xAxis: { type: "category", data: st.cities, axisLabel: { rotate: 30, interval: 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: st.text.stations, type: "bar", data: st.stations },
        { name: st.text.bases, type: "bar", data: st.bases },
        { name: st.text.needs_posted, type: "bar", data: st.needs_posted },
        { name: st.text.needs_solved, type: "bar", data: st.needs_solved }
      ]
    });
    bars("chart-station-needs", st.needs, "label", st.text.needs);
    draw("chart-station-grades", {
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: "65%",
                 data: slices(st.grades) }]
    });
  }

  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.resize(); });
  });
})();
