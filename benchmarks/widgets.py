"""How fast the train/eval widgets react and how long their static frames take to build.

Goals: a control change redraws in <= 200 ms in a live kernel (default sizes); building
every precomputed frame for the site adds <= 30 s to the book build. Run::

    .venv/bin/python benchmarks/widgets.py
"""
import statistics

from labkit.widgets import BatchNormExplorer, DropoutExplorer


def redraws(explorer, control, values, rounds=3):
    """Wall and CPU seconds of each redraw while ``control`` cycles through ``values``."""
    wall, cpu = [], []
    for _ in range(rounds):
        for value in values:
            explorer.controls[control].value = value
            wall.append(explorer.redraw_seconds)
            cpu.append(explorer.redraw_cpu_seconds)
    return wall, cpu


def main():
    cases = [("dropout explorer", DropoutExplorer, "p", ("0.25", "0.5", "0.75")),
             ("batchnorm explorer", BatchNormExplorer, "steps", ("10", "50", "200"))]
    total_precompute = 0.0
    for name, make, control, values in cases:
        static = make(static=True)
        total_precompute += static.precompute_seconds
        print(f"{name:20s} precomputes {len(static.frames):3d} frames in {static.precompute_seconds:5.1f} s")
        static.close()
        live = make(static=False)
        wall, cpu = redraws(live, control, values)
        live.close()
        verdict = "ok" if statistics.median(wall) <= 0.2 else "OVER GOAL"
        print(f"{name:20s} redraw: median {statistics.median(wall) * 1e3:5.0f} ms wall, "
              f"{statistics.median(cpu) * 1e3:5.0f} ms CPU, max {max(wall) * 1e3:5.0f} ms (goal <= 200 ms)  {verdict}")
    verdict = "ok" if total_precompute <= 30 else "OVER GOAL"
    print(f"all frames precomputed in {total_precompute:.1f} s (goal <= 30 s)  {verdict}")


if __name__ == "__main__":
    main()
