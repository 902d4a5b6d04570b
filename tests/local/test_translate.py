import shutil
from pathlib import Path

import pytest

from gatewayz.errors import InvalidTaskInput, NotServedLocally
from gatewayz.local.translate import ApertiumTranslator, language_code

needs_apertium = pytest.mark.skipif(
    shutil.which("apertium") is None, reason="apt-get install apertium apertium-eng-spa"
)


def test_language_codes() -> None:
    assert [language_code(c) for c in ("en", "en_XX", "eng_Latn", "EN-us", "spa")] == [
        "eng",
        "eng",
        "eng",
        "eng",
        "spa",
    ]


@needs_apertium
def test_english_to_spanish_and_back() -> None:
    translator = ApertiumTranslator()
    assert {"eng-spa", "spa-eng"} <= translator.directions()
    assert translator.translate("The cat is sleeping on the red sofa.", "en", "es") == (
        "El gato está durmiendo en el sofá rojo."
    )
    assert "restaurant" in translator.translate(
        "Me gusta la comida de este restaurante.", "es_XX", "en_XX"
    )


@needs_apertium
def test_apertium_marks_are_removed() -> None:
    out = ApertiumTranslator().translate("Where is the train station?", "en", "es")
    assert "#" not in out and "*" not in out and "tren" in out


@needs_apertium  # without Apertium no pair is available: that is the 501 below
def test_unavailable_pair_is_the_callers_error() -> None:
    with pytest.raises(InvalidTaskInput, match="configure an upstream"):
        ApertiumTranslator().translate("hello", "en", "de")


def test_missing_languages_are_refused() -> None:
    with pytest.raises(InvalidTaskInput):
        ApertiumTranslator().translate("hello", "", "es")


def test_no_apertium_pair_installed_is_a_501_naming_the_system_package(tmp_path: Path) -> None:
    with pytest.raises(NotServedLocally, match="apt-get install apertium apertium-eng-spa"):
        ApertiumTranslator(mode_dirs=(tmp_path,)).translate("hello", "en", "es")
