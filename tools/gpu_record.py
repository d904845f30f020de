"""Record fer-cnn on a GPU machine whose image has no TensorFlow (Keras 3 on JAX), call by call.

The device tool carries at most 64 MiB, and ``fer2013.npz`` is 78.5 MB, so the faces travel
packed: each pixel as its difference from the median edge predictor of JPEG-LS (LOCO-I), then
LZMA (53.7 MB for the 35,887 faces). ``unpack`` rebuilds the arrays there and checks their
sha256 against the originals' before anything trains.

Here, once (``.gpu`` and ``.whl`` listed in ``.git/info/exclude``)::

    python tools/gpu_record.py pack --data-dir ../shared/datasets --out .gpu
    pip wheel --no-deps -w .whl .
    pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 -d .whl keras==3.15.1 namex==0.1.0 optree==0.20.0

There: the device tool's ``run`` with ``carry = [".gpu", ".whl"]`` and ``timeout_s = 600``
(the H200 image has JAX 0.11.2, NumPy, pandas, scikit-learn, but no Keras and no TensorFlow;
installing and unpacking take about 12 s there)::

    export PYTHONUNBUFFERED=1 KERAS_BACKEND=jax
    python3 -m pip install -q --no-index --no-deps --target "$PWD/.site" .whl/*.whl
    export PYTHONPATH="$PWD/.site"
    python3 tools/gpu_record.py unpack --src .gpu --out "$PWD/.data"
    python3 tools/gpu_record.py run --data-dir "$PWD/.data" --out "$OUT" --seconds 510 --workers 14

And here again, with the files it brought back (``files_at``), before committing::

    for t in FILES_AT/*.tar.gz; do tar xzf "$t" -C results/recordings-in-progress/gpu; done

A rehearsal on CPU, with the wheels installed here the same way (minutes): ``run --data-dir
../shared/datasets --out /tmp/rehearsal --seconds 150 --workers 2 --epochs 1 --wide-configs 8
--subset train=300,val=100,test=100 --resume-from <an empty folder>`` (the recordings under
the default ``--resume-from`` are of the full data: a phase refuses to go on with them).

``run`` records, with ``tunebench record --workers N`` on ``KERAS_BACKEND=jax``, float32 at
JAX's ``highest`` matmul precision (no TF32), one configuration per chunk, three recordings
in turn until ``--seconds`` have passed:

1. ``check``: the committed CPU recording's design (read from its ``recording.json``: 48
   Latin-hypercube + 8 grid points, seed 0) at 10 epochs, so the two backends can be compared
   configuration by configuration (``studies/compare_recordings.py``);
2. ``wide``: a larger design at 10 epochs (``--wide-configs`` Latin-hypercube points and the
   same grid points): more configurations for the surrogate (the re-seeding of
   ``studies/reseed_spread.py`` says a second seed of each configuration would lift its held-out
   Spearman more);
3. ``long``: the design of phase 1 at ``--long-epochs`` epochs (evidence for a longer
   fidelity).

No call finishes all three: on the H200 14 workers finish a configuration every 12 s or so
(41 of the 56 in the first 510 s, 2026-12-04). So each phase goes on from the chunks already
under ``--resume-from/<phase>/fer-cnn`` (the repository's ``results/recordings-in-progress/gpu``,
which travels with the working tree), and later calls pick up where this one stopped.

Each phase's recording comes back as ``<phase>.tar.gz`` (holding ``<phase>/fer-cnn/``) under
``--out``, with ``run.log``. The tarball is made again whenever a chunk lands, so a call killed
from outside still brings back every chunk finished (each is written atomically).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import lzma
import math
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

SPLITS = ("train", "val", "test")
PACKED = "fer2013.med.xz"
SMALL = "fer2013.small.npz"
INDEX = "fer2013.json"
REPO = Path(__file__).resolve().parents[1]
#: Where the GPU recordings in progress are kept between calls, one folder per phase.
RESUME_FROM = Path("results/recordings-in-progress/gpu")


def med_prediction(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """JPEG-LS's median edge predictor from the left (a), upper (b) and upper-left (c) pixels."""
    high, low = np.maximum(a, b), np.minimum(a, b)
    return np.where(c >= high, low, np.where(c <= low, high, a + b - c))


