"""Settings of the churn and upgrade propensity models: horizons, data thresholds, retraining."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import InvalidInput

TARGETS = ("churn", "upgrade")


@dataclass(frozen=True, slots=True)
class PropensityConfig:
    """Horizons are the label windows after a cutoff; below the data thresholds the rules
    score instead of a model; a stored model older than `max_model_age_days` is retrained."""

    churn_horizon_days: int = 90
    upgrade_horizon_days: int = 60
    upgrade_ratio: float = 1.5
    min_rows: int = 200
    min_class_rows: int = 20
    max_model_age_days: int = 30
    regularization: float = 1.0
    calibration_folds: int = 5
    reasons: int = 3
    currency: str = "USD"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("churn_horizon_days", "upgrade_horizon_days"):
            value = getattr(self, name)
            if not 7 <= value <= 365:
                raise InvalidInput(f"must be between 7 and 365 days, got {value}", field=name)
        if self.upgrade_ratio <= 1:
            raise InvalidInput(f"must be above 1, got {self.upgrade_ratio}", field="upgrade_ratio")
        if self.min_rows < 10 or self.min_class_rows < 2:
            raise InvalidInput(
                "at least 10 labelled customers and 2 of each class are needed to fit",
                field="min_rows",
            )
        if self.max_model_age_days < 0:
            raise InvalidInput("must be 0 or more", field="max_model_age_days")
        if self.regularization <= 0:
            raise InvalidInput("must be above 0", field="regularization")
        if not 2 <= self.calibration_folds <= 20:
            raise InvalidInput("must be between 2 and 20", field="calibration_folds")
        if not 1 <= self.reasons <= 10:
            raise InvalidInput("must be between 1 and 10", field="reasons")

    def horizon(self, target: str) -> int:
        """The label window of the target, in days."""
        if target == "churn":
            return self.churn_horizon_days
        if target == "upgrade":
            return self.upgrade_horizon_days
        raise ValueError(f"unknown target {target!r}")
