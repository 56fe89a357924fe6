"""Produced sound (docs/mastering.md, "Produced sound"): the built-in stages a show switches on with
`mastering.leveler`, `mastering.denoise` and `mastering.dehum`, in chain order:

    dehum → denoise → leveler

Hum goes first (the denoiser then sees a cleaner noise floor), the leveler last (it evens out
the speech the listener will hear; the gain and the limiter follow it, as for every stage).
Importing this module registers the three stages and sets their places in the chain.
"""

from __future__ import annotations

from podcast_tools.audio import dehum as _dehum  # noqa: F401  (each registers its stage)
from podcast_tools.audio import denoise as _denoise  # noqa: F401
from podcast_tools.audio import leveler as _leveler  # noqa: F401
from podcast_tools.audio.stages import STAGES
from podcast_tools.content.models import STAGE_SETTINGS, Mastering, StageSettings

#: The three stages' places in the chain (`stages.chain_order`; other stages run between the
#: denoiser and the leveler, at DEFAULT_ORDER 50), whatever order they were imported in.
CHAIN_ORDER = {"dehum": 10, "denoise": 20, "leveler": 90}
for _name, _order in CHAIN_ORDER.items():
    STAGES[_name].order = _order  # type: ignore[attr-defined]

#: Each produced-sound setting of `Mastering`: the stage it switches, and the stage setting its
#: value goes to (None: the setting is only on/off).
SWITCHES: dict[str, tuple[str, str | None]] = {
    "dehum": ("dehum", "mains"),
    "denoise": ("denoise", "strength"),
    "leveler": ("leveler", None),
}
OFF = {"dehum": "off", "denoise": "off", "leveler": False}


def produced_stages(mastering: Mastering) -> dict[str, StageSettings]:
    """`mastering.stages` with the built-in stages its produced-sound settings switch on.

    The setting is the switch: `leveler = true` turns the leveler on (with the knobs of a
    `[mastering.stages.leveler]` table, if the show has one), `false` turns it off whatever the
    table says; `denoise = "light"` turns the denoiser on at that strength; and so on."""
    stages = dict(mastering.stages)
    for setting, (stage, field) in SWITCHES.items():
        value = getattr(mastering, setting)
        table = stages.pop(stage, None)
        if value == OFF[setting]:
            continue
        update: dict[str, object] = {"enabled": True}
        if field is not None:
            update[field] = value
        base = table if table is not None else STAGE_SETTINGS[stage]()
        stages[stage] = base.model_copy(update=update)
    return stages


__all__ = ["CHAIN_ORDER", "OFF", "SWITCHES", "produced_stages"]
