"""Move a show in from another host (`podcast import`): read its RSS feed (a URL or a file), turn
the channel into a `[shows.<id>]` table of network.toml and every item into an episode file with
its guid kept exactly, download each enclosure as the episode's master (`mastered: true`: it is
published as it is), and move everything into place only when all of it succeeded.

- `feed`: the feed read safely (no entities, no network from the parser) into plain data
- `markdown`: show notes from HTML to Markdown
- `download`: parallel, resumable HTTP downloads with their lengths checked
- `write`: the plan (what a run adds), the staged files and the move into place
"""
