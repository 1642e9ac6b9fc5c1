import pytest

from options import RunOptions, ValidationError, defaults_from_env, parse_run_options

ENV = {"AUTO_CLOSE_TIME_HOURS": "2", "BATCH_SIZE": "100"}


@pytest.mark.parametrize("body", [b"", b"  \n", None, b"{}", b"null"])
def test_empty_body_is_a_normal_run_with_env_defaults(body):
    assert parse_run_options(body, ENV) == RunOptions(False, 2.0, 100)


def test_body_overrides_defaults():
    opts = parse_run_options(b'{"dryRun": true, "thresholdHours": 0.5, "batchSize": 10}', ENV)
    assert opts == RunOptions(True, 0.5, 10)
    assert opts.threshold_seconds == 1800


def test_integral_float_batch_size_is_accepted():
    assert parse_run_options(b'{"batchSize": 20.0}', ENV).batch_size == 20


@pytest.mark.parametrize("body,field", [
    (b'{"thresholdHours": 0}', "thresholdHours"),
    (b'{"thresholdHours": -1}', "thresholdHours"),
    (b'{"thresholdHours": "2"}', "thresholdHours"),
    (b'{"thresholdHours": true}', "thresholdHours"),
    (b'{"thresholdHours": 1e9}', "thresholdHours"),
    (b'{"batchSize": 0}', "batchSize"),
    (b'{"batchSize": 2.5}', "batchSize"),
    (b'{"batchSize": "10"}', "batchSize"),
    (b'{"batchSize": 100000}', "batchSize"),
    (b'{"dryRun": "yes"}', "dryRun"),
    (b'{"dryRun": 1}', "dryRun"),
    (b"[1, 2]", "JSON object"),
    (b"{oops", "JSON"),
])
def test_invalid_options_name_the_field(body, field):
    with pytest.raises(ValidationError) as err:
        parse_run_options(body, ENV)
    assert field in str(err.value)


def test_env_defaults_and_fallbacks():
    assert defaults_from_env({}) == (2.0, 100)
    assert defaults_from_env({"AUTO_CLOSE_TIME_HOURS": "6", "BATCH_SIZE": "25"}) == (6.0, 25)
    assert defaults_from_env({"AUTO_CLOSE_TIME_HOURS": "soon", "BATCH_SIZE": "-3"}) == (2.0, 100)


def test_tiny_threshold_still_at_least_one_second():
    assert RunOptions(False, 0.00001, 1).threshold_seconds == 1
