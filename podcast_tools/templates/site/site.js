/* The listeners' website (podcast_tools' built-in script; a network overrides it with
   templates/site/site.js). Only an enhancement: every page works without it. On an episode's
   page, a link with data-start (a chapter, a transcript cue) seeks the player there and plays;
   #t=SECONDS in the address seeks on arrival; the chapter playing is marked aria-current.
   On the network's and the shows' pages, the search box (section[data-search], hidden until
   this script shows it) searches the Pagefind index published with the site: each hit links to
   an episode's page, or to the time in it (#t=) where the words are spoken. On a phone, the
   current show's link is scrolled into the header's row of shows, and so is a link focused. */
(function () {
  "use strict";
  var box = document.querySelector("section[data-search]");
  if (!box || typeof window.fetch !== "function") {
    return;
  }
  var form = box.querySelector("form");
  var input = box.querySelector("input[type=search]");
  var status = box.querySelector("[data-search-status]");
  var list = box.querySelector("[data-search-results]");
  var engine = null;
  var asked = 0;
  var timer = null;
  var SHOWN = 20; // episodes listed

  function load() {
    if (engine === null) {
      engine = import(box.getAttribute("data-search")).then(function (pagefind) {
        return Promise.resolve(pagefind.options({ excerptLength: 24 })).then(function () {
          return pagefind;
        });
      });
    }
    return engine;
  }

  // Pagefind's excerpt is HTML with <mark> around the words found: only its text and its marks
  // are taken, read by an inert parser (nothing in it runs or loads).
  function excerpt(html) {
    var paragraph = document.createElement("p");
    var parsed = new DOMParser().parseFromString("<body>" + html + "</body>", "text/html");
    parsed.body.childNodes.forEach(function (node) {
      if (node.nodeName === "MARK") {
        var mark = document.createElement("mark");
        mark.textContent = node.textContent;
        paragraph.appendChild(mark);
      } else {
        paragraph.appendChild(document.createTextNode(node.textContent));
      }
    });
    return paragraph;
  }

  function link(url, text, hidden) {
    var anchor = document.createElement("a");
    anchor.href = url;
    anchor.textContent = text;
    if (hidden) {
      var more = document.createElement("span");
      more.className = "visually-hidden";
      more.textContent = hidden;
      anchor.appendChild(more);
    }
    return anchor;
  }

  // One episode found: its title (a link to its page), its show, then where the words are: in
  // its transcript (a link to that time: #t=) or its title and notes.
  function hit(data) {
    var item = document.createElement("li");
    var meta = data.meta || {};
    var title = meta.title || data.url;
    var head = document.createElement("p");
    head.appendChild(link(data.url, title));
    item.appendChild(head);
    if (meta.show) {
      var show = document.createElement("p");
      show.className = "meta";
      show.textContent = meta.show;
      item.appendChild(show);
    }
    var places = (data.sub_results || []).slice(0, 3);
    if (!places.length) {
      item.appendChild(excerpt(data.excerpt || ""));
    }
    places.forEach(function (place) {
      var found = excerpt(place.excerpt || "");
      if (place.url && place.url.indexOf("#t=") !== -1) {
        found.insertBefore(document.createTextNode(" "), found.firstChild);
        found.insertBefore(link(place.url, "At " + place.title, " in " + title), found.firstChild);
      }
      item.appendChild(found);
    });
    return item;
  }

  function show(term, found, data, mine) {
    if (mine !== asked) {
      return; // a newer search has started
    }
    list.textContent = "";
    data.forEach(function (one) {
      list.appendChild(hit(one));
    });
    var count = found === 1 ? "1 episode" : found + " episodes";
    var more = found > data.length ? " (the first " + data.length + " shown)" : "";
    status.textContent = count + " for \u201c" + term + "\u201d" + more + ".";
  }

  function search() {
    var term = input.value.trim();
    var mine = ++asked;
    if (!term) {
      list.textContent = "";
      status.textContent = "";
      return;
    }
    load()
      .then(function (pagefind) {
        return pagefind.search(term);
      })
      .then(function (found) {
        var results = (found && found.results) || [];
        return Promise.all(
          results.slice(0, SHOWN).map(function (result) {
            return result.data();
          })
        ).then(function (data) {
          show(term, results.length, data, mine);
        });
      })
      .catch(function () {
        if (mine === asked) {
          status.textContent =
            "Search could not load here: it works when the site is opened from its web address.";
        }
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    window.clearTimeout(timer);
    search();
  });
  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 250);
  });
  input.addEventListener(
    "focus",
    function () {
      load().catch(function () {}); // the index starts loading early; a failure is told on search
    },
    { once: true }
  );
  box.hidden = false;
})();

