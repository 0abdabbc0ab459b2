// The live price of the shop's configuration form: every change asks the server (GET, JSON).
(function () {
  var form = document.getElementById("configure-form");
  if (!form) { return; }
  var out = document.getElementById("price-total");
  var note = document.getElementById("price-note");
  var timer = null;
  function refresh() {
    var params = new URLSearchParams();
    form.querySelectorAll("[name^='p_']").forEach(function (el) { params.append(el.name, el.value); });
    fetch(form.dataset.priceUrl + "?" + params.toString(), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.ok) {
          out.textContent = data.total_text;
          out.dataset.total = data.quote.total;
          note.textContent = "";
        } else {
          out.textContent = "—";
          out.dataset.total = "";
          note.textContent = Object.values(data.errors).join(" ");
        }
      });
  }
  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 150); });
  form.addEventListener("change", refresh);
})();
