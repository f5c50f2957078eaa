// Stage-goal charts on /stations/dashboard: data from a JSON block (not executed).
(function () {
  var source = document.getElementById("stations-chart-data");
  if (!source || typeof echarts === "undefined") { return; }
  var d = JSON.parse(source.textContent);
  var charts = [];
  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var chart = echarts.init(el);
    chart.setOption(option);
    charts.push(chart);
  }
  draw("city-chart", {
    tooltip: { trigger: "axis" },
    legend: { data: [d.labels.stations, d.labels.bases, d.labels.posted, d.labels.solved] },
    xAxis: { type: "category", data: d.cities, axisLabel: { rotate: 30 } },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: d.labels.stations, type: "bar", data: d.stations },
      { name: d.labels.bases, type: "bar", data: d.bases },
      { name: d.labels.posted, type: "bar", data: d.needs_posted },
      { name: d.labels.solved, type: "bar", data: d.needs_solved }
    ]
  });
  draw("year-chart", {
    tooltip: { trigger: "axis" },
    legend: { data: [d.labels.pilots, d.labels.bases, d.labels.posted, d.labels.solved] },
    xAxis: { type: "category", data: d.years },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: d.labels.pilots, type: "line", data: d.year_pilots },
      { name: d.labels.bases, type: "line", data: d.year_bases },
      { name: d.labels.posted, type: "line", data: d.year_needs },
      { name: d.labels.solved, type: "line", data: d.year_solved }
    ]
  });
  draw("grade-chart", {
    tooltip: { trigger: "item" },
    series: [{ type: "pie", radius: "60%", data: d.grades }]
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.resize(); });
  });
})();
