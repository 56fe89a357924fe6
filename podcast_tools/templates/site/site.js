/* The listeners' website (podcast_tools' built-in script; a network overrides it with
   templates/site/site.js). Only an enhancement: every page works without it. On an episode's
   page, a link with data-start (a chapter, a transcript cue) seeks the player there and plays;
   #t=SECONDS in the address seeks on arrival; the chapter playing is marked aria-current. */
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
