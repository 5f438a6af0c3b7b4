"""oslo.versionedobjects ``repr`` dumps in Nova DEBUG lines (``LibvirtLiveMigrateData(...)``).

Nova's compute manager logs the live-migration data object at every hand-over
(messages.md §2.1 rows 3, 4, 7, 8, 14, 15, 18: ``destination check data is %s``, ``source
check data is %s``, ``pre_live_migration data is %s``, ``driver pre_live_migration data is
%s``, ``pre_live_migration result data is %s``, ``live_migration data is %s``). ``%s`` is
``VersionedObject.__repr__`` (oslo_versionedobjects/base.py)::

    Name(field=value,field=value,...)        fields sorted by name, no spaces

and each value is ``Field.stringify`` (oslo_versionedobjects/fields.py):

* ``<?>`` for an unset field, ``None`` for a null one;
* ``String``: ``'%s'`` -- quoted but *not escaped*, so the text may itself contain ``'``,
  ``,`` and parentheses;
* ``Boolean``/``Integer``/``IPAddress``/other ``FieldType``: ``str(value)`` bare
  (``True``, ``46080``, ``0.0.0.0``, ``::``); ``DateTime``: ``2024-07-11T22:10:59Z``;
* ``List``: ``[a,b]``; ``Set``: ``set([1,2])`` (also on Python 3); ``Dict``: ``{key=value,...}``;
* ``Object``: *only* ``Name(uuid)``, ``Name(id)``, ``Name(UNKNOWN)`` or bare ``Name`` (no
  identity field) -- a nested object's fields are never dumped. So in real lines
  ``migration=Migration(0b8b…)``, ``bdms=[LibvirtLiveMigrateBDMInfo,LibvirtLiveMigrateBDMInfo]``,
  ``vifs=[VIFMigrateData]`` and ``dst_numa_info=LibvirtLiveMigrateNUMAInfo``;
* Nova's ``NetworkVIFModel`` (``VIFMigrateData.source_vif``): the VIF as JSON, which only
  shows when a ``VIFMigrateData`` itself is dumped.

Why pyparsing and not a regex: the grammar is recursive (objects in lists in objects),
quoted strings may contain the very delimiters (``,``, ``)``) a regex would split on, and a
truncated dump must still yield the fields that were complete. A pyparsing grammar states
those rules once, readably, and its ``Located``/``Optional`` pieces give the partial-parse
positions for free; a regex would need a hand-written tokenizer anyway.

Truncated or odd input never raises: a dump cut short (syslog line limits) gives an
:class:`OvoObject` with ``complete=False`` holding only the fields that ended before the
cut (the last one is dropped when it runs into the end of the text, it may be cut short),
or ``None`` when nothing usable was read. A field value the grammar cannot read is kept as
its raw text.

Cost: the grammar is built once, at import (a few ms). Measured on the 2-core build machine
(idle): a 13 KB dump in the real form (350 nested-object names, 60 dict entries) ~6 ms; a
10 KB dump with fully nested VIF/BDM reprs and JSON ~10 ms. It is only called on the few
DEBUG lines the catalogue matched.

Sample input::

    2024-07-11 22:10:59.946 2 DEBUG nova.compute.manager [None req-590602d0-8c3e-4f1a-a6b2-0d9e7c5f4a31 - - - - - -] destination check data is LibvirtLiveMigrateData(bdms=<?>,block_migration=False,disk_available_mb=404480,disk_over_commit=<?>,dst_cpu_shared_set_info=set([]),filename='tmpq4i2t6pd',graphics_listen_addr_vnc=0.0.0.0,image_type='rbd',is_shared_instance_path=False,migration=<?>,serial_listen_addr=None,target_connect_addr=None,vifs=<?>) check_can_live_migrate_destination /usr/lib/python3/dist-packages/nova/compute/manager.py:9191
    2024-07-11 22:11:01.102 2 DEBUG nova.compute.manager [None req-590602d0-8c3e-4f1a-a6b2-0d9e7c5f4a31 - - - - - -] pre_live_migration result data is LibvirtLiveMigrateData(bdms=[LibvirtLiveMigrateBDMInfo],block_migration=False,migration=Migration(0b8bd8f8-5c11-4a3e-9d2e-6f1b2c3d4e5f),serial_listen_ports=[],target_connect_addr='10.0.0.12',vifs=[VIFMigrateData,VIFMigrateData],wait_for_vif_plugged=True) pre_live_migration /usr/lib/python3/dist-packages/nova/compute/manager.py:9570

Examples:

    >>> msg = ("destination check data is LibvirtLiveMigrateData(bdms=<?>,block_migration=False,"
    ...        "disk_available_mb=404480,dst_cpu_shared_set_info=set([]),filename='tmpq4i2t6pd',"
    ...        "graphics_listen_addr_vnc=0.0.0.0,image_type='rbd',is_shared_instance_path=False,"
    ...        "serial_listen_addr=None,target_connect_addr=None) check_can_live_migrate_destination "
    ...        "/usr/lib/python3/dist-packages/nova/compute/manager.py:9191")
    >>> obj = find_ovo_in_message(msg)
    >>> obj.name, obj.complete, obj.fields["block_migration"], obj.fields["disk_available_mb"]
    ('LibvirtLiveMigrateData', True, False, 404480)
    >>> obj.fields["bdms"] is None, "bdms" in obj.unset, obj.fields["dst_cpu_shared_set_info"]
    (True, True, frozenset())
    >>> migrate_data_facts(obj)["image_type"], migrate_data_facts(obj)["target_connect_addr"]
    ('rbd', 'None')
    >>> obj = parse_ovo("LibvirtLiveMigrateData(bdms=[LibvirtLiveMigrateBDMInfo,LibvirtLiveMigrateBDMInfo],"
    ...                 "migration=Migration(0b8bd8f8-5c11-4a3e-9d2e-6f1b2c3d4e5f),"
    ...                 "target_connect_addr='10.0.0.12',vifs=[VIFMigrateData],wait_for_vif_plugged=True)")
    >>> obj.fields["migration"]
    OvoObject(name='Migration', fields={'uuid': '0b8bd8f8-5c11-4a3e-9d2e-6f1b2c3d4e5f'}, unset=frozenset(), complete=True)
    >>> facts = migrate_data_facts(obj)
    >>> facts["bdm_count"], facts["vif_count"], facts["migration"], facts["wait_for_vif_plugged"]
    ('2', '1', '0b8bd8f8-5c11-4a3e-9d2e-6f1b2c3d4e5f', 'True')
    >>> parse_ovo("VIFMigrateData(host='dst-1',port_id='8d2c',source_vif={\\"id\\": \\"8d2c\\", \\"type\\": \\"ovs\\"})").fields["source_vif"]
    {'id': '8d2c', 'type': 'ovs'}
    >>> cut = parse_ovo("LibvirtLiveMigrateData(block_migration=True,filename='tmp, (odd)',image_type='qc")
    >>> cut.complete, dict(cut.fields)
    (False, {'block_migration': True, 'filename': 'tmp, (odd)'})
    >>> parse_ovo("pre_live_migration data is {'block_migration': False}") is None
    True
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import pyparsing as pp

__all__ = [
    "OvoObject",
    "parse_ovo",
    "find_ovo_in_message",
    "migrate_data_facts",
    "MAX_CHARS",
]

#: Longest text handed to the grammar. Real dumps are 1-3 KB (10 KB with many volumes);
#: anything beyond this is treated as truncated here, which bounds the time spent on
#: a pathological line.
MAX_CHARS: Final = 256 * 1024


@dataclass(frozen=True, slots=True)
class OvoObject:
    """One parsed ``Name(field=value,...)``.

    ``fields`` maps each field seen to its value: ``None`` (for both ``<?>`` and ``None``),
    ``bool``, ``int``, ``str``, a nested :class:`OvoObject`, ``list``, ``frozenset``, or a
    ``dict`` (oslo ``Dict`` fields and the JSON of ``NetworkVIFModel``). A nested object
    dumped only as ``Name(ident)`` has a single ``uuid`` (UUID-shaped ident) or ``id``
    field; a bare ``Name`` (or ``Name(UNKNOWN)``) has none.

    ``unset`` names the fields that were ``<?>`` (not set), so a caller can tell them from
    an explicit ``None``. ``complete`` is ``False`` when the closing parenthesis was
    missing (truncated dump): ``fields`` then holds only what was complete.
    """

    name: str
    fields: Mapping[str, object]
    unset: frozenset[str] = frozenset()
    complete: bool = True

    def get(self, key: str, default: object = None) -> object:
        """The value of field ``key`` (``default`` when the dump did not show it)."""
        return self.fields.get(key, default)

    def is_set(self, key: str) -> bool:
        """True when the dump showed ``key`` with a value (``None`` counts; ``<?>`` not)."""
        return key in self.fields and key not in self.unset

    def __hash__(self) -> int:
        # the generated hash would hash the (unhashable) mapping; field names suffice and
        # agree with __eq__
        return hash((self.name, frozenset(self.fields), self.unset, self.complete))

    def __repr__(self) -> str:
        # MappingProxyType's repr is noisy; show the mapping as a dict.
        return (f"OvoObject(name={self.name!r}, fields={dict(self.fields)!r}, "
                f"unset={self.unset!r}, complete={self.complete!r})")


# --------------------------------------------------------------------------- grammar

class _Val:
    """One parsed value. Parse actions wrap every value so that pyparsing never flattens a
    list or dict result into several tokens."""

    __slots__ = ("v",)

    def __init__(self, v: object) -> None:
        self.v = v


class _Field:
    __slots__ = ("name", "v")

    def __init__(self, name: str, v: object) -> None:
        self.name = name
        self.v = v


class _Ident:
    """The ``42`` / ``<uuid>`` / ``UNKNOWN`` of ``Object.stringify``'s ``Name(ident)``."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


