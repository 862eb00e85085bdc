"""The dispatch table (signxai.common.computation): one entry per base, consistent with the catalog."""

from __future__ import annotations

import pytest

from signxai.common import MethodSpec, list_methods, parse_method, required_keywords
from signxai.common.computation import COMPUTATIONS, bases_of
from signxai.common.validation import ParameterError, check_points, points_of

EXPECTED = {
    # base: (family, kind, signal, aggregate, points, guided), written from spec section 2, not from the table
    "gradient": ("gradient", "backward", "gradient", None, None, False),
    "guided_backprop": ("gradient", "backward", "guided", None, None, False),
    "deconvnet": ("gradient", "backward", "deconvnet", None, None, False),
    "integrated_gradients": ("gradient", "path", "gradient", None, "steps", False),
    "smoothgrad": ("gradient", "noise", "gradient", "mean", "samples", False),
    "vargrad": ("gradient", "noise", "gradient", "variance", "samples", False),
    "lrp": ("lrp", "lrp", None, None, None, False),
    "deep_taylor": ("lrp", "lrp", None, None, None, False),
    "grad_cam": ("cam", "cam", None, None, None, False),
    "guided_grad_cam": ("cam", "cam", "guided", None, None, True),
    "random_uniform": ("baseline", "baseline", None, None, None, False),
}


@pytest.mark.parametrize("base", sorted(EXPECTED))
def test_table_entry(base: str) -> None:
    comp = COMPUTATIONS[base]
    assert (comp.family, comp.kind, comp.signal, comp.aggregate, comp.points, comp.guided) == EXPECTED[base]


def test_table_has_exactly_the_known_bases() -> None:
    assert set(COMPUTATIONS) == set(EXPECTED)
    assert set(bases_of("lrp")) == {"lrp", "deep_taylor"}
    assert bases_of("unknown") == ()


def test_every_catalog_name_resolves_to_its_computation() -> None:
    seen = set()
    for name in list_methods():
        keywords = {"mu": 0.5, "low": -1.0, "high": 1.0}
        spec = parse_method(name, **{k: keywords[k] for k in required_keywords(name)})
        comp = spec.computation
        assert comp is COMPUTATIONS[spec.base]
        assert comp.family == spec.family, name
        if comp.points is not None:
            assert points_of(spec) == getattr(spec, comp.points) >= 1, name
        else:
            assert points_of(spec) == 1, name
        seen.add(spec.base)
    assert seen == set(COMPUTATIONS)  # every entry is reachable from a name


def test_reverse_pass_needed_exactly_for_lrp_and_guided_signals() -> None:
    needs = {base for base, comp in COMPUTATIONS.items() if comp.needs_reverse_pass}
    assert needs == {"lrp", "deep_taylor", "guided_backprop", "deconvnet", "guided_grad_cam"}


def test_base_of_another_family_is_refused() -> None:
    with pytest.raises(ParameterError, match="base of a gradient method"):
        MethodSpec(name="x", family="gradient", base="grad_cam", output_seed="one")


def test_max_points_names_the_table_field() -> None:
    with pytest.raises(ParameterError, match=r"steps=64 x batch=3 = 192 points exceeds max_points=100"):
        check_points(parse_method("integrated_gradients", steps=64), 3, 100)
    with pytest.raises(ParameterError, match=r"lower samples"):
        check_points(parse_method("vargrad", samples=50), 3, 100)
    check_points(parse_method("gradient"), 10**9, 1)  # one point per sample is never bounded
