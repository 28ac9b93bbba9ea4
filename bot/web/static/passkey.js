// The passkey pages: asks the browser to create or use a passkey with the options the server
// put on the form, and posts the browser's answer (public data, checked by the server) in the
// same form, so no script talks to the server and the CSRF token travels as on every page.
(function () {
  var form = document.getElementById("passkey");
  if (!form) return;
  var out = document.getElementById("response"), status = document.getElementById("pkstatus"), btn = document.getElementById("pkgo");
  function buf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), b = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
    return b.buffer;
  }
  function b64(b) {
    if (!b) return null;
    var u = new Uint8Array(b), s = "";
    for (var i = 0; i < u.length; i++) s += String.fromCharCode(u[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function ids(list) {
    return (list || []).map(function (c) { return { type: c.type, id: buf(c.id), transports: c.transports }; });
  }
  if (!window.PublicKeyCredential || !navigator.credentials) {
    status.textContent = "This browser cannot use passkeys. Please open the page in a current browser, or choose another method.";
    btn.disabled = true;
    return;
  }
  var mode = form.getAttribute("data-mode");
  form.addEventListener("submit", function (ev) {
    if (out.value) return; // the answer is in: let the form go
    ev.preventDefault();
    var o = JSON.parse(form.getAttribute("data-options")); // decoded in place below: a fresh copy each try
    btn.disabled = true;
    status.textContent = "Waiting for your passkey…";
    var p;
    if (mode === "create") {
      o.challenge = buf(o.challenge);
      o.user.id = buf(o.user.id);
      o.excludeCredentials = ids(o.excludeCredentials);
      p = navigator.credentials.create({ publicKey: o }).then(function (c) {
        return { id: c.id, rawId: b64(c.rawId), type: c.type, authenticatorAttachment: c.authenticatorAttachment || undefined,
          clientExtensionResults: c.getClientExtensionResults(),
          response: { clientDataJSON: b64(c.response.clientDataJSON), attestationObject: b64(c.response.attestationObject),
            transports: c.response.getTransports ? c.response.getTransports() : [] } };
      });
    } else {
      o.challenge = buf(o.challenge);
      o.allowCredentials = ids(o.allowCredentials);
      p = navigator.credentials.get({ publicKey: o }).then(function (c) {
        return { id: c.id, rawId: b64(c.rawId), type: c.type, authenticatorAttachment: c.authenticatorAttachment || undefined,
          clientExtensionResults: c.getClientExtensionResults(),
          response: { clientDataJSON: b64(c.response.clientDataJSON), authenticatorData: b64(c.response.authenticatorData),
            signature: b64(c.response.signature), userHandle: b64(c.response.userHandle) } };
      });
    }
    p.then(function (answer) {
      out.value = JSON.stringify(answer);
      status.textContent = "Checking…";
      form.submit();
    }, function (err) {
      btn.disabled = false;
      status.textContent = (err && err.name === "InvalidStateError") ?
        "This passkey or key is registered already." :
        "No passkey was used (cancelled, timed out, or not allowed). Press the button to try again.";
    });
  });
})();
