"""How YAML scalars of scenario files and ``--set`` values become typed settings: one rule for
numbers (no text for numbers, YAML 1.2's ``1e3`` is a number) and for text (a bare number is
refused with a hint to quote it)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cli_helpers import TINY_LAYOUT, fails_cleanly

from hierarchy.settings import apply_settings
from hierarchy.train import TrainConfig
from scenarios import apply_overrides, load_scenario, parse_assignment
from scenarios.safe_yaml import SafeDumper, parse_yaml
from warehouse.errors import InputError


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e3", 1000.0),
        ("-2E-2", -0.02),
        ("+1e5", 100000.0),
        ("1.5e3", 1500.0),  # YAML 1.1 wants a sign in the exponent: PyYAML read '1.5e3' as text
        ("2.e1", 20.0),
        (".5e1", 5.0),
        ("1.0e+3", 1000.0),  # (YAML 1.1 already read these)
        ("0.5", 0.5),
        (".inf", float("inf")),
        ("12", 12),
        ("1e", "1e"),  # not numbers: stay text
        ("e3", "e3"),
        ("1e3x", "1e3x"),
        ("1e3.5", "1e3.5"),
    ],
)
def test_scientific_notation_reads_as_a_number(text: str, value: object) -> None:
    """PyYAML follows YAML 1.1, whose floats need a dot and a signed exponent: ``1e3`` and
    ``1.5e3`` were read as text, then refused in a number field ("unable to parse string as an
    integer, got '1e3'") or accepted only by pydantic's lax text-to-number coercion."""
    got = parse_yaml(f"a: {text}", None)["a"]
    assert got == value and type(got) is type(value)


def test_text_that_reads_as_a_number_is_quoted_when_written() -> None:
    """A run's scenario.yaml (warehouse/rerun.py) is written with :class:`SafeDumper`: the text
    '1e3' must come back as text, not as the number YAML 1.2 reads in ``1e3``."""
    for value in ("1e3", "-2E-2", "12", "name"):
        text = yaml.dump({"name": value}, Dumper=SafeDumper)
        assert parse_yaml(text, None) == {"name": value}, text


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(f"{TINY_LAYOUT}{body}\n", "utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "field", "value"),
    [
        ("fleet: {robots: 1e1}", "fleet.robots", 10),
        ("tasks: {arrival_rate: 1e-1}", "tasks.arrival_rate", 0.1),
        ("episode: {steps: 2e2, seeds: [0]}", "episode.steps", 200),
        ("fleet: {robots: 12.0}", "fleet.robots", 12),  # a whole float for a count stays fine
    ],
)
def test_scientific_notation_in_a_scenario_file(
    body: str, field: str, value: object, tmp_path: Path
) -> None:
    scenario, _ = load_scenario(_write(tmp_path, body))
    section, name = field.split(".")
    got = getattr(getattr(scenario, section), name)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("fleet: {robots: 1e9}", "fleet.robots: Input should be less than or equal to 100000"),
        (
            "episode: {steps: 1e15}",
            "episode.steps: Input should be less than or equal to 10000000",
        ),
        ("fleet: {robots: 1e400}", "fleet.robots: Input should be a finite number"),
        ("tasks: {arrival_rate: -1e-1}", "tasks.arrival_rate: Input should be greater than"),
    ],
)
def test_huge_or_negative_scientific_values_are_range_errors(
    body: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """They used to be refused as unparsable text ("unable to parse string as an integer")."""
    path = _write(tmp_path, body)
    fails_cleanly(["validate", str(path)], tmp_path, capsys, f"{path}: {expected}")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("fleet: {robots: '12'}", "fleet.robots: Input should be a valid integer, got text '12'"),
        (
            "tasks: {arrival_rate: '0.5'}",
            "tasks.arrival_rate: Input should be a valid number, got text '0.5'",
        ),
        ("physics: {cell_size: '1.0'}", "physics.cell_size: Input should be a valid number"),
        (
            "episode: {seeds: [0, '1']}",
            "episode.seeds[1]: Input should be a valid integer, got text '1'",
        ),
        (
            "faults: {closures: [{cells: [[1, 1]], start_s: '5'}]}",
            "faults.closures[0].start_s: Input should be a valid number, got text '5'",
        ),
        ("tasks: {arrival_rate: 'inf'}", "tasks.arrival_rate: Input should be a valid number"),
    ],
)
def test_quoted_numbers_are_refused(
    body: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``robots: "12"`` was silently taken as 12 (pydantic's lax mode) while ``name: 2024`` was
    refused: text is not a number, as a number is not text."""
    path = _write(tmp_path, body)
    line = fails_cleanly(["validate", str(path)], tmp_path, capsys, f"{path}: {expected}")
    assert "without quotes" in line


@pytest.mark.parametrize(
    "body",
    ["name: 2024", "description: 1.5", "policies: {dispatcher: 3}", "name: 1e3", "name: yes"],
)
def test_numbers_in_text_fields_hint_to_quote(
    body: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, body)
    line = fails_cleanly(["validate", str(path)], tmp_path, capsys, f"{path}: ")
    assert "Input should be a valid string" in line and "in quotes" in line, line


def test_set_values_follow_the_same_rule(tmp_path: Path) -> None:
    path = _write(tmp_path, "")
    scenario, _ = load_scenario(path)
    done = apply_overrides(scenario, dict([parse_assignment("fleet.robots=1e1")]))
    assert done.fleet.robots == 10
    done = apply_overrides(scenario, dict([parse_assignment("name='2024'")]))
    assert done.name == "2024"
    for text, expected in (
        ('fleet.robots="12"', "Input should be a valid integer, got text '12'"),
        ("name=2024", "Input should be a valid string, got 2024"),
    ):
        key, value = parse_assignment(text)
        with pytest.raises(InputError) as exc:
            apply_overrides(scenario, {key: value}, names={key: f"--set {key}"})
        assert exc.value.field == f"--set {key}", exc.value
        assert exc.value.message.startswith(expected), exc.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("features.lookahead=true", "Input should be a valid integer"),
        ('features.lookahead="8"', "Input should be a valid integer"),
        ("ppo.norm_adv=1", "Input should be a valid boolean"),
        ('ppo.norm_adv="yes"', "Input should be a valid boolean"),
        ("ppo.clip_eps=true", "Input should be a valid number"),  # was "out of range: 1.0"
        ('weights.delay="0.1"', "Input should be a valid number"),
        ('randomize.robots=[1, "2"]', "Input should be a valid number"),
        ("reward_scale=.inf", "expected a finite number, got inf"),
        ("features.max_detour=.nan", "expected a finite number, got nan"),
        ("ppo.target_kl=.inf", "expected a finite number, got inf"),
        ("randomize.arrival=[0.5, .inf]", "expected a finite number, got inf"),
        ("features.lookahead=2.5", "Input should be a valid integer"),
    ],
)
def test_training_set_values_are_checked_strictly(text: str, expected: str) -> None:
    """``train-dispatcher --set`` took text for numbers, true for 1 and 1 for true, and infinite
    weights, while the saved config (``checked_dataclass``) was read strictly."""
    key, value = parse_assignment(text)
    with pytest.raises(InputError) as exc:
        apply_settings(TrainConfig(), {key: value})
    assert exc.value.field == f"--set {key}"
    assert expected in exc.value.message, exc.value.message


def test_training_set_values_that_stay_accepted() -> None:
    cfg = apply_settings(
        TrainConfig(),
        dict(
            parse_assignment(t)
            for t in ("features.lookahead=8.0", "ppo.epochs=1e1", "weights.delay=2e-3",
                      "randomize.arrival=[1, 2]", "ppo.target_kl=null", "ppo.norm_adv=false")
        ),
    )  # fmt: skip
    assert cfg.features.lookahead == 8 and type(cfg.features.lookahead) is int
    assert cfg.ppo.epochs == 10 and type(cfg.ppo.epochs) is int
    assert cfg.weights.delay == 0.002 and cfg.randomize.arrival == (1.0, 2.0)
    assert cfg.ppo.target_kl is None and cfg.ppo.norm_adv is False


def test_train_dispatcher_refuses_a_flag_for_a_count_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--set features.lookahead=true`` trained with a lookahead of 1."""
    monkeypatch.chdir(tmp_path)
    argv = ["train-dispatcher", "tiny", "--steps", "100", "--out", "r"]
    fails_cleanly(
        [*argv, "--set", "features.lookahead=true"],
        tmp_path,
        capsys,
        "--set features.lookahead: True: Input should be a valid integer",
    )


def test_a_run_keeps_text_that_reads_as_a_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's scenario.yaml wrote the name '1e3' bare; read back, it was the number 1000.0,
    refused as a name: the run could not be run again."""
    from cli_helpers import run_cli

    monkeypatch.chdir(tmp_path)
    argv = ["run", "tiny", "--steps", "3", "--seeds", "0", "--set", 'name="1e3"', "--out", "o"]
    code, _out, err = run_cli(argv, capsys)
    assert code == 0, err
    scenario, _ = load_scenario(tmp_path / "o" / "scenario.yaml")
    assert scenario.name == "1e3"


def test_a_whole_float_for_a_parts_count_is_taken_as_the_count(tmp_path: Path) -> None:
    """``patience: 1e1`` was refused ("takes patience as int, got 10.0") although scenario
    counts take 10.0; now the part gets the integer 10, and a fractional one stays an error."""
    from warehouse.policies import part_args

    def args(value: object) -> dict[str, object]:
        sc, _ = load_scenario("tiny")
        sc = apply_overrides(sc, {"policies.navigator_args": {"rule_based": {"patience": value}}})
        return part_args("navigator", "rule_based", sc)

    got = args(parse_yaml("1e1", None))
    assert got == {"patience": 10} and type(got["patience"]) is int
    with pytest.raises(InputError, match=r"takes patience as int, got 10\.5"):
        args(10.5)


def test_a_list_where_a_number_is_due_is_shown_in_the_error(tmp_path: Path) -> None:
    """``fleet.robots: [3]`` said "Input should be a valid integer" without the value given."""
    with pytest.raises(
        InputError, match=r"fleet\.robots: Input should be a valid integer, got \[3\]"
    ):
        load_scenario(_write(tmp_path, "fleet: {robots: [3]}"))