_UNSET: Final = object()  # marks ``<?>`` inside a _Val until the object is built

_INT = re.compile(r"[-+]?\d+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}")
#: a bare CamelCase word is an object stringified without identity (``VIFMigrateData``):
#: non-String fields never print such words, String ones are quoted.
_OBJ_STUB = re.compile(r"[A-Z][A-Za-z0-9_]*[a-z][A-Za-z0-9_]*")
_KEYWORDS: Final[Mapping[str, object]] = {"None": None, "True": True, "False": False}

#: A quote closes a String only when a delimiter follows (oslo never escapes the content,
#: and never puts a space after its commas); any other quote is part of the text. In a
#: field's own value the next thing can only be ``,name=`` or ``)``, which is stricter:
#: ``reason='a','b'`` is one string there, while ``['a','b']`` is two.
_CLOSE_LA = r"[)\]}]|,\S|\s*\Z"
_FIELD_CLOSE_LA = r"\)|,[A-Za-z_]\w*=|\s*\Z"
_DELIM_LA = r"(?=[,)\]}]|\s*\Z)"


def _scalar_re(close_la: str) -> str:
    """``<?>`` | ``'quoted'`` | bare ``str()`` text (IPs, datetimes, ints, words), as one
    regex: one pyparsing attempt instead of three for the commonest values. Each must be
    followed by a delimiter, so ``Migration(`` and ``set([`` fall through to the compound
    forms."""
    return (rf"<\?>{_DELIM_LA}"
            rf"|'(?:[^']|'(?!{close_la}))*'(?={close_la})"
            rf"|[^,()\[\]{{}}'\s][^,()\[\]{{}}'\n]*{_DELIM_LA}")