def med_residuals(faces: np.ndarray) -> np.ndarray:
    """Each pixel minus its prediction, modulo 256 (outside pixels count as 0)."""
    x = faces.astype(np.int16)
    a, b, c = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
    a[:, :, 1:], b[:, 1:, :], c[:, 1:, 1:] = x[:, :, :-1], x[:, :-1, :], x[:, :-1, :-1]
    return (x - med_prediction(a, b, c)).astype(np.uint8)


def med_faces(residuals: np.ndarray) -> np.ndarray:
    """The inverse of :func:`med_residuals`: pixel by pixel, every face at once."""
    count, rows, cols = residuals.shape
    x = np.zeros((count, rows, cols), np.int16)
    zero = np.zeros(count, np.int16)
    for i in range(rows):
        for j in range(cols):
            a = x[:, i, j - 1] if j else zero
            b = x[:, i - 1, j] if i else zero
            c = x[:, i - 1, j - 1] if i and j else zero
            x[:, i, j] = (residuals[:, i, j].astype(np.int16) + med_prediction(a, b, c)) % 256
    return x.astype(np.uint8)


def digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def pack(data_dir: Path, out: Path) -> None:
    source = np.load(data_dir / "fer2013.npz")
    faces = np.concatenate([source[f"x_{split}"] for split in SPLITS])
    out.mkdir(parents=True, exist_ok=True)
    (out / PACKED).write_bytes(lzma.compress(med_residuals(faces).tobytes(), preset=9 | lzma.PRESET_EXTREME))
    small = {f"y_{split}": source[f"y_{split}"] for split in SPLITS} | {"class_names": source["class_names"]}
    np.savez_compressed(out / SMALL, **small)
    index = {"counts": [len(source[f"x_{split}"]) for split in SPLITS], "shape": list(faces.shape[1:]),
             "sha256": {f"x_{split}": digest(source[f"x_{split}"]) for split in SPLITS}}
    (out / INDEX).write_text(json.dumps(index, indent=2) + "\n")
    print(f"packed {len(faces)} faces into {(out / PACKED).stat().st_size / 1e6:.1f} MB")


def unpack(src: Path, out: Path) -> None:
    index = json.loads((src / INDEX).read_text())
    residuals = np.frombuffer(lzma.decompress((src / PACKED).read_bytes()), np.uint8)
    faces = med_faces(residuals.reshape(-1, *index["shape"]))
    arrays = dict(np.load(src / SMALL))
    for split, (start, end) in zip(SPLITS, _bounds(index["counts"])):
        arrays[f"x_{split}"] = faces[start:end]
        if digest(arrays[f"x_{split}"]) != index["sha256"][f"x_{split}"]:
            sys.exit(f"unpack: x_{split} does not match its sha256 in {src / INDEX}")
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "fer2013.npz", **arrays)
    print(f"unpacked {len(faces)} faces into {out / 'fer2013.npz'}, sha256 checked")


def _bounds(counts: list[int]) -> list[tuple[int, int]]:
    ends = np.cumsum(counts)
    return [(int(end - count), int(end)) for count, end in zip(counts, ends)]


#: ``tunebench record`` in a fresh interpreter where TensorFlow cannot be imported.
RECORD = ("import sys\nsys.modules['tensorflow'] = None\n"
          "from tunebench.cli import main\nsys.exit(main(sys.argv[1:]))\n")


