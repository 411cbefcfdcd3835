/* Maps of the pages, drawn with MapLibre GL from the npm package (no CDN, no outside network).
 *
 * An element with data-map="pick|view|compare" becomes a map:
 *   data-grids-url / data-grids-json   management grids (GeoJSON FeatureCollection)
 *   data-cases-url / data-cases-json   cases as points
 *   data-points="lon,lat"              one point
 *   pick: a tap (or the phone's location) writes lon/lat into the enclosing form.
 * Without a basemap URL in the settings the grids are drawn on a plain ground.
 */
import * as maplibregl from "maplibre-gl";

const config = JSON.parse(document.getElementById("map-config")?.textContent || "{}");
const live = new Set();

const COLOR = { waiting: "#d97706", working: "#1f5fae", handled: "#0f8a6c", overdue: "#c8102e", other: "#6b7785" };
const CASE_COLOR = [
  "case",
  ["==", ["get", "overdue"], true], COLOR.overdue,
  ["match", ["get", "state"],
    ["reported", "accepted", "returned"], COLOR.waiting,
    ["dispatched", "in_progress", "rework"], COLOR.working,
    ["handled", "verified"], COLOR.handled,
    COLOR.other],
];

function style() {
  const sources = {};
  const layers = [{ id: "ground", type: "background", paint: { "background-color": "#eef2f5" } }];
  if (config.basemap) {
    sources.basemap = { type: "raster", tiles: [config.basemap], tileSize: 256, attribution: config.attribution || "" };
    layers.push({ id: "basemap", type: "raster", source: "basemap" });
  }
  return { version: 8, sources, layers };
}

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

