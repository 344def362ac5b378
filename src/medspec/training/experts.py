"""PediatricsGPT's mixture of universal-specific LoRA experts.

Each adapted linear layer keeps its frozen base weight and gains one universal LoRA expert, always on at weight 1,
and T specific LoRA experts mixed per token by a softmax router with learned Gaussian noise:

``G(x) = softmax(x·W_g + ε·softplus(x·W_n))``, ε ~ N(0, 1) in training only, and
``y = W x + (α/r) · (Σ_j G_j(x) · B_j A_j x + B_u A_u x)``.

Only the experts, the router ``W_g`` and the noise projection ``W_n`` train. The adapter saves to a folder
(``experts_config.json`` and ``experts.safetensors``) and loads back onto the same base.

Example:
    >>> import torch
    >>> layer = ExpertsLinear(torch.nn.Linear(8, 4), num_experts=3, r=2, alpha=4)
    >>> layer.eval()(torch.randn(5, 8)).shape
    torch.Size([5, 4])
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from medspec.errors import ConfigError

__all__ = [
    "EXPERTS_CONFIG",
    "ExpertsConfig",
    "ExpertsLinear",
    "RoutingRecorder",
    "add_experts",
    "expected_trainable_parameters",
    "load_experts",
    "save_experts",
]

EXPERTS_CONFIG = "experts_config.json"
_WEIGHTS = "experts.safetensors"
_ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class ExpertsConfig:
    """The experts adapter.

    Attributes:
        num_experts: Specific experts per layer (T; the paper uses 3).
        r: Rank of every expert.
        alpha: Scaling numerator (updates are scaled by ``alpha / r``).
        dropout: Dropout on the experts' input.
        target_modules: Linear layers to adapt by name suffix; ``["all-linear"]`` for every linear layer of the
            decoder blocks.
        noise: Learned Gaussian noise in the router while training.
    """

    num_experts: int = 3
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["all-linear"])
    noise: bool = True

    def __post_init__(self) -> None:
        if self.num_experts < 1:
            raise ConfigError("num_experts", f"must be at least 1, got {self.num_experts}")
        if self.r < 1:
            raise ConfigError("r", f"must be at least 1, got {self.r}")
        if not 0 <= self.dropout < 1:
            raise ConfigError("dropout", f"must be in [0, 1), got {self.dropout}")

    def targets(self) -> tuple[str, ...]:
        """Module name suffixes to adapt."""
        return _ALL_LINEAR if self.target_modules == ["all-linear"] else tuple(self.target_modules)


class ExpertsLinear(nn.Module):
    """A frozen linear layer with one universal and ``num_experts`` routed specific LoRA experts.

    Args:
        base: The linear layer to adapt (its weights are frozen).
        num_experts: Specific experts (T).
        r: Rank.
        alpha: Scaling numerator.
        dropout: Input dropout of the experts.
        noise: Learned router noise while training.
    """

    def __init__(
        self, base: nn.Linear, *, num_experts: int, r: int, alpha: int, dropout: float = 0.0, noise: bool = True
    ) -> None:
        super().__init__()
        self.base = base
        for parameter in base.parameters():
            parameter.requires_grad_(False)
        fan_in, fan_out = base.in_features, base.out_features
        self.scaling = alpha / r
        self.noise = noise
        self.dropout = nn.Dropout(dropout)
        device, dtype = base.weight.device, base.weight.dtype
        # A is initialised like nn.Linear, B at zero: the layer starts exactly as the base.
        self.universal_a = nn.Parameter(torch.empty(fan_in, r, device=device, dtype=dtype))
        self.universal_b = nn.Parameter(torch.zeros(r, fan_out, device=device, dtype=dtype))
        self.experts_a = nn.Parameter(torch.empty(num_experts, fan_in, r, device=device, dtype=dtype))
        self.experts_b = nn.Parameter(torch.zeros(num_experts, r, fan_out, device=device, dtype=dtype))
        self.router = nn.Linear(fan_in, num_experts, bias=False, device=device, dtype=dtype)
        self.noise_projection = nn.Linear(fan_in, num_experts, bias=False, device=device, dtype=dtype)
        bound = 1 / math.sqrt(fan_in)
        for weight in (self.universal_a, self.experts_a):
            nn.init.uniform_(weight, -bound, bound)
        nn.init.zeros_(self.router.weight)  # uniform routing and unit noise scale at the start (Shazeer et al.)
        nn.init.zeros_(self.noise_projection.weight)
        self.last_gates: torch.Tensor | None = None

    def gates(self, x: torch.Tensor) -> torch.Tensor:
        """Router weights over the specific experts, (..., T); noisy only in training."""
        logits = self.router(x)
        if self.training and self.noise:
            logits = logits + torch.randn_like(logits) * F.softplus(self.noise_projection(x))
        return torch.softmax(logits, dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.dropout(x)  # (..., in)
        gates = self.gates(x)  # (..., T)
        self.last_gates = gates.detach()
        specific = torch.einsum("...i,tir->...tr", h, self.experts_a)  # (..., T, r)
        specific = torch.einsum("...tr,tro->...o", specific * gates.unsqueeze(-1), self.experts_b)  # (..., out)
        universal = (h @ self.universal_a) @ self.universal_b  # (..., out), weight 1
        return self.base(x) + self.scaling * (specific + universal)


def _targets(model: nn.Module, config: ExpertsConfig) -> Iterator[tuple[str, nn.Linear]]:
    suffixes = config.targets()
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and name.split(".")[-1] in suffixes and "lm_head" not in name:
            yield name, module


def add_experts(model: nn.Module, config: ExpertsConfig) -> nn.Module:
    """Freeze the model and replace its target linear layers by :class:`ExpertsLinear`; returns the model.

    Raises:
        ConfigError: When no module matches ``target_modules``.
    """
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    targets = list(_targets(model, config))
    if not targets:
        raise ConfigError("target_modules", f"no linear layer is named {', '.join(config.targets())}")
    for name, linear in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(
            parent,
            child,
            ExpertsLinear(
                linear,
                num_experts=config.num_experts,
                r=config.r,
                alpha=config.alpha,
                dropout=config.dropout,
                noise=config.noise,
            ),
        )
    model.experts_config = config  # type: ignore[assignment]
    return model


def expected_trainable_parameters(shapes: list[tuple[int, int]], config: ExpertsConfig) -> int:
    """Trainable parameters the experts add to linear layers of the given (in, out) shapes."""
    t, r = config.num_experts, config.r
    return sum((t + 1) * r * (fan_in + fan_out) + 2 * fan_in * t for fan_in, fan_out in shapes)


def save_experts(model: nn.Module, folder: str | Path) -> Path:
    """Write the experts' config and weights (experts, routers, noise projections only) to ``folder``."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().contiguous() for k, v in model.state_dict().items() if _is_expert_key(k)}
    save_file(weights, str(folder / _WEIGHTS))
    (folder / EXPERTS_CONFIG).write_text(json.dumps(asdict(model.experts_config), indent=1), encoding="utf-8")
    return folder


