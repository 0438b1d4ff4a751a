// The emulator's login page: passkeys first, identifier first, magic links as the fallback.
// Served from the page's own origin (its Content-Security-Policy allows no other script).
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  // Passkeys are made for the login origin (its host is the RP ID): elsewhere (e.g. on
  // 127.0.0.1) the page links there instead.
  // An empty origin: passkeys are off (the login page is on an IP address).
  const passkeyOrigin = document.body.dataset.passkeyOrigin || "";
  const here = passkeyOrigin !== "" && window.location.origin === passkeyOrigin;
  const supported = here && !!(window.PublicKeyCredential && navigator.credentials);

  function showElsewhere() {
    const link = $("passkey-origin-link");
    const note = $("passkey-elsewhere");
    if (!link || !note || passkeyOrigin === "") return;
    link.href = passkeyOrigin + "/";
    link.textContent = passkeyOrigin;
    note.hidden = false;
  }

  const b64u = (buf) =>
    btoa(String.fromCharCode(...new Uint8Array(buf)))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const bytes = (text) =>
    Uint8Array.from(
      atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4)),
      (c) => c.charCodeAt(0));

  function showError(message) {
    const box = $("error");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
  }
  function clearError() {
    const box = $("error");
    if (box) box.hidden = true;
  }

  async function post(path, body) {
    const resp = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      throw new Error(data.error || `The emulator answered ${resp.status}`);
    }
    return data;
  }

  // The browser's own refusals (the user cancelled, no passkey here, timeout) in plain words.
  function ceremonyError(err) {
    if (err && err.name === "NotAllowedError") {
      return "The passkey request was cancelled or timed out, or no passkey for this site was found.";
    }
    if (err && err.name === "InvalidStateError") {
      return "This authenticator already holds a passkey for this account.";
    }
    return (err && err.message) || String(err);
  }

  async function signInWith(start) {
    const options = start.options.publicKey;
    options.challenge = bytes(options.challenge);
    (options.allowCredentials || []).forEach((c) => { c.id = bytes(c.id); });
    // A button press, not autofill: the ceremony runs in the browser's modal dialog.
    const cred = await navigator.credentials.get({ publicKey: options });
    const credential = {
      id: cred.id,
      rawId: b64u(cred.rawId),
      type: cred.type,
      extensions: cred.getClientExtensionResults(),
      response: {
        authenticatorData: b64u(cred.response.authenticatorData),
        clientDataJSON: b64u(cred.response.clientDataJSON),
        signature: b64u(cred.response.signature),
        userHandle: cred.response.userHandle ? b64u(cred.response.userHandle) : null,
      },
    };
    const done = await post("/passkeys/sign-in/finish", { ceremony: start.ceremony, credential });
    window.location.assign(done.redirect_url);
  }

  async function register(body) {
    const start = await post("/passkeys/register/start", body);
    const options = start.options.publicKey;
    options.challenge = bytes(options.challenge);
    options.user.id = bytes(options.user.id);
    (options.excludeCredentials || []).forEach((c) => { c.id = bytes(c.id); });
    const cred = await navigator.credentials.create({ publicKey: options });
    const credential = {
      id: cred.id,
      rawId: b64u(cred.rawId),
      type: cred.type,
      extensions: cred.getClientExtensionResults(),
      response: {
        clientDataJSON: b64u(cred.response.clientDataJSON),
        attestationObject: b64u(cred.response.attestationObject),
        transports: cred.response.getTransports ? cred.response.getTransports() : [],
      },
    };
    const done = await post("/passkeys/register/finish", { ceremony: start.ceremony, credential });
    window.location.assign(done.redirect_url);
  }

  function guard(button, action) {
    button.addEventListener("click", async () => {
      clearError();
      button.disabled = true;
      try {
        await action();
      } catch (err) {
        showError(ceremonyError(err));
      } finally {
        button.disabled = false;
      }
    });
  }

  const form = $("identifier-form");
  const passkeyButton = $("passkey-sign-in");
  if (form && !here) showElsewhere();
  if (form && supported) {
    passkeyButton.hidden = false;
    $("or").hidden = false;
    $("continue").textContent = "Continue";
    guard(passkeyButton, async () => signInWith(await post("/passkeys/sign-in/start", {})));
    let identifier = "";
    let busy = false;
    const submitForm = () => HTMLFormElement.prototype.submit.call(form);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (busy) return; // one ceremony at a time: a second Enter starts nothing
      busy = true;
      $("continue").disabled = true;
      clearError();
      identifier = $("identifier").value.trim();
      try {
        const start = await post("/passkeys/sign-in/start", { identifier });
        if (start.next === "passkey") {
          await signInWith(start);
        } else if (start.next === "register") {
          $("new-identifier").textContent = identifier;
          $("sign-in").hidden = true;
          $("new-user").hidden = false;
          $("register-passkey").focus();
        } else {
          submitForm();
        }
      } catch (err) {
        showError(ceremonyError(err));
        // A passkey that is elsewhere, refused or removed: a magic link still signs in.
        if (identifier !== "") $("magic-link-fallback").hidden = false;
      } finally {
        busy = false;
        $("continue").disabled = false;
      }
    });
    $("magic-link-fallback").addEventListener("click", submitForm);
    guard($("register-passkey"), () => register({ identifier }));
    $("send-magic-link").addEventListener("click", submitForm);
  }

  const offer = $("passkey-offer");
  if (offer) {
    const create = $("create-passkey");
    if (!supported) {
      create.hidden = true;
      showElsewhere();
    } else {
      guard(create, () => register({ ticket: offer.dataset.ticket }));
    }
  }
})();
