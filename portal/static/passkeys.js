// Passkeys and security keys (WebAuthn): ask the server for options, hand them to the browser
// (navigator.credentials.create / get), post the browser's answer back as JSON, then go where
// the server says. Buttons name their URLs in data- attributes; the CSRF token goes in a header.
(function () {
  "use strict";

  function toBytes(value) {
    var text = atob(value.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((value.length + 3) % 4));
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer);
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, { id: toBytes(item.id) });
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.user = Object.assign({}, json.user, { id: toBytes(json.user.id) });
    options.excludeCredentials = withIds(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.allowCredentials = withIds(json.allowCredentials);
    return options;
  }

  function answer(credential) {
    var r = credential.response;
    var response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      response.userHandle = toText(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: response,
    };
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {}),
    }).then(function (reply) {
      return reply.json().catch(function () { return {}; }).then(function (json) {
        if (!reply.ok) throw new Error(json.error || "The server could not answer (" + reply.status + ").");
        return json;
      });
    });
  }

  function showError(button, message) {
    var box = document.querySelector("[data-passkey-error]");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
    box.focus && box.focus();
    button.disabled = false;
  }

  function browserMessage(error) {
    if (error && error.name === "NotAllowedError")
      return "The browser did not make or use a key (cancelled or timed out). Try again.";
    if (error && error.name === "InvalidStateError")
      return "This passkey or security key is already added.";
    return (error && error.message) || "Something went wrong. Try again.";
  }

  function csrfToken(button) {
    // The button's own, else the token of the page's form (the sign-in page).
    var field = document.querySelector("input[name=csrf_token]");
    return button.dataset.csrf || (field ? field.value : "");
  }

  function run(button, ceremony) {
    var data = button.dataset;
    var csrf = csrfToken(button);
    var extra = {};
    if (data.nameInput) extra.name = document.getElementById(data.nameInput).value;
    if (data.next) extra.next = data.next;
    button.disabled = true;
    post(data.optionsUrl, csrf)
      .then(function (json) {
        return ceremony === "create"
          ? navigator.credentials.create({ publicKey: creationOptions(json) })
          : navigator.credentials.get({ publicKey: requestOptions(json) });
      })
      .then(function (credential) {
        return post(data.finishUrl, csrf, Object.assign({ credential: answer(credential) }, extra));
      })
      .then(function (json) { window.location.assign(json.redirect || "/"); })
      .catch(function (error) { showError(button, browserMessage(error)); });
  }

  var supported = !!(window.PublicKeyCredential && navigator.credentials);
  document.querySelectorAll("[data-passkey-add], [data-passkey-get]").forEach(function (button) {
    if (!supported) {
      button.disabled = true;
      document.querySelectorAll("[data-passkey-unsupported]").forEach(function (note) { note.hidden = false; });
      return;
    }
    button.addEventListener("click", function () {
      run(button, button.hasAttribute("data-passkey-add") ? "create" : "get");
    });
  });
})();
