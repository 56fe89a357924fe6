"""The `podcast` command: declares commands and options, hands off to the core, turns errors into
one line each and an exit code. No business logic lives here."""

from __future__ import annotations

import functools
import sys
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from podcast_tools import __version__
from podcast_tools.clihelp import Typer
from podcast_tools.content import NETWORK_FILE, Network, find_root
from podcast_tools.content.hints import one_line
from podcast_tools.errors import (
    ContentError,
    ExitCode,
    NotANetworkError,
    PodcastToolsError,
    UsageError,
)
from podcast_tools.jsonout import dumps as json_document
from podcast_tools.media_checks import (
    load_checked_network,
    recognition_missing,
    validate_network,
)

HELP = (
    "Take a podcast network from raw recordings to what listeners hear.\n\n"
    "Describe shows in episodes/network.toml and episodes in episodes/<show>/<slug>.md, "
    "check them with `podcast validate`, then publish.\n\n"
    "Exit codes: 0 done · 1 content problems (one line each: file: field: what to do) · "
    "2 usage (bad options, no network found) · 3 storage/network failure, or a folder that "
    "cannot be written (read-only, disk full) · "
    "4 ffmpeg missing or failed · 130 interrupted (Ctrl-C)."
)

app = Typer(
    help=HELP,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class Options:
    root: Path | None = None
    debug: bool = False

    def network_root(self) -> Path:
        if self.root is None:
            return find_root()
        root = self.root.resolve()
        if not (root / NETWORK_FILE).is_file():
            raise NotANetworkError(f"--root {root}: holds no {NETWORK_FILE.as_posix()}")
        return root

    def network(self) -> Network:
        return load_checked_network(self.network_root())


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"podcast_tools {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    ctx: typer.Context,
    root: Annotated[
        Optional[Path],
        typer.Option(
            "--root",
            metavar="DIR",
            help="The network's folder (holding episodes/network.toml). "
            "Default: the nearest such folder at or above the current one.",
            file_okay=False,
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks and detail on errors (never secrets).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            help="Print the version and exit.",
            callback=_show_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    ctx.obj = Options(root=root, debug=debug)


def _reports_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Print the package's errors as one line each (with a traceback under --debug), then exit."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = kwargs.get("ctx")
        options = _options(ctx) if ctx is not None else Options()
        try:
            return command(*args, **kwargs)
        except PodcastToolsError as exc:
            if options.debug:
                traceback.print_exc(file=sys.stderr)
            lines = [one_line(line) for line in exc.lines()]
            for line in lines:
                typer.echo(line, err=True)
            if len(lines) > 1:
                files = len({line.split(": ", 1)[0] for line in lines})
                typer.echo(
                    f"{len(lines)} problems in {files} file(s); nothing was written.", err=True
                )
            raise typer.Exit(int(exc.exit_code)) from None
        except OSError as exc:  # a file or folder the system refused, where none was expected
            if options.debug:
                traceback.print_exc(file=sys.stderr)
            where = f"{exc.filename}: " if exc.filename is not None else ""
            typer.echo(one_line(f"{where}{exc.strerror or exc}"), err=True)
            raise typer.Exit(int(ExitCode.STORAGE)) from None
        except KeyboardInterrupt:
            if options.debug:
                traceback.print_exc(file=sys.stderr)
            typer.echo(
                "interrupted: nothing is left half-written; run the command again to finish",
                err=True,
            )
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None

    return wrapper


#: --storage / --state of the commands that read or change what `publish` wrote.
StorageOption = Annotated[
    Optional[str],
    typer.Option("--storage", metavar="URL", help="As for publish: the public storage."),
]
StateOption = Annotated[
    Optional[str],
    typer.Option("--state", metavar="URL", help="As for publish: the private state."),
]


def _options(ctx: typer.Context) -> Options:
    return ctx.obj if isinstance(ctx.obj, Options) else Options()


@app.command()
@_reports_errors
def validate(
    ctx: typer.Context,
    fix_artwork: Annotated[
        bool,
        typer.Option(
            "--fix-artwork",
            help="For artwork that is not RGB (e.g. CMYK) or larger than 3000 px, write a converted "
            "copy beside it (<name>.fixed.<ext>) to point network.toml or the episode at.",
        ),
    ] = False,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache",
            help="Check every file afresh, without reading or writing the validation cache "
            "(build/.cache/; also PODCAST_NO_CACHE=1 for every command).",
        ),
    ] = False,
) -> None:
    """Check every file of the network and list all problems at once (exit 1 if any).

    What decoding found out about a file (durations, damage, artwork) is kept in build/.cache/
    and reused while the file is unchanged (same size, times and inode); --no-cache skips it."""
    options = _options(ctx)
    if fix_artwork:
        _fix_artwork(options.network_root())
    network = validate_network(options.network_root(), use_cache=not no_cache)
    note = network.pointers_note()  # masters not checked out: one line, not one per file
    if note:
        typer.echo(note, err=True)
    for remark in network.notes:  # right, but perhaps not meant (e.g. a table set in part)
        typer.echo(f"note: {remark}", err=True)
    drafts = len(network.drafts)
    typer.echo(
        f"OK: {network.settings.name}: {len(network.shows)} shows, "
        f"{len(network.episodes)} episodes"
        + (f" ({drafts} draft{'s' if drafts != 1 else ''})" if drafts else "")
        + "; no problems found."
    )


def _fix_artwork(root: Path) -> None:
    from podcast_tools.pipeline.previews import fix_artwork

    for name, copy in fix_artwork(root):
        if copy is None:
            typer.echo(
                f"{name}: cannot be fixed by converting or shrinking; it needs new art", err=True
            )
        else:
            fixed = copy.relative_to(root).as_posix()
            typer.echo(
                f"{name}: wrote {fixed}; point the artwork (or image) setting at it", err=True
            )


@app.command()
@_reports_errors
def shows(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """List the shows with inheritance resolved, and where each value came from."""
    network = _options(ctx).network()
    mastered = {
        show_id: sum(1 for e in network.episodes if e.show == show_id and e.mastered)
        for show_id in network.shows
    }
    if as_json:
        payload = {
            show_id: {
                "feed_url": network.feed_url(show_id),
                "episodes": len(network.episodes_of(show_id)),
                **({"mastered_episodes": mastered[show_id]} if mastered[show_id] else {}),
                "settings": show.model_dump(mode="json"),
                "origins": network.origins[show_id],
            }
            for show_id, show in network.shows.items()
        }
        typer.echo(json_document("shows", {"shows": payload}))
        return
    for show_id, show in network.shows.items():
        parent = f" (extends {show.extends})" if show.extends else ""
        typer.echo(f"{show_id}{parent}: {show.title}")
        typer.echo(f"  feed      {network.feed_url(show_id)}")
        typer.echo(f"  episodes  {len(network.episodes_of(show_id))}")
        if mastered[show_id]:
            typer.echo(
                f"  mastered  {mastered[show_id]} published as they are (mastered: true): intro, "
                "outro, loudness, mastering and formats other than mp3 do not apply to them"
            )
        values = {
            key: str(value)
            for key, value in _flatten(
                show.model_dump(mode="json", exclude={"id", "extends"})
            ).items()
        }
        key_width = max(map(len, values))
        value_width = min(48, max(map(len, values.values())))
        for key, value in values.items():
            origin = network.origins[show_id].get(key, "built-in default")
            origin = "" if origin == "own" else f"  ← {_origin_label(origin)}"
            typer.echo(f"  {key:<{key_width}}  {value:<{value_width}}{origin}".rstrip())
        typer.echo("")


def _origin_label(origin: str) -> str:
    return origin if origin.startswith(("[", "built-in")) else f"from {origin}"


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if key == "category" and isinstance(value, dict):
            flat[name] = value["name"] + (
                f" > {value['subcategory']}" if value.get("subcategory") else ""
            )
        elif isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif value is not None:
            flat[name] = value
    return flat


@app.command()
@_reports_errors
def init(
    ctx: typer.Context,
    directory: Annotated[
        Path, typer.Argument(help="Folder for the new network (created if needed).")
    ],
) -> None:
    """Create a new network repository: one show, a regional spin-off, one episode, templates,
    and what a team pushes to GitHub as it is — the publishing workflow
    (.github/workflows/publish.yml), podcast-tools.txt (the version CI installs), .gitattributes
    (audio in Git LFS), .gitignore and a README for the producers."""
    from podcast_tools.scaffold import init_network

    written = init_network(directory)
    typer.echo(f"Created a network in {directory.resolve()} ({len(written)} files).")
    typer.echo(f"Next: cd {directory} && podcast validate && podcast shows")
    typer.echo(
        "Then: git init, git lfs install, push to GitHub "
        "(README.md says which settings CI needs)"
    )


@app.command("upgrade-workflow")
@_reports_errors
def upgrade_workflow_command(
    ctx: typer.Context,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace a workflow edited by hand (or not written by podcast_tools); "
            "make your edits again after.",
        ),
    ] = False,
) -> None:
    """Rewrite the network's .github/workflows/publish.yml and the version in podcast-tools.txt
    for the podcast_tools you run (keeping its extras and the lines you added); print each change
    (old → new version), or "nothing to change". A workflow edited by hand since it was written
    is left alone unless --force."""
    from podcast_tools.workflow import upgrade_workflow

    root = _options(ctx).network_root()
    done = upgrade_workflow(root, force=force)
    if not done.changed:
        typer.echo(f"nothing to change: the workflow is podcast_tools {__version__}'s")
    for path, old, new in done.changed:
        typer.echo(f"{path.as_posix()}: {old or 'none'} → {new}")


