// Progressive enhancement: ticks the password rules while typing. The server checks again,
// and the page works without this script.
(function () {
  var pw = document.getElementById("password"), confirm = document.getElementById("confirm");
  if (!pw || !confirm) return;
  var form = document.getElementById("newpw");
  // the minimum of this person's domain (or fine-grained policy), as the page states it
  var min = form && parseInt(form.getAttribute("data-min"), 10) || 8;
  function classes(s) {
    var n = 0;
    if (/[a-z]/.test(s)) n++;
    if (/[A-Z]/.test(s)) n++;
    if (/[0-9]/.test(s)) n++;
    if (/[^a-zA-Z0-9]/.test(s)) n++;
    return n;
  }
  function check() {
    var ok = { length: pw.value.length >= min && pw.value.length <= 256, classes: classes(pw.value) >= 3,
      same: pw.value !== "" && pw.value === confirm.value };
    Object.keys(ok).forEach(function (k) {
      var li = document.querySelector('[data-rule="' + k + '"]');
      if (li) li.className = ok[k] ? "met" : "unmet";
    });
  }
  pw.addEventListener("input", check);
  confirm.addEventListener("input", check);
})();