function inline(id) {
  const node = id && document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

function extend(box, coords) {
  if (typeof coords[0] === "number") {
    box[0] = Math.min(box[0], coords[0]); box[1] = Math.min(box[1], coords[1]);
    box[2] = Math.max(box[2], coords[0]); box[3] = Math.max(box[3], coords[1]);
  } else {
    for (const c of coords) extend(box, c);
  }
}

function fit(map, features) {
  if (!features.length) return;
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  for (const f of features) extend(box, f.geometry.coordinates);
  if (box[0] === box[2] && box[1] === box[3]) {
    map.jumpTo({ center: [box[0], box[1]], zoom: 16 });
  } else {
    map.fitBounds([[box[0], box[1]], [box[2], box[3]]], { padding: 24, maxZoom: 17, animate: false });
  }
}

function addGrids(map, data, labels) {
  map.addSource("grids", { type: "geojson", data });
  map.addLayer({
    id: "grid-fill", type: "fill", source: "grids",
    paint: {
      "fill-color": ["case", [">", ["get", "overdue"], 0], "#f3b1a8", [">", ["get", "open"], 0], "#f7dca6", "#dde8f2"],
      "fill-opacity": config.basemap ? 0.35 : 0.85,
    },
  });
  map.addLayer({ id: "grid-line", type: "line", source: "grids", paint: { "line-color": "#4d6f94", "line-width": 1.5 } });
  // HTML labels: text layers would need glyph files from a server; these need nothing.
  if (labels && data.features.length <= 150) {
    for (const f of data.features) {
      const el = document.createElement("div");
      el.className = "grid-label";
      el.textContent = f.properties.name + (f.properties.open ? ` · ${f.properties.open}` : "");
      new maplibregl.Marker({ element: el }).setLngLat([f.properties.label_lon, f.properties.label_lat]).addTo(map);
    }
  }
}

function popupFor(props) {
  const box = document.createElement("div");
  const link = document.createElement("a");
  link.href = props.url;
  link.textContent = props.number;
  const text = document.createElement("div");
  text.textContent = `${props.category} · ${props.state_label}`;
  box.append(link, text);
  return box;
}

function addCases(map, data) {
  map.addSource("cases", { type: "geojson", data });
  map.addLayer({
    id: "case-dots", type: "circle", source: "cases",
    paint: { "circle-radius": 7, "circle-color": CASE_COLOR, "circle-stroke-color": "#fff", "circle-stroke-width": 2 },
  });
  map.on("click", "case-dots", (event) => {
    const feature = event.features[0];
    if (!feature.properties.url) return;
    new maplibregl.Popup({ closeButton: true }).setLngLat(feature.geometry.coordinates).setDOMContent(popupFor(feature.properties)).addTo(map);
  });
  map.on("mouseenter", "case-dots", () => { map.getCanvas().style.cursor = "pointer"; });
  map.on("mouseleave", "case-dots", () => { map.getCanvas().style.cursor = ""; });
}

// Duplicate suggestions: this case in red, the candidates numbered as in the list beside it.
function numberPins(map, data) {
  data.features.forEach((f, i) => {
    const el = document.createElement("div");
    el.className = i === 0 ? "pin-label this" : "pin-label";
    el.textContent = i === 0 ? "★" : String(i);
    new maplibregl.Marker({ element: el }).setLngLat(f.geometry.coordinates).addTo(map);
  });
}

function setupPick(map, el) {
  const form = el.closest("form");
  if (!form) return;
  const lon = form.querySelector('input[name$="lon"]');
  const lat = form.querySelector('input[name$="lat"]');
  let marker = null;
  const write = (lng, la) => { lon.value = lng.toFixed(6); lat.value = la.toFixed(6); };
  const place = (lng, la, move) => {
    if (!marker) {
      marker = new maplibregl.Marker({ color: "#c8102e", draggable: true }).setLngLat([lng, la]).addTo(map);
      marker.on("dragend", () => { const p = marker.getLngLat(); write(p.lng, p.lat); });
    } else {
      marker.setLngLat([lng, la]);
    }
    if (move) map.easeTo({ center: [lng, la], zoom: Math.max(map.getZoom(), 16), duration: 300 });
  };
  const fromInputs = () => {
    const a = parseFloat(lon.value);
    const b = parseFloat(lat.value);
    if (Number.isFinite(a) && Number.isFinite(b)) place(a, b, true);
  };
  map.on("click", (event) => { write(event.lngLat.lng, event.lngLat.lat); place(event.lngLat.lng, event.lngLat.lat, false); });
  form.addEventListener("civicgrid:point", fromInputs);
  lon.addEventListener("change", fromInputs);
  lat.addEventListener("change", fromInputs);
  fromInputs();
}

function filterQuery(el) {
  const form = document.querySelector(`[data-map-filter="#${el.id}"]`);
  if (!form) return "";
  const params = new URLSearchParams(new FormData(form));
  params.delete("partial");
  return `?${params}`;
}

function watchFilters(map, el) {
  const form = document.querySelector(`[data-map-filter="#${el.id}"]`);
  if (!form || !el.dataset.casesUrl) return;
  const refresh = () => {
    const source = map.getSource("cases");
    if (source) source.setData(el.dataset.casesUrl + filterQuery(el));
  };
  form.addEventListener("change", refresh);
  form.addEventListener("submit", refresh);
}

function failed(el) {
  el.classList.add("map-failed");
  el.textContent = config.failed || "";
}

async function load(map, el) {
  const mode = el.dataset.map;
  const shown = [];
  const grids = el.dataset.gridsJson ? inline(el.dataset.gridsJson)
    : el.dataset.gridsUrl ? await getJSON(el.dataset.gridsUrl) : null;
  if (grids) {
    addGrids(map, grids, el.dataset.gridLabels);
    shown.push(...grids.features);
  }
  let cases = el.dataset.casesJson ? inline(el.dataset.casesJson)
    : el.dataset.casesUrl ? await getJSON(el.dataset.casesUrl + filterQuery(el)) : null;
  if (el.dataset.points) {
    const [lng, la] = el.dataset.points.split(",").map(Number);
    cases = { type: "FeatureCollection", features: [{ type: "Feature", geometry: { type: "Point", coordinates: [lng, la] }, properties: { state: el.dataset.pointState || "other", overdue: false } }] };
  }
  if (cases) {
    addCases(map, cases);
    if (mode === "compare") numberPins(map, cases);
    // A comparison is about a few metres: frame the cases, not the grid around them.
    if (mode === "compare") shown.length = 0;
    if (!grids || shown.length === 0) shown.push(...cases.features);
  }
  fit(map, shown);
  if (mode === "pick") setupPick(map, el);
  watchFilters(map, el);
  el.dataset.mapLoaded = "1";
}

function init(el) {
  if (el.dataset.mapReady) return;
  el.dataset.mapReady = "1";
  // A map swapped out by htmx keeps its WebGL context until removed: free those first.
  for (const old of live) {
    if (!old.getContainer().isConnected) { old.remove(); live.delete(old); }
  }
  let map;
  try {
    map = new maplibregl.Map({
      container: el,
      style: style(),
      center: [121.47, 31.23],
      zoom: 11,
      attributionControl: config.basemap ? { compact: true } : false,
      dragRotate: false,
      pitchWithRotate: false,
    });
  } catch (err) {
    console.warn("map unavailable", err);
    failed(el);
    return;
  }
  live.add(map);
  el.mapInstance = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.touchZoomRotate.disableRotation();
  map.on("load", () => load(map, el).catch((err) => console.warn("map data", err)));
}

function scan(root) {
  (root || document).querySelectorAll("[data-map]").forEach(init);
}

scan(document);
document.addEventListener("htmx:after:settle", () => scan(document));
document.addEventListener("htmx:after:swap", () => scan(document));
