/* civicgrid pages: the few behaviours htmx does not cover. Plain script, no build step. */
(function () {
  "use strict";

  function toast(text) {
    const box = document.getElementById("toast");
    if (!box) return;
    box.textContent = text;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { box.textContent = ""; }, 6000);
  }

  function pointInputs(form) {
    return {
      lon: form.querySelector('input[name$="lon"]'),
      lat: form.querySelector('input[name$="lat"]'),
    };
  }

  // Writes a point into the form and tells the form's map to move its marker.
  function setPoint(form, lon, lat) {
    const inputs = pointInputs(form);
    if (!inputs.lon || !inputs.lat) return;
    inputs.lon.value = Number(lon).toFixed(6);
    inputs.lat.value = Number(lat).toFixed(6);
    form.dispatchEvent(new CustomEvent("civicgrid:point", { bubbles: true }));
  }

  // The phone's GPS gives WGS-84, which is what the server stores.
  function locate(button) {
    const form = button.closest("form");
    if (!form) return;
    const status = form.querySelector("[data-locate-status]");
    const say = function (text) { if (status) status.textContent = text; };
    if (!("geolocation" in navigator)) {
      say(button.dataset.unavailable || "");
      return;
    }
    say(button.dataset.locating || "");
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        setPoint(form, pos.coords.longitude, pos.coords.latitude);
        say((button.dataset.located || "").replace("%s", Math.round(pos.coords.accuracy)));
      },
      function () { say(button.dataset.failed || ""); },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  }

  function copy(button) {
    const input = document.querySelector(button.dataset.copy);
    if (!input) return;
    input.select();
    const done = function () { toast(button.dataset.copied || "✓"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {});
    } else {
      document.execCommand("copy");
      done();
    }
  }

  function pickCategory(button) {
    const form = button.closest("form");
    const select = form && form.querySelector('select[name$="category"]');
    if (!select) return;
    select.value = button.dataset.pickCategory;
    select.dispatchEvent(new Event("change", { bubbles: true }));
    const list = button.closest(".suggest");
    if (list) list.innerHTML = "";
    const next = form.querySelector('textarea[name$="description"]');
    if (next) next.focus();
  }

  function pickPlace(button) {
    const form = button.closest("form");
    if (!form) return;
    const address = form.querySelector('input[name$="address"]');
    if (address && !address.value.trim()) address.value = button.dataset.label;
    setPoint(form, button.dataset.lon, button.dataset.lat);
    const list = button.closest(".suggest");
    if (list) list.innerHTML = "";
  }

  document.addEventListener("click", function (event) {
    const target = event.target.closest("[data-locate], [data-copy], [data-pick-category], [data-pick-place]");
    if (!target) return;
    if (target.hasAttribute("data-locate")) locate(target);
    else if (target.hasAttribute("data-copy")) copy(target);
    else if (target.hasAttribute("data-pick-category")) pickCategory(target);
    else if (target.hasAttribute("data-pick-place")) pickPlace(target);
  });

  // 4xx answers are forms with their errors and are swapped in; 5xx and lost connections are not.
  document.addEventListener("htmx:response:error", function (event) {
    const ctx = event.detail && event.detail.ctx;
    if (ctx && ctx.response && ctx.response.status >= 500) toast(document.body.dataset.msgError || "Error");
  });
  document.addEventListener("htmx:error", function () {
    toast(document.body.dataset.msgOffline || "Offline");
  });

  window.civicgrid = {
    toast: toast,
    setPoint: setPoint,
    // On a patrol the inspector stands at the problem: ask for the position straight away.
    locateOnLoad: function () {
      const button = document.querySelector("[data-locate]");
      const form = button && button.closest("form");
      if (!form) return;
      const inputs = pointInputs(form);
      if (inputs.lon && !inputs.lon.value) locate(button);
    },
  };
})();
