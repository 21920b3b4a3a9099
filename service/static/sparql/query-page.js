// The ijkg query page: YASGUI bound to this service's endpoint, working offline.
//
// - Prefix completion offers the project's prefixes (not the editor's bundled prefix.cc list), and
//   typing a known prefix declares it; the remote completers (Linked Open Vocabularies) are off.
// - The endpoint is this service's; example queries open in tabs of their own.
// - Result IRIs of the graph's entities (https://w3id.org/ijkg/id/...) link to their pages on this
//   service (/id/...), which answer whether or not the w3id.org redirect points here.
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("ijkg-query-config").textContent);
  var Yasgui = window.Yasgui;
  var endpoint = new URL(config.endpoint, window.location.href).href;

  var prefixLines = Object.keys(config.prefixes)
    .sort()
    .map(function (name) {
      return name + ": <" + config.prefixes[name] + ">";
    });
  Yasgui.Yasqe.forkAutocompleter(
    "prefixes",
    {
      name: "ijkgPrefixes",
      persistenceId: null,
      get: function () {
        return Promise.resolve(prefixLines);
      },
    },
    false
  );
  var completers = ["ijkgPrefixes", "variables"];
  Yasgui.Yasqe.defaults.autocompleters = completers;
  Yasgui.Yasqe.defaults.value = config.defaultQuery;
  Yasgui.defaults.yasqe.value = config.defaultQuery;

  // Errors are problem details (RFC 9457): show the title, the detail and where the query is
  // wrong, not the raw JSON.
  function renderProblem(error) {
    var problem;
    try {
      problem = JSON.parse(error.text || "");
    } catch (e) {
      return Promise.resolve(undefined);
    }
    if (!problem || typeof problem.title !== "string" || typeof problem.type !== "string") {
      return Promise.resolve(undefined);
    }
    var box = document.createElement("div");
    box.className = "ijkg-problem";
    var title = document.createElement("p");
    title.className = "ijkg-problem-title";
    title.textContent = problem.title + " (" + (problem.status || error.status) + ")";
    box.appendChild(title);
    if (problem.detail) {
      var detail = document.createElement("p");
      detail.className = "ijkg-problem-detail";
      detail.textContent = problem.detail;
      box.appendChild(detail);
    }
    if (problem.excerpt) {
      var excerpt = document.createElement("pre");
      excerpt.className = "ijkg-problem-excerpt";
      excerpt.textContent = problem.excerpt;
      box.appendChild(excerpt);
    }
    if (Array.isArray(problem.available)) {
      var available = document.createElement("p");
      available.textContent = "Available: " + problem.available.join(", ");
      box.appendChild(available);
    }
    return Promise.resolve(box);
  }
  Yasgui.Yasr.defaults.errorRenderers = [renderProblem].concat(
    Yasgui.Yasr.defaults.errorRenderers || []
  );

  // The table plugin writes each IRI cell as an HTML string: rewrite the links in it.
  function localLinks(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html;
    holder.content.querySelectorAll("a[href]").forEach(function (a) {
      var href = a.getAttribute("href");
      if (href.indexOf(config.entityBase) === 0) {
        a.setAttribute("href", config.entityPath + href.slice(config.entityBase.length));
        a.setAttribute("title", href);
      }
    });
    return holder.innerHTML;
  }
  var table = Yasgui.Yasr.plugins.table.prototype;
  var iriLink = table.getUriLinkFromBinding;
  table.getUriLinkFromBinding = function () {
    return localLinks(iriLink.apply(this, arguments));
  };

  var yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: true,
    endpointCatalogueOptions: {
      getData: function () {
        return [{ endpoint: endpoint }];
      },
    },
    persistenceId: "ijkg-sparql",
    populateFromUrl: true,
    yasqe: { value: config.defaultQuery, autocompleters: completers },
  });

  function openExample(example) {
    var tab = yasgui.addTab(true, {
      name: example.id,
      yasqe: { value: example.query },
      requestConfig: { endpoint: endpoint },
    });
    tab.setEndpoint(endpoint);
    tab.setQuery(example.query);
    return tab;
  }

  var list = document.getElementById("ijkg-example-list");
  config.examples.forEach(function (example) {
    var item = document.createElement("li");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "ijkg-example";
    button.dataset.example = example.id;
    button.title = example.description;
    var id = document.createElement("span");
    id.className = "ijkg-example-id";
    id.textContent = example.id;
    var title = document.createElement("span");
    title.className = "ijkg-example-title";
    title.textContent = example.title;
    button.appendChild(id);
    button.appendChild(title);
    button.addEventListener("click", function () {
      openExample(example);
    });
    item.appendChild(button);
    list.appendChild(item);
  });

  // For scripts and tests: the editor and a way to open an example.
  window.ijkgQueryPage = { yasgui: yasgui, openExample: openExample, config: config };
})();
