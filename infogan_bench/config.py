"""RunConfig: every knob of a run as one typed, plain-data dataclass, validated at load time.

The same dict goes to the run dir's ``config.yaml``, the checkpoint and (later) ``wandb.config``.
Fields with a ``Literal`` type list their allowed values; the CLI flags are the field names
with ``_`` -> ``-`` (``batch_size`` -> ``--batch-size``).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from infogan_bench.errors import ConfigError, describe, first_line

Dataset = Literal["digits", "mnist", "fashion-mnist", "cifar10"]
GeneratorKind = Literal["transpose", "upsample"]
DNorm = Literal["batch", "spectral"]
QContLoss = Literal["mse", "gaussian-nll"]
AdvLoss = Literal["non-saturating", "hinge"]
QOptimizer = Literal["with-d", "with-g", "separate"]
ContGuidance = Literal["none", "thickness"]
Device = Literal["auto", "cpu", "cuda"]
Autocast = Literal["off", "bf16"]
TrackerKind = Literal["wandb", "none"]
WandbMode = Literal["auto", "online", "offline", "disabled"]
CheckpointUpload = Literal["weights", "full", "none"]

# The role of each field (its `role` metadata), the one place the others are derived from:
#   recipe       what training computes and how it is scored: the W&B group, the report's axes;
#                a resume must keep it
#   length       `steps`: part of the recipe, but a resume may extend it
#   seed         `seed`: a resume must keep it; seeds of one recipe form its group
#   bookkeeping  where data is read and how a run is logged, tracked and checkpointed
#   runner       set by the sweep runner or agent per run (run_dir, resume), never swept
ROLES = ("recipe", "length", "seed", "bookkeeping", "runner")
GROUP_MAX_CHARS = 120  # W&B caps a group name at 128 characters

# Recipe fields whose default depends on the dataset: (the InfoGAN paper's MNIST value, the value
# of the datasets whose own measurements chose another). Such a field defaults to None and gets
# its dataset's value when the config is made. Digits: lambda_cat 2 (reports/digits_default/).
# CIFAR-10: the paper's SVHN D (no linear layer before the heads) and a moving average of G
# (reports/cifar10_screen/). The paper's value is also every dataset's value before it had its
# own: a config.yaml written then, without the field, is read with it (from_saved).
DATASET_DEFAULTS: dict[str, tuple[Any, dict[str, Any]]] = {
    "lambda_cat": (1.0, {"digits": 2.0}),
    "d_fc_layer": (True, {"cifar10": False}),
    "ema_decay": (0.0, {"cifar10": 0.999}),
}


def _doc(text: str, role: str = "recipe", **extra: Any) -> dict[str, Any]:
    assert role in ROLES, role
    return {"help": text, "role": role, **extra}


@dataclass
class RunConfig:
    """Everything that defines a run. Defaults follow the InfoGAN paper's MNIST setup."""

    # data
    dataset: Dataset = field(default="digits", metadata=_doc("dataset to train on"))
    data_dir: str = field(
        default="data",
        metadata=_doc("root folder in torchvision's layout (MNIST/raw/...)", role="bookkeeping"),
    )
    # the four axes
    generator: GeneratorKind = field(
        default="transpose",
        metadata=_doc("G upsampling: 4x4 transposed conv, or nearest x2 + 3x3 conv"),
    )
    d_norm: DNorm = field(
        default="batch", metadata=_doc("D/Q trunk normalisation: BatchNorm or spectral norm")
    )
    q_cont_loss: QContLoss = field(
        default="mse",
        metadata=_doc("Q loss for continuous codes: MSE, or Gaussian NLL with learned sigma"),
    )
    supervised_fraction: float = field(
        default=0.0,
        metadata=_doc(
            "share of real train images whose labels train Q's categorical head", lo=0.0, hi=1.0
        ),
    )
    # the nets' size
    width: float = field(
        default=1.0,
        metadata=_doc(
            "multiplier of every hidden width of G and D/Q (1 = the paper's nets)",
            lo=0.0,
            open_lo=True,
        ),
    )
    d_fc_layer: bool | None = field(
        default=None,
        metadata=_doc(
            "the D/Q trunk ends in a linear layer (1,024 wide at width 1, BatchNorm) before the"
            " heads, as the paper's MNIST D; false: the heads read the last conv's features, as"
            " the paper's SVHN D and DCGAN's"
        ),
    )
    # latent layout
    noise_dim: int = field(default=62, metadata=_doc("incompressible noise z ~ U(-1, 1)", lo=0))
    cat_codes: str = field(
        default="10",
        metadata=_doc(
            "categorical codes: comma-separated class counts, e.g. '10' or '10,10'; 'none'"
        ),
    )
    n_cont_codes: int = field(default=2, metadata=_doc("continuous codes c ~ U(-1, 1)", lo=0))
    # losses and optimisation
    lambda_cat: float | None = field(
        default=None,
        metadata=_doc("weight of the categorical info loss", lo=0.0),
    )
    lambda_cont: float = field(
        default=0.1, metadata=_doc("weight of the continuous info loss", lo=0.0)
    )
    lr_d: float = field(
        default=2e-4, metadata=_doc("Adam learning rate of D and Q", lo=0.0, open_lo=True)
    )
    lr_g: float = field(
        default=1e-3, metadata=_doc("Adam learning rate of G", lo=0.0, open_lo=True)
    )
    adv_loss: AdvLoss = field(
        default="non-saturating",
        metadata=_doc(
            "adversarial loss: non-saturating BCE (paper), or hinge (D: max(0, 1 -/+ logit);"
            " G: -logit)"
        ),
    )
    d_steps: int = field(
        default=1,
        metadata=_doc("D updates per G update, each on a fresh real and generated batch", lo=1),
    )
    ema_decay: float | None = field(
        default=None,
        metadata=_doc(
            "decay of an exponential moving average of G's weights and BatchNorm statistics,"
            " which then draws every sample and score (the raw G's domain scores kept beside);"
            " ramped up as min(decay, (1 + n) / (10 + n)) over the first updates; 0 = off",
            lo=0.0,
            hi=1.0,
            open_hi=True,
        ),
    )
    q_optimizer: QOptimizer = field(
        default="with-d",
        metadata=_doc(
            "where Q's head is optimised: in D's step (paper), in G's step, or in a separate"
            " info step over G, trunk and Q on L_I alone (docs/runs.md: training options)"
        ),
    )
    lr_q: float = field(
        default=0.0,
        metadata=_doc(
            "Adam learning rate of Q's head (separate: of the info step); 0 = lr_d, or lr_g"
            " with q_optimizer with-g",
            lo=0.0,
        ),
    )
    # training options (tricks), each off by default
    label_smoothing: float = field(
        default=0.0,
        metadata=_doc(
            "one-sided label smoothing: D's real target is 1 - S, fake stays 0", lo=0.0, hi=0.5
        ),
    )
    feature_matching: float = field(
        default=0.0,
        metadata=_doc(
            "weight of feature matching in G's loss: squared distance of the mean D-trunk"
            " features of the real and fake batch",
            lo=0.0,
        ),
    )
    cont_guidance: ContGuidance = field(
        default="none",
        metadata=_doc(
            "thickness: continuous code 0 also learns the measured stroke thickness of real"
            " images (1-channel datasets)"
        ),
    )
    real_consistency: float = field(
        default=0.0,
        metadata=_doc(
            "weight of Q's categorical terms on real images: the same category for an image and"
            " an augmented copy, sure categories, balanced over the batch (IMSAT); 0 = off",
            lo=0.0,
            hi=10.0,
        ),
    )
    info_augment: float = field(
        default=0.0,
        metadata=_doc(
            "weight of a second L_cat, on an augmented copy of G's images: Q must read the"
            " categorical code through the random affine, so the code cannot stand for slant,"
            " size or position; 0 = off",
            lo=0.0,
            hi=10.0,
        ),
    )
    augment_strength: float = field(
        default=1.0,
        metadata=_doc(
            "the random affine of real_consistency and info_augment: 1 = rotation ±15°, scale"
            " and shift ±0.1 (of the side); 0 = none",
            lo=0.0,
            hi=3.0,
        ),
    )
    beta1: float = field(default=0.5, metadata=_doc("Adam beta1", lo=0.0, hi=1.0, open_hi=True))
    beta2: float = field(default=0.999, metadata=_doc("Adam beta2", lo=0.0, hi=1.0, open_hi=True))
    batch_size: int = field(default=64, metadata=_doc("images per step", lo=1))
    steps: int = field(
        default=2000,
        metadata=_doc(
            "training steps (d_steps D updates and one G update each)", lo=1, role="length"
        ),
    )
    seed: int = field(
        default=0,
        metadata=_doc("seed of weights, latents, shuffling, label subset", lo=0, role="seed"),
    )
    # run management
    device: Device = field(
        default="auto", metadata=_doc("'auto' takes cuda when available", role="bookkeeping")
    )
    threads: int = field(
        default=0,
        metadata=_doc(
            "CPU threads of this run; 0 = OMP_NUM_THREADS when set, else the CPUs this process"
            " may use (os.sched_getaffinity). Several runs on one machine: split the CPUs",
            lo=0,
            role="bookkeeping",
        ),
    )
    cuda_fast_paths: bool = field(
        default=True,
        metadata=_doc(
            "on a CUDA device: TF32 matmuls and convolutions, cudnn.benchmark and fused Adam"
            " (docs/performance.md: the GPU options); no effect on a CPU",
            role="bookkeeping",
        ),
    )
    autocast: Autocast = field(
        default="off",
        metadata=_doc(
            "bf16: training's forward passes of G and D's trunk under bfloat16 autocast (the"
            " heads, losses, weights, optimiser and scoring stay fp32); for GPUs with bf16 units,"
            " slower on most CPUs",
            role="bookkeeping",
        ),
    )
    compile: bool = field(
        default=False,
        metadata=_doc(
            "torch.compile G and D's parts for training (the first steps wait on compilation)",
            role="bookkeeping",
        ),
    )
    run_dir: str = field(
        default="runs/default",
        metadata=_doc("where config, metrics, checkpoints go", role="runner"),
    )
    resume: bool = field(
        default=False, metadata=_doc("continue the run in run_dir from last.pt", role="runner")
    )
    log_every: int = field(
        default=50, metadata=_doc("steps between metrics.jsonl lines", lo=1, role="bookkeeping")
    )
    eval_every: int = field(
        default=500,
        metadata=_doc(
            "steps between cat_acc on a test subset; 0 = only at the end", lo=0, role="bookkeeping"
        ),
    )
    checkpoint_every: int = field(
        default=500, metadata=_doc("steps between writes of last.pt", lo=1, role="bookkeeping")
    )
    checkpoint_minutes: float = field(
        default=0.0,
        metadata=_doc(
            "also write last.pt at the first log interval this many minutes after the last write"
            " (whichever of the two comes first; 0 = by steps only)",
            lo=0.0,
            role="bookkeeping",
        ),
    )
    score_samples: int = field(
        default=10000,
        metadata=_doc(
            "generated images for FID/KID and code metrics at the end; 0 = cat_acc only", lo=0
        ),
    )
    stop_when_d_won: int = field(
        default=0,
        metadata=_doc(
            "stop the run as failed once D has won (d_separation >= 0.98, docs/runs.md) for this"
            " many steps in a row; 0 = never",
            lo=0,
            role="bookkeeping",
        ),
    )
    snapshot_every: int = field(
        default=0,
        metadata=_doc(
            "steps between kept copies checkpoints/step_N.pt (weights only: to score, not to"
            " resume); 0 = none",
            lo=0,
            role="bookkeeping",
        ),
    )
    progress: bool = field(default=True, metadata=_doc("show a progress bar", role="bookkeeping"))
    # tracking
    tracker: TrackerKind = field(
        default="wandb",
        metadata=_doc("log to Weights & Biases, or only to the run dir", role="bookkeeping"),
    )
    wandb_mode: WandbMode = field(
        default="auto",
        metadata=_doc("W&B mode; 'auto' reads WANDB_MODE, else online", role="bookkeeping"),
    )
    wandb_project: str = field(
        default="infogan-bench", metadata=_doc("W&B project", role="bookkeeping")
    )
    wandb_entity: str = field(
        default="",
        metadata=_doc("W&B entity (user or team); '' = your default", role="bookkeeping"),
    )
    wandb_group: str = field(
        default="",
        metadata=_doc(
            "W&B group; '' = the variant (the recipe's non-default fields), seeds together",
            role="bookkeeping",
        ),
    )
    upload_checkpoints: CheckpointUpload = field(
        default="weights",
        metadata=_doc(
            "what goes to W&B as the model Artifact: the G, D and Q weights of last.pt and best.pt"
            " (enough to sample and evaluate), the full resumable checkpoints, or nothing",
            role="bookkeeping",
        ),
    )
    tags: str = field(default="", metadata=_doc("comma-separated W&B tags", role="bookkeeping"))

    def __post_init__(self) -> None:
        if isinstance(self.upload_checkpoints, bool):  # configs written before the three values
            self.upload_checkpoints = "full" if self.upload_checkpoints else "none"
        for name, (paper, per_dataset) in DATASET_DEFAULTS.items():
            if getattr(self, name) is None:
                setattr(self, name, per_dataset.get(self.dataset, paper))
        for f in dataclasses.fields(self):
            _check_field(f, getattr(self, f.name))
        if not self.cat_class_counts and self.n_cont_codes == 0:
            raise ConfigError("cat_codes/n_cont_codes: need at least one latent code")
        if self.cont_guidance != "none" and self.n_cont_codes == 0:
            raise ConfigError("cont_guidance: needs a continuous code (n_cont_codes is 0)")
        if self.adv_loss == "hinge" and self.label_smoothing > 0:
            raise ConfigError("label_smoothing: applies to the non-saturating loss, not hinge")
        for name in ("supervised_fraction", "real_consistency", "info_augment"):
            if getattr(self, name) > 0 and not self.cat_class_counts:
                raise ConfigError(f"{name}: needs a categorical code (cat_codes is 'none')")

    @property
    def cat_class_counts(self) -> list[int]:
        """Class count of each categorical code, e.g. [10]."""
        return _parse_cat_codes(self.cat_codes)

    @property
    def variant(self) -> str:
        """The recipe without the seed, as a name: its non-default fields as key=value pairs,
        e.g. 'dataset=mnist-d_norm=spectral' ('default' for none); past GROUP_MAX_CHARS, a
        prefix of that and a stable hash of the whole recipe. Seeds of one recipe share it."""
        recipe = self.fields_with_role("recipe", "length")
        defaults = {**RunConfig(dataset=self.dataset).to_dict(), "dataset": RunConfig.dataset}
        pairs = [f"{k}={v}" for k, v in recipe.items() if v != defaults[k]]
        text = "-".join(pairs) or "default"
        if len(text) <= GROUP_MAX_CHARS:
            return text
        digest = hashlib.sha1(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:10]
        return f"{text[: GROUP_MAX_CHARS - 11]}-{digest}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def fields_with_role(self, *roles: str) -> dict[str, Any]:
        """This config's values of the fields whose role is one of `roles`, in field order."""
        return {name: getattr(self, name) for name in names_with_role(*roles)}

    def recipe_differences(self, other: RunConfig) -> list[str]:
        """Fields that differ and that a resume must keep (recipe and seed; steps may grow)."""
        mine, theirs = (
            self.fields_with_role("recipe", "seed"),
            other.fields_with_role("recipe", "seed"),
        )
        return [k for k in mine if mine[k] != theirs[k]]


