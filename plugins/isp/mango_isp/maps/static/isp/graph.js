/* The topology graph (mango_isp.maps): pan by dragging, zoom by the wheel or the buttons, by
   changing the SVG's viewBox. The layout is computed on the server; a click on a device follows
   its link (the device card) unless the pointer was dragging. */
(function () {
  "use strict";
  var svg = document.getElementById("isp-graph");
  if (!svg) { return; }
  function parse(text) { return text.split(/[\s,]+/).map(Number); }
  var view = parse(svg.getAttribute("viewBox"));
  var full = parse(svg.dataset.full);
  function apply() { svg.setAttribute("viewBox", view.map(function (v) { return v.toFixed(1); }).join(" ")); }
  function scale() {
    var rect = svg.getBoundingClientRect();
    return Math.max(view[2] / Math.max(rect.width, 1), view[3] / Math.max(rect.height, 1));
  }
  function zoom(factor, cx, cy) {
    var w = Math.min(Math.max(view[2] * factor, 50), full[2] * 20 + 1000);
    var h = view[3] * (w / view[2]);
    if (cx === undefined) { cx = view[0] + view[2] / 2; cy = view[1] + view[3] / 2; }
    view = [cx - (cx - view[0]) * (w / view[2]), cy - (cy - view[1]) * (h / view[3]), w, h];
    apply();
  }
  function point(evt) {
    var rect = svg.getBoundingClientRect();
    var s = scale();
    var ox = (rect.width * s - view[2]) / 2, oy = (rect.height * s - view[3]) / 2;
    return [view[0] - ox + (evt.clientX - rect.left) * s, view[1] - oy + (evt.clientY - rect.top) * s];
  }
  var drag = null, moved = false;
  svg.addEventListener("pointerdown", function (evt) {
    if (evt.button !== 0) { return; }
    drag = { x: evt.clientX, y: evt.clientY, view: view.slice() };
    moved = false;
  });
  svg.addEventListener("pointermove", function (evt) {
    if (!drag) { return; }
    var dx = evt.clientX - drag.x, dy = evt.clientY - drag.y;
    if (!moved && Math.abs(dx) + Math.abs(dy) < 4) { return; }
    if (!moved) { svg.setPointerCapture(evt.pointerId); svg.classList.add("isp-dragging"); }
    moved = true;
    var s = scale();
    view = [drag.view[0] - dx * s, drag.view[1] - dy * s, view[2], view[3]];
    apply();
  });
  function end(evt) {
    if (drag && moved && svg.hasPointerCapture(evt.pointerId)) { svg.releasePointerCapture(evt.pointerId); }
    svg.classList.remove("isp-dragging");
    drag = null;
  }
  svg.addEventListener("pointerup", end);
  svg.addEventListener("pointercancel", end);
  svg.addEventListener("click", function (evt) {
    if (moved) { evt.preventDefault(); moved = false; }
  }, true);
  svg.addEventListener("wheel", function (evt) {
    evt.preventDefault();
    var p = point(evt);
    zoom(evt.deltaY > 0 ? 1.2 : 1 / 1.2, p[0], p[1]);
  }, { passive: false });
  function button(id, action) {
    var b = document.getElementById(id);
    if (b) { b.addEventListener("click", action); }
  }
  button("graph-zoom-in", function () { zoom(1 / 1.3); });
  button("graph-zoom-out", function () { zoom(1.3); });
  button("graph-fit", function () { view = full.slice(); apply(); });
  svg.dataset.ready = "1";
})();
