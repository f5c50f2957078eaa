// The score distribution chart on the ranking page: data from a JSON block (not executed).
(function () {
  var el = document.getElementById("score-chart");
  var source = document.getElementById("score-chart-data");
  if (!el || !source || typeof echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var points = [];
  data.totals.forEach(function (totals, i) {
    totals.forEach(function (t) { points.push([i, t]); });
  });
  var chart = echarts.init(el);
  chart.setOption({
    tooltip: { trigger: "item" },
    legend: { data: ["专家总分", "汇总得分"] },
    xAxis: { type: "category", data: data.labels, axisLabel: { rotate: 30 } },
    yAxis: { type: "value", min: 0, max: 100 },
    series: [
      { name: "专家总分", type: "scatter", data: points, symbolSize: 8 },
      { name: "汇总得分", type: "line", data: data.aggregates, connectNulls: false }
    ]
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
