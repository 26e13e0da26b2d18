"""Predictors: load a model once, score clips or batches; `liveness predict` per the contract."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from liveness.backends import Backend, open_backend
from liveness.clip import Clip, ClipError, read_clip
from liveness.config import LivenessConfig
from liveness.decision import clip_agreement, clip_relief, decide
from liveness.face import Face, FaceCheck, FaceDetector, face_check
from liveness.motion import Agreement, Relief
from liveness.preprocess import preprocess_clip

MODELS = Path(__file__).parent / "models"
# The served default: the bundled model exported to float32 TFLite (LiteRT, no PyTorch, the
# fastest runtime measured here; docs/PERFORMANCE.md). default.pt is the same network's
# checkpoint, the source of every export.
BUNDLED = MODELS / "default.tflite"
BUNDLED_CHECKPOINT = MODELS / "default.pt"


@dataclass
class Predictor:
    """A loaded model plus its configuration: the one object the CLI and the server use.

    `face` (the bundled BlazeFace detector) rejects captures without a face in the guide oval
    before they are scored; None skips that check. `overlap`: assess() runs a capture's motion
    check on a second thread beside the face check and the network (OpenCV, LiteRT and NumPy's
    large operations release the GIL): the same verdict, sooner, where a core is free.
    """

    backend: Backend
    config: LivenessConfig
    source: str
    face: FaceDetector | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # the export sidecar (sha256, version…)
    overlap: bool = True
    _side: ThreadPoolExecutor | None = field(default=None, init=False, repr=False, compare=False)
    _side_pid: int = field(default=0, init=False, repr=False, compare=False)

    def check_face(self, clip: Clip) -> FaceCheck | None:
        return None if self.face is None else face_check(clip.frames, self.face)

    @property
    def threshold(self) -> float:
        return self.config.threshold

    def predict_arrays(self, video: np.ndarray, imu: np.ndarray, present: np.ndarray) -> np.ndarray:
        return self.backend(video, imu.astype(np.float32), present)

    def motion(self, clip: Clip) -> Agreement | None:
        """The motion agreement of a capture (all its frames against its gyro; None without
        sensors)."""
        return clip_agreement(clip, self.config)

    def relief(
        self, clip: Clip, fc: FaceCheck | None = None, motion: Agreement | None = None
    ) -> Relief | None:
        """The face-flatness cue of a capture when this model's fusion or gate uses it, else
        None; on the face the face check `fc` found, when given (MotionConfig.relief_region),
        or on the tracks of the capture's agreement `motion` (MotionConfig.relief_source)."""
        faces = fc.faces if fc is not None else None
        return clip_relief(clip, self.config, faces=faces, motion=motion)

    def predict_inputs(
        self,
        items: list[dict[str, Any]],
        motions: list[Agreement | None] | None = None,
        reliefs: list[Relief | None] | None = None,
    ) -> list[dict[str, Any]]:
        """Score preprocessed clips (outputs of preprocess_clip) as one batch and decide each
        (liveness.decision) with its motion agreement and face-flatness cue (None: not
        measured)."""
        return self._decided(self._scores(items), items, motions, reliefs)

    def _scores(self, items: list[dict[str, Any]]) -> np.ndarray:
        """The network's scores (B,) for preprocessed clips, as one batch."""
        video = np.stack([it["video"] for it in items])
        imu = np.stack([it["imu"] for it in items])
        present = np.array([bool(it["imu_present"]) for it in items])
        return self.predict_arrays(video, imu, present)

    def _decided(
        self,
        scores: np.ndarray,
        items: list[dict[str, Any]],
        motions: list[Agreement | None] | None,
        reliefs: list[Relief | None] | None,
    ) -> list[dict[str, Any]]:
        motions = motions if motions is not None else [None] * len(items)
        reliefs = reliefs if reliefs is not None else [None] * len(items)
        out = []
        for s, it, m, r in zip(scores, items, motions, reliefs, strict=True):
            d = decide(float(s), bool(it["imu_present"]), m, self.config, r).to_dict()
            if it.get("accel_flipped"):  # recorded: which sign convention the client used
                d["accel_sign_flipped"] = True
            out.append(d)
        return out

    def no_face_result(self, clip: Clip, reason: str) -> dict[str, Any]:
        """The verdict for a readable capture without a face: refused by policy, score 0, as
        the motion gate's refusals are (and as `liveness evaluate` and `calibrate` count it);
        not an "error", which the contract keeps for clips that cannot be read."""
        return {
            "live": False,
            "score": 0.0,
            "threshold": round(self.config.threshold, 6),
            "modalities": self.config.modalities(clip.imu is not None),
            "reasons": [{"code": "no_face", "message": reason}],
            "rejected": "no_face",
        }

    def assess(
        self,
        clip: Clip,
        timing: dict[str, float] | None = None,
        faces: dict[int, list[Face]] | None = None,
    ) -> tuple[dict[str, Any], Agreement | None]:
        """The whole verdict for one capture: face check, network, motion agreement, policy;
        and the agreement itself (None without sensors or without a face). A capture without a
        face is refused like any policy refusal (no_face_result). `timing`, when given,
        receives the seconds spent in "model" (face check, preprocessing, network), "motion"
        (the agreement, on the side thread with `overlap`, and the face-flatness cue) and
        "wait" (how long the verdict waited for the agreement); `faces` the face check's
        whole-frame detections by frame index (FaceCheck.faces, for the challenge judge). With
        `overlap` a capture refused for no face has had its motion check run all the same."""
        t0 = time.perf_counter()
        # The motion check needs only the frames and the IMU: it starts at once, on the side
        # thread when there is one, and is waited for where the fusion needs it.
        side = self._side_thread()
        pending: Future[tuple[Agreement | None, float]] | None = None
        if side is not None and clip.imu is not None:
            pending = side.submit(self._timed_motion, clip)
        # The flatness cue on its own tracks needs only the frames and the face box: measured
        # while the side thread still tracks the motion; on the motion check's tracks
        # (MotionConfig.relief_source), once those are there.
        own = self.config.motion.relief_source == "own"
        try:
            fc = self.check_face(clip)
            if fc is not None and faces is not None:
                faces.update(fc.faces)
            if fc is not None and not fc.ok:
                return self.no_face_result(clip, fc.reason), None
            box = fc.box() if fc is not None else None
            item = preprocess_clip(clip, self.config.preprocess, face_box=box)
            score = self._scores([item])
            t1 = time.perf_counter()
            flat = self.relief(clip, fc) if own else None
            t2 = time.perf_counter()
            motion, t_motion = pending.result() if pending is not None else self._timed_motion(clip)
            pending = None
        finally:
            if pending is not None:  # a refusal or an error above: nothing left running
                wait([pending])
        t3 = time.perf_counter()
        if not own:
            flat = self.relief(clip, fc, motion)
        t4 = time.perf_counter()
        out = self._decided(score, [item], [motion], [flat])[0]
        if timing is not None:
            # "motion": the check's own time (on the side thread it overlaps "model"), plus
            # the flatness cue; "wait": how long the verdict waited for the motion check.
            timing.update(model=t1 - t0 + time.perf_counter() - t4,
                          motion=t_motion + (t2 - t1) + (t4 - t3), wait=t3 - t2)  # fmt: skip
        return out, motion

    def _timed_motion(self, clip: Clip) -> tuple[Agreement | None, float]:
        t0 = time.perf_counter()
        m = self.motion(clip)
        return m, time.perf_counter() - t0

    def _side_thread(self) -> ThreadPoolExecutor | None:
        """One side thread per predictor and process, made on first use: a pool inherited
        through a fork has no thread behind it, and work sent to it would never run."""
        if not self.overlap:
            return None
        if self._side is None or self._side_pid != os.getpid():
            self._side = ThreadPoolExecutor(1, thread_name_prefix="motion")
            self._side_pid = os.getpid()
        return self._side


