// Progressive enhancement: ticks the password rules while typing. The server checks again,
// and the page works without this script. Each rule is the server's own definition
// (flows.CheckPassword, CheckNewPassword): lengths in characters (code points), the kinds of
// character by their Unicode category, the symbols from the page (flows.PasswordSymbols).
// Banned terms, the person's name and the history are the server's alone ("common").
(function () {
  var pw = document.getElementById("password"), confirm = document.getElementById("confirm");
  if (!pw || !confirm) return;
  var form = document.getElementById("newpw");
  // the minimum of this person's domain (or fine-grained policy), as the page states it
  var min = form && parseInt(form.getAttribute("data-min"), 10) || 8;
  var max = form && parseInt(form.getAttribute("data-max"), 10) || 256;
  var symbols = form && form.getAttribute("data-symbols") || "";
  function length(s) { return Array.from(s).length; }
  function classes(s) {
    var n = 0;
    if (/\p{Ll}/u.test(s)) n++;
    if (/\p{Lu}/u.test(s)) n++;
    if (/\p{Nd}/u.test(s)) n++;
    if (/[^\p{Ll}\p{Lu}\p{Nd}\u0000-\u001f\u007f]/u.test(s)) n++;
    return n;
  }
  function charset(s) {
    return Array.from(s).every(function (c) {
      return /^[A-Za-z0-9 ]$/.test(c) || symbols.indexOf(c) >= 0;
    });
  }
  function check() {
    var v = pw.value, n = length(v);
    var ok = { length: n >= min && n <= max, classes: classes(v) >= 3, charset: v !== "" && charset(v),
      same: v !== "" && v === confirm.value };
    Object.keys(ok).forEach(function (k) {
      var li = document.querySelector('[data-rule="' + k + '"]');
      if (li) li.className = ok[k] ? "met" : "unmet";
    });
  }
  pw.addEventListener("input", check);
  confirm.addEventListener("input", check);
})();