def record_phase(name: str, record_args: list[str], work: Path, out: Path, seconds: float, log) -> None:
    """Run one phase in ``work/<name>`` until done or ``seconds`` have passed (then its process
    group is killed). ``out/<name>.tar.gz`` holds its recording as ``<name>/fer-cnn/``, made
    again whenever ``recording.json`` changed (so a call killed from outside still brings back
    what was finished) and at the end. Exits where the phase failed on its own without a new
    chunk (a broken install, or a recording under ``--resume-from`` of other settings: nothing
    later would run)."""
    started = time.monotonic()
    folder = work / name
    args = [sys.executable, "-c", RECORD, "record", "fer-cnn", *record_args, "--chunk-size", "1",
            "--out", str(folder)]
    print(f"[{name}] {' '.join(args[3:])} (at most {seconds:.0f} s)", file=log, flush=True)
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=work, start_new_session=True)
    before = _chunks(folder)
    packed = _meta_bytes(folder)
    while process.poll() is None:
        left = seconds - (time.monotonic() - started)
        if left <= 0:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            print(f"[{name}] stopped at its deadline", file=log, flush=True)
            break
        try:
            process.wait(timeout=min(SNAPSHOT_SECONDS, left))
        except subprocess.TimeoutExpired:
            current = _meta_bytes(folder)
            if current != packed:
                packed = current
                _pack_phase(folder, name, out)
    if process.returncode > 0 and _chunks(folder) == before:
        sys.exit(f"[{name}] failed (exit {process.returncode}) without a new chunk: see {out / 'run.log'}")
    _pack_phase(folder, name, out)
    print(f"[{name}] {time.monotonic() - started:.0f} s, exit {process.returncode}, {len(_chunks(folder))} chunks",
          file=log, flush=True)


#: How often a running phase looks for newly finished chunks to pack (seconds).
SNAPSHOT_SECONDS = 30


def _chunks(folder: Path) -> list[Path]:
    return sorted((folder / "fer-cnn").glob("chunk-*.csv.gz"))


def _meta_bytes(folder: Path) -> bytes | None:
    try:
        return (folder / "fer-cnn" / "recording.json").read_bytes()
    except FileNotFoundError:
        return None


def _pack_phase(folder: Path, name: str, out: Path) -> None:
    """``out/<name>.tar.gz`` from ``folder/fer-cnn``, replaced atomically: ``recording.json`` as
    read first, then every chunk file (each written atomically), so every chunk it lists is in."""
    meta = _meta_bytes(folder)
    if meta is None:
        return
    partial = out / f".{name}.tar.gz"
    with tarfile.open(partial, "w:gz") as tar:
        info = tarfile.TarInfo(f"{name}/fer-cnn/recording.json")
        info.size, info.mtime = len(meta), int(time.time())
        tar.addfile(info, io.BytesIO(meta))
        for chunk in _chunks(folder):
            tar.add(chunk, arcname=f"{name}/fer-cnn/{chunk.name}")
    partial.replace(out / f"{name}.tar.gz")


#: The repository's source folders and where each lands in the installed package.
PACKAGE_DIRS = {"tunebench": ".", "datasets": "datasets", "models": "models", "strategies": "strategies",
                "benchmarks": "benchmarks"}


def check_installed() -> None:
    """Exit unless the tunebench that the phases import (from outside the repository, whose
    folders would shadow it) holds this repository's sources: a stale wheel once recorded with
    models compiled the old way."""
    found = subprocess.run([sys.executable, "-c", "import os, tunebench; print(os.path.dirname(tunebench.__file__))"],
                           cwd=tempfile.gettempdir(), capture_output=True, text=True)
    if found.returncode != 0:
        sys.exit(f"tunebench is not importable outside the repository:\n{found.stderr[-2000:]}")
    installed = Path(found.stdout.strip())
    stale = []
    for folder, target in PACKAGE_DIRS.items():
        for source in sorted((REPO / folder).rglob("*.py")):
            copy = installed / target / source.relative_to(REPO / folder)
            if not copy.is_file() or copy.read_bytes() != source.read_bytes():
                stale.append(str(source.relative_to(REPO)))
    if stale:
        sys.exit(f"the installed tunebench ({installed}) differs from the repository in {', '.join(stale[:5])}"
                 f"{' ...' if len(stale) > 5 else ''}: build the wheel again (pip wheel --no-deps -w .whl .)")


def committed_design() -> dict[str, int]:
    """The committed CPU recording's design (``configs``, ``grid_configs``, ``seed``, ``chunk_size``)."""
    return json.loads((REPO / "results/recordings/fer-cnn/recording.json").read_text())["design"]


