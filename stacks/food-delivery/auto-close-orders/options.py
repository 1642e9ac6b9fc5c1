"""Run options for auto-close-orders: parsing and validation, no I/O."""
import json
import math
from dataclasses import dataclass

DEFAULT_THRESHOLD_HOURS = 2.0
DEFAULT_BATCH_SIZE = 100
MAX_THRESHOLD_HOURS = 24 * 365
MAX_BATCH_SIZE = 10000


class ValidationError(Exception):
    """A client error; the message names the offending field."""


@dataclass(frozen=True)
class RunOptions:
    dry_run: bool
    threshold_hours: float
    batch_size: int

    @property
    def threshold_seconds(self):
        return max(1, int(round(self.threshold_hours * 3600)))


def _positive_number(value, field, maximum):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationError(f"{field} must be a positive number")
    if value <= 0:
        raise ValidationError(f"{field} must be a positive number")
    if value > maximum:
        raise ValidationError(f"{field} must be at most {maximum}")
    return value


def _positive_integer(value, field, maximum):
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be a positive integer")
    return int(_positive_number(value, field, maximum))


def defaults_from_env(env):
    """(threshold hours, batch size) from AUTO_CLOSE_TIME_HOURS / BATCH_SIZE.

    A malformed value falls back to the built-in default rather than breaking
    every cron run.
    """
    try:
        hours = _positive_number(float(env.get("AUTO_CLOSE_TIME_HOURS", DEFAULT_THRESHOLD_HOURS)),
                                 "AUTO_CLOSE_TIME_HOURS", MAX_THRESHOLD_HOURS)
    except (ValueError, ValidationError):
        hours = DEFAULT_THRESHOLD_HOURS
    try:
        batch = _positive_integer(float(env.get("BATCH_SIZE", DEFAULT_BATCH_SIZE)),
                                  "BATCH_SIZE", MAX_BATCH_SIZE)
    except (ValueError, ValidationError):
        batch = DEFAULT_BATCH_SIZE
    return float(hours), batch


def parse_run_options(body, env):
    """Options from an optional JSON body {dryRun, thresholdHours, batchSize}.

    An empty body (the cron trigger) means a normal run with the env defaults.
    """
    hours, batch = defaults_from_env(env)
    if isinstance(body, (bytes, bytearray)):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError("body is not valid JSON") from None
    if body is None or not body.strip():
        return RunOptions(False, hours, batch)
    try:
        payload = json.loads(body)
    except ValueError:
        raise ValidationError("body is not valid JSON") from None
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise ValidationError("body must be a JSON object")
    dry_run = payload.get("dryRun", False)
    if dry_run is None:
        dry_run = False
    if not isinstance(dry_run, bool):
        raise ValidationError("dryRun must be true or false")
    if payload.get("thresholdHours") is not None:
        hours = float(_positive_number(payload["thresholdHours"], "thresholdHours", MAX_THRESHOLD_HOURS))
    if payload.get("batchSize") is not None:
        batch = _positive_integer(payload["batchSize"], "batchSize", MAX_BATCH_SIZE)
    return RunOptions(dry_run, hours, batch)