(function () {
  "use strict";
  // On a phone the shows' links are one row that scrolls sideways: the current show's is
  // brought into the row's view (the row only; the page does not move).
  var row = document.querySelector(".site-header ul");
  var current = row && row.querySelector("[aria-current]");
  if (current && row.scrollWidth > row.clientWidth) {
    var item = current.parentElement;
    row.scrollLeft = Math.max(0, item.offsetLeft - row.offsetLeft - 16);
  }
  // A link reached with Tab is brought wholly into the row's view, its focus ring too (the
  // browser leaves a link that is partly in view where it is).
  if (row) {
    row.addEventListener("focusin", function (event) {
      var link = event.target.closest("li");
      if (!link || row.scrollWidth <= row.clientWidth) {
        return;
      }
      var ring = 8; // the focus ring: 3px and its 2px offset, and a little
      var start = link.offsetLeft - row.offsetLeft - ring;
      var end = start + link.offsetWidth + 2 * ring - row.clientWidth;
      if (row.scrollLeft > start) {
        row.scrollLeft = Math.max(0, start);
      } else if (row.scrollLeft < end) {
        row.scrollLeft = end;
      }
    });
  }
})();

(function () {
  "use strict";
  var player = document.querySelector("audio[data-player]");
  if (!player) {
    return;
  }
  var seekers = Array.prototype.slice.call(document.querySelectorAll("a[data-start]"));
  var chapters = Array.prototype.slice.call(
    document.querySelectorAll("[data-chapters] a[data-start]")
  );

  function startOf(link) {
    return parseFloat(link.getAttribute("data-start"));
  }

  function markChapter() {
    var now = player.currentTime + 0.25;
    var current = null;
    chapters.forEach(function (link) {
      if (startOf(link) <= now) {
        current = link;
      }
    });
    chapters.forEach(function (link) {
      if (link === current) {
        link.setAttribute("aria-current", "true");
      } else {
        link.removeAttribute("aria-current");
      }
    });
  }

  function go(seconds, play) {
    player.currentTime = seconds;
    if (play) {
      start();
    }
    markChapter();
  }

  function start() {
    var playing = player.play();
    if (playing && playing.catch) {
      playing.catch(function () {});
    }
  }

  // A position asked for before the player has its metadata (it cannot seek yet): the last one
  // asked for, taken once the metadata is in.
  var pending = null;

  function seek(seconds, play) {
    if (player.readyState >= 1) {
      go(seconds, play);
      return;
    }
    if (pending === null) {
      player.addEventListener(
        "loadedmetadata",
        function () {
          var wanted = pending;
          pending = null;
          go(wanted.seconds, wanted.play);
        },
        { once: true }
      );
    }
    pending = { seconds: seconds, play: play || (pending !== null && pending.play) };
    if (play) {
      // play() fetches what is missing; never load(), which would throw away a download
      // already under way and start it again. Without play (#t= on arrival), the position waits
      // for the metadata the page preloads, or for the listener's own play.
      start();
    }
  }

  seekers.forEach(function (link) {
    link.addEventListener("click", function (event) {
      var seconds = startOf(link);
      if (!isFinite(seconds)) {
        return;
      }
      event.preventDefault();
      seek(seconds, true);
      if (window.history && history.replaceState) {
        history.replaceState(null, "", "#t=" + link.getAttribute("data-start"));
      }
    });
  });

  function fromAddress() {
    var match = /^#t=(\d+(?:\.\d+)?)$/.exec(window.location.hash);
    if (match) {
      seek(parseFloat(match[1]), false);
    }
  }

  player.addEventListener("timeupdate", markChapter);
  player.addEventListener("seeked", markChapter);
  window.addEventListener("hashchange", fromAddress);
  fromAddress();
})();
