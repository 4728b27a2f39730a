"""The predictor network, in plain torch (torchvision is not usable here, see docs/predictor.md).

    image ──CNN encoder──┐
    recent bars ──LSTM───┼── MLP trunk ──┬─ quantiles of close / high / low (volatility units)
    context ──linear─────┘               └─ P(touch | level distance), as a correction to the
                                            reflection-principle probability

Encoders: "small" (≈ 0.1 M parameters, trains on a CPU), "resnet18" (ResNet-18 layout, 11 M) and
"efficientnet_b0" (EfficientNet-B0 layout, 4 M); the latter two are for a GPU. Importing this
module imports torch: only `models.train`, `models.evaluate` and `models.inference` do.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from models.dataset import CTX_FEATURES, SEQ_FEATURES

QUANTILES = (0.1, 0.5, 0.9)
TARGETS = ("close", "high", "low")
# Level distances (volatility units) the touch head is trained on; any distance works at inference.
TOUCH_GRID = (-2.0, -1.5, -1.0, -0.6, -0.3, 0.3, 0.6, 1.0, 1.5, 2.0)
BGK_BETA = 0.5826  # Broadie–Glasserman–Kou: -zeta(1/2)/sqrt(2*pi)
BACKBONES = ("small", "resnet18", "efficientnet_b0")


@dataclass(frozen=True)
class ModelConfig:
    backbone: str = "small"
    lstm_layers: int = 2
    lstm_hidden: int = 128
    mlp_hiddens: tuple[int, ...] = (256, 128)
    trainable_groups: int = 10
    dropout: float = 0.1
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["mlp_hiddens"] = list(self.mlp_hiddens)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        d = dict(d)
        d["mlp_hiddens"] = tuple(int(x) for x in d.get("mlp_hiddens", (256, 128)))
        return cls(**d)


# -- encoders -------------------------------------------------------------------------------------
def _conv_bn(cin: int, cout: int, k: int, s: int, groups: int = 1,
             act: type[nn.Module] | None = nn.ReLU) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


class SmallCNN(nn.Module):
    """Four strided conv blocks: cheap enough to train on two CPU cores."""

    def __init__(self) -> None:
        super().__init__()
        # A 4x4/4 "patchify" stem: candles are a few pixels wide, and the cheap stem is what
        # makes CPU training practical (the full-resolution first layer dominated the cost).
        stem = nn.Sequential(nn.Conv2d(3, 24, 4, 4, bias=False), nn.BatchNorm2d(24), nn.ReLU())
        self.groups = nn.ModuleList([stem, _conv_bn(24, 48, 3, 2), _conv_bn(48, 96, 3, 2), _conv_bn(96, 96, 3, 1)])
        self.out_dim = 96

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for g in self.groups:
            x = g(x)
        return x.mean(dim=(2, 3))


class _Basic(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.a = _conv_bn(cin, cout, 3, stride)
        self.b = _conv_bn(cout, cout, 3, 1, act=None)
        self.skip = (nn.Identity() if stride == 1 and cin == cout else _conv_bn(cin, cout, 1, stride, act=None))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.b(self.a(x)) + self.skip(x))


class ResNet18(nn.Module):
    """The ResNet-18 layout (BasicBlock x [2, 2, 2, 2], widths 64…512), randomly initialised."""

    def __init__(self) -> None:
        super().__init__()
        stem = nn.Sequential(_conv_bn(3, 64, 7, 2), nn.MaxPool2d(3, 2, 1))
        stages, cin = [], 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            stages.append(nn.Sequential(_Basic(cin, cout, stride), _Basic(cout, cout, 1)))
            cin = cout
        self.groups = nn.ModuleList([stem, *stages])
        self.out_dim = 512

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for g in self.groups:
            x = g(x)
        return x.mean(dim=(2, 3))


class _MBConv(nn.Module):
    def __init__(self, cin: int, cout: int, expand: int, stride: int, k: int) -> None:
        super().__init__()
        mid = cin * expand
        self.use_skip = stride == 1 and cin == cout
        self.expand = _conv_bn(cin, mid, 1, 1, act=nn.SiLU) if expand != 1 else nn.Identity()
        self.dw = _conv_bn(mid, mid, k, stride, groups=mid, act=nn.SiLU)
        se = max(1, cin // 4)
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(mid, se, 1), nn.SiLU(), nn.Conv2d(se, mid, 1),
                                nn.Sigmoid())
        self.project = _conv_bn(mid, cout, 1, 1, act=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dw(self.expand(x))
        y = self.project(y * self.se(y))
        return y + x if self.use_skip else y


class EfficientNetB0(nn.Module):
    """The EfficientNet-B0 layout (MBConv stages with squeeze-excitation), randomly initialised."""

    STAGES = ((1, 16, 1, 1, 3), (6, 24, 2, 2, 3), (6, 40, 2, 2, 5), (6, 80, 3, 2, 3), (6, 112, 3, 1, 5),
              (6, 192, 4, 2, 5), (6, 320, 1, 1, 3))

    def __init__(self) -> None:
        super().__init__()
        groups: list[nn.Module] = [_conv_bn(3, 32, 3, 2, act=nn.SiLU)]
        cin = 32
        for expand, cout, repeats, stride, k in self.STAGES:
            blocks = [_MBConv(cin if i == 0 else cout, cout, expand, stride if i == 0 else 1, k)
                      for i in range(repeats)]
            groups.append(nn.Sequential(*blocks))
            cin = cout
        groups.append(_conv_bn(cin, 1280, 1, 1, act=nn.SiLU))
        self.groups = nn.ModuleList(groups)
        self.out_dim = 1280

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for g in self.groups:
            x = g(x)
        return x.mean(dim=(2, 3))


def make_encoder(name: str) -> nn.Module:
    if name == "small":
        return SmallCNN()
    if name == "resnet18":
        return ResNet18()
    if name == "efficientnet_b0":
        return EfficientNetB0()
    from core.errors import InputError

    raise InputError("backbone", f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")


# -- the predictor --------------------------------------------------------------------------------
def reflection_touch_z(d: torch.Tensor, tau_minutes: torch.Tensor) -> torch.Tensor:
    """P(touch) of a level d volatility units away before the close, zero drift, with the
    Broadie–Glasserman–Kou shift for 1-minute monitoring (in volatility units: beta / sqrt(tau))."""
    x = d.abs() + BGK_BETA / torch.sqrt(tau_minutes.clamp(min=1.0))
    return (2.0 * (1.0 - torch.special.ndtr(x))).clamp(1e-6, 1 - 1e-6)


class Predictor(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = make_encoder(cfg.backbone)
        groups = list(self.encoder.groups)
        frozen = max(0, len(groups) - cfg.trainable_groups)
        for g in groups[:frozen]:  # CNN_TRAINABLE_PARAM_GROUPS: only the last k stages learn
            for p in g.parameters():
                p.requires_grad_(False)
        self.lstm = nn.LSTM(SEQ_FEATURES, cfg.lstm_hidden, num_layers=cfg.lstm_layers, batch_first=True,
                            dropout=cfg.dropout if cfg.lstm_layers > 1 else 0.0)
        self.ctx = nn.Sequential(nn.Linear(CTX_FEATURES, 32), nn.ReLU())
        dims = [self.encoder.out_dim + cfg.lstm_hidden + 32, *cfg.mlp_hiddens]
        trunk: list[nn.Module] = []
        for a, b in itertools.pairwise(dims):
            trunk += [nn.Linear(a, b), nn.ReLU(), nn.Dropout(cfg.dropout)]
        self.trunk = nn.Sequential(*trunk)
        width = dims[-1]
        self.quantiles = nn.Linear(width, len(TARGETS) * len(QUANTILES))
        self.touch = nn.Sequential(nn.Linear(width + 4, 64), nn.ReLU(), nn.Linear(64, 1))
        # Start from the textbook answer (Brownian quantiles, reflection probability): training
        # has to earn every departure from it.
        nn.init.zeros_(self.quantiles.weight)
        with torch.no_grad():
            self.quantiles.bias.copy_(torch.tensor([-1.28, 0.0, 1.28, 0.13, 0.67, 1.64, -1.64, -0.67, -0.13]))
        nn.init.zeros_(self.touch[2].weight)
        nn.init.zeros_(self.touch[2].bias)

    def embed(self, image: torch.Tensor, seq: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        img = self.encoder(image)
        _, (h, _) = self.lstm(seq)
        return self.trunk(torch.cat([img, h[-1], self.ctx(ctx)], dim=1))

    def quantiles_from(self, e: torch.Tensor) -> torch.Tensor:
        """(B, 3 targets, 3 quantiles), sorted so quantiles never cross."""
        q = self.quantiles(e).view(-1, len(TARGETS), len(QUANTILES))
        return torch.sort(q, dim=2).values

    def touch_logit(self, e: torch.Tensor, d: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        """Logits of P(touch) for level distances d (B, K) in volatility units."""
        base = reflection_touch_z(d, tau[:, None])
        k = d.shape[1]
        feats = torch.stack([d, d.abs(), torch.logit(base), torch.sign(d)], dim=2)
        x = torch.cat([e[:, None, :].expand(-1, k, -1), feats], dim=2)
        return torch.logit(base) + self.touch(x).squeeze(2)

    def forward(self, image: torch.Tensor, seq: torch.Tensor, ctx: torch.Tensor, d: torch.Tensor,
                tau: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.embed(image, seq, ctx)
        return self.quantiles_from(e), self.touch_logit(e, d, tau)


def pinball(q: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean pinball loss of (B, T, Q) quantile forecasts against (B, T) outcomes."""
    levels = torch.tensor(QUANTILES, dtype=q.dtype, device=q.device)
    diff = y[:, :, None] - q
    return torch.maximum(levels * diff, (levels - 1) * diff).mean()


def loss_terms(model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(pinball, touch BCE) on one batch; the training loss is their sum."""
    d = torch.tensor(TOUCH_GRID, dtype=torch.float32, device=batch["y"].device).expand(len(batch["y"]), -1)
    q, logit = model(batch["image"], batch["seq"], batch["ctx"], d, batch["tau"])
    y = batch["y"]
    hit = torch.where(d > 0, (y[:, 1:2] >= d).float(), (y[:, 2:3] <= d).float())
    return pinball(q, y), F.binary_cross_entropy_with_logits(logit, hit)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def image_tensor(images: Any) -> torch.Tensor:
    """uint8 (B, H, W, 3) → float (B, 3, H, W) in [-1, 1]."""
    t = torch.as_tensor(images)
    return t.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
