// The recovery page's proof-of-work: before a form is sent, find a counter n such that
// SHA-256(challenge ":" n) starts with the number of zero bits the server asked for (about a
// second in a browser), and send it along; the server checks it and accepts each challenge once.
// Without this script the forms still work, with stricter limits.
(function () {
  "use strict";
  var enc = new TextEncoder();
  function zeros(buf, bits) {
    var b = new Uint8Array(buf), i = 0;
    for (; bits >= 8; bits -= 8, i++) { if (b[i] !== 0) { return false; } }
    return bits === 0 || (b[i] >> (8 - bits)) === 0;
  }
  function solve(ch, bits, from) {
    var batch = [];
    for (var k = 0; k < 256; k++) { batch.push(crypto.subtle.digest("SHA-256", enc.encode(ch + ":" + (from + k)))); }
    return Promise.all(batch).then(function (hs) {
      for (var k = 0; k < hs.length; k++) { if (zeros(hs[k], bits)) { return String(from + k); } }
      return solve(ch, bits, from + 256);
    });
  }
  document.querySelectorAll("form.pow").forEach(function (f) {
    var solved = false;
    f.addEventListener("submit", function (ev) {
      if (solved || !window.crypto || !crypto.subtle) { return; }
      ev.preventDefault();
      var sub = ev.submitter;
      var st = document.getElementById("pow-status");
      if (st) { st.hidden = false; }
      document.querySelectorAll("form.pow button").forEach(function (b) { b.disabled = true; });
      solve(f.dataset.challenge, Number(f.dataset.bits), 0).then(function (n) {
        f.elements.pow.value = f.dataset.challenge + "|" + n;
        solved = true;
        if (sub && sub.name) {
          // the button pressed is sent as a field: a form sent by script carries no button
          var h = document.createElement("input");
          h.type = "hidden"; h.name = sub.name; h.value = sub.value;
          f.appendChild(h);
        }
        HTMLFormElement.prototype.submit.call(f);
      });
    });
  });
  // tests (and nothing else) wait for this before pressing buttons
  document.documentElement.setAttribute("data-pow", "ready");
})();
