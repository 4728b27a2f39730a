"""The local predictor: chart screenshot (+ recent bars) → session close, high/low ranges and the
probability of touching a level, with its measured skill against volatility-only baselines.

torch is imported lazily: `import models` and `import models.cli` stay light; only training,
evaluation and inference modules load it (see docs/predictor.md).
"""
