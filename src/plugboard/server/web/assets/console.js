// The console's own behaviour: theme toggle, local times, the consent countdown, confirmations,
// and an app's connections panel (the side panel htmx loads into #slider).
(function () {
  "use strict";
  var root = document.documentElement;
  var order = ["system", "light", "dark"];

  function currentTheme() {
    var t = root.getAttribute("data-theme");
    return t === "light" || t === "dark" ? t : "system";
  }

  function showTheme(button) {
    var t = currentTheme();
    button.textContent = "Theme: " + t;
    button.setAttribute("aria-label", "Colour theme: " + t + " (change)");
  }

  function setupTheme() {
    var button = document.getElementById("theme-toggle");
    if (!button) return;
    showTheme(button);
    button.addEventListener("click", function () {
      var next = order[(order.indexOf(currentTheme()) + 1) % order.length];
      if (next === "system") {
        root.removeAttribute("data-theme");
      } else {
        root.setAttribute("data-theme", next);
      }
      try {
        if (next === "system") localStorage.removeItem("pb-theme");
        else localStorage.setItem("pb-theme", next);
      } catch (e) { /* not remembered, still applied */ }
      showTheme(button);
    });
  }

  var timeFormat = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    timeZoneName: "short"
  });

  function localizeTimes(scope) {
    var times = (scope || document).querySelectorAll("time[datetime]:not([data-local])");
    for (var i = 0; i < times.length; i++) {
      var when = new Date(times[i].getAttribute("datetime"));
      if (!isNaN(when.getTime())) {
        times[i].title = times[i].textContent;
        times[i].textContent = timeFormat.format(when);
        times[i].setAttribute("data-local", "");
      }
    }
  }

  function tickCountdowns() {
    var clocks = document.querySelectorAll("[data-deadline]");
    for (var i = 0; i < clocks.length; i++) {
      var left = Math.max(0, Math.round((Date.parse(clocks[i].getAttribute("data-deadline")) - Date.now()) / 1000));
      var text = clocks[i].querySelector(".seconds");
      if (text) text.textContent = String(left);
      if (left === 0) clocks[i].classList.add("over");
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);

  document.addEventListener("DOMContentLoaded", function () {
    setupTheme();
    localizeTimes(document);
    if (document.querySelector("[data-deadline]")) {
      tickCountdowns();
      window.setInterval(tickCountdowns, 1000);
    }
  });
  function closeSlider() {
    var host = document.getElementById("slider");
    if (!host || !host.firstElementChild) return false;
    host.innerHTML = "";
    var opener = document.getElementById("open-panel");
    if (opener) opener.focus();
    return true;
  }

  document.addEventListener("click", function (event) {
    var close = event.target.closest && event.target.closest("#slider [data-close-slider]");
    if (close && closeSlider()) event.preventDefault();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeSlider();
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    localizeTimes(event.target);
    if (event.target.id === "slider") {
      var panel = document.getElementById("slider-panel");
      if (panel) panel.focus();
    }
  });
})();