def load_predictor(
    path: str | os.PathLike[str] | None = None, threads: int = 1, check_face: bool = True
) -> Predictor:
    """Load a model file once; the runtime is picked from the file (.pt PyTorch, .onnx ONNX
    Runtime, .tflite LiteRT) and everything else comes from the configuration it carries.
    Without a path: the bundled default model. `threads` holds for the network, the face
    detector and OpenCV's motion tracking (process-wide: one predictor per process)."""
    import cv2

    p = Path(path) if path is not None else BUNDLED
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such model file")
    cv2.setNumThreads(threads)
    backend, cfg, meta = open_backend(p, threads)
    face = FaceDetector(threads=threads) if check_face else None
    return Predictor(backend, cfg, str(p), face, meta)


def predict_paths(
    predictor: Predictor, clips: Iterable[str], batch_size: int = 8
) -> Iterator[dict[str, Any]]:
    """One result per clip, in order; an unreadable clip gives {"clip", "error"} and the rest go on;
    a clip without a face is refused: {"clip", "live": false, "score": 0, ..., "rejected":
    "no_face", "reasons": [{"code": "no_face", "message"}]} (Predictor.no_face_result).

    Clips are read and preprocessed one by one and scored in batches of `batch_size`.
    """
    pending: list[tuple[str, dict[str, Any], Agreement | None, Relief | None]] = []

    def flush() -> Iterator[dict[str, Any]]:
        if pending:
            res = predictor.predict_inputs(
                [p[1] for p in pending], [p[2] for p in pending], [p[3] for p in pending]
            )
            for (path, *_), r in zip(pending, res, strict=True):
                yield {"clip": path, **r}
            pending.clear()

    for path in clips:
        try:
            clip = read_clip(path)
            fc = predictor.check_face(clip)
            box = fc.box() if fc is not None else None
            item = preprocess_clip(clip, predictor.config.preprocess, face_box=box)
        except (ClipError, OSError, ValueError) as e:
            yield from flush()
            yield {"clip": path, "error": str(e)}
            continue
        if fc is not None and not fc.ok:
            # Not scored: a capture without a face is refused with its reason.
            yield from flush()
            yield {"clip": path, **predictor.no_face_result(clip, fc.reason)}
            continue
        motion = predictor.motion(clip)
        pending.append((path, item, motion, predictor.relief(clip, fc, motion)))
        if len(pending) >= batch_size:
            yield from flush()
    yield from flush()