def names_with_role(*roles: str) -> list[str]:
    """Names of the RunConfig fields whose role is one of `roles`, in field order."""
    unknown = set(roles) - set(ROLES)
    assert not unknown, unknown
    return [f.name for f in dataclasses.fields(RunConfig) if f.metadata["role"] in roles]


def _parse_cat_codes(text: str) -> list[int]:
    if text.strip().lower() in ("", "none"):
        return []
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        counts = []
    if not counts or any(c < 2 for c in counts):
        raise ConfigError(
            f"cat_codes: expected comma-separated class counts >= 2 or 'none', got {text!r}"
        )
    return counts


@functools.cache
def _hints() -> dict[str, Any]:
    """RunConfig's resolved annotations: resolving them costs ~4 ms, and every field of every
    RunConfig is checked against them (without the cache a RunConfig took ~0.2 s to build)."""
    return typing.get_type_hints(RunConfig)


def field_choices(f: dataclasses.Field) -> tuple[Any, ...] | None:
    hint = _hints()[f.name]
    return typing.get_args(hint) if typing.get_origin(hint) is Literal else None


def field_type(f: dataclasses.Field) -> type:
    """The plain Python type of a field: str for Literal fields, T for T | None."""
    hint = _hints()[f.name]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    return str if typing.get_origin(hint) is Literal else hint


