"""Command line: ``python -m locallearn COMMAND ...``.

Commands
--------
run PROTOCOL [--device D] [--quick] [--seed N] [--set KEY=VALUE ...] --out DIR [--overwrite]
    Run one protocol and write its run directory. Long runs proceed in segments of
    ``checkpoint_every`` with checkpoints in DIR/checkpoints. Progress reports (run, sweep) show
    at a terminal; ``--progress`` asks for them when output goes to a file or pipe.
run --resume DIR
    Continue an interrupted run from its last checkpoint.
sweep PROTOCOL --grid KEY=V1,V2,... [--grid ...] [--workers N] [--scheduler ADDRESS] --out DIR
    Run every point of a grid (compiled once per structure), one tidy table of all points.
figures [NAME ...] [--quick] [--set KEY=VALUE ...] [--out DIR] [--cache DIR] [--device D] [--jobs N]
    Regenerate paper figures (running protocols only where no cached result exists); --set goes
    to every protocol run of the figures.
params PROTOCOL [--set KEY=VALUE ...]
    List a protocol's parameters with defaults, units and descriptions (equations in full).
show PROTOCOL [--quick] [--set KEY=VALUE ...]
    Every resolved equation string of the network as built, with the parameters it reads, their
    values and units.

Every command that takes a protocol also takes ``--plugin FILE.py`` (repeatable): a file of rule
definitions (see ``locallearn.definitions``) whose rules then work wherever a built-in name does.
list
    List protocols and figures.
bench [--quick] [--only NAME ...]
    Benchmarks printing ratios measured side by side (bench/run_bench.py).

Bad input (unknown protocol, device or parameter, malformed values, wrong shapes, bad time
constants, equations Brian2 rejects, an output directory that is not empty) prints one line
``locallearn: error: ...`` naming the parameter, writes nothing, and exits with status 2. So do
a configuration whose memory estimate exceeds the memory available (see `locallearn.memory`), a
run directory that another process is writing (its process id is named, see
`locallearn.runlock`) and a resume whose checkpoints are all damaged.
"""

import argparse
import os
import sys

from .errors import ConfigError, DeviceError, DivergenceError

