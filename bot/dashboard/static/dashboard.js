// Relais dashboard: the only script (no inline script anywhere; the CSP forbids it).
// Inside Telegram it signs in with the Mini App's initData and follows Telegram's colours;
// elsewhere it only makes forms quicker (live counts, live boards). Every page works without it.
"use strict";

(function () {
  var THEME = {
    bg_color: "--bg", text_color: "--text", hint_color: "--hint", link_color: "--link",
    button_color: "--button", button_text_color: "--button-text",
    secondary_bg_color: "--secondary-bg"
  };

  function launchParams() {
    var hash = window.location.hash.slice(1);
    var params = new URLSearchParams(hash);
    return { data: params.get("tgWebAppData"), theme: params.get("tgWebAppThemeParams") };
  }

  function postEvent(type, data) {
    var text = JSON.stringify(data || {});
    try {
      if (window.TelegramWebviewProxy) {
        window.TelegramWebviewProxy.postEvent(type, text);
      } else if (window.external && window.external.notify) {
        window.external.notify(JSON.stringify({ eventType: type, eventData: data || {} }));
      } else if (window.parent !== window) {
        window.parent.postMessage(JSON.stringify({ eventType: type, eventData: data || {} }), "*");
      }
    } catch (e) { /* not inside Telegram */ }
  }

  function applyTheme() {
    var saved = null;
    try { saved = JSON.parse(window.sessionStorage.getItem("relais-theme") || "null"); } catch (e) {}
    if (!saved) { return; }
    var root = document.documentElement.style;
    if (typeof saved.bg_color === "string" && /^#[0-9a-fA-F]{6}$/.test(saved.bg_color)) {
      var rgb = [1, 3, 5].map(function (i) { return parseInt(saved.bg_color.substr(i, 2), 16); });
      var dark = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2] < 128;
      document.documentElement.classList.add(dark ? "tg-dark" : "tg-light");
    }
    Object.keys(THEME).forEach(function (key) {
      if (typeof saved[key] === "string" && /^#[0-9a-fA-F]{3,8}$/.test(saved[key])) {
        root.setProperty(THEME[key], saved[key]);
      }
    });
  }

  function telegramSignIn() {
    var status = document.getElementById("tg-status");
    if (!status) { return; }
    var launch = launchParams();
    if (launch.theme) { window.sessionStorage.setItem("relais-theme", launch.theme); applyTheme(); }
    postEvent("web_app_ready");
    if (!launch.data) { status.textContent = status.dataset.missing || status.textContent; return; }
    var body = new URLSearchParams();
    body.set("init_data", launch.data);
    fetch("/login/telegram", { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        if (response.ok) { window.location.replace(response.url || "/"); }
        else { status.textContent = status.dataset.refused || status.textContent; }
      });
  }

  function autoSubmitFilters() {
    document.querySelectorAll("form.filters select").forEach(function (field) {
      field.addEventListener("change", function () { field.form.requestSubmit(); });
    });
  }

  // Broadcast composer: the audience counted and the message previewed as it is typed.
  function composer() {
    var form = document.getElementById("compose");
    if (!form) { return; }
    var audience = form.querySelector("[name=audience]");
    var text = form.querySelector("[name=text]");
    var count = document.getElementById("audience-count");
    var preview = document.getElementById("preview-text");
    var timer = null;
    function refresh() {
      var query = new URLSearchParams({ audience: audience.value });
      fetch("/broadcasts/audience?" + query, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (words) { if (words) { count.textContent = words; } });
    }
    audience.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 250); });
    text.addEventListener("input", function () { preview.textContent = text.value; });
    if (audience.value) { refresh(); }
  }

  // Live boards (incidents, broadcasts in progress): the page's list is fetched again.
  function liveBoard() {
    var board = document.querySelector("[data-live]");
    if (!board) { return; }
    setInterval(function () {
      if (document.hidden) { return; }
      fetch(board.dataset.live, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-live]");
          if (fresh && !board.contains(document.activeElement)) { board.replaceWith(fresh); board = fresh; }
        });
    }, 5000);
  }

  applyTheme();
  document.addEventListener("DOMContentLoaded", function () {
    telegramSignIn();
    autoSubmitFilters();
    composer();
    liveBoard();
  });
})();