def _check_field(f: dataclasses.Field, value: Any) -> None:
    kind = field_type(f)
    ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise ConfigError(f"{f.name}: expected {kind.__name__}, got {value!r}")
    choices = field_choices(f)
    if choices is not None and value not in choices:
        raise ConfigError(f"{f.name}: expected one of {', '.join(choices)}; got {value!r}")
    meta = f.metadata
    if kind in (int, float):
        if kind is float and not math.isfinite(value):
            raise ConfigError(f"{f.name}: expected a finite number, got {value!r}")
        lo, hi = meta.get("lo"), meta.get("hi")
        too_low = lo is not None and (value <= lo if meta.get("open_lo") else value < lo)
        too_high = hi is not None and (value >= hi if meta.get("open_hi") else value > hi)
        if too_low or too_high:
            bound = f"> {lo}" if meta.get("open_lo") else f">= {lo}"
            top = f"< {hi}" if meta.get("open_hi") else f"<= {hi}"
            allowed = f"{bound} and {top}" if hi is not None else bound
            raise ConfigError(f"{f.name}: expected a value {allowed}, got {value!r}")
    if f.name == "cat_codes":
        _parse_cat_codes(value)


def from_dict(values: dict[str, Any]) -> RunConfig:
    """Build a RunConfig, rejecting unknown keys and wrong types with a one-line ConfigError."""
    known = names_with_role(*ROLES)
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown config key(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return RunConfig(**values)


def from_saved(values: dict[str, Any]) -> RunConfig:
    """The config of a run dir's config.yaml: a dataset-dependent field it lacks (written before
    the field existed) takes the paper's value, which every dataset had then, not today's."""
    missing = {k: paper for k, (paper, _) in DATASET_DEFAULTS.items() if k not in values}
    return from_dict({**missing, **values})


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml's safe loader, refusing a key given twice in one mapping (the last would win)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        twice = sorted({str(k) for k in keys if keys.count(k) > 1})
        if twice:
            raise yaml.constructor.ConstructorError(
                None, None, f"key(s) {', '.join(twice)} given more than once", node.start_mark
            )
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping of config values."""
    path = Path(path)
    try:
        values = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (IsADirectoryError, UnicodeDecodeError) as err:
        raise ConfigError(f"config file {path}: not a YAML file ({describe(err)})") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {first_line(err)}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"config file {path}: expected a mapping of field: value")
    return values


def save_yaml(config: RunConfig, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
