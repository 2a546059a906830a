"""The validation of the fake Immich's asset edits (``PUT /assets`` and ``PUT /assets/{id}``):
class-validator messages before v3, zod issues on v3 (as a real v3.1.0 answered, findings k)."""

from __future__ import annotations

from typing import Any

from tests.fake_immich.auth import Problem, error, json_response
from tests.fake_immich.model import Generation
from tests.fake_immich.transfer import VISIBILITIES


def _number_issue(key: str, value: Any, low: float, high: float,
                  integer: bool = False) -> dict[str, Any] | None:
    """zod's issue for ``z.number().min(low).max(high)`` (``z.int()`` with ``integer``)."""
    expected = "int" if integer else "number"
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            integer and not float(value).is_integer()):
        got = "null" if value is None else "number" if isinstance(value, int | float) \
            and not isinstance(value, bool) else type(value).__name__.replace("str", "string")
        return {"expected": expected, "code": "invalid_type", "path": [key],
                "message": f"Invalid input: expected {expected}, received {got}"}
    if value > high:
        return {"origin": "number", "code": "too_big", "maximum": high, "inclusive": True,
                "path": [key], "message": f"Too big: expected number to be <={high}"}
    if value < low:
        return {"origin": "number", "code": "too_small", "minimum": low, "inclusive": True,
                "path": [key], "message": f"Too small: expected number to be >={low}"}
    return None


def edit_issues(body: dict[str, Any]) -> list[dict[str, Any]]:
    """(v3.1.0) zod's issues for an asset edit (asset.dto.ts ``UpdateAssetBaseSchema``, as
    seen live in findings k): latitude/longitude in range and given together, rating an
    integer -1..5 or null but never 0, a known visibility."""
    issues: list[dict[str, Any]] = []
    for key, limit in (("latitude", 90), ("longitude", 180)):
        if key in body:
            issue = _number_issue(key, body[key], -limit, limit)
            if issue:
                issues.append(issue)
    if body.get("rating") is not None:
        issue = _number_issue("rating", body["rating"], -1, 5, integer=True)
        if issue is None and body["rating"] == 0:
            issue = {"code": "custom", "path": ["rating"], "message": "Rating must be -1 "
                     "(rejected), 1\u20135 (starred), or null (unrated); 0 is not valid"}
        if issue:
            issues.append(issue)
    if "visibility" in body and body["visibility"] not in VISIBILITIES:
        issues.append({"code": "invalid_value", "values": list(VISIBILITIES),
                       "path": ["visibility"], "message": "Invalid option: expected one of "
                       + "|".join(f'"{v}"' for v in VISIBILITIES)})
    if not issues and ("latitude" in body) != ("longitude" in body):
        issues.append({"code": "custom", "path": [],
                       "message": "Latitude and longitude must be provided together"})
    return issues


def check_edit(gen: Generation, body: dict[str, Any]) -> None:
    """The validation of ``PUT /assets`` and ``PUT /assets/{id}`` (asset.dto.ts
    ``UpdateAssetBase``): rating range by generation, latitude and longitude together."""
    if gen.seen_live_v31:
        issues = edit_issues(body)
        if issues:
            raise Problem(json_response(400, {"message": "Validation failed",
                                              "errors": issues}))
        return
    problems: list[str] = []
    if "rating" in body:
        rating, low = body["rating"], gen.rating_min
        if rating is None:
            if not gen.rating_null:
                problems.append("rating must be an integer number")
        elif not isinstance(rating, int) or isinstance(rating, bool):
            problems.append("rating must be an integer number")
        elif rating < low:
            problems.append(f"rating must not be less than {low}")
        elif rating > 5:
            problems.append("rating must not be greater than 5")
    if "latitude" in body or "longitude" in body:
        for key, limit in (("latitude", 90), ("longitude", 180)):
            value = body.get(key)
            if value is None:
                problems += [f"{key} must be a {key} string or number",
                             f"{key} should not be empty"]
            elif isinstance(value, bool) or not isinstance(value, int | float) \
                    or not -limit <= value <= limit:
                problems.append(f"{key} must be a {key} string or number")
    if "visibility" in body and body["visibility"] not in VISIBILITIES:
        problems.append("visibility must be one of the following values: "
                        + ", ".join(VISIBILITIES))
    if problems:
        raise Problem(error(400, problems))

