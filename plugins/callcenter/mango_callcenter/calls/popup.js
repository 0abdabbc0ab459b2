// The call centre's incoming-call pop-up: polls the calls of the last minutes and shows each new one
// once per browser tab, with the customer card link and a one-click "new ticket".
(function () {
  "use strict";
  var script = document.getElementById("callcenter-popup-script");
  if (!script || !window.fetch) { return; }
  var pollUrl = script.getAttribute("data-poll");
  var key = "callcenter.popup.after";
  var after = parseInt(window.sessionStorage.getItem(key) || "0", 10) || 0;
  var box = document.createElement("div");
  box.id = "callcenter-popup";
  box.className = "position-fixed bottom-0 end-0 p-3 z-3";
  box.setAttribute("aria-live", "polite");
  document.body.appendChild(box);

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text) { node.textContent = text; }
    return node;
  }

  function show(call, labels) {
    var card = el("div", "card shadow mb-2 border-primary");
    card.setAttribute("data-call", call.id);
    var body = el("div", "card-body p-2");
    var head = el("div", "d-flex justify-content-between align-items-start");
    head.appendChild(el("strong", "", labels.incoming + ": " + call.caller));
    var close = el("button", "btn-close ms-2");
    close.type = "button";
    close.setAttribute("aria-label", labels.close);
    close.addEventListener("click", function () { card.remove(); });
    head.appendChild(close);
    body.appendChild(head);
    body.appendChild(el("div", "small", call.customer || labels.unknown));
    var actions = el("div", "d-flex gap-2 mt-2");
    if (call.card_url) {
      var link = el("a", "btn btn-sm btn-outline-primary", labels.card);
      link.href = call.card_url;
      actions.appendChild(link);
    }
    if (call.ticket_url) {
      var form = el("form", "");
      form.method = "post";
      form.action = call.ticket_url;
      var token = el("input", "");
      token.type = "hidden";
      token.name = "csrf_token";
      token.value = csrf();
      form.appendChild(token);
      form.appendChild(el("button", "btn btn-sm btn-primary", labels.ticket));
      actions.appendChild(form);
    }
    body.appendChild(actions);
    card.appendChild(body);
    box.appendChild(card);
  }

  function poll() {
    fetch(pollUrl + "?after=" + after, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        data.calls.slice().reverse().forEach(function (call) {
          if (call.id > after) {
            after = call.id;
            show(call, data.labels);
          }
        });
        window.sessionStorage.setItem(key, String(after));
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ });
  }

  poll();
  window.setInterval(poll, 4000);
})();