@app.command()
@_reports_errors
def new(
    ctx: typer.Context,
    show: Annotated[str, typer.Argument(help="The show id (see `podcast shows`).")],
    title: Annotated[str, typer.Option("--title", metavar="TEXT", help="The episode's title.")],
    audio: Annotated[
        Optional[Path],
        typer.Option(
            "--audio",
            metavar="FILE",
            help="The master recording: copied next to the episode as <NNN>-<slug>.<ext>. "
            "Without it the episode is a draft (draft: true) until its recording is in place.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    link: Annotated[
        bool,
        typer.Option(
            "--link",
            help="Reference the --audio file where it is instead of copying it "
            "(it must lie inside the network folder).",
        ),
    ] = False,
    date: Annotated[
        Optional[str],
        typer.Option(
            "--date",
            metavar="DATE",
            help="Publish date and time, e.g. 2026-12-01T09:00:00+01:00 (default: now; no offset means local time).",
        ),
    ] = None,
) -> None:
    """Write a new episode file with a fresh guid, the next number and today's date; print its path.

    Without --audio the episode is a draft: validated, but not processed or published until its
    recording is in place and the `draft: true` line is removed."""
    from podcast_tools.scaffold import new_episode

    when = None
    if date is not None:
        try:
            when = datetime.fromisoformat(date)
        except ValueError:
            raise UsageError(
                f'--date: "{date}" is not a date, e.g. 2026-12-01T09:00:00+01:00'
            ) from None
    root = _options(ctx).network_root()
    if link and audio is None:
        raise UsageError("--link needs --audio PATH")
    created = new_episode(root, show, title=title, audio=audio, link=link, date=when)
    typer.echo(str(created.path))
    if created.draft:
        typer.echo(
            "a draft: put its recording at the `audio` path it names, then delete `draft: true`",
            err=True,
        )


@app.command("import")
@_reports_errors
def import_command(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            metavar="FEED_URL_OR_FILE",
            help="The show's RSS feed at its current host: an http(s) URL or a saved file.",
        ),
    ],
    show: Annotated[
        str,
        typer.Option(
            "--show",
            metavar="ID",
            help="The show id to import into (lowercase letters, digits, -): a new show gets its "
            "own table in network.toml (shows.ID); an existing one only gets the items it lacks.",
        ),
    ],
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs", metavar="N", min=1, help="Download up to N files at once (default 4)."
        ),
    ] = 4,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print the show's table, each new episode (file, date, title, guid) and the "
            "bytes to download; write nothing.",
        ),
    ] = False,
) -> None:
    """Move a show in from another host: its settings into network.toml, every item as an
    episode file with its guid kept exactly, and its audio downloaded as the episode's master
    (an MP3 marked mastered: true: published as it is, re-tagged, never re-encoded; other audio
    is mastered like a recording).

    Downloads run in parallel and resume after an interruption (build/.cache/import/).
    Nothing is written until every download succeeded; running it again adds only new items."""
    from podcast_tools.importer.write import dry_run_lines, import_show, plan_import

    root = _options(ctx).network_root()
    with _display() as display:

        def say(line: str) -> None:  # feed text in a line: no line break or control moves it
            display.say(one_line(line))

        plan = plan_import(root, source, show, warn=say)
        if dry_run:
            for line in dry_run_lines(plan):
                typer.echo(line)
            return
        if not plan.episodes:
            typer.echo(f'nothing to import: every item of the feed is in "{show}" already')
            return
        display.say(
            f"downloading {len(plan.episodes)} episode(s), "
            f"{_megabytes(plan.download_bytes)} by the feed's lengths"
        )
        result = import_show(plan, jobs=jobs, progress=display.progress, warn=say)
    added = " and its settings to network.toml" if result.show_added else ""
    typer.echo(
        f"imported {len(result.episodes)} episode(s){added} into episodes/{show}/ "
        f"({_megabytes(result.downloaded_bytes)} of audio)"
    )
    typer.echo("Next: podcast validate, then podcast publish --dry-run")


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"


