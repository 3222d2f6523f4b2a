// As-you-type search on the home page (progressive enhancement: the form works without it).
// Asks the API's search (GET /api/v1/search) after a pause in typing and shows the hits, built as
// DOM nodes with textContent: nothing from the server is ever parsed as HTML.
(function () {
  "use strict";
  var form = document.getElementById("search");
  var input = document.getElementById("q");
  var results = document.getElementById("results");
  if (!form || !input || !results || !window.fetch) {
    return;
  }
  var KINDS = { "certificate-type": "证照类型", "data-resource": "数据资源", "item": "事项", "one-thing": "一件事" };
  var LINKS = { "one-thing": "/guide/", "item": "/items/" };
  var timer = null;
  var latest = 0;

  function show(query, body) {
    results.textContent = "";
    var count = document.createElement("p");
    count.className = "muted";
    count.textContent = "“" + query + "”共找到 " + body.total + " 条结果" +
      (body.total > body.hits.length ? "，显示前 " + body.hits.length + " 条" : "") + "。";
    results.appendChild(count);
    var list = document.createElement("ul");
    list.className = "results";
    body.hits.forEach(function (hit) {
      var li = document.createElement("li");
      var kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = KINDS[hit.kind] || hit.kind;
      li.appendChild(kind);
      var name;
      if (LINKS[hit.kind]) {
        name = document.createElement("a");
        name.href = LINKS[hit.kind] + encodeURIComponent(hit.code);
      } else {
        name = document.createElement("span");
      }
      name.textContent = hit.name;
      li.appendChild(name);
      var code = document.createElement("span");
      code.className = "muted";
      code.textContent = " " + hit.code;
      li.appendChild(code);
      list.appendChild(li);
    });
    results.appendChild(list);
  }

  function search() {
    var query = input.value.trim();
    var ticket = ++latest;
    if (!query) {
      results.textContent = "";
      return;
    }
    fetch("/api/v1/search?limit=20&q=" + encodeURIComponent(query), { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (body && ticket === latest) {
          show(query, body);
        }
      })
      .catch(function () { /* the form still works: submitting it searches on the server */ });
  }

  input.addEventListener("input", function () {
    if (timer) {
      clearTimeout(timer);
    }
    timer = setTimeout(search, 250);
  });
})();