#: last resort for a field value the grammar cannot read: text up to the next
#: ``,name=`` or ``)``, allowing one level of balanced brackets. Never accepted at the end
#: of the text, so a truncated value is not mistaken for a whole one.
_RAW = (r"(?:[^,()\[\]{}\n]|,(?![A-Za-z_]\w*=)|\([^()\n]*\)|\[[^\[\]\n]*\]|\{[^{}\n]*\})+?"
        r"(?=,[A-Za-z_]\w*=|\))")


#: Fast path for the commonest compound values: a list, set or dict whose items are all
#: scalars (``bdms=[LibvirtLiveMigrateBDMInfo,...]``, ``serial_listen_ports=[10000]``,
#: ``old_vol_attachment_ids={uuid='uuid'}``) is matched by one regex and split in Python,
#: instead of one pyparsing attempt chain per item (3-4x faster on a 10 KB dump). The item
#: regex is deterministic (a quote either closes or does not), so this cannot backtrack
#: badly; anything else falls through to the general rules.
_ITEM = _scalar_re(_CLOSE_LA)
_KEY = r"[^=,{}()\[\]'\"\s]+="
_ITEM_RE = re.compile(_ITEM)
_KEY_RE = re.compile(_KEY)
_FLAT_LIST = rf"\[(?:(?:{_ITEM})(?:,(?:{_ITEM}))*)?\]"
_FLAT_SET = rf"set\(\[(?:(?:{_ITEM})(?:,(?:{_ITEM}))*)?\]\)"
_FLAT_DICT = rf"\{{(?:{_KEY}(?:{_ITEM})(?:,{_KEY}(?:{_ITEM}))*)?\}}"


