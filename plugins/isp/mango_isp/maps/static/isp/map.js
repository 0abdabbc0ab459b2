/* The network map (mango_isp.maps): Leaflet draws the location's sites, its devices coloured by
   monitoring state and the links between them, from the JSON endpoint named by data-url.
   No inline scripts (the Content-Security-Policy forbids them): all settings come from data-*. */
(function () {
  "use strict";
  var box = document.getElementById("isp-map");
  if (!box || typeof L === "undefined") { return; }
  var COLOURS = { up: "#198754", degraded: "#fd7e14", down: "#dc3545", unknown: "#adb5bd" };
  var LINE = { uplink: "#6c757d", copper: "#495057", fiber: "#6f42c1", wireless: "#0d6efd", virtual: "#adb5bd" };

  var map = L.map(box, { preferCanvas: false }).setView([49.8, 15.5], 7);
  L.tileLayer(box.dataset.tileUrl, { maxZoom: 19, attribution: box.dataset.attribution }).addTo(map);

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function link(href, text, cls) {
    var a = el("a", cls, text);
    a.href = href;
    return a;
  }
  function devicePopup(d) {
    var root = el("div", "isp-popup");
    root.dataset.device = d.id;
    root.appendChild(el("div", "isp-popup-title", d.name));
    root.appendChild(el("div", "isp-popup-state", box.dataset.labelState + ": " + d.state_label));
    var links = el("div", "isp-popup-links");
    links.appendChild(link(d.url, box.dataset.labelCard, "isp-popup-card"));
    links.appendChild(link(d.impact_url, box.dataset.labelImpact, "isp-popup-impact"));
    links.appendChild(link(d.graph_url, box.dataset.labelGraph, "isp-popup-graph"));
    root.appendChild(links);
    return root;
  }
  function sitePopup(s) {
    var root = el("div", "isp-popup");
    root.appendChild(el("div", "isp-popup-title", s.name));
    if (s.address) { root.appendChild(el("div", "", s.address)); }
    return root;
  }
  function fail(message) {
    document.getElementById("map-note").textContent = message;
  }

  fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (resp) {
      if (!resp.ok) { throw new Error(String(resp.status)); }
      return resp.json();
    })
    .then(function (data) {
      var bounds = [];
      var where = {};
      var markers = {};
      data.sites.forEach(function (s) {
        L.marker([s.lat, s.lon], { title: s.name, alt: s.name }).bindPopup(sitePopup(s)).addTo(map);
        bounds.push([s.lat, s.lon]);
      });
      var lines = [];
      data.links.forEach(function (k) {
        lines.push({ from: k.from, to: k.to, line: L.polyline([[0, 0], [0, 0]], {
          color: LINE[k.kind] || LINE.copper, weight: 3, opacity: 0.8,
          dashArray: k.kind === "wireless" ? "8 6" : (k.kind === "uplink" ? "2 6" : null),
          className: "isp-map-link isp-map-link-" + k.kind
        }).addTo(map) });
      });
      data.devices.forEach(function (d) {
        var marker = L.circleMarker([d.lat, d.lon], {
          radius: 8, color: "#343a40", weight: 2, fillColor: COLOURS[d.state] || COLOURS.unknown, fillOpacity: 0.9,
          className: "isp-map-device isp-state-" + d.state
        }).bindPopup(devicePopup(d)).bindTooltip(d.name).addTo(map);
        markers[d.id] = marker;
        where[d.id] = d;
        bounds.push([d.lat, d.lon]);
      });
      /* Devices of one site stand on a ring of a few pixels around it, whatever the zoom; never
         due north, where the site's pin stands. */
      function place() {
        Object.keys(markers).forEach(function (id) {
          var d = where[id], at = L.latLng(d.lat, d.lon);
          if (d.slots > 1) {
            var angle = Math.PI * (2 * d.slot + 1) / d.slots, radius = 14 + 3 * d.slots;
            var p = map.latLngToLayerPoint(at);
            at = map.layerPointToLatLng(L.point(p.x + radius * Math.sin(angle), p.y - radius * Math.cos(angle)));
          }
          markers[id].setLatLng(at);
        });
        lines.forEach(function (k) {
          k.line.setLatLngs([markers[k.from].getLatLng(), markers[k.to].getLatLng()]);
        });
      }
      if (bounds.length) {
        map.fitBounds(bounds, { padding: [40, 40], maxZoom: 17 });
      } else {
        fail(box.dataset.labelEmpty);
      }
      place();
      map.on("zoomend viewreset", place);
      var focus = markers[box.dataset.focus];
      if (focus) {
        map.setView(focus.getLatLng(), 17);
        focus.openPopup();
      }
      var unplaced = document.getElementById("map-unplaced");
      if (data.unplaced > 0) {
        unplaced.textContent = unplaced.dataset.unplacedLabel.replace("{count}", data.unplaced);
      }
      box.dataset.ready = "1";
    })
    .catch(function () { fail(box.dataset.labelError); });
})();
