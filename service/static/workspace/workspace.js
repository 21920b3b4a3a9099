// The curator's workspace (/changes, /changes/{id}): sign in and out, check and propose a change,
// merge, reject and revert. Every action calls the JSON API of this origin with the curator's
// token in an Authorization header. The token lives in this tab's sessionStorage only: never in
// a cookie (so no other site can act with it) nor in a URL, and closing the tab forgets it.
"use strict";

(function () {
  const TOKEN_KEY = "ijkg-token";
  const WHO_KEY = "ijkg-who";
  const FLASH_KEY = "ijkg-flash";
  const root = document.querySelector(".workspace");
  if (!root) return;

  const token = () => sessionStorage.getItem(TOKEN_KEY);
  const byId = (id) => document.getElementById(id);

  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value !== null && value !== undefined) node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function say(text, kind) {
    const box = byId("workspace-message");
    if (!box) return;
    box.textContent = text;
    box.className = "message " + (kind || "info");
  }

  // --- the API ------------------------------------------------------------------------------

  async function api(method, url, body, tokenToSend) {
    const headers = { Accept: "application/json" };
    const current = tokenToSend || token();
    if (current) headers.Authorization = "Bearer " + current;
    const init = { method, headers, credentials: "omit", cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      return { ok: false, status: 0, data: { title: "No answer", detail: String(error) } };
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = { title: response.statusText, detail: "" };
    }
    return { ok: response.ok, status: response.status, data };
  }

  function explain(answer) {
    const data = answer.data || {};
    if (answer.status === 401) {
      return "The service did not accept this token (401): sign in again with a curator's token.";
    }
    const title = data.title || "Error " + answer.status;
    return title + (data.detail ? ": " + data.detail : "") + " (" + answer.status + ")";
  }

  // --- a validation report -------------------------------------------------------------------

  function shortName(iri) {
    return iri ? iri.split(/[#/]/).pop() : "";
  }

  function reportElement(report) {
    const section = element("section", {
      class: "report " + (report.conforms ? "conforms" : "violates"),
      "aria-label": "Validation report",
    });
    const plural = (n, word) => n + " " + word + (n === 1 ? "" : "s");
    section.append(
      element(
        "p",
        { class: "report-summary" },
        (report.conforms ? "Conforms to the shapes" : "Does not conform to the shapes") +
          ": " + plural(report.violations, "violation") + ", " + plural(report.warnings, "warning") + "."
      )
    );
    const results = report.results || [];
    if (results.length) {
      const list = element("ol", { class: "results" });
      for (const r of results) {
        const item = element("li", { class: "result " + String(r.severity || "").toLowerCase() });
        item.append(
          element(
            "p",
            null,
            element("span", { class: "severity" }, r.severity),
            " on " + (r.focusLabel || r.focusNode),
            r.path ? ", " : "",
            r.path ? element("code", null, shortName(r.path)) : null,
            ": ",
            element("span", { class: "message" }, r.message)
          )
        );
        if (r.expected || r.found) {
          item.append(
            element("p", { class: "note" }, "Expected " + (r.expected || "") + (r.found ? "; found " + r.found : "") + ".")
          );
        }
        if (r.suggestion) {
          item.append(element("p", { class: "suggestion" }, element("strong", null, "Suggested fix:"), " " + r.suggestion));
        }
        list.append(item);
      }
      section.append(list);
    }
    return section;
  }

  // --- signing in ------------------------------------------------------------------------------

  function showSignedIn() {
    const signedIn = Boolean(token());
    const form = byId("signin-form");
    const status = byId("signed-in");
    if (form) form.hidden = signedIn;
    if (status) status.hidden = !signedIn;
    const name = byId("signed-in-name");
    if (name) name.textContent = sessionStorage.getItem(WHO_KEY) || "";
    for (const button of document.querySelectorAll("[data-needs-token]")) {
      button.disabled = !signedIn || button.dataset.blocked === "true";
      button.title = signedIn ? "" : "Sign in first";
    }
  }

  function setUpSignIn() {
    const form = byId("signin-form");
    if (!form) return;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = byId("signin-token");
      const value = input.value.trim();
      if (!value) return;
      // Asked before it is kept: a mistyped token is said now, not at the first action.
      const answer = await api("GET", "/whoami", undefined, value);
      if (!answer.ok) {
        say(
          answer.status === 401
            ? "The service does not know this token (401): check it and sign in again."
            : explain(answer),
          "error"
        );
        return;
      }
      sessionStorage.setItem(TOKEN_KEY, value);
      sessionStorage.setItem(WHO_KEY, answer.data.name + (answer.data.admin ? " (admin)" : ""));
      input.value = "";
      say("Signed in. Actions will send this token.", "info");
      showSignedIn();
    });
    byId("signout").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      sessionStorage.removeItem(WHO_KEY);
      say("Signed out: this tab no longer holds a token.", "info");
      showSignedIn();
    });
  }

  // --- the list page: check and propose --------------------------------------------------------

  const EXTENSIONS = {
    ttl: "text/turtle",
    jsonld: "application/ld+json",
    json: "application/ld+json",
    trig: "application/trig",
    nt: "application/n-triples",
  };

  function setUpPropose() {
    const form = byId("propose-form");
    if (!form) return;
    const propose = byId("propose-button");
    const hint = byId("propose-hint");
    const reportBox = byId("check-report");
    propose.setAttribute("data-needs-token", "");
    let checked = null; // the document the last clean check was of

    function changeDocument() {
      const format = byId("propose-format").value;
      const add = byId("propose-add").value;
      const remove = byId("propose-remove").value;
      const document_ = {
        title: byId("propose-title-input").value.trim(),
        description: byId("propose-description").value.trim(),
      };
      const source = byId("propose-source").value.trim();
      if (source) document_.source = source;
      if (add.trim()) document_.add = { format, data: add };
      if (remove.trim()) document_.remove = { format, data: remove };
      return document_;
    }

    function refresh() {
      const same = checked !== null && checked === JSON.stringify(changeDocument());
      propose.dataset.blocked = same ? "false" : "true";
      if (!same && checked !== null) hint.textContent = "Changed since the check: check again.";
      showSignedIn();
    }

    form.addEventListener("input", refresh);
    byId("propose-file").addEventListener("change", (event) => {
      const file = event.target.files[0];
      if (!file) return;
      const extension = file.name.split(".").pop().toLowerCase();
      if (EXTENSIONS[extension]) byId("propose-format").value = EXTENSIONS[extension];
      file.text().then((text) => {
        byId("propose-add").value = text;
        refresh();
        say("Read " + file.name + " (" + text.length + " characters). Check it next.", "info");
      });
    });

    byId("check-button").addEventListener("click", async () => {
      const document_ = changeDocument();
      if (!document_.add && !document_.remove) {
        say("Paste or upload the triples to add (or to remove) first.", "error");
        return;
      }
      say("Checking against the shapes…", "info");
      reportBox.replaceChildren();
      const answer = await api("POST", "/validate", { ...document_, title: document_.title || "check" });
      if (!answer.ok) {
        say(explain(answer), "error");
        checked = null;
        refresh();
        return;
      }
      reportBox.append(reportElement(answer.data));
      if (answer.data.conforms && answer.data.violations === 0) {
        checked = JSON.stringify(document_);
        hint.textContent = token() ? "Checked: it conforms. Propose it." : "Checked: it conforms. Sign in to propose it.";
        say("It conforms to the shapes.", "ok");
      } else {
        checked = null;
        hint.textContent = "Fix the violations and check again: a change that violates the shapes cannot be proposed.";
        say("It violates the shapes: see the report.", "error");
      }
      refresh();
    });

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const document_ = changeDocument();
      if (checked === null || checked !== JSON.stringify(document_)) {
        say("Check the change first.", "error");
        return;
      }
      if (!document_.title) {
        say("Give the change a title.", "error");
        return;
      }
      say("Proposing…", "info");
      const answer = await api("POST", "/changes", document_);
      if (answer.status === 201) {
        sessionStorage.setItem(FLASH_KEY, "Proposed. A curator can now merge or reject it.");
        location.assign("/changes/" + encodeURIComponent(answer.data.id));
        return;
      }
      if (answer.data && answer.data.report) {
        reportBox.replaceChildren(reportElement(answer.data.report));
      }
      say(explain(answer), "error");
    });
    refresh();
  }

  // --- the change page: merge, reject, revert ----------------------------------------------------

  function setUpActions() {
    const id = root.dataset.id;
    if (!id) return;
    const base = "/changes/" + encodeURIComponent(id);
    const done = {
      merge: "Merged into the graph.",
      reject: "Rejected.",
      revert: "Reverted: a new change undid it.",
    };

    async function act(action, url) {
      say({ merge: "Merging…", reject: "Rejecting…", revert: "Reverting…" }[action], "info");
      const answer = await api("POST", url);
      if (answer.ok) {
        sessionStorage.setItem(FLASH_KEY, done[action]);
        location.reload();
        return;
      }
      if (answer.data && answer.data.report) {
        const box = byId("workspace-message");
        box.after(reportElement(answer.data.report));
      }
      say(explain(answer), "error");
    }

    for (const button of document.querySelectorAll("[data-action]")) {
      button.setAttribute("data-needs-token", "");
      button.addEventListener("click", () => act(button.dataset.action, base + "/" + button.dataset.action));
    }
    const reject = byId("reject-form");
    if (reject) {
      byId("reject-button").setAttribute("data-needs-token", "");
      reject.addEventListener("submit", (event) => {
        event.preventDefault();
        const reason = byId("reject-reason-input").value.trim();
        act("reject", base + "/reject" + (reason ? "?reason=" + encodeURIComponent(reason) : ""));
      });
    }
  }

  setUpSignIn();
  setUpPropose();
  setUpActions();
  showSignedIn();
  const flash = sessionStorage.getItem(FLASH_KEY);
  if (flash) {
    sessionStorage.removeItem(FLASH_KEY);
    say(flash, "ok");
  }
})();