def seconds_needed(folder: Path, epochs: int, check_epochs: int) -> float:
    """About how long one configuration of ``epochs`` epochs takes with every worker busy: the
    median chunk wall time of the ``check`` recording in ``folder`` scaled by epochs (60 s where
    it has none)."""
    meta = _meta_bytes(folder / "check")
    walls = [chunk["wall_seconds"] for chunk in json.loads(meta)["chunks"].values()] if meta else []
    return float(np.median(walls)) * epochs / check_epochs if walls else 60.0


def is_finished(folder: Path) -> bool:
    """Every configuration recorded and the surrogate's quality stored."""
    meta = _meta_bytes(folder)
    if meta is None:
        return False
    meta = json.loads(meta)
    return bool(meta.get("surrogate_quality")) and len(meta["chunks"]) >= meta.get("total_configs", math.inf)


def run(data_dir: Path, out: Path, seconds: float, workers: int, epochs: int, long_epochs: int,
        subset: str | None, wide_configs: int, resume_from: Path) -> None:
    """The three phases in turn, each resuming its recording under ``resume_from/<phase>/``
    where one is there, while at least one configuration's time is left."""
    deadline = time.monotonic() + seconds
    check_installed()
    os.environ.update(KERAS_BACKEND="jax", XLA_PYTHON_CLIENT_PREALLOCATE="false",
                      JAX_DEFAULT_MATMUL_PRECISION="highest", TF_CPP_MIN_LOG_LEVEL="2")
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="gpu-record-"))  # the phases' folders: --out brings back files only
    design = committed_design()
    common = ["--data-dir", str(data_dir.resolve()), "--workers", str(workers), "--seed", str(design["seed"]),
              "--grid-configs", str(design["grid_configs"])] + (["--subset", subset] if subset else [])
    phases = [("check", design["configs"], epochs), ("wide", wide_configs, epochs), ("long", design["configs"], long_epochs)]
    with open(out / "run.log", "a", encoding="utf-8") as log:
        for name, configs, phase_epochs in phases:
            if (resume_from / name / "fer-cnn").is_dir():
                shutil.copytree(resume_from / name / "fer-cnn", work / name / "fer-cnn")
            left, needed = deadline - time.monotonic(), seconds_needed(work, phase_epochs, epochs)
            if is_finished(work / name):
                print(f"[{name}] finished already", file=log, flush=True)
                continue
            if left < needed:
                print(f"[{name}] not started: {left:.0f} s left, a configuration takes about {needed:.0f} s",
                      file=log, flush=True)
                break
            print(f"[{name}] {len(_chunks(work / name))} chunks to go on from", file=log, flush=True)
            record_phase(name, ["--configs", str(configs), "--epochs", str(phase_epochs), *common], work, out, left, log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    packing = commands.add_parser("pack", help="pack ../shared/datasets/fer2013.npz to carry")
    packing.add_argument("--data-dir", type=Path, required=True)
    packing.add_argument("--out", type=Path, default=Path(".gpu"))
    unpacking = commands.add_parser("unpack", help="rebuild fer2013.npz from a pack, checked")
    unpacking.add_argument("--src", type=Path, default=Path(".gpu"))
    unpacking.add_argument("--out", type=Path, required=True)
    running = commands.add_parser("run", help="the three recording phases")
    running.add_argument("--data-dir", type=Path, required=True)
    running.add_argument("--out", type=Path, required=True)
    running.add_argument("--seconds", type=float, default=510)
    running.add_argument("--workers", type=int, default=14)
    running.add_argument("--epochs", type=int, default=10)
    running.add_argument("--long-epochs", type=int, default=30)
    running.add_argument("--wide-configs", type=int, default=192, help="the wide design's Latin-hypercube points")
    running.add_argument("--resume-from", type=Path, default=REPO / RESUME_FROM,
                         help="a folder with <phase>/fer-cnn recordings to go on with (default: %(default)s)")
    running.add_argument("--subset", help="a data subset (a CPU rehearsal)")
    args = parser.parse_args()
    if args.command == "pack":
        pack(args.data_dir, args.out)
    elif args.command == "unpack":
        unpack(args.src, args.out)
    else:
        run(args.data_dir, args.out, args.seconds, args.workers, args.epochs, args.long_epochs, args.subset,
            args.wide_configs, args.resume_from)


if __name__ == "__main__":
    main()
