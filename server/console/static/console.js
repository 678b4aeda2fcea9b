// The console: sign in, list notebook instances, Open one in a new tab, Start, Stop.
// Every call is same-origin JSON; state-changing ones carry the session's CSRF token.
"use strict";

const API = "/_nbpresign/console/";
let csrfToken = "";

const $ = (id) => document.getElementById(id);

function showError(message) {
  $("error").textContent = message || "";
}

function words(payload, response) {
  if (payload && payload.message) return payload.message;
  return `The request failed (${response.status}). Try again in a moment.`;
}

async function call(path, body) {
  const options = { method: body === undefined ? "GET" : "POST", credentials: "same-origin",
    headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.headers["X-CSRF-Token"] = csrfToken;
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API + path, options);
  } catch (_) {
    return { ok: false, status: 0, payload: { message:
      "The console cannot reach the service. Check your connection and try again." } };
  }
  let payload = {};
  try { payload = await response.json(); } catch (_) { payload = {}; }
  return { ok: response.ok, status: response.status, payload: payload };
}

function showSignIn() {
  $("loading").textContent = "";
  $("who").hidden = true;
  $("console").hidden = true;
  $("sign-in").hidden = false;
  $("user-name").focus();
}

function showConsole(userName) {
  $("loading").textContent = "";
  $("sign-in").hidden = true;
  $("reset").hidden = true;
  $("password").value = "";
  $("user-label").textContent = `Signed in as ${userName}`;
  $("who").hidden = false;
  $("console").hidden = false;
  if (location.pathname !== "/") history.replaceState(null, "", "/");
  loadInstances();
}

function button(label, name, onClick, secondary) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.setAttribute("aria-label", label);
  b.dataset.instance = name;
  if (secondary) b.className = "secondary";
  b.addEventListener("click", onClick);
  return b;
}

function cell(row, label, text) {
  const td = document.createElement("td");
  td.dataset.label = label;
  td.textContent = text;
  row.appendChild(td);
  return td;
}

function render(instances) {
  const body = $("instances").querySelector("tbody");
  body.replaceChildren();
  $("instances").hidden = instances.length === 0;
  $("list-status").textContent = instances.length === 0
    ? "You have no notebook instances to show. An administrator can register one with " +
      "`nbpresign instances register NAME URL`, or attach a policy that lets you list them."
    : "";
  for (const instance of instances) {
    const row = document.createElement("tr");
    cell(row, "Name", instance.name);
    cell(row, "Status", instance.status);
    cell(row, "Created", new Date(instance.created).toLocaleString());
    const actions = cell(row, "Actions", "");
    actions.className = "actions";
    actions.appendChild(button("Open", instance.name, openInstance));
    if (instance.status === "InService") {
      actions.appendChild(button("Stop", instance.name, () => change("stop", instance.name), true));
    } else if (instance.status === "Stopped" || instance.status === "Failed") {
      actions.appendChild(button("Start", instance.name, () => change("start", instance.name), true));
    }
    body.appendChild(row);
  }
}

async function loadInstances() {
  $("list-status").textContent = "Loading notebook instances…";
  const result = await call("instances");
  if (result.status === 401) { showError(words(result.payload, result)); showSignIn(); return; }
  if (!result.ok) {
    $("list-status").textContent = "";
    showError(words(result.payload, result));
    return;
  }
  render(result.payload.instances);
}

async function openInstance(event) {
  const target = event.currentTarget;
  showError("");
  target.disabled = true;
  const result = await call("open", { name: target.dataset.instance,
    sessionSeconds: Number($("session-length").value) });
  target.disabled = false;
  if (!result.ok) {
    showError(words(result.payload, result));
    if (result.status === 401) showSignIn();
    return;
  }
  // Within the click's activation window; noopener: the notebook cannot reach this page.
  window.open(result.payload.authorizedUrl, "_blank", "noopener");
}

async function change(verb, name) {
  showError("");
  const result = await call(verb, { name: name });
  if (!result.ok) {
    showError(words(result.payload, result));
    if (result.status === 401) showSignIn();
    return;
  }
  loadInstances();
}

async function signIn(event) {
  event.preventDefault();
  showError("");
  const body = { userName: $("user-name").value.trim(), password: $("password").value };
  if (!body.userName || !body.password) {
    showError("Enter your user name and password.");
    return;
  }
  if (!$("reset").hidden) {
    if ($("new-password").value !== $("confirm-password").value) {
      showError("The new passwords do not match.");
      return;
    }
    body.newPassword = $("new-password").value;
  }
  $("sign-in-button").disabled = true;
  const result = await call("sign-in", body);
  $("sign-in-button").disabled = false;
  if (!result.ok) {
    showError(words(result.payload, result));
    return;
  }
  if (result.payload.passwordResetRequired) {
    $("reset").hidden = false;
    $("new-password").focus();
    return;
  }
  csrfToken = result.payload.csrfToken;
  $("new-password").value = "";
  $("confirm-password").value = "";
  document.querySelectorAll(".notice").forEach((n) => n.remove());
  showConsole(result.payload.userName);
}

async function signOut() {
  const result = await call("sign-out", {});
  csrfToken = "";
  if (!result.ok && result.status !== 401) {
    showError(words(result.payload, result));
    return;
  }
  showError("");
  $("instances").querySelector("tbody").replaceChildren();
  showSignIn();
}

async function start() {
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("refresh").addEventListener("click", () => { showError(""); loadInstances(); });
  const result = await call("session");
  if (result.ok) {
    csrfToken = result.payload.csrfToken;
    showConsole(result.payload.userName);
  } else if (result.status === 401) {
    showSignIn();
  } else {
    $("loading").textContent = "";
    showError(words(result.payload, result));
  }
}

document.addEventListener("DOMContentLoaded", start);
