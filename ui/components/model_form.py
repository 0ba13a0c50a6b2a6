"""A form generated from a pydantic model's JSON schema, validated by the model itself.

Nothing is listed by hand: each property of the schema becomes an input (numbers, decimals,
switches, choices), each nested object a section, and a discriminated union a kind selector
that shows the chosen kind's own fields, its defaults filled in. Every input's hint is its
description and its allowed range. On submit the model validates what was entered; each error
is shown under the input (or section) its `loc` names, and nothing is sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Generic, TypeVar

from nicegui import ui
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
Loc = tuple[str, ...]
"""Where a value sits, as pydantic's errors name it: a union's chosen kind is part of it."""

_OMIT = object()
"""What a field sends when it is left empty or at its default: nothing, so the model's default
applies."""


class UnsupportedSchema(ValueError):
    """A model has a property the form cannot show; give it a type the form knows."""


class FieldKind(StrEnum):
    """The input a value is entered with."""

    NUMBER = "number"
    INTEGER = "integer"
    DECIMAL = "decimal"
    """A number kept exactly: entered as text, sent as a string."""
    TEXT = "text"
    BOOLEAN = "boolean"
    CHOICE = "choice"


TEXTUAL = (FieldKind.DECIMAL, FieldKind.TEXT)
NUMERIC = (FieldKind.NUMBER, FieldKind.INTEGER)
FLIPPED = {"<": ">", "≤": "≥"}
KEY_STEP = "[key]"
"""The step pydantic adds to a loc when a mapping's key, not its value, is wrong."""