def _split_flat(inner: str, keyed: bool) -> list[tuple[str, object]] | None:
    """The items of a fast-path match (``inner`` without the brackets), or ``None`` when a
    greedy item-by-item split disagrees with the regex (then the general rules decide)."""
    items: list[tuple[str, object]] = []
    pos, end = 0, len(inner)
    while pos < end:
        key = ""
        if keyed:
            km = _KEY_RE.match(inner, pos)
            if km is None:
                return None
            key, pos = km.group()[:-1], km.end()
        m = _ITEM_RE.match(inner, pos)
        if m is None:
            return None
        items.append((key, _scalar(m.group()).v))
        pos = m.end()
        if pos < end:
            if inner[pos] != ",":
                return None
            pos += 1
    return items


def _flat_action(prefix: int, suffix: int, build: Callable[[list[tuple[str, object]]], object],
                 keyed: bool = False) -> Callable[[str, int, pp.ParseResults], _Val]:
    def action(s: str, loc: int, t: pp.ParseResults) -> _Val:
        text: str = t[0]
        items = _split_flat(text[prefix:len(text) - suffix], keyed)
        if items is None:
            raise pp.ParseException(s, loc, "not a flat list of scalars")
        return _Val(build(items))
    return action


def _scalar(text: str) -> _Val:
    if text == "<?>":
        return _Val(_UNSET)
    if text.startswith("'"):
        return _Val(text[1:-1])
    return _Val(_bare(text))


def _bare(text: str) -> object:
    word = text.strip()
    if word in _KEYWORDS:
        return _KEYWORDS[word]
    if _INT.fullmatch(word):
        return int(word)
    if _OBJ_STUB.fullmatch(word):
        return OvoObject(word, MappingProxyType({}))
    return word


def _frozen_set(items: list[object]) -> object:
    try:
        return frozenset(items)
    except TypeError:  # unhashable members (not produced by oslo); keep them all
        return items


def _ident_fields(text: str) -> dict[str, object]:
    if text == "UNKNOWN":  # Object.stringify: identity field present but not set / falsy
        return {}
    if _INT.fullmatch(text):
        return {"id": int(text)}
    return {"uuid" if _UUID.fullmatch(text) else "id": text}


def _build_object(name: str, body: Sequence[object], complete: bool) -> OvoObject:
    fields: dict[str, object] = {}
    unset: set[str] = set()
    for item in body:
        if isinstance(item, _Ident):
            fields.update(_ident_fields(item.text))
        elif isinstance(item, _Field):
            if item.v is _UNSET:
                fields[item.name] = None
                unset.add(item.name)
            else:
                fields[item.name] = item.v
                unset.discard(item.name)
    return OvoObject(name, MappingProxyType(fields), frozenset(unset), complete)


def _vals(toks: pp.ParseResults) -> list[object]:
    return [t.v for t in toks if isinstance(t, _Val)]


class _JsonObject(pp.Token):
    """A JSON object (``NetworkVIFModel.stringify`` is ``json.dumps``), read by the C JSON
    decoder: pyparsing's own ``nested_expr`` walks it character by character, ~50x slower."""

    _decoder = json.JSONDecoder()

    def __init__(self) -> None:
        super().__init__()
        self.name = "JSON object"
        self.mayReturnEmpty = False
        self.mayIndexError = False

    def parseImpl(self, instring: str, loc: int, do_actions: bool = True) -> tuple[int, _Val]:
        if not instring.startswith("{", loc):
            raise pp.ParseException(instring, loc, self.errmsg, self)
        try:
            value, end = self._decoder.raw_decode(instring, loc)
        except ValueError:  # JSONDecodeError; also brace text that is not JSON
            raise pp.ParseException(instring, loc, self.errmsg, self) from None
        return end, _Val(value)