def _is_expert_key(key: str) -> bool:
    return any(
        part in key for part in ("universal_a", "universal_b", "experts_a", "experts_b", ".router.", "noise_projection")
    )


def load_experts(model: nn.Module, folder: str | Path) -> nn.Module:
    """Apply a saved experts adapter to a base model; returns the model.

    Raises:
        ConfigError: When the saved weights do not fit the model.
    """
    from safetensors.torch import load_file

    from medspec.config import from_dict

    folder = Path(folder)
    config = from_dict(ExpertsConfig, json.loads((folder / EXPERTS_CONFIG).read_text(encoding="utf-8")))
    add_experts(model, config)
    weights = load_file(str(folder / _WEIGHTS))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    missing_experts = [k for k in missing if _is_expert_key(k)]
    if missing_experts or unexpected:
        raise ConfigError(
            "experts", f"{folder} does not fit this model: missing {missing_experts[:3]}, unexpected {unexpected[:3]}"
        )
    return model


class RoutingRecorder:
    """Collects mean router weights per expert, grouped by a label (a task name), across all expert layers.

    Each :meth:`label` block records the routing of the last forward pass made inside it.

    Example:
        >>> recorder = RoutingRecorder(model)  # doctest: +SKIP
        >>> with recorder.label("diagnosis"):  # doctest: +SKIP
        ...     model(**batch)
        >>> recorder.means()  # doctest: +SKIP
        {'diagnosis': [0.41, 0.27, 0.32]}
    """

    def __init__(self, model: nn.Module) -> None:
        self.layers = [m for m in model.modules() if isinstance(m, ExpertsLinear)]
        self._sums: dict[str, torch.Tensor] = {}
        self._counts: dict[str, int] = {}

    @contextlib.contextmanager
    def label(self, name: str) -> Iterator[None]:
        """Attribute the routing of forward passes inside the block to ``name``."""
        yield
        for layer in self.layers:
            if layer.last_gates is not None:
                flat = layer.last_gates.reshape(-1, layer.last_gates.shape[-1]).float()
                self._sums[name] = self._sums.get(name, 0) + flat.sum(0)
                self._counts[name] = self._counts.get(name, 0) + flat.shape[0]

    def means(self) -> dict[str, list[float]]:
        """Mean router weight of each specific expert, per label."""
        return {name: (total / self._counts[name]).tolist() for name, total in self._sums.items()}
