// Applied before the page paints: the theme remembered by the toggle, else the system's.
(function () {
  try {
    var theme = localStorage.getItem("pb-theme");
    if (theme === "light" || theme === "dark") {
      document.documentElement.setAttribute("data-theme", theme);
    }
  } catch (e) { /* storage disabled: follow the system */ }
})();