def _build_grammar() -> pp.ParserElement:
    """The grammar: ``value`` is recursive; the top object tolerates a missing ``)``.

    Cost notes: every pyparsing element tried costs a Python call chain, so tokens are
    merged into single regexes where they always go together (``name=``, ``Name(``, the
    three scalar forms) and alternatives are ordered commonest first.
    """
    value = pp.Forward()
    delim_ahead = pp.FollowedBy(pp.Regex(r"[,)\]}]|\s*\Z"))

    scalar = pp.Regex(_scalar_re(_CLOSE_LA)).set_parse_action(lambda t: _scalar(t[0]))
    field_scalar = pp.Regex(_scalar_re(_FIELD_CLOSE_LA)).set_parse_action(
        lambda t: _scalar(t[0]))
    raw = pp.Regex(_RAW).set_parse_action(lambda t: _Val(t[0]))

    open_obj = pp.Regex(r"[A-Za-z_]\w*\(").set_parse_action(lambda t: t[0][:-1])
    name_eq = pp.Regex(r"[A-Za-z_]\w*=").set_parse_action(lambda t: t[0][:-1])
    key_eq = pp.Regex(r"[^=,{}()\[\]'\"\s]+=").set_parse_action(lambda t: t[0][:-1])
    ident = pp.Regex(r"[\w.:-]+(?=\))").set_parse_action(lambda t: _Ident(t[0]))

    items = pp.Optional(pp.DelimitedList(value))
    ovo_list = (pp.Suppress("[") + items + pp.Suppress("]")).set_parse_action(
        lambda t: _Val(_vals(t)))
    ovo_set = (pp.Suppress(pp.Literal("set([")) + items + pp.Suppress("])")
               | pp.Suppress(pp.Literal("set()"))).set_parse_action(
        lambda t: _Val(_frozen_set(_vals(t))))
    entry = (key_eq + value).set_parse_action(lambda t: _Field(t[0], t[1].v))
    ovo_dict = (pp.Suppress("{") + pp.Optional(pp.DelimitedList(entry)) + pp.Suppress("}")
                ).set_parse_action(lambda t: _Val({f.name: f.v for f in t}))
    json_obj = _JsonObject()

    # a field value must end at a delimiter, else the raw fallback takes the whole text
    field = pp.Forward()
    obj_body = pp.Optional(pp.DelimitedList(field) | ident)
    nested_obj = (open_obj + obj_body + pp.Suppress(")")).set_parse_action(
        lambda t: _Val(_build_object(t[0], t[1:], True)))
    flat_list = pp.Regex(_FLAT_LIST).set_parse_action(
        _flat_action(1, 1, lambda items: [v for _, v in items]))
    flat_set = pp.Regex(_FLAT_SET).set_parse_action(
        _flat_action(5, 2, lambda items: _frozen_set([v for _, v in items])))
    flat_dict = pp.Regex(_FLAT_DICT).set_parse_action(
        _flat_action(1, 1, dict, keyed=True))
    compound = (flat_list | ovo_list | flat_set | ovo_set | nested_obj | flat_dict | ovo_dict
                | json_obj)
    value <<= scalar | compound
    field <<= (name_eq + (field_scalar | (compound + delim_ahead) | raw)).set_parse_action(
        lambda t: _Field(t[0], t[1].v))

    top = open_obj + obj_body + pp.Optional(pp.Literal(")"))
    # parse_with_tabs: by default pyparsing expands tabs in the input, which would alter
    # quoted values and shift the end position used for truncation.
    return pp.Located(top).parse_with_tabs()


#: Built once at import: parsing does not change a grammar, so one instance serves all calls.
_GRAMMAR: Final = _build_grammar()


# --------------------------------------------------------------------------- API

def parse_ovo(text: str) -> OvoObject | None:
    """Parse the versioned-object repr at the start of ``text`` (leading blanks allowed).

    Text after the closing parenthesis (the oslo.log DEBUG suffix ``funcName path:line``) is
    ignored. Returns ``None`` when ``text`` does not start with ``Name(`` or nothing could be
    read; a truncated dump gives an object with ``complete=False``. Never raises.
    """
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
    try:
        located = _GRAMMAR.parse_string(text, parse_all=False)
    except (pp.ParseBaseException, RecursionError):
        # RecursionError: absurd nesting ("[[[[..."); not a dump we can use.
        return None
    toks, end = located[1], located[2]  # Located: [start, tokens, end]
    name = toks[0]
    body = list(toks[1:])
    complete = bool(body) and body[-1] == ")"
    if complete:
        body.pop()
    elif body and not text[end:].strip():
        # Cut inside the dump: the last item ran into the end of the text, so it may be
        # cut short ('tmpab' of 'tmpabcd12', 4608 of 46080); drop it.
        body.pop()
    if not complete and not body:
        return None
    return _build_object(name, body, complete)


