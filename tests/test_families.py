"""The family registry: a new family is one row, and genai.load finds it through the registry alone."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

import genai
from genai import families
from genai.detect import detect
from genai.errors import InvalidParameterError, UnsupportedModelError
from genai.generator import Generator
from genai.hub import Source
from genai.params import Param, ParamSpec
from genai.results.text import TextResult
from genai.seeding import seeded


class EchoGenerator(Generator):
    """A toy family: repeats the prompt ``times`` times, with a seeded shuffle."""

    modality = "text"
    call_spec = ParamSpec(
        "text",
        (
            Param("times", int, default=1, low=1, high=5, help="how many repeats"),
            Param("seed", int, help="seed"),
        ),
    )
    load_option_names = ("shout",)
    engine = "echo"

    def __call__(self, prompt: str, **given) -> TextResult:
        settings = self.settings(given)
        import torch

        with seeded(settings["seed"] or 0):
            order = torch.randperm(settings["times"]).tolist()
        text = " ".join(f"{prompt}{i}" for i in order)
        if self.options.get("shout"):
            text = text.upper()
        return TextResult(
            model=self.name,
            parameters=self.call_spec.record(settings),
            text=text,
            engine=self.engine,
        )


@pytest.fixture
def echo_family(tmp_path):
    families.register(
        families.Family("toy-echo", EchoGenerator, ("text-generation",), model_types=("toy-echo",))
    )
    folder = tmp_path / "echo-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "toy-echo"}))
    yield folder
    families.unregister("toy-echo")
    for generator in genai.loaded():  # only the toy ones: other tests' models stay loaded
        if generator.family == "toy-echo":
            generator.unload()


def test_a_toy_family_loads_through_the_registry_alone(echo_family):
    generator = genai.load(str(echo_family))
    assert isinstance(generator, EchoGenerator)
    assert generator.family == "toy-echo"
    assert generator(prompt="hi", times=3).text.count("hi") == 3
    assert genai.load(str(echo_family), shout=True)("hi").text == "HI0"


def test_the_toy_family_refuses_unknown_names_with_a_suggestion(echo_family):
    generator = genai.load(str(echo_family))
    with pytest.raises(InvalidParameterError, match="did you mean times"):
        generator("hi", tims=2)
    with pytest.raises(InvalidParameterError, match="did you mean shout"):
        genai.load(str(echo_family), shoot=True)
    with pytest.raises(InvalidParameterError, match="times=9 is above 5"):
        generator("hi", times=9)


def test_unregistered_model_type_is_unsupported(echo_family):
    families.unregister("toy-echo")
    with pytest.raises(UnsupportedModelError, match="toy-echo"):
        detect(Source("folder", str(echo_family), str(echo_family)))


def test_seeded_leaves_the_callers_random_states_alone():
    import torch

    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    before = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state().clone())
    with seeded(1234):
        first = torch.rand(3)
    with seeded(1234):
        again = torch.rand(3)
    assert torch.equal(first, again)
    assert random.getstate() == before[0]
    assert np.array_equal(np.random.get_state()[1], before[1])
    assert torch.equal(torch.get_rng_state(), before[2])


def test_every_catalog_row_names_a_registered_family():
    for entry in genai.CATALOG:
        assert entry.family in families.FAMILIES, entry.alias
        assert entry.task in families.get(entry.family).tasks, entry.alias


def test_no_family_string_outside_the_registry_and_catalog():
    """Family names are data: only families.py, the catalog and a backend's own module say them."""
    from pathlib import Path

    root = Path(genai.__file__).parent
    allowed = {"families.py"}
    for name in families.FAMILIES:
        for path in root.rglob("*.py"):
            relative = path.relative_to(root).as_posix()
            if relative in allowed or relative.startswith(("catalog/", "testing/", "backends/")):
                continue
            assert f'"{name}"' not in path.read_text(), f"{relative} names family {name!r}"


def test_a_generator_used_after_unload_says_so(echo_family):
    generator = genai.load(str(echo_family))
    generator.unload()
    with pytest.raises(genai.ModelNotAvailableError, match="was unloaded"):
        generator("hi")
    assert genai.load(str(echo_family)) is not generator  # a fresh load works
