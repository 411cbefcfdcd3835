/* The operations screen: scale the 1920×1080 stage, draw the map and the charts, and redraw
 * them whenever htmx swaps in a fresh #screen-live (it carries the figures as JSON).
 * Libraries come from npm via scripts/copy_static.sh: MapLibre GL (ES module), ECharts.
 */
import * as maplibregl from "maplibre-gl";

const stage = document.getElementById("screen");
const live = document.getElementById("screen-live");
const labels = JSON.parse(document.getElementById("screen-labels")?.textContent || "{}");
const mapConfig = JSON.parse(document.getElementById("map-config")?.textContent || "{}");
const COLORS = { calm: "#2b5d8f", busy: "#e0a530", late: "#e0453a" };
const TEXT = { color: "#cfe3ff", fontSize: 14 };

function fitStage() {
  const scale = Math.min(window.innerWidth / 1920, window.innerHeight / 1080, 1);
  const x = Math.max(0, (window.innerWidth - 1920 * scale) / 2);
  const y = Math.max(0, (window.innerHeight - 1080 * scale) / 2);
  stage.style.transform = `translate(${x}px, ${y}px) scale(${scale})`;
  for (const chart of Object.values(charts)) chart.resize();
  map?.resize();
}

function data() {
  const node = document.getElementById("screen-data");
  return node ? JSON.parse(node.textContent) : null;
}

/* Charts (ECharts) */
const charts = {};

function chart(id) {
  if (!window.echarts) return null;
  if (!charts[id]) charts[id] = window.echarts.init(document.getElementById(id), null, { renderer: "canvas" });
  return charts[id];
}

function drawCharts(d) {
  const days = d.trend.map((p) => p.day.slice(5));
  chart("chart-trend")?.setOption({
    textStyle: TEXT,
    tooltip: { trigger: "axis" },
    legend: { textStyle: TEXT, top: 0 },
    grid: { left: 40, right: 12, top: 30, bottom: 24 },
    xAxis: { type: "category", data: days, axisLabel: { color: TEXT.color } },
    yAxis: { type: "value", axisLabel: { color: TEXT.color }, splitLine: { lineStyle: { color: "#1f3f66" } } },
    series: [
      { name: labels.reported, type: "line", smooth: true, data: d.trend.map((p) => p.reported) },
      { name: labels.accepted, type: "line", smooth: true, data: d.trend.map((p) => p.accepted) },
      { name: labels.closures, type: "line", smooth: true, data: d.trend.map((p) => p.closures) },
    ],
  });
  const top = d.categories.slice(0, 10);
  chart("chart-categories")?.setOption({
    textStyle: TEXT,
    tooltip: {},
    grid: { left: 110, right: 16, top: 8, bottom: 20 },
    xAxis: { type: "value", axisLabel: { color: TEXT.color }, splitLine: { lineStyle: { color: "#1f3f66" } } },
    yAxis: { type: "category", inverse: true, data: top.map((c) => c.name), axisLabel: { color: TEXT.color, width: 100, overflow: "truncate" } },
    series: [{ type: "bar", data: top.map((c) => c.reported), itemStyle: { color: "#3ea6ff" } }],
  });
  chart("chart-sources")?.setOption({
    textStyle: TEXT,
    tooltip: { trigger: "item" },
    legend: { orient: "vertical", right: 0, top: "middle", textStyle: TEXT },
    series: [{
      type: "pie", radius: ["40%", "70%"], center: ["35%", "50%"],
      label: { show: false },
      data: d.sources.map((s) => ({ name: s.name, value: s.reported })),
    }],
  });
}

/* Map (MapLibre GL) */
let map = null;
let grids = null;

function mapStyle() {
  const sources = {};
  const layers = [{ id: "ground", type: "background", paint: { "background-color": "#0a2342" } }];
  if (mapConfig.basemap) {
    sources.basemap = { type: "raster", tiles: [mapConfig.basemap], tileSize: 256, attribution: mapConfig.attribution || "" };
    layers.push({ id: "basemap", type: "raster", source: "basemap", paint: { "raster-opacity": 0.5 } });
  }
  return { version: 8, sources, layers };
}

function bounds(features) {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === "number") {
      box[0] = Math.min(box[0], c[0]); box[1] = Math.min(box[1], c[1]);
      box[2] = Math.max(box[2], c[0]); box[3] = Math.max(box[3], c[1]);
    } else c.forEach(walk);
  };
  features.forEach((f) => walk(f.geometry.coordinates));
  return box;
}

function recolour(counts) {
  if (!map || !grids || !map.getSource("grids")) return;
  for (const f of grids.features) {
    const c = counts[f.properties.code] || { open: 0, overdue: 0 };
    f.properties.open = c.open;
    f.properties.overdue = c.overdue;
  }
  map.getSource("grids").setData(grids);
}

async function drawMap() {
  const el = document.getElementById("screen-map");
  try {
    const response = await fetch(stage.dataset.gridsUrl, { credentials: "same-origin" });
    grids = await response.json();
    map = new maplibregl.Map({ container: el, style: mapStyle(), attributionControl: false, dragRotate: false });
  } catch (err) {
    el.textContent = labels.no_map;
    return;
  }
  map.on("load", () => {
    map.addSource("grids", { type: "geojson", data: grids });
    map.addLayer({
      id: "grid-fill", type: "fill", source: "grids",
      paint: {
        "fill-color": ["case", [">", ["get", "overdue"], 0], COLORS.late, [">", ["get", "open"], 0], COLORS.busy, COLORS.calm],
        "fill-opacity": 0.75,
      },
    });
    map.addLayer({ id: "grid-line", type: "line", source: "grids", paint: { "line-color": "#9fd0ff", "line-width": 1 } });
    if (grids.features.length) {
      const b = bounds(grids.features);
      map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 30, animate: false });
    }
    const popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false, className: "grid-popup" });
    map.on("mousemove", "grid-fill", (e) => {
      const p = e.features[0].properties;
      map.getCanvas().style.cursor = p.drill ? "pointer" : "";
      popup.setLngLat(e.lngLat)
        .setText(`${p.name} · ${labels.open} ${p.open} · ${labels.overdue} ${p.overdue}${p.drill ? " · " + labels.drill : ""}`)
        .addTo(map);
    });
    map.on("mouseleave", "grid-fill", () => { popup.remove(); map.getCanvas().style.cursor = ""; });
    map.on("click", "grid-fill", (e) => {
      const drill = e.features[0].properties.drill;
      if (drill) window.location.assign(`${stage.dataset.screenUrl}?${drill}`);
    });
    const d = data();
    if (d) recolour(d.grids);
  });
}

function refresh() {
  const d = data();
  if (!d) return;
  drawCharts(d);
  recolour(d.grids);
}

// htmx replaces the children of #screen-live on every poll: redraw from the new JSON.
new MutationObserver(refresh).observe(live, { childList: true });
window.addEventListener("resize", fitStage);
fitStage();
drawMap();
if (window.echarts) refresh();
else window.addEventListener("load", refresh, { once: true });