_OVO_START = re.compile(r"\b[A-Z][A-Za-z]*LiveMigrateData\(")


def find_ovo_in_message(message: str) -> OvoObject | None:
    """Parse the first ``*LiveMigrateData(`` dump in a Nova message, or ``None``.

    Covers ``LibvirtLiveMigrateData``, ``XenapiLiveMigrateData``, ``HyperVLiveMigrateData``
    (and ``VMwareLiveMigrateData``/``PowerVMLiveMigrateData``). Pre-Mitaka Nova logged a
    plain dict here; that gives ``None``.
    """
    m = _OVO_START.search(message)
    if m is None:
        return None
    return parse_ovo(message[m.start():])


#: scalar fields of LiveMigrateData and its subclasses that the correlator reads
#: (nova/objects/migrate_data.py); reported under their own names.
_FACT_FIELDS: Final = (
    "target_connect_addr",
    "block_migration",
    "is_shared_instance_path",
    "is_shared_block_storage",
    "is_volume_backed",
    "image_type",
    "serial_listen_addr",
    "graphics_listen_addr_vnc",
    "graphics_listen_addr_spice",
    "wait_for_vif_plugged",
    "dst_supports_numa_live_migration",
    "src_supports_numa_live_migration",
    "dst_supports_mdev_live_migration",
    "dst_wants_file_backed_memory",
    "filename",
    "instance_relative_path",
    "disk_available_mb",
    "disk_over_commit",
)


def _fact(value: object) -> str:
    if value is None or isinstance(value, (bool, int, str)):
        return str(value)
    if isinstance(value, OvoObject):
        ident = value.fields.get("uuid", value.fields.get("id"))
        return value.name if ident is None else str(ident)
    if isinstance(value, frozenset):
        return ",".join(sorted(_fact(v) for v in value))
    if isinstance(value, list):
        return ",".join(_fact(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def migrate_data_facts(obj: OvoObject) -> dict[str, str]:
    """What the correlator needs from a migrate-data dump, as strings.

    Keys: ``object`` (the class name); each of the scalar fields listed in ``_FACT_FIELDS``
    that the dump *set* (``<?>`` fields are left out; an explicit null is ``"None"``;
    booleans ``"True"``/``"False"``); ``migration`` (the Migration uuid or id);
    ``bdm_count`` and ``vif_count`` (lengths of ``bdms`` / ``vifs``); ``vif_port_ids`` and
    ``vif_hosts`` (comma-joined) only when the VIFMigrateData fields were dumped, which
    the LiveMigrateData repr itself never does; ``truncated`` = ``"True"`` for a partial
    dump.
    """
    facts: dict[str, str] = {"object": obj.name}
    for key in _FACT_FIELDS:
        if obj.is_set(key):
            facts[key] = _fact(obj.fields[key])
    migration = obj.fields.get("migration")
    if isinstance(migration, OvoObject):
        ident = migration.fields.get("uuid", migration.fields.get("id"))
        if ident is not None:
            facts["migration"] = str(ident)
    elif obj.is_set("migration"):
        facts["migration"] = _fact(migration)
    bdms = obj.fields.get("bdms")
    if isinstance(bdms, list):
        facts["bdm_count"] = str(len(bdms))
    vifs = obj.fields.get("vifs")
    if isinstance(vifs, list):
        facts["vif_count"] = str(len(vifs))
        port_ids: list[str] = []
        hosts: list[str] = []
        for vif in vifs:
            if not isinstance(vif, OvoObject):
                continue
            port = vif.fields.get("port_id")
            source_vif = vif.fields.get("source_vif")
            if not isinstance(port, str) and isinstance(source_vif, dict):
                port = source_vif.get("id")
            if isinstance(port, str):
                port_ids.append(port)
            host = vif.fields.get("host")
            if isinstance(host, str):
                hosts.append(host)
        if port_ids:
            facts["vif_port_ids"] = ",".join(port_ids)
        if hosts:
            facts["vif_hosts"] = ",".join(hosts)
    if not obj.complete:
        facts["truncated"] = "True"
    return facts
