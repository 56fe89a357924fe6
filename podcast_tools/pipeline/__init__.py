"""The episode pipeline: from an episode of the network to its published form.

Above content, audio, tags, notes and feeds, it joins them; one module for each thing it owns,
each importing only those before it in this list:

- `settings`: what an episode's files are made from and where they go — its mastering settings
  (mapped by name from the content model), edit decisions and tags; its paths in build/.
- `fingerprints`: what the published files depend on — the master's (and jingles') hash, the
  audio fingerprint (stages included when a show turns one on), the tags fingerprint, 0.1's.
- `builds`: what `build/` holds and whether it can be reused — reports read back, built audio
  and its derived artifacts, re-tagging a build in place.
- `process`: `process_episode` — master, tag, make the artifacts, notes, report and its page.
- `previews`: what build/ previews before publishing, through the record builder publishing uses
  (`podcast_tools.record`) — `podcast feed`, `podcast notes`, `podcast site` (`local_site`) and
  `local_objects`: what `publish` would upload, by key (`podcast preview`).
- `drafts`: `podcast transcribe` — a draft transcript of an episode's master at the times heard,
  written beside the episode for the producer to review.
"""
