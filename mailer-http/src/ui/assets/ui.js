// mailer operator UI: live template preview, live mailing progress, copy buttons.
// Progressive enhancement only: every screen works without this file.
(function () {
  "use strict";
  var csrf = document.body ? document.body.getAttribute("data-csrf") : null;

  // Copy buttons: <button data-copy="{triggerlink:3}">.
  document.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest("button[data-copy]") : null;
    if (!button) return;
    var text = button.getAttribute("data-copy");
    var done = function () {
      var old = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = old; }, 1500);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, done);
    } else {
      var area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy"); } catch (_) { /* the text stays visible to copy by hand */ }
      document.body.removeChild(area);
      done();
    }
  });

  function utc(iso) {
    if (!iso) return "\u2014";
    return iso.replace("T", " ").replace(/(\.\d+)?(Z|[+-]00:00)$/, "") + " UTC";
  }

  // Trigger form: show the fields of the chosen action only.
  var kind = document.querySelector("select[name=kind]");
  if (kind && document.querySelector("fieldset[data-kind]")) {
    var showKind = function () {
      document.querySelectorAll("fieldset[data-kind]").forEach(function (f) {
        f.hidden = f.getAttribute("data-kind") !== kind.value;
      });
    };
    kind.addEventListener("change", showKind);
    showKind();
  }

  // Live preview of the template editor.
  var editor = document.getElementById("template-editor");
  if (editor && window.fetch) {
    var timer = null;
    var seq = 0;
    var errorBox = document.querySelector(".preview .pv-error");
    var frame = document.getElementById("pv-html");
    var refresh = function () {
      var mine = ++seq;
      // The text fields only: files are uploaded when the template is saved.
      var body = new URLSearchParams();
      new FormData(editor).forEach(function (value, name) {
        if (typeof value === "string") body.append(name, value);
      });
      fetch(editor.getAttribute("data-preview"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": csrf || "" },
        body: body.toString()
      }).then(function (r) { return r.json(); }).then(function (p) {
        if (mine !== seq) return; // a newer preview is on its way
        if (p.error) {
          errorBox.textContent = p.error;
          errorBox.hidden = false;
          editor.setAttribute("data-preview-state", "error");
          return;
        }
        errorBox.hidden = true;
        errorBox.textContent = "";
        document.getElementById("pv-to").textContent = (p.to || []).join(", ") || "\u2014";
        document.getElementById("pv-subject").textContent = p.subject;
        document.getElementById("pv-text").textContent = p.text;
        frame.srcdoc = p.html;
        editor.setAttribute("data-preview-state", "shown");
      }).catch(function (err) {
        errorBox.textContent = "The preview could not be loaded: " + err;
        errorBox.hidden = false;
      });
    };
    var soon = function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 300);
    };
    editor.addEventListener("input", soon);
    editor.addEventListener("change", soon);
    refresh();
  }

  // Live progress of a mailing, from the server-sent events of its progress stream.
  var progress = document.getElementById("progress");
  if (progress && window.EventSource) {
    var source = new EventSource(progress.getAttribute("data-events"));
    var set = function (id, value) {
      var el = document.getElementById(id);
      if (el) el.textContent = value;
    };
    source.addEventListener("progress", function (e) {
      var p = JSON.parse(e.data);
      var done = p.sent + p.failed + p.cancelled;
      var pct = p.total === 0 ? 100 : Math.min(100, Math.floor(done * 100 / p.total));
      var bar = document.getElementById("bar");
      bar.max = p.total;
      bar.value = done;
      bar.textContent = pct + "%";
      set("pct", pct + " %");
      set("sent", p.sent);
      set("failed", p.failed);
      set("waiting", p.waiting);
      set("cancelled", p.cancelled);
      set("total", p.total);
      set("finish", utc(p.expected_finish));
      var finished = p.waiting === 0 || p.mailing.status === "cancelled";
      set("state", finished && p.mailing.status !== "cancelled" ? "finished" : p.mailing.status);
      if (finished) {
        source.close();
        var controls = document.getElementById("controls");
        if (controls) controls.hidden = true;
      }
    });
  }
})();