__all__ = ["main", "parse_sets"]


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit status 2)."""

    def error(self, message):
        raise ConfigError("", f"{self.prog}: {message}")


def parse_sets(items):
    """``["KEY=VALUE", ...]`` -> ordered dict; `ConfigError` for an item without ``=``."""
    out = {}
    for item in items or []:
        if "=" not in item or not item.split("=", 1)[0].strip():
            raise ConfigError("--set", f"expected KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = value
    return out


def _add_plugin_option(p):
    p.add_argument("--plugin", action="append", default=[], metavar="FILE.py",
                   help="load rule definitions from a file (repeatable)")


def _add_run_options(p, with_out=True):
    from .devices import DEVICES, DEFAULT_DEVICE

    _add_plugin_option(p)
    p.add_argument("--device", default=DEFAULT_DEVICE, metavar="|".join(DEVICES),
                   help=f"simulation device (default {DEFAULT_DEVICE})")
    p.add_argument("--quick", action="store_true", help="the quick configuration")
    p.add_argument("--seed", default="1", help="random seed (default 1)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter or equation string, e.g. --set dt=0.05*ms")
    p.add_argument("--threads", default="0", help="OpenMP threads for cpp_standalone (0: off)")
    p.add_argument("--progress", action="store_true",
                   help="progress reports even when output is not a terminal")
    if with_out:
        p.add_argument("--out", required=True, help="run directory to create")
        p.add_argument("--overwrite", action="store_true",
                       help="replace the contents of a non-empty --out directory")


def _int_arg(name, text, lo=0):
    try:
        v = int(text)
    except (TypeError, ValueError):
        raise ConfigError(name, f"expected an integer >= {lo}, got {text!r}") from None
    if v < lo:
        raise ConfigError(name, f"expected an integer >= {lo}, got {v}")
    return v


def build_parser():
    """The argument parser (exposed for documentation and tests)."""
    from . import __version__

    parser = _Parser(prog="locallearn", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"locallearn {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("run", help="run one protocol")
    p.add_argument("protocol", nargs="?")
    _add_run_options(p, with_out=False)
    p.add_argument("--out", help="run directory to create")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the contents of a non-empty --out directory")
    p.add_argument("--resume", metavar="DIR", help="continue the interrupted run in DIR")
    p.add_argument("--allow-unstable", action="store_true",
                   help="dynamics: accept a target A with eigenvalues of positive real part")

    p = sub.add_parser("sweep", help="run a parameter grid, compiling once per structure")
    p.add_argument("protocol")
    _add_run_options(p)
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="values of one parameter (repeat for a product grid)")
    p.add_argument("--workers", default="1", help="local worker processes (default 1)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address (tcp://...)")

    p = sub.add_parser("figures", help="regenerate paper figures")
    p.add_argument("names", nargs="*", help="figure names (default: all but the on-demand ones, "
                   "e.g. mnist1d)")
    p.add_argument("--quick", action="store_true", help="quick default size")
    p.add_argument("--out", default=os.path.join("results", "figures"),
                   help="where PNG and PDF files go (default results/figures)")
    p.add_argument("--cache", default=None,
                   help="run-directory cache (default: <out>/../runs)")
    p.add_argument("--device", default=None, help="device for runs that are not cached")
    p.add_argument("--rerun", action="store_true", help="ignore cached results")
    p.add_argument("--jobs", default=str(min(2, os.cpu_count() or 1)),
                   help="protocol runs at once (default: min(2, CPUs))")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter of every protocol run of the figures")
    p.add_argument("--progress", action="store_true",
                   help="progress bars and reports even when output is not a terminal")
    _add_plugin_option(p)

    p = sub.add_parser("params", help="list a protocol's parameters")
    p.add_argument("protocol")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    _add_plugin_option(p)

    p = sub.add_parser("show", help="every resolved equation string with the values it reads")
    p.add_argument("protocol")
    p.add_argument("--quick", action="store_true", help="the quick configuration")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    _add_plugin_option(p)

    sub.add_parser("list", help="list protocols and figures")

    sub.add_parser("bench", help="benchmarks (ratios measured side by side); "
                   "python -m locallearn bench --help")
    return parser


def _progress(args):
    """Progress reports (Brian2's report, tqdm): on at a terminal, else only with --progress."""
    return bool(getattr(args, "progress", False)) or (sys.stdout.isatty() and sys.stderr.isatty())


def _cmd_run(args):
    from .protocol import resume_run, run_protocol

    seed = _int_arg("--seed", args.seed)
    threads = _int_arg("--threads", args.threads)
    overrides = parse_sets(args.set)
    if args.allow_unstable:
        overrides["allow_unstable"] = "true"
    if args.resume:
        if args.protocol or overrides or args.out:
            raise ConfigError("--resume", "takes only the run directory (its config.json holds "
                              "the protocol and parameters)")
        out = args.resume
    else:
        if not args.protocol:
            raise ConfigError("protocol", "give a protocol (python -m locallearn list)")
        if not args.out:
            raise ConfigError("--out", "give the run directory to create (--out DIR)")
        out = args.out
    try:
        if args.resume:
            res = resume_run(out, report=_progress(args))
        else:
            res = run_protocol(args.protocol, quick=args.quick, overrides=overrides,
                               device=args.device, seed=seed, out=out,
                               overwrite=args.overwrite, threads=threads,
                               report=_progress(args))
    except DivergenceError as exc:
        print(f"locallearn: {exc}; kept what was recorded in {out} (status: diverged)",
              file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print(f"locallearn: interrupted; continue with: python -m locallearn run --resume {out}",
              file=sys.stderr)
        return 130
    args.out = out
    keys = [k for k, v in res.metrics.items() if isinstance(v, (int, float))]
    width = max(len(k) for k in keys) if keys else 0
    print(f"wrote {os.path.abspath(args.out)}")
    for k in keys:
        print(f"  {k:<{width}}  {res.metrics[k]:.6g}")
    return 0


def _cmd_sweep(args):
    from .sweep import run_sweep

    table = run_sweep(args.protocol, args.grid, args.out, quick=args.quick,
                      sets=parse_sets(args.set), seed=_int_arg("--seed", args.seed),
                      device=args.device, workers=_int_arg("--workers", args.workers, lo=1),
                      scheduler=args.scheduler, threads=_int_arg("--threads", args.threads),
                      overwrite=args.overwrite, progress=_progress(args))
    print(f"wrote {os.path.abspath(args.out)} ({len(table)} points)")
    print(table.to_string(index=False, max_cols=12))
    return 0


def _cmd_params(args):
    from .protocol import get_protocol, make_config
    from .memory import describe as describe_memory
    from .params import field_paths, format_value, get_path, _field_meta

    proto = get_protocol(args.protocol)
    cfg = make_config(proto, overrides=parse_sets(args.set))
    print(f"{proto.name}: {proto.doc}")
    print("--quick sets: " + ", ".join(f"{k}={v}" for k, v in proto.quick.items()))
    equations = []
    for name, path in sorted(field_paths(cfg).items(), key=lambda kv: (len(kv[1]), kv[0])):
        if "." in name:
            continue
        meta = _field_meta(cfg, path)
        if not meta or meta["kind"] == "params":
            continue
        value = format_value(meta, get_path(cfg, path))
        if isinstance(value, str) and "\n" in value.strip():
            equations.append((name, meta["doc"], value.strip()))
            continue
        print(f"  {name:<18} {str(value):<28} {meta['doc']}")
    for name, doc, text in equations:  # in full, after the scalar parameters
        print(f"\n  {name}: {doc}")
        print("\n".join("      " + line for line in text.splitlines()))
    print("\n" + describe_memory(proto, cfg))
    return 0


def _cmd_show(args):
    from .show import show

    print(show(args.protocol, quick=args.quick, overrides=parse_sets(args.set)))
    return 0


def _cmd_list(args):
    from .protocol import get_protocol, protocol_names
    from locallearn.figures import FIGURES

    print("protocols:")
    for n in protocol_names():
        print(f"  {n:<14} {get_protocol(n).doc}")
    print("figures:")
    for n, mod in FIGURES.items():
        print(f"  {n:<14} {mod.TITLE}")
    return 0


def _cmd_bench(bench_args):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.isfile(os.path.join(root, "bench", "run_bench.py")):
        raise ConfigError("bench", f"bench/ not found next to the package ({root}); run from a "
                          "source checkout")
    sys.path.insert(0, root)
    from bench.run_bench import main as bench_main

    return bench_main(bench_args)


def _cmd_figures(args):
    from locallearn.figures import make_figures

    make_figures(args.names, quick=args.quick, out=args.out, cache=args.cache,
                 device=args.device, rerun=args.rerun, jobs=_int_arg("--jobs", args.jobs, lo=1),
                 overrides=parse_sets(args.set), progress=_progress(args))
    return 0


def main(argv=None):
    """Entry point; returns the exit status (0 ok, 1 device failure, 2 bad input, 3 diverged,
    130 interrupted)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] == "bench":  # its own options, see bench/run_bench.py
            return _cmd_bench(argv[1:])
        args = build_parser().parse_args(argv)
        if getattr(args, "plugin", None):
            from .definitions import load_plugin

            for path in args.plugin:
                load_plugin(path)
        handler = dict(run=_cmd_run, sweep=_cmd_sweep, figures=_cmd_figures,
                       params=_cmd_params, show=_cmd_show, list=_cmd_list)[args.command]
        return handler(args)
    except ConfigError as exc:
        print(f"locallearn: error: {exc}", file=sys.stderr)
        return 2
    except DeviceError as exc:
        print(f"locallearn: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("locallearn: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a command that stopped reading (| head)
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