@dataclass(frozen=True)
class Bounds:
    """The range a number must lie in, as its schema gives it."""

    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None

    @classmethod
    def of(cls, schema: Mapping[str, Any]) -> Bounds:
        """Return the bounds a schema sets."""
        return cls(schema.get("minimum"), schema.get("maximum"),
                   schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum"))

    def text(self) -> str:
        """Return the range as a person reads it, '0 < value ≤ 1,000'; '' when there is none."""
        low = (("<", self.exclusive_minimum) if self.exclusive_minimum is not None else
               ("≤", self.minimum) if self.minimum is not None else None)
        high = (("<", self.exclusive_maximum) if self.exclusive_maximum is not None else
                ("≤", self.maximum) if self.maximum is not None else None)
        if low and high:
            return f"{number(low[1])} {low[0]} value {high[0]} {number(high[1])}"
        if low:
            return f"value {FLIPPED[low[0]]} {number(low[1])}"
        return f"value {high[0]} {number(high[1])}" if high else ""


@dataclass(frozen=True)
class FormField:
    """One value the form asks for."""

    name: str
    loc: Loc
    label: str
    kind: FieldKind
    description: str = ""
    bounds: Bounds = Bounds()
    required: bool = False
    nullable: bool = False
    has_default: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()

    @property
    def hint(self) -> str:
        """Return what the input shows under it: description, allowed range, default."""
        parts = [self.description, "a whole number" if self.kind is FieldKind.INTEGER else "",
                 self.bounds.text()]
        if self.has_default and self.default is not None:
            parts.append(f"default {shown_default(self.default)}")
        elif self.nullable:
            parts.append("empty for none")
        return " · ".join(part for part in parts if part)


@dataclass(frozen=True)
class FormSection:
    """A nested object: its own fields, sections and unions, under a heading."""

    name: str
    loc: Loc
    label: str
    description: str = ""
    parts: tuple[FormPart, ...] = ()
    default: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class FormUnion:
    """A discriminated union: a choice of kind, and the fields of the kind chosen."""

    name: str
    loc: Loc
    label: str
    tag: str
    variants: Mapping[str, FormSection] = field(default_factory=dict)
    description: str = ""


FormPart = FormField | FormSection | FormUnion


def title(name: str) -> str:
    """Return a property's name as a label, as pydantic titles it: 'half_spread_bps' ->
    'Half Spread Bps'."""
    return name.replace("_", " ").title()


def number(value: float) -> str:
    """Return a bound or default exactly, with thousands separated: 1e15 -> '1,000,...,000'."""
    return f"{Decimal(str(value)).normalize():,f}"


def shown_default(value: Any) -> str:
    """Return a default as a hint shows it."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int | float):
        return number(value)
    return str(value)


def form_of(model: type[BaseModel]) -> FormSection:
    """Return the form of a model, from its JSON schema; raise UnsupportedSchema for a
    property it cannot show."""
    schema = model.model_json_schema()
    return _section("", (), schema, _Refs(schema.get("$defs", {})))


@dataclass(frozen=True)
class _Refs:
    defs: Mapping[str, Any]

    def resolve(self, node: Mapping[str, Any]) -> dict[str, Any]:
        """Return a schema node with its `$ref` followed; the node's own keys win.

        The title of the type referred to is dropped: a value is named after its property.
        """
        ref = node.get("$ref")
        if ref is None:
            return dict(node)
        target = self.resolve(self.defs[ref.rsplit("/", 1)[-1]])
        target.pop("title", None)
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _section(name: str, loc: Loc, schema: Mapping[str, Any], refs: _Refs) -> FormSection:
    required = set(schema.get("required", ()))
    parts = tuple(_part(key, (*loc, key), refs.resolve(node), key in required, refs)
                  for key, node in schema.get("properties", {}).items())
    default = schema.get("default")
    return FormSection(name, loc, schema.get("title") or title(name),
                       schema.get("description", ""), parts,
                       default if isinstance(default, dict) else None)


def _part(name: str, loc: Loc, node: dict[str, Any], required: bool, refs: _Refs) -> FormPart:
    if "discriminator" in node and "oneOf" in node:
        return _union(name, loc, node, refs)
    if "properties" in node:
        return _section(name, loc, {**node, "title": title(name)}, refs)
    if node.get("type") == "object" and "propertyNames" in node:
        return _keyed(name, loc, node, refs)
    return _field(name, loc, node, required, refs)


def _union(name: str, loc: Loc, node: dict[str, Any], refs: _Refs) -> FormUnion:
    tag = node["discriminator"]["propertyName"]
    kinds = {ref: kind for kind, ref in node["discriminator"]["mapping"].items()}
    variants = {}
    for choice in node["oneOf"]:  # in the model's order, which the mapping does not keep
        kind = kinds[choice["$ref"]]
        variant = refs.resolve(choice)
        own = {key: value for key, value in variant["properties"].items() if key != tag}
        variants[kind] = _section(kind, (*loc, kind), {
            **variant, "properties": own,
            "required": [key for key in variant.get("required", ()) if key != tag]}, refs)
    return FormUnion(name, loc, node.get("title") or title(name), tag, variants,
                     node.get("description", ""))


def _keyed(name: str, loc: Loc, node: dict[str, Any], refs: _Refs) -> FormSection:
    """Return a mapping from a set of keys to values as a section of one field per key."""
    keys = refs.resolve(node["propertyNames"])
    values = node.get("additionalProperties")
    if "enum" not in keys or not isinstance(values, dict):
        raise UnsupportedSchema(f"{'.'.join(loc)}: the form shows a mapping only when its keys "
                                "are a fixed set of names and its values have a schema")
    parts = tuple(_field(str(key), (*loc, str(key)), refs.resolve(values), False, refs)
                  for key in keys["enum"])
    return FormSection(name, loc, node.get("title") or title(name),
                       node.get("description", ""), parts)


def _field(name: str, loc: Loc, node: dict[str, Any], required: bool, refs: _Refs
           ) -> FormField:
    label = node.get("title") or title(name)
    common: dict[str, Any] = {"description": node.get("description", ""), "required": required,
                              "has_default": "default" in node, "default": node.get("default")}
    if "anyOf" in node:
        branches = [refs.resolve(branch) for branch in node["anyOf"]]
        kept = [branch for branch in branches if branch.get("type") != "null"]
        common["nullable"] = len(kept) < len(branches)
        if {branch.get("type") for branch in kept} == {"number", "string"}:
            numeric = next(branch for branch in kept if branch.get("type") == "number")
            return FormField(name, loc, label, FieldKind.DECIMAL, bounds=Bounds.of(numeric),
                             **common)
        if len(kept) != 1:
            raise UnsupportedSchema(f"{'.'.join(loc)}: the form cannot show a value that may "
                                    "be one of several types")
        node = {**kept[0], **{k: v for k, v in node.items() if k != "anyOf"}}
    if "enum" in node:
        return FormField(name, loc, label, FieldKind.CHOICE,
                         choices=tuple(str(choice) for choice in node["enum"]), **common)
    kind = {"number": FieldKind.NUMBER, "integer": FieldKind.INTEGER,
            "string": FieldKind.TEXT, "boolean": FieldKind.BOOLEAN}.get(node.get("type", ""))
    if kind is None:
        raise UnsupportedSchema(f"{'.'.join(loc)}: the form cannot show a value of type "
                                f"{node.get('type', 'unknown')!r}")
    return FormField(name, loc, label, kind, bounds=Bounds.of(node), **common)


def parts_of(section: FormSection) -> Iterator[FormPart]:
    """Yield every part of a section, nested ones and every kind of a union included."""
    for part in section.parts:
        yield part
        if isinstance(part, FormSection):
            yield from parts_of(part)
        elif isinstance(part, FormUnion):
            for variant in part.variants.values():
                yield variant
                yield from parts_of(variant)


def widget_values(section: FormSection, data: Mapping[str, Any]) -> dict[Loc, Any]:
    """Return what each input shows for `data`: a value missing from it shows its default.

    A union's loc holds its chosen kind; its other kinds show their defaults.
    """
    values: dict[Loc, Any] = {}
    for part in section.parts:
        given = data.get(part.name)
        if isinstance(part, FormField):
            values[part.loc] = _shown(part, given if part.name in data else part.default)
        elif isinstance(part, FormSection):
            inner = given if isinstance(given, dict) else part.default or {}
            values.update(widget_values(part, inner))
        else:
            inner = given if isinstance(given, dict) else {}
            kind = inner.get(part.tag)
            values[part.loc] = kind if kind in part.variants else None
            for name, variant in part.variants.items():
                values.update(widget_values(variant, inner if name == kind else {}))
    return values


def _shown(field: FormField, value: Any) -> Any:
    if value is None:
        return "" if field.kind in TEXTUAL else None
    if field.kind in NUMERIC:
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if field.kind in TEXTUAL:
        return str(value)
    if field.kind is FieldKind.BOOLEAN:
        return value is True
    return str(value) if str(value) in field.choices else None


def form_payload(section: FormSection, values: Mapping[Loc, Any]) -> dict[str, Any]:
    """Return what the inputs hold as the model's input: an empty input, or one at its
    default, is left out so the model's default applies (a nullable empty one is null)."""
    payload: dict[str, Any] = {}
    for part in section.parts:
        if isinstance(part, FormField):
            value = _sent(part, values.get(part.loc))
            if value is not _OMIT:
                payload[part.name] = value
        elif isinstance(part, FormSection):
            payload[part.name] = form_payload(part, values)
        else:
            kind = values.get(part.loc)
            variant = part.variants.get(kind) if isinstance(kind, str) else None
            payload[part.name] = ({} if variant is None else
                                  {part.tag: kind, **form_payload(variant, values)})
    return payload


def _sent(field: FormField, value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
    if value is None or value == "":
        if not field.nullable:
            return _OMIT
        value = None
    if field.kind is FieldKind.INTEGER and isinstance(value, float) and value.is_integer():
        value = int(value)
    if field.has_default and _same(field, value, field.default):
        return _OMIT
    return value


def _same(field: FormField, value: Any, default: Any) -> bool:
    if value is None or default is None:
        return value is default
    if field.kind is FieldKind.DECIMAL:
        try:
            return Decimal(str(value)) == Decimal(str(default))
        except InvalidOperation:
            return False
    return bool(value == default)


def errors_by_place(section: FormSection, exc: ValidationError) -> dict[Loc, list[str]]:
    """Return a model's validation errors by the input or section each belongs to.

    An error goes to the deepest part its `loc` names; what the loc names below that part
    (a mapping's bad key, an unknown property) starts its message. Errors of the whole model
    are at `()`.
    """
    parts = {part.loc: part for part in parts_of(section)}
    places: dict[Loc, list[str]] = {}
    for error in exc.errors(include_url=False):
        loc = tuple(str(step) for step in error["loc"])
        place = loc
        while place and place not in parts:
            place = place[:-1]
        below = ".".join(step for step in loc[len(place):] if step != KEY_STEP)
        part = parts.get(place)
        if isinstance(part, FormUnion):
            message = "choose one of: " + ", ".join(part.variants)
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
        places.setdefault(place, []).append(f"{below}: {message}" if below else message)
    return places


Widget = ui.number | ui.input | ui.select | ui.switch


class ModelForm(ui.column, Generic[M]):
    """A form for `model`, generated from its schema.

    With `save`, a submit button validates what was entered and, when the model takes it,
    hands the model to `save`; without, the form only shows values, its inputs disabled.
    """

    def __init__(self, model: type[M], save: Callable[[M], Awaitable[None]] | None,
                 submit: str = "Save") -> None:
        super().__init__()
        self.classes("w-full gap-2")
        self.model = model
        self.spec = form_of(model)
        self._save = save
        self._inputs: dict[Loc, Widget] = {}
        self._notes: dict[Loc, ui.label] = {}
        self._boxes: dict[Loc, dict[str, ui.column]] = {}
        with self:
            self._body(self.spec)
            if save is not None:
                ui.button(submit, on_click=self.submit)
        self.load({})
        if save is None:
            for widget in self._inputs.values():
                widget.disable()

    def load(self, data: Mapping[str, Any]) -> None:
        """Show `data` in the inputs (missing values at their defaults), with no errors."""
        values = widget_values(self.spec, data)
        for loc, widget in self._inputs.items():
            widget.set_value(values.get(loc))
        for loc in self._boxes:
            self._show_kind(loc)
        self.show_errors({})

    def payload(self) -> dict[str, Any]:
        """Return what the inputs hold, as the model's input."""
        return form_payload(self.spec, {loc: w.value for loc, w in self._inputs.items()})

    def check(self) -> M | None:
        """Return what was entered as the model, or None with each error shown in place."""
        try:
            checked = self.model.model_validate(self.payload())
        except ValidationError as exc:
            self.show_errors(errors_by_place(self.spec, exc))
            return None
        self.show_errors({})
        return checked

    async def submit(self) -> None:
        """Hand what was entered to `save` once the model takes it."""
        checked = self.check()
        if checked is not None and self._save is not None:
            await self._save(checked)

    def show_errors(self, places: Mapping[Loc, list[str]]) -> None:
        """Show each place's errors under it, and clear those of every other place."""
        for loc, widget in self._inputs.items():
            message = "; ".join(places.get(loc, ())) or None
            if isinstance(widget, ui.switch):
                self._note(loc, message)
            else:
                widget.error = message
        for loc in self._notes:
            if loc not in self._inputs:
                self._note(loc, "; ".join(places.get(loc, ())) or None)

    def _note(self, loc: Loc, message: str | None) -> None:
        note = self._notes[loc]
        note.set_text(message or "")
        note.set_visibility(message is not None)

    def _body(self, section: FormSection) -> None:
        self._notes[section.loc] = ui.label().classes("text-negative text-caption")
        row: ui.row | None = None
        for part in section.parts:
            if isinstance(part, FormField):
                if row is None:
                    row = ui.row().classes("w-full gap-x-4 gap-y-1 items-start")
                with row:
                    self._inputs[part.loc] = self._widget(part)
                continue
            row = None
            with ui.column().classes("w-full gap-1 pl-3 border-l-2 border-blue-grey-2"):
                if isinstance(part, FormSection):
                    self._heading(part.label, part.description)
                    self._body(part)
                else:
                    self._union(part)

    def _heading(self, label: str, description: str) -> None:
        ui.label(label).classes("text-subtitle2")
        if description:
            ui.label(description).classes("text-caption text-grey-8")

    def _union(self, union: FormUnion) -> None:
        options = {kind: f"{kind}: {variant.description}" if variant.description else kind
                   for kind, variant in union.variants.items()}
        choice = ui.select(options, label=union.label,
                           on_change=lambda: self._show_kind(union.loc)).classes("w-full")
        choice.props["hint"] = union.description
        self._inputs[union.loc] = choice
        self._boxes[union.loc] = {}
        for kind, variant in union.variants.items():
            with ui.column().classes("w-full gap-1") as box:
                self._body(variant)
            self._boxes[union.loc][kind] = box

    def _show_kind(self, loc: Loc) -> None:
        chosen = self._inputs[loc].value
        for kind, box in self._boxes[loc].items():
            box.set_visibility(kind == chosen)

    def _widget(self, field: FormField) -> Widget:
        widget: Widget
        if field.kind is FieldKind.BOOLEAN:
            with ui.column().classes("gap-0 w-72"):
                widget = ui.switch(field.label)
                ui.label(field.hint).classes("text-caption text-grey-8")
                self._notes[field.loc] = ui.label().classes("text-negative text-caption")
            return widget
        if field.kind is FieldKind.CHOICE:
            widget = ui.select(list(field.choices), label=field.label,
                               clearable=not field.required)
        elif field.kind in NUMERIC:
            widget = ui.number(field.label)
        else:
            widget = ui.input(field.label)
            if field.kind is FieldKind.DECIMAL:
                widget.props["inputmode"] = "decimal"
        widget.props["hint"] = field.hint
        widget.props["hide-bottom-space"] = True
        return widget.classes("w-72")
