"""Render a run as an animated GIF or MP4 for slides: the focus region's network and the ladder, week by week,
with Japanese (or English) labels in the project's shipped font.

    python -m sim.animate scenario=guides_high --out results/guides_high.gif
    python -m sim.animate scenario=baseline regions=two_towns --region 1 --years 5 --lang en --out remote.mp4

Positional arguments are the model's overrides (as for ``python -m sim``); the run uses the Mesa engine,
whose agents the picture shows. The frames are ``sim.workshop.frame_figure``: what the workshop page
shows. A GIF needs nothing more; an MP4 needs ffmpeg (``imageio-ffmpeg`` ships one with the app extra).
The file is written atomically.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from sim.cli import OneLineParser, whole
from sim.config import ConfigError

PROG = "python -m sim.animate"
FORMATS = (".gif", ".mp4")


def render(overrides: Sequence[str], out: str | Path, *, region: int = 0, years: float = 10.0,
           every: int = 4, lang: str = "ja", fps: int = 8, dpi: int = 80) -> Path:
    """Run ``overrides`` on the Mesa engine for ``years`` years and write one frame every ``every`` weeks
    (and the last week) to ``out`` (.gif or .mp4); return the path."""
    from matplotlib import animation

    from sim import workshop as ws
    from sim.config import compose
    from sim.io import atomic_write
    from sim.model import RelationshipModel

    out = Path(out)
    cfg = compose([*overrides, "engine=mesa"])
    if not 0 <= region < cfg.regions.count:
        raise ConfigError(f"--region: {region} is not allowed; allowed: 0-{cfg.regions.count - 1} "
                          f"(a region of the chosen regions table)")
    weeks = max(1, round(years * ws.WEEKS_PER_YEAR))
    model = RelationshipModel(cfg)
    view = ws.network_view(model, region)
    fig = ws.frame_figure(model, view, region, lang, weeks)
    stops = list(range(0, weeks, every)) + [weeks]

    def draw(i: int) -> list:
        while model.week < stops[i]:
            model.step()
        fig.clear()
        ax_net, ax_lad = fig.subplots(1, 2, width_ratios=[1.25, 1])
        ws.draw_network(ax_net, model, view, lang)
        ws.draw_ladder(ax_lad, ws.region_rows(model.table(), region), lang, weeks)
        return []

    anim = animation.FuncAnimation(fig, draw, frames=len(stops), blit=False, repeat=False)
    if out.suffix == ".gif":
        writer: animation.AbstractMovieWriter = animation.PillowWriter(fps=fps)
    else:
        import matplotlib

        try:
            import imageio_ffmpeg

            matplotlib.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()
        except ImportError:  # pragma: no cover - the app extra installs it
            pass
        if not animation.FFMpegWriter.isAvailable():
            raise ConfigError(f"--out: {str(out)!r} needs ffmpeg, which is not installed; allowed: a .gif, or "
                              "install the app extra (pip install -e '.[app]')")
        writer = animation.FFMpegWriter(fps=fps, codec="libx264", extra_args=["-pix_fmt", "yuv420p"])

    def save(tmp: Path) -> None:  # the writers read the format from the file's ending
        named = tmp.with_name(tmp.name + out.suffix)
        try:
            anim.save(str(named), writer=writer, dpi=dpi)
            named.replace(tmp)
        finally:
            named.unlink(missing_ok=True)

    return atomic_write(out, save)


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=PROG, description="Render a run (network and ladder) as an animated GIF or MP4.")
    p.add_argument("overrides", nargs="*", help="model overrides, e.g. scenario=guides_high regions=two_towns")
    p.add_argument("--out", required=True, help="file to write: .gif or .mp4")
    p.add_argument("--region", type=whole(0), default=0, help="row of the regions table to show (default 0)")
    p.add_argument("--years", type=float, default=10.0, help="years to run (default 10)")
    p.add_argument("--every", type=whole(1), default=4, help="weeks between frames (default 4)")
    p.add_argument("--fps", type=whole(1), default=8, help="frames a second (default 8)")
    p.add_argument("--lang", choices=("ja", "en"), default="ja", help="language of the labels (default ja)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, check, render; one-line errors with exit status 2."""
    from sim.config import check_overrides
    from sim.io import OutputError, check_writable

    try:
        args = parser().parse_args(argv)
        out = Path(args.out)
        if out.suffix not in FORMATS:
            raise ConfigError(f"--out: {args.out!r} is not allowed; allowed: a file ending in {' or '.join(FORMATS)}")
        if not 0 < args.years <= 100:
            raise ConfigError(f"--years: {args.years} is not allowed; allowed: more than 0, at most 100")
        check_overrides(list(args.overrides))
        check_writable(out.resolve().parent)
        path = render(args.overrides, out, region=args.region, years=args.years, every=args.every,
                      lang=args.lang, fps=args.fps)
    except (ConfigError, ValueError, OutputError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
