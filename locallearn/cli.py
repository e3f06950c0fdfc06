"""Command line: ``python -m locallearn COMMAND ...``.

Commands
--------
run PROTOCOL [--device D] [--quick] [--seed N] [--set KEY=VALUE ...] --out DIR [--overwrite]
    Run one protocol and write its run directory.
figures [NAME ...] [--quick] [--out DIR] [--cache DIR] [--device D]
    Regenerate paper figures (running protocols only where no cached result exists).
params PROTOCOL
    List a protocol's parameters with defaults, units and descriptions.
list
    List protocols and figures.

Bad input (unknown protocol, device or parameter, malformed values, wrong shapes, bad time
constants, equations Brian2 rejects, an output directory that is not empty) prints one line
``locallearn: error: ...`` naming the parameter, writes nothing, and exits with status 2.
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


def _add_run_options(p, with_out=True):
    from .devices import DEVICES, DEFAULT_DEVICE

    p.add_argument("--device", default=DEFAULT_DEVICE, metavar="|".join(DEVICES),
                   help=f"simulation device (default {DEFAULT_DEVICE})")
    p.add_argument("--quick", action="store_true", help="the quick configuration")
    p.add_argument("--seed", default="1", help="random seed (default 1)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter or equation string, e.g. --set dt=0.05*ms")
    p.add_argument("--threads", default="0", help="OpenMP threads for cpp_standalone (0: off)")
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
    parser = _Parser(prog="locallearn", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("run", help="run one protocol")
    p.add_argument("protocol")
    _add_run_options(p)
    p.add_argument("--allow-unstable", action="store_true",
                   help="dynamics: accept a target A with eigenvalues of positive real part")

    p = sub.add_parser("figures", help="regenerate paper figures")
    p.add_argument("names", nargs="*", help="figure names (default: all)")
    p.add_argument("--quick", action="store_true", help="quick default size")
    p.add_argument("--out", default=os.path.join("results", "figures"),
                   help="where PNG and PDF files go (default results/figures)")
    p.add_argument("--cache", default=None,
                   help="run-directory cache (default: <out>/../runs)")
    p.add_argument("--device", default=None, help="device for runs that are not cached")
    p.add_argument("--rerun", action="store_true", help="ignore cached results")

    p = sub.add_parser("params", help="list a protocol's parameters")
    p.add_argument("protocol")

    sub.add_parser("list", help="list protocols and figures")
    return parser


def _cmd_run(args):
    from .protocol import run_protocol
    from . import results

    seed = _int_arg("--seed", args.seed)
    threads = _int_arg("--threads", args.threads)
    overrides = parse_sets(args.set)
    if args.allow_unstable:
        overrides["allow_unstable"] = "true"
    try:
        res = run_protocol(args.protocol, quick=args.quick, overrides=overrides,
                           device=args.device, seed=seed, out=args.out,
                           overwrite=args.overwrite, threads=threads)
    except DivergenceError as exc:
        if exc.result is not None:
            results.save(exc.result, args.out, overwrite=True)
            print(f"locallearn: {exc} (kept what was recorded in {args.out})", file=sys.stderr)
        else:
            print(f"locallearn: {exc}", file=sys.stderr)
        return 3
    keys = [k for k, v in res.metrics.items() if isinstance(v, (int, float))]
    width = max(len(k) for k in keys) if keys else 0
    print(f"wrote {os.path.abspath(args.out)}")
    for k in keys:
        print(f"  {k:<{width}}  {res.metrics[k]:.6g}")
    return 0


def _cmd_params(args):
    from .protocol import get_protocol
    from .params import field_paths, format_value, _field_meta

    proto = get_protocol(args.protocol)
    cfg = proto.config_class()
    print(f"{proto.name}: {proto.doc}")
    print(f"--quick sets: " + ", ".join(f"{k}={v}" for k, v in proto.quick.items()))
    for name, path in sorted(field_paths(cfg).items(), key=lambda kv: (len(kv[1]), kv[0])):
        if "." in name:
            continue
        meta = _field_meta(cfg, path)
        if not meta:
            continue
        obj = cfg
        for p in path:
            obj = getattr(obj, p)
        value = format_value(meta, obj)
        if isinstance(value, str) and "\n" in value.strip():
            value = "<equations: " + str(len(value.strip().splitlines())) + " lines>"
        print(f"  {name:<18} {str(value):<28} {meta['doc']}")
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


def _cmd_figures(args):
    from locallearn.figures import make_figures

    make_figures(args.names, quick=args.quick, out=args.out, cache=args.cache,
                 device=args.device, rerun=args.rerun)
    return 0


def main(argv=None):
    """Entry point; returns the exit status (0 ok, 1 device failure, 2 bad input, 3 diverged,
    130 interrupted)."""
    try:
        args = build_parser().parse_args(argv)
        handler = dict(run=_cmd_run, figures=_cmd_figures, params=_cmd_params,
                       list=_cmd_list)[args.command]
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
