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

  // Versions: the picker sends version=N with every query of the open tab (the graph exactly as
  // it was then); "Copy citable link" gives the query's URL at the version its answer came from
  // (pinned, or the head it ran on, read from the answer's ETag), which gives the same answer
  // for ever.
  var picker = document.getElementById("ijkg-version");
  var citeButton = document.getElementById("ijkg-cite");
  var citable = document.getElementById("ijkg-citable-link");
  var pageVersion = new URL(window.location.href).searchParams.get("version");

  function pinTab(tab) {
    if (!tab) return;
    var version = picker.value;
    tab.setRequestConfig({ args: version ? [{ name: "version", value: version }] : [] });
  }

  function addVersion(version, label) {
    var option = document.createElement("option");
    option.value = String(version);
    option.textContent = label;
    picker.appendChild(option);
    return option;
  }

  function fetchJson(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (answer) {
      return answer.ok ? answer.json() : null;
    });
  }

  var versionsLoaded = fetchJson(config.versionsPath + "?limit=1").then(function (range) {
    if (!range) return null;
    var after = Math.max(range.first, range.head - config.versionsListed);
    return fetchJson(config.versionsPath + "?after=" + after + "&limit=" + config.versionsListed).then(
      function (page) {
        var listed = page ? page.versions.slice().reverse() : [];
        listed.forEach(function (v) {
          var when = v.time ? " (" + v.time.slice(0, 16).replace("T", " ") + ")" : "";
          addVersion(v.version, "version " + v.version + when);
        });
        return range;
      }
    );
  });
  versionsLoaded.then(function () {
    if (pageVersion !== null) {
      var known = Array.prototype.some.call(picker.options, function (o) {
        return o.value === pageVersion;
      });
      if (!known) addVersion(pageVersion, "version " + pageVersion);
      picker.value = pageVersion;
    }
    pinTab(yasgui.getTab());
  });
  picker.addEventListener("change", function () {
    pinTab(yasgui.getTab());
  });
  yasgui.on("tabSelect", function (instance, tabId) {
    window.setTimeout(function () {
      pinTab(yasgui.getTab(tabId));
    }, 0);
  });

  function citableLink(query, version) {
    var url = new URL(endpoint);
    url.search = new URLSearchParams({ query: query, version: String(version) }).toString();
    return url.href;
  }

  function answerVersion(response) {
    var tag = response.headers.get("ETag") || "";
    var match = /-(\d+)-[0-9a-f]+"$/.exec(tag);
    if (match) return Promise.resolve(Number(match[1]));
    if (picker.value) return Promise.resolve(Number(picker.value));
    // An answer without a tag (NOW(), RAND() ...): the head now.
    return fetchJson(config.versionsPath + "?limit=1").then(function (range) {
      return range ? range.head : null;
    });
  }

  // The editor sends queries with fetch: each answer from the endpoint says its version.
  var realFetch = window.fetch.bind(window);
  window.fetch = function (input, init) {
    var url = typeof input === "string" ? input : input.url;
    var query = yasgui.getTab() ? yasgui.getTab().getQuery() : "";
    return realFetch(input, init).then(function (response) {
      if (url.split("?")[0] === endpoint && response.ok) {
        answerVersion(response).then(function (version) {
          if (version === null) return;
          citable.value = citableLink(query, version);
          citable.dataset.version = String(version);
          citeButton.disabled = false;
        });
      }
      return response;
    });
  };

  citeButton.addEventListener("click", function () {
    citable.select();
    if (navigator.clipboard) {
      navigator.clipboard.writeText(citable.value).catch(function () {
        document.execCommand("copy");
      });
    } else {
      document.execCommand("copy");
    }
  });

  // For scripts and tests: the editor and a way to open an example.
  window.ijkgQueryPage = {
    yasgui: yasgui,
    openExample: openExample,
    config: config,
    versionsLoaded: versionsLoaded,
  };
})();