@app.command()
@_reports_errors
def process(
    ctx: typer.Context,
    episode_file: Annotated[Path, typer.Argument(help="The episode's .md file.", dir_okay=False)],
    out: Annotated[
        Optional[Path],
        typer.Option(
            "--out",
            metavar="DIR",
            help="Folder for the MP3 and its reports (default: build/<show>/).",
            file_okay=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Decode every finished file (MP3 and the show's other formats) and measure it "
            "(one more pass each).",
        ),
    ] = False,
    id3v24: Annotated[
        bool,
        typer.Option(
            "--id3v24", help="Write ID3v2.4 tags (default: ID3v2.3, which more players read)."
        ),
    ] = False,
) -> None:
    """Master one episode: trim silence, apply cuts, add jingles, normalise loudness with a
    true-peak limiter, encode the MP3 and the show's other formats (M4A, Opus) from the one
    render; write them with a JSON report and an HTML mastering report (plots of loudness,
    limiter and edits; figures against the show's targets). An episode with `mastered: true`
    is a finished MP3: it is re-tagged, never re-encoded, and its loudness measured."""
    from podcast_tools.formats import FORMATS, PRIMARY
    from podcast_tools.pipeline.process import process_episode

    root, network, episode = _load_episode(ctx, episode_file)
    out_dir = out.resolve() if out else root / "build" / episode.show
    with _display(enabled=not as_json) as display:
        report, _ = process_episode(
            network,
            episode,
            out_dir,
            progress=display.progress if display else None,
            tag_version=4 if id3v24 else None,
            note=display.say if display else lambda line: typer.echo(line, err=True),
        )
    measured = {}
    if verify:
        from podcast_tools.pipeline.process import measure_outputs

        measured = measure_outputs(report)
    from podcast_tools.pipeline.process import write_report_page

    page = write_report_page(network, episode, report, measured.get(PRIMARY.name))
    if as_json:
        payload = report.as_dict()
        payload["episode"] = network.display(episode.path)
        if measured:
            payload["loudness"]["mp3_measured"] = measured[PRIMARY.name].as_dict()
            for entry in payload["files"]:
                entry["measured"] = measured[entry["format"]].as_dict()
        payload["report_html"] = str(page)
        typer.echo(json_document("process", payload))
        return
    typer.echo(_summary(network, episode, report))
    for name, figures in measured.items():
        shown = figures.as_dict()
        typer.echo(
            f"  measured in the {FORMATS[name].label}: {shown['integrated_lufs']} LUFS, true peak "
            f"{shown['true_peak_dbtp']} dBTP, LRA {shown['loudness_range_lu']} LU"
        )
    typer.echo(f"  report: {page}")


@app.command()
@_reports_errors
def transcribe(
    ctx: typer.Context,
    episode_files: Annotated[
        list[Path], typer.Argument(help="The episodes' .md files.", dir_okay=False)
    ],
    model: Annotated[
        Optional[str],
        typer.Option(
            "--model",
            metavar="tiny.en|base|PATH",
            help="The speech model: tiny.en (English, fast), base (multilingual, better) or "
            "the folder of a CTranslate2 Whisper model (default: the show's transcripts.model, "
            "base).",
        ),
    ] = None,
    language: Annotated[
        Optional[str],
        typer.Option(
            "--language",
            metavar="CODE",
            help="The language spoken (default: the show's transcripts.language, else its "
            "language).",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace a transcript a producer wrote or edited."),
    ] = False,
) -> None:
    """Write a draft transcript of each episode beside its file (<episode>.vtt with a cue per
    sentence and speaker turn, <episode>.json with each word's time), at the times heard in
    the published episode, and set `transcript:` in its front matter: review and correct it
    like any other content. Offline: the model comes in the `transcribe` extra."""
    from podcast_tools.audio.recognition import missing_extra, resolve_model
    from podcast_tools.errors import ContentError
    from podcast_tools.pipeline.drafts import kept_transcript, transcribe_episode

    if (line := missing_extra()) is not None:
        typer.echo(line, err=True)
        raise typer.Exit(int(ExitCode.CONTENT))
    loaded = [_load_episode(ctx, path)[1:] for path in episode_files]
    kept = [] if force else [kept_transcript(n, e) for n, e in loaded]
    if any(kept):  # every episode checked before any is transcribed
        raise ContentError([problem for problem in kept if problem is not None])
    chosen = resolve_model(model, where="--model", field="") if model else None
    done: list[str] = []
    failed: list[PodcastToolsError] = []
    with _display() as display:
        for network, episode in loaded:
            where = network.display(episode.path)
            display.say(f"transcribing {where}")
            try:
                draft = transcribe_episode(
                    network, episode, chosen, language, force=force, progress=display.progress
                )
            except PodcastToolsError as exc:  # the others are still transcribed
                failed.append(exc)
                continue
            if draft.vtt is None:
                heard = f" heard ({draft.dropped_words} words in cuts or trims)" * bool(
                    draft.dropped_words
                )
                display.say(
                    f"warning: {where}: no speech{heard} in its audio: no transcript written"
                )
                continue
            left_out = f"; {draft.dropped_words} in cuts or trims left out" * bool(
                draft.dropped_words
            )
            done.append(
                f"{where} → {network.display(draft.vtt)}, {draft.json.name} ({draft.cues} cues, "
                f"{draft.words} words{left_out}; {draft.model}, {draft.language}): "
                "a machine draft to review"
            )
    for line in done:
        typer.echo(line)
    for exc in failed:
        for line in exc.lines():
            typer.echo(one_line(line), err=True)
    if failed:
        raise typer.Exit(int(max(exc.exit_code for exc in failed)))


@app.command()
@_reports_errors
def notes(
    ctx: typer.Context,
    episode_file: Annotated[Path, typer.Argument(help="The episode's .md file.", dir_okay=False)],
    out: Annotated[
        Optional[Path],
        typer.Option(
            "--out",
            metavar="DIR",
            help="Folder for the rendered notes (default: build/<show>/).",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Render an episode's show notes (HTML, text, web page), chapters JSON and transcript, to preview."""
    from podcast_tools.pipeline.previews import preview_notes

    root, network, episode = _load_episode(ctx, episode_file)
    out_dir = out.resolve() if out else root / "build" / episode.show
    preview = preview_notes(network, episode, out_dir, root / "build")
    if not preview.times_as_heard and episode.chapters:
        typer.echo(
            "note: chapter times are the master's; run `podcast process` first for the times as heard",
            err=True,
        )
    files = preview.files
    for path in (files.html, files.text, files.page, files.chapters, files.transcript):
        if path is not None:
            typer.echo(str(path))


@app.command()
@_reports_errors
def feed(
    ctx: typer.Context,
    show_ids: Annotated[
        Optional[list[str]],
        typer.Argument(metavar="SHOW", help="Shows to build (default: all)."),
    ] = None,
    out: Annotated[
        Optional[Path],
        typer.Option(
            "--out",
            metavar="DIR",
            help="Folder for <show>/feed.xml (default: build/feeds/).",
            file_okay=False,
        ),
    ] = None,
    include_scheduled: Annotated[
        bool,
        typer.Option(
            "--include-scheduled", help="Also list episodes dated in the future (a preview)."
        ),
    ] = False,
) -> None:
    """Write each show's RSS feed from the content and the processed episodes in build/ — what
    `podcast publish` would write (no feed is written when any breaks a rule)."""
    from podcast_tools.feed import write_feed
    from podcast_tools.feed.build import source_date_epoch
    from podcast_tools.fsutil import read_bytes_if_file
    from podcast_tools.pipeline.previews import preview_feeds

    source_date_epoch()  # a bad SOURCE_DATE_EPOCH stops here, before any feed is written
    root = _options(ctx).network_root()
    network = load_checked_network(root)
    wanted = show_ids or list(network.shows)
    _say_drafts(network, [e for e in network.drafts if set(e.all_shows) & set(wanted)])
    out_dir = out.resolve() if out else root / "build" / "feeds"
    preview = preview_feeds(
        network,
        wanted,
        root / "build",
        include_scheduled=include_scheduled,
        previous=lambda key: read_bytes_if_file(out_dir / key),  # keeps an unchanged one's date
    )
    if preview.publisher is not None:
        typer.echo(
            f"{write_feed(preview.publisher, out_dir)}: the publisher feed of "
            f"{len(network.shows)} shows"
        )
    for result in preview.feeds:
        path = write_feed(result, out_dir)
        notes = []
        if result.scheduled:
            notes.append(f"{len(result.scheduled)} scheduled for later")
        if result.unprocessed:
            notes.append(f"{len(result.unprocessed)} not processed yet (run `podcast process`)")
        extra = f" ({'; '.join(notes)})" if notes else ""
        typer.echo(f"{path}: {len(result.included)} episodes{extra}")


@app.command()
@_reports_errors
def site(
    ctx: typer.Context,
    out: Annotated[
        Optional[Path],
        typer.Option(
            "--out",
            metavar="DIR",
            help="Folder for the pages, laid out as published (default: build/site/).",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Write the listeners' website (a page for the network, each show and each episode) from the
    processed episodes in build/, as `podcast publish` would lay it out. Its links point under
    base_url; scheduled episodes and drafts are left out."""
    from podcast_tools.fsutil import write_bytes_atomic
    from podcast_tools.layout import show_page_key
    from podcast_tools.pipeline.previews import local_site
    from podcast_tools.search import SEARCH_FOLDER

    root = _options(ctx).network_root()
    network = load_checked_network(root)
    _say_drafts(network, network.drafts)
    pages = local_site(network, root / "build")
    out_dir = out.resolve() if out else root / "build" / "site"
    for page in pages:
        write_bytes_atomic(out_dir / page.key, page.data)
    search = sum(page.key.startswith(f"{SEARCH_FOLDER}/") for page in pages)
    html = sum(page.type.startswith("text/html") for page in pages)
    assets = len(pages) - html - search  # stylesheet, script, icons
    index = f", the search index ({search} files)" if search else ", no search (install pagefind)"
    keys = {page.key for page in pages}
    on_site = sum(show_page_key(show_id) in keys for show_id in network.shows)
    left = len(network.shows) - on_site
    typer.echo(
        f"{out_dir}: {html} pages and {assets} assets for "
        f"{on_site} shows{index} (under {network.settings.base_url})"
        + (f"; {left} show(s) with no episode processed yet have no page" if left else "")
    )


#: The options of `publish`, one alias each (their help is what `podcast publish --help` shows).
PublishFiles = Annotated[
    Optional[list[Path]],
    typer.Argument(metavar="EPISODE_FILE", help="Only these episodes (default: all)."),
]
PublishAll = Annotated[
    bool, typer.Option("--all", help="Every episode (the default when none are named).")
]
PublishChangedSince = Annotated[
    Optional[str],
    typer.Option(
        "--changed-since",
        metavar="GIT_REV",
        help="Only episodes whose files changed since this git revision.",
    ),
]
PublishDryRun = Annotated[bool, typer.Option("--dry-run", help="Print the plan; upload nothing.")]
PublishJson = Annotated[
    bool, typer.Option("--json", help="Print a machine-readable summary (for CI).")
]
PublishStorage = Annotated[
    Optional[str],
    typer.Option(
        "--storage",
        metavar="URL",
        help="Override network.toml's storage for this run (s3://bucket/prefix, file://dir).",
    ),
]
PublishState = Annotated[
    Optional[str],
    typer.Option(
        "--state",
        metavar="URL",
        help="Where the private manifest lives for this run (default: network.toml's state "
        "with its storage, else beside the storage: s3://bucket/prefix.state, file://dir.state).",
    ),
]
PublishCheckPublic = Annotated[
    bool,
    typer.Option(
        "--check-public",
        help="After the feeds are written, ask base_url as a listener does what is readable "
        "(see `podcast check-public`); exit 3 if a check fails.",
    ),
]
PublishJobs = Annotated[
    Optional[int],
    typer.Option(
        "--jobs",
        metavar="N",
        min=1,
        help="Master up to N episodes at once, each in a worker process of its own "
        "(default: the CPUs this process may use). 1: one after another, in this process.",
    ),
]
PublishShard = Annotated[
    Optional[str],
    typer.Option(
        "--shard",
        metavar="K/N",
        help="Publish only the K-th of N shares of the selected episodes (K from 1 to N, "
        "chosen by guid, the same on every machine) and write no feeds and no website: run "
        "N machines with 1/N … N/N, then one `publish --feeds-only`.",
    ),
]
PublishFeedsOnly = Annotated[
    bool,
    typer.Option(
        "--feeds-only",
        help="Process and upload no audio: write every feed, the publisher feed and the "
        "website from the manifest as stored (after `--shard` runs). Takes no episode files.",
    ),
]
PublishPlan = Annotated[
    bool,
    typer.Option(
        "--plan",
        help="Process and upload nothing: list the masters and jingles whose audio this run "
        "would read (episodes it masters or transcribes), checked out or Git LFS pointers, and "
        "the `git lfs pull --include` argument that fetches only those (with --json: `fetch`, "
        "`lfs_include`). Reads the manifest as --dry-run does.",
    ),
]


@app.command()
@_reports_errors
def publish(
    ctx: typer.Context,
    episode_files: PublishFiles = None,
    all_episodes: PublishAll = False,
    changed_since: PublishChangedSince = None,
    dry_run: PublishDryRun = False,
    as_json: PublishJson = False,
    storage_url: PublishStorage = None,
    state_url: PublishState = None,
    check_public: PublishCheckPublic = False,
    jobs: PublishJobs = None,
    shard: PublishShard = None,
    feeds_only: PublishFeedsOnly = False,
    plan_only: PublishPlan = False,
) -> None:
    """Process what changed, upload and verify media, update the manifest, then the feeds.

    Exit codes: 0 done, 1 content errors (nothing uploaded), 2 usage, 3 storage/network failure
    (or, with --check-public, a public check failed), 130 interrupted (Ctrl-C)."""
    from podcast_tools.feed.build import source_date_epoch
    from podcast_tools.publish import Publisher, select
    from podcast_tools.publish.placeholders import placeholder_problems
    from podcast_tools.publish.run import shard_of
    from podcast_tools.publish.state import locate, open_locations

    share = _publish_usage(
        episode_files, all_episodes, changed_since, shard, feeds_only, check_public
    )
    if plan_only and (dry_run or feeds_only or check_public):
        raise UsageError(
            "--plan runs nothing, it lists what a run would read: leave out --dry-run, "
            "--feeds-only and --check-public"
        )
    source_date_epoch()  # a bad SOURCE_DATE_EPOCH stops here, before anything is uploaded
    root = _options(ctx).network_root()
    network = load_checked_network(root)  # everything is validated before anything is uploaded
    missing = recognition_missing(network)  # machine transcripts turned on, none can be made
    if missing:
        raise ContentError(missing)
    settings = network.settings
    locations = locate(network, storage_url=storage_url, state_url=state_url)
    storage, state = open_locations(network, locations)
    if not storage.on_this_machine:  # listeners can reach it: no example.com placeholders
        placeholders = placeholder_problems(network)
        if placeholders:
            raise ContentError(placeholders)
    if storage_url and storage_url != settings.storage and not as_json:
        typer.echo(
            f"note: feeds still point at {settings.base_url} (network.toml's base_url)", err=True
        )
    episodes = (
        []
        if feeds_only
        else select(network, list(episode_files or []), changed_since=changed_since)
    )
    if share is not None:
        episodes = shard_of(episodes, *share)
    if plan_only:
        return _publish_plan(network, storage, state, episodes, bool(episode_files), as_json)
    with _display(enabled=not as_json) as display:
        publisher = Publisher(
            network,
            storage,
            say=display.say if display else None,
            progress=display.progress if display else None,
            state=state,
            workers=jobs,
        )
        if feeds_only:
            result = publisher.run_feeds_only(dry_run=dry_run)
        else:
            result = publisher.run(
                episodes, dry_run=dry_run, by_name=bool(episode_files), shard=share
            )
    if not as_json and not dry_run:
        _publish_summary(storage, result)
    findings = None
    if check_public and not dry_run:  # after the feeds are written
        from podcast_tools.publish.public import findings_or_unreachable

        findings = findings_or_unreachable(network, locations)
    if as_json:
        payload = {"storage": storage.description, "state": state.description, **result.as_dict()}
        if findings is not None:
            payload["public_check"] = [finding.as_dict() for finding in findings]
        typer.echo(json_document("publish", payload))
    for finding in [] if as_json else findings or []:
        typer.echo(str(finding), err=True)
    if findings and not all(finding.ok for finding in findings):
        raise typer.Exit(3)


def _publish_plan(network, storage, state, episodes, by_name: bool, as_json: bool) -> None:
    """`publish --plan`: what the run would read the audio of, as lines or one JSON document."""
    from podcast_tools.publish import Publisher

    say = None if as_json else lambda line: typer.echo(line, err=True)
    inputs = Publisher(network, storage, say=say, state=state).inputs(episodes, by_name=by_name)
    if as_json:
        payload = {"storage": storage.description, "state": state.description}
        typer.echo(json_document("publish-plan", {**payload, **inputs.as_dict()}))
        return
    for line in inputs.lines():
        typer.echo(line)


def _publish_usage(
    episode_files, all_episodes, changed_since, shard, feeds_only, check_public
) -> tuple[int, int] | None:
    """The options of `publish` that do not go together (UsageError); the shard asked for."""
    from podcast_tools.publish.run import parse_shard

    if sum(bool(x) for x in (episode_files, all_episodes, changed_since)) > 1:
        raise UsageError("choose one of: episode files, --all, --changed-since")
    if feeds_only and (episode_files or all_episodes or changed_since or shard):
        raise UsageError(
            "--feeds-only writes the feeds of every episode in the manifest: it takes no episode "
            "files, --all, --changed-since or --shard"
        )
    share = parse_shard(shard) if shard is not None else None
    if share is not None and check_public:
        raise UsageError(
            "--check-public checks the feeds, which a --shard run does not write: give it to the "
            "`publish --feeds-only` run"
        )
    return share


def _publish_summary(storage, result) -> None:
    from podcast_tools.publish.run import scheduled_line

    if result.shard is not None:
        typer.echo(
            f"{storage.description}: shard {result.shard}: processed {len(result.processed)}, "
            f"unchanged {len(result.skipped)}; uploaded {len(result.uploads)} object(s), "
            f"{sum(u.bytes for u in result.uploads) / 1e6:.1f} MB; no feeds written (run "
            "`podcast publish --feeds-only` once every shard is done)"
        )
    elif result.uploaded_nothing:
        typer.echo(f"{storage.description}: nothing changed; nothing uploaded.")
    else:
        size = sum(u.bytes for u in result.uploads) / 1e6
        typer.echo(
            f"{storage.description}: processed {len(result.processed)}, unchanged {len(result.skipped)}; "
            f"uploaded {len(result.uploads)} object(s), {size:.1f} MB; feeds written: {len(result.feeds)}"
            + (f" ({', '.join(result.feeds)})" if result.feeds else "")
            + f"; website pages written: {len(result.pages)}"
        )
    for item in result.scheduled:
        typer.echo(scheduled_line(item))
    for shown in result.left_unpublished:
        typer.echo(f"left out, unpublished (`podcast publish {shown}` publishes it again): {shown}")


@app.command()
@_reports_errors
def unpublish(
    ctx: typer.Context,
    episodes: Annotated[
        list[str],
        typer.Argument(
            metavar="EPISODE_FILE|GUID",
            help="The episodes to take down: their .md files, or their guids (also one that a "
            "feed carries but the manifest does not).",
        ),
    ],
    delete_media: Annotated[
        bool,
        typer.Option(
            "--delete-media",
            help="Also delete their media (audio, chapters, transcript, images; also the older "
            "copies the manifest's kept generations name) once the feeds no longer name them. "
            "Default: keep them, so downloads keep working.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be taken down; change nothing.")
    ] = False,
    storage_url: StorageOption = None,
    state_url: StateOption = None,
) -> None:
    """Take episodes out of their feeds: the only way an item leaves a feed.

    Removes them from the manifest (recording them as unpublished), then rewrites the feeds that
    carried them. `podcast publish` leaves them out from then on; `podcast publish EPISODE_FILE`
    publishes one again.

    Exit codes: 0 done, 1 content problems, 2 usage (e.g. not published), 3 storage failure."""
    from podcast_tools.feed.build import source_date_epoch
    from podcast_tools.publish.state import locate, open_locations
    from podcast_tools.publish.unpublish import targets as named
    from podcast_tools.publish.unpublish import unpublish as take_down

    source_date_epoch()  # a bad SOURCE_DATE_EPOCH stops here, before any feed is rewritten
    network = _options(ctx).network()
    targets = named(network, episodes)
    storage, state = open_locations(
        network, locate(network, storage_url=storage_url, state_url=state_url)
    )
    with _display() as display:
        result = take_down(
            network,
            storage,
            state,
            targets,
            delete_media=delete_media,
            dry_run=dry_run,
            say=display.say if display else None,
        )
    if dry_run:
        return
    for item in result.episodes:
        feeds = ", ".join(f"{show}/feed.xml" for show in item.shows) or "no feed"
        typer.echo(f'unpublished {item.guid} ("{item.title}"): out of {feeds}')
    for key in result.deleted:
        typer.echo(f"deleted {storage.description}/{key}")
    if result.kept:
        typer.echo(
            f"kept its media ({len(result.kept)} object(s))"
            + ("" if delete_media else "; --delete-media deletes them")
        )


state_app = Typer(
    help="The publisher's manifest: its kept generations, and bringing one back.",
    no_args_is_help=True,
)
app.add_typer(state_app, name="state")


@state_app.command("list")
@_reports_errors
def state_list(
    ctx: typer.Context,
    storage_url: StorageOption = None,
    state_url: StateOption = None,
) -> None:
    """List the manifest's generations (newest first): when each was written, its episodes.

    Exit codes: 0 done, 2 usage, 3 storage failure."""
    from podcast_tools.publish.generations import list_generations
    from podcast_tools.publish.state import locate, open_locations

    network = _options(ctx).network()
    _, state = open_locations(
        network, locate(network, storage_url=storage_url, state_url=state_url)
    )
    listed = list_generations(state)
    if not listed:
        typer.echo(f"{state.description}: no manifest yet (nothing published)")
        return
    typer.echo(f"{state.description}/manifest.json:")
    typer.echo(f"{'generation':>10}  {'written':<25}  content")
    for generation in listed:
        typer.echo(f"    {generation}")


@state_app.command("restore")
@_reports_errors
def state_restore(
    ctx: typer.Context,
    generation: Annotated[
        Optional[int],
        typer.Argument(
            metavar="GENERATION",
            help="The generation to bring back (see `podcast state list`). Default: the one "
            "before the current manifest (the newest kept, if the current one is damaged).",
        ),
    ] = None,
    storage_url: StorageOption = None,
    state_url: StateOption = None,
) -> None:
    """Bring back a kept generation of the manifest, written as a new generation.

    Only the manifest changes; the next `podcast publish` rewrites the feeds from it, and stops
    rather than drop from a feed an episode the restored generation lacks.

    Exit codes: 0 done, 2 usage (no such generation), 3 storage failure."""
    from podcast_tools.publish.generations import restore
    from podcast_tools.publish.state import locate, open_locations

    network = _options(ctx).network()
    _, state = open_locations(
        network, locate(network, storage_url=storage_url, state_url=state_url)
    )
    restored = restore(state, generation)
    written = restored.manifest
    typer.echo(
        f"{state.description}/manifest.json: generation {restored.source} restored as generation "
        f"{written.generation} ({len(written.episodes)} episode(s))"
    )
    if restored.damaged_copy:
        typer.echo(
            f"the damaged manifest it replaced is kept as {state.description}/"
            f"{restored.damaged_copy}"
        )
    if restored.replaced is not None:
        before, after = set(restored.replaced.episodes), set(written.episodes)
        if before - after:
            typer.echo(
                f"without {len(before - after)} episode(s) the replaced manifest had: "
                + ", ".join(sorted(before - after))
                + " — the next publish stops rather than drop one from a feed (podcast unpublish "
                "takes one down on purpose)"
            )
        if after - before:
            typer.echo(f"with {len(after - before)} episode(s) the replaced manifest lacked")


storage_app = Typer(
    help="The public storage itself: what listeners and web players may read there.",
    no_args_is_help=True,
)
app.add_typer(storage_app, name="storage")


@storage_app.command("setup")
@_reports_errors
def storage_setup(
    ctx: typer.Context,
    storage_url: StorageOption = None,
    state_url: StateOption = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the CORS rules and bucket policy it would set; set nothing."
        ),
    ] = False,
) -> None:
    """Let listeners and web players read what `podcast publish` uploads: for an S3 bucket, set
    CORS rules (GET and HEAD from any origin, with Range: a web player on another site may fetch
    the feeds, chapters and transcripts) and a bucket policy letting anyone read the objects under
    the storage's prefix (never the state). Other rules and statements are kept (but an older
    grant of ours that lets anyone read the state is removed); a second run changes nothing. A
    store without bucket policies gets the CORS rules and a line on what to set in its console.
    For a folder, say what its web server must send.

    Exit codes: 0 done (or already set), 2 usage, 3 storage failure."""
    from podcast_tools.publish.state import locate, open_locations

    network = _options(ctx).network()
    locations = locate(network, storage_url=storage_url, state_url=state_url)
    storage, state = open_locations(network, locations)
    for line in storage.set_up_public_access(dry_run=dry_run, state=state):
        typer.echo(line)


@app.command("check-public")
@_reports_errors
def check_public_command(
    ctx: typer.Context,
    storage_url: StorageOption = None,
    state_url: StateOption = None,
    base_url: Annotated[
        Optional[str],
        typer.Option(
            "--base-url", metavar="URL", help="Ask this address instead of network.toml's base_url."
        ),
    ] = None,
) -> None:
    """Ask base_url, as a listener does (plain unsigned HTTP), whether the feeds and one enclosure
    per feed are readable and the publisher's state (the manifest) is not; one line per check.

    Exit codes: 0 every check holds, 3 a check failed or base_url did not answer."""
    from podcast_tools.publish.public import check_public
    from podcast_tools.publish.state import locate

    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise UsageError(f'--base-url "{base_url}": not an http(s) URL')
    network = _options(ctx).network()
    locations = locate(network, storage_url=storage_url, state_url=state_url)
    findings = check_public(network, locations, base_url=base_url)
    for finding in findings:
        typer.echo(str(finding))
    failed = sum(not finding.ok for finding in findings)
    if failed:
        typer.echo(f"{failed} of {len(findings)} checks failed")
        raise typer.Exit(3)
    typer.echo(f"all {len(findings)} checks ok")


@app.command()
@_reports_errors
def preview(
    ctx: typer.Context,
    port: Annotated[
        int,
        typer.Option("--port", metavar="N", help="Port on 127.0.0.1 (0: any free port)."),
    ] = 8000,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the preview in the web browser.")
    ] = False,
    include_scheduled: Annotated[
        bool,
        typer.Option("--include-scheduled", help="Also serve episodes dated in the future."),
    ] = False,
) -> None:
    """Serve the website, the feeds and the processed media from build/ on 127.0.0.1 only, each
    under the key `podcast publish` would upload it to, with every URL pointing at the preview —
    to listen and click through before publishing. Changed files are picked up as you go."""
    import webbrowser

    from podcast_tools import preview as previewing

    root = _options(ctx).network_root()
    server = previewing.start(
        root,
        port=port,
        include_scheduled=include_scheduled,
        say=lambda line: typer.echo(line, err=True),
    )
    for line in previewing.summary(server):
        typer.echo(line)
    typer.echo(f"serving {server.url} — Ctrl-C stops")
    if open_browser:
        webbrowser.open(server.url)
    previewing.run(server)
    typer.echo("preview stopped")


def _say_drafts(network: Network, drafts: list) -> None:
    if drafts:
        typer.echo(network.drafts_note(drafts), err=True)


def _load_episode(ctx: typer.Context, episode_file: Path):
    """The network (found from the episode file unless --root says) and the episode in it."""
    options = _options(ctx)
    root = options.network_root() if options.root else find_root(episode_file.resolve().parent)
    network = load_checked_network(root)
    episode = network.episode_at(episode_file)
    if episode is None:
        raise UsageError(
            f"{episode_file}: not an episode of the network in {network.root} "
            "(episodes are episodes/<show>/<slug>.md)"
        )
    return root, network, episode


def _summary(network: Network, episode, report) -> str:
    from podcast_tools.formats import FORMATS

    data = report.as_dict()
    loud, edits = data["loudness"], data["edits"]
    after = loud["after"]
    if report.published_as:  # a mastered episode: its MP3 as it is
        from podcast_tools.audio.mastered import loudness_note

        lines = [
            f"{network.display(episode.path)} → {report.output}",
            f"  {report.duration_s:.1f} s, {report.bytes / 1e6:.2f} MB, "
            f"{report.settings.bitrate_kbps} kbps {'stereo' if report.settings.channels == 2 else 'mono'}",
            f"  {loudness_note(report)}; LRA {after['loudness_range_lu']} LU",
        ]
        if report.chapters:
            lines.append(
                "  chapters: " + ", ".join(f"{c.output_s:.1f} s {c.title}" for c in report.chapters)
            )
        return "\n".join(lines)
    lines = [
        f"{network.display(episode.path)} → {report.output}",
        f"  {report.duration_s:.1f} s, {report.bytes / 1e6:.2f} MB, "
        f"{report.settings.bitrate_kbps} kbps {'stereo' if report.settings.channels == 2 else 'mono'}",
        f"  loudness ≈ {loud['expected_mp3_lufs']} LUFS in the MP3 (target {loud['target_lufs']:g}), "
        f"true peak ≤ {after['true_peak_dbtp']} dBTP before encoding (ceiling {loud['true_peak_ceiling_dbtp']:g}), "
        f"LRA {after['loudness_range_lu']} LU (was {loud['before']['loudness_range_lu']})",
        f"  gain {loud['gain_db']:+.1f} dB, limiter up to {abs(loud['limiter_max_reduction_db']):.1f} dB "
        f"on {loud['limiter_active_percent']:.1f} % of the time",
        f"  trimmed {edits['head_trimmed_s']:.2f} s at the start and {edits['tail_trimmed_s']:.2f} s "
        f"at the end; {len(edits['cuts'])} cut(s); intro {edits['intro_s']:.1f} s, outro {edits['outro_s']:.1f} s",
    ]
    for encoded in report.files[1:]:
        lines.append(
            f"  also {encoded.output.name}: {encoded.bytes / 1e6:.2f} MB, "
            f"{encoded.bitrate_kbps} kbps {FORMATS[encoded.format].label}"
            + (f", {encoded.trim_db:+.1f} dB to land on the target" if encoded.trim_db else "")
        )
    if report.chapters:
        lines.append(
            "  chapters: " + ", ".join(f"{c.output_s:.1f} s {c.title}" for c in report.chapters)
        )
    return "\n".join(lines)


class _Display:
    """What a person sees on stderr while work goes on.

    In a terminal (stdout and stderr both): one live rich display — a bar per running task
    (the mastering stage of each episode under way, one per worker process; how many of the
    batch are mastered; uploads in bytes) — with log lines printed above it, never through it. Anywhere else (a pipe, a CI log): one plain line per step, no bars, no ANSI codes.
    """

    def __init__(self, live: Any | None):
        import threading

        self._live = live
        self._tasks: dict[str, Any] = {}
        # mastering workers and the uploader's threads report at once
        self._lock = threading.Lock()

    def say(self, message: str) -> None:
        if self._live is not None:
            self._live.console.print(message, markup=False, highlight=False, soft_wrap=True)
        else:
            typer.echo(message, err=True)

    def progress(self, label: str, done: float, total: float) -> None:
        if self._live is None:
            return
        with self._lock:
            self._update(label, done, total)

    def _update(self, label: str, done: float, total: float) -> None:
        bytes_task = label.startswith(("upload ", "download "))
        detail = (
            f"{done / 1e6:.1f}/{total / 1e6:.1f} MB"
            if bytes_task
            else f"{done:.0f}/{total:.0f}"
            if label == "episodes mastered"
            else f"{done / 60:.1f}/{total / 60:.1f} min"
            if label.startswith("transcribe ") or label.endswith(": transcribe")
            else f"{100 * done / total:3.0f}%"
            if total
            else ""
        )
        task = self._tasks.get(label)
        if task is None:
            # a new stage of the same work ("master <slug>: render") replaces the one before
            owner = label.rsplit(": ", 1)[0]
            for other in [t for t in self._tasks if t.rsplit(": ", 1)[0] == owner]:
                self._live.remove_task(self._tasks.pop(other))
            task = self._tasks[label] = self._live.add_task(
                label, total=total or None, detail=detail
            )
        self._live.update(task, completed=done, total=total or None, detail=detail)
        if total and done >= total:
            self._live.remove_task(task)
            del self._tasks[label]


def _live_terminal() -> bool:
    """A person watches: both output streams are a terminal that can draw."""
    import os

    return sys.stdout.isatty() and sys.stderr.isatty() and os.environ.get("TERM", "") != "dumb"


@contextmanager
def _display(enabled: bool = True):
    """A _Display for the duration of a command; silent when `enabled` is false (--json)."""
    if not enabled:
        yield None
        return
    if not _live_terminal():
        yield _Display(None)
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}", style="bold"),
        BarColumn(bar_width=24),
        TextColumn("{task.fields[detail]}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    ) as live:
        yield _Display(live)


def main() -> None:
    """Entry point of the `podcast` console script."""
    app(prog_name="podcast")
