"""Lists across pods: one algorithm for servers and volumes, thin per-resource hooks.

``CrossPodLister.list`` asks every pod in parallel (on the process's shared ``PodCallPool``) for
a page sorted on the sort keys plus id, merges the pages on a heap and returns ``limit`` records
and whether more exist. Each page is made ready to merge on the pool's thread as it arrives, not
after the slowest pod. Everything happens within one deadline, however busy the pool is: a pod
that has not answered by then (its call maybe still queued behind other requests' calls, then
cancelled), or that failed, is reported in the result; with ``include_unknown`` its placeholder
records (``status: UNKNOWN`` servers built from the routing table) are merged in at the place
their own values sort to. Without placeholders a pod that answered but failed (a 5xx, a
malformed page) fails the list (``PodFailed``): an empty page must never stand for a pod's
failure. A pod that does not answer (the deadline, or a hook's ``silent_errors``) is left out.

Pagination uses a top id as marker (servers' and volumes' top ids are their bottom ids). The
marker's pod comes from a hook (the routing table) and the marker's record from that pod, fetched
alongside every pod's first page; the marker's pod gets the marker natively (its answer vouches
for the marker). Other pods have no "after these sort values" filter, so they are paged through
from their first record and what sorts at or before the marker is dropped; the list waits for the
marker's record only when some such record (or placeholder) needs placing, so a listing where
only the marker's pod holds records (novaclient's closing request with the last ID seen) costs
that pod's native page alone: page ``n`` of a deep listing costs each other pod about
``n * limit`` records read, in pages doubling from ``limit + 1`` up to ``page_size`` (one request
per pod for shallow pages). Only pages are requested, never single records, apart from the marker.
Asking each pod for ``limit + 1`` makes next-page detection exact (no empty last page).

A marker whose pod is unavailable is placed by its placeholder record; one that no pod and no
placeholder knows is ``MarkerNotFound``.

Continuations: given a cache (``Continuations``) and the caller's ``scope``, a list that every
pod answered keeps what it learnt at the end of its page for the request that follows with that
page's last id as marker (novaclient's, openstacksdk's and Rally's closing request): where the
marker sorts and which pod gave it (no marker lookup, no marker record), and which pods gave all
their records with none left after the page (not asked). When no pod is left, that request is an
empty page with no pod call. Keys hold everything that changes the answer: the resource, the
caller's scope, sort keys, filters, ``include_unknown``, the pods listed and the marker. A pod
still holding records (read but not listed, or not read yet) is always asked, coarse keys or not.
"""

from __future__ import annotations

import abc
import collections
import datetime as dt
import functools
import heapq
import logging
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tricircle.cache import TtlCache
from tricircle.db.models import Pod
from tricircle.pods.fanout import PodCallPool, answered

LOG = logging.getLogger(__name__)

Record = dict[str, Any]

TIMESTAMP_KEYS = frozenset({"created_at", "updated_at", "launched_at", "terminated_at"})
DEFAULT_PAGE_SIZE = 1000


class ListError(Exception):
    """Base of the lister's refusals; gateways answer them as 400 in their dialect."""


class PodFailed(ListError):
    """A pod failed while listing and no placeholder can stand for its records."""

    def __init__(self, region_name: str, detail: str) -> None:
        super().__init__(f"pod {region_name} failed to list: {detail}")
        self.region_name = region_name


class InvalidSort(ListError, ValueError):
    """Sort directions that do not fit the sort keys."""


class MarkerNotFound(ListError, LookupError):
    """No pod and no placeholder knows the marker."""

    def __init__(self, marker: str) -> None:
        super().__init__(f"marker [{marker}] not found")
        self.marker = marker


@dataclass(frozen=True)
class SortKey:
    """One sort key and its direction."""

    name: str
    descending: bool = False

    @property
    def direction(self) -> str:
        """``asc`` or ``desc``, as OpenStack APIs spell it."""
        return "desc" if self.descending else "asc"


def complete_sort_keys(
    keys: Sequence[str],
    directions: Sequence[str] = (),
    *,
    default_keys: Sequence[str] = ("created_at", "id"),
    default_direction: str = "desc",
) -> tuple[SortKey, ...]:
    """Nova's and Cinder's sort rules: missing directions take the first one given (else
    ``default_direction``); ``default_keys`` not named are appended in that direction.

    Raises InvalidSort for an unknown direction or more directions than keys.
    """
    for direction in directions:
        if direction not in ("asc", "desc"):
            raise InvalidSort(f"Unknown sort direction {direction!r}, must be 'asc' or 'desc'.")
    if len(directions) > len(keys):
        raise InvalidSort("Sort direction size exceeds sort key size.")
    fill = directions[0] if directions else default_direction
    names = list(keys) + [key for key in default_keys if key not in keys]
    chosen = list(directions) + [fill] * (len(names) - len(directions))
    return tuple(
        SortKey(name, direction == "desc") for name, direction in zip(names, chosen, strict=True)
    )


@dataclass(frozen=True)
class PodQuery:
    """One page request to one pod: its records after ``marker`` (a native id, or None for the
    first page), sorted on ``sort_keys`` (id always among them), at most ``limit`` of them."""

    sort_keys: tuple[SortKey, ...]
    limit: int
    marker: str | None
    filters: Mapping[str, Any]


class ListHooks(abc.ABC):
    """What one resource supplies to the lister. Methods run on the pool's threads concurrently.

    ``resource``: what is listed (continuations are kept under it); ``id_key``: the record field
    holding the id; ``id_sort_key``: the sort key pods know for it
    (Nova: ``uuid``), appended to every sort as the final tie-break. ``sort_fields``: sort key ->
    record field where they differ (Nova: ``display_name`` -> ``name``).

    ``fatal_errors``: exceptions from ``fetch_page`` that mean the request itself is wrong (a
    pod's 400); they propagate out of ``list`` instead of marking the pod unavailable.
    ``silent_errors``: exceptions that mean the pod did not answer (connection refused); such
    a pod is treated as one that missed the deadline. Any other exception is the pod's failure.
    ``nulls_first``: whether the pods' databases sort NULL before other values in ascending
    order (MySQL does, PostgreSQL does not).
    ``coarse_keys``: sort keys the pods sort on more finely than they show them (Nova sorts
    ``created_at`` by the microsecond and shows the second). Records that tie on such a key
    are ordered by the lister itself, and the marker's pod is then paged from its first record
    like the others (its native order past the marker is not the lister's).
    """

    resource: str = "records"
    id_key: ClassVar[str] = "id"
    id_sort_key: ClassVar[str] = "id"
    sort_fields: ClassVar[Mapping[str, str]] = {}
    fatal_errors: ClassVar[tuple[type[Exception], ...]] = ()
    silent_errors: ClassVar[tuple[type[Exception], ...]] = ()
    nulls_first: ClassVar[bool] = False
    coarse_keys: ClassVar[frozenset[str]] = frozenset()

    @abc.abstractmethod
    def fetch_page(self, pod: Pod, query: PodQuery) -> Sequence[Record]:
        """At most ``query.limit`` of the pod's records, sorted as asked; fewer means no more."""

    @abc.abstractmethod
    def find_marker_pod(self, marker: str) -> Pod | None:
        """The pod holding the record ``marker`` (the routing table), or None."""

    @abc.abstractmethod
    def fetch_record(self, pod: Pod, record_id: str) -> Record | None:
        """One record from its pod, or None if the pod does not have it."""

    def sort_value(self, key: str, value: Any) -> Any:
        """``value`` of sort key ``key`` made comparable across pods (None stays None).

        The default parses ISO 8601 timestamps of TIMESTAMP_KEYS into naive UTC datetimes.
        """
        if key in TIMESTAMP_KEYS and isinstance(value, str):
            return parse_timestamp(value)
        return value

    def unknown_records(self, pod: Pod, query: PodQuery) -> Sequence[Record]:
        """Placeholders for the records of an unavailable pod (each with ``id_key``)."""
        return []

    def pod_filters(self, pod: Pod, filters: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The filters as ``pod`` knows them (top IDs made its own); None when nothing in
        ``pod`` can match (the pod is not asked). The default asks every pod the same."""
        return filters


def _timestamp_value(value: Any) -> Any:
    """``ListHooks.sort_value`` of a timestamp key."""
    return parse_timestamp(value) if isinstance(value, str) else value


def parse_timestamp(value: str) -> dt.datetime | str:
    """An ISO 8601 timestamp as a naive UTC datetime; the string itself if it is not one."""
    try:
        if value.endswith("Z"):
            return dt.datetime.fromisoformat(value[:-1])
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


@dataclass(frozen=True)
class Continuation:
    """What a list learnt at the end of its page, for a next request with the page's last id as
    marker: that record's sort values, its pod, and the pods holding nothing after it."""

    marker_values: tuple[Any, ...]
    marker_pod_id: str
    empty_pod_ids: frozenset[str]


# (what is listed, how, by whom, which pods; marker) -> what the page ending on it learnt.
Continuations = TtlCache[tuple[Hashable, str], Continuation]


def _hashable(value: Any) -> Hashable:
    """Filters (mappings, lists and scalars) as a key: mappings sorted, lists as tuples."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(key), _hashable(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_hashable(item) for item in value)
    return value


@dataclass(frozen=True)
class UnavailablePod:
    """A pod left out of a list: ``timeout`` (no answer by the deadline), ``silent`` (no answer
    at all) or ``error`` (its failure)."""

    pod: Pod
    reason: str
    detail: str


@dataclass(frozen=True)
class ListResult:
    """One page of a list across pods."""

    records: list[Record]
    has_next: bool
    next_marker: str | None
    unavailable: tuple[UnavailablePod, ...] = ()

    @property
    def timed_out(self) -> list[Pod]:
        """Pods that did not answer in time."""
        return [item.pod for item in self.unavailable if item.reason == "timeout"]


def next_link(request_url: str, marker: str) -> str:
    """``request_url`` with its ``marker`` query parameter set to ``marker``, others kept."""
    parts = urlsplit(request_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "marker"]
    query.append(("marker", marker))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _compare(left: Any, right: Any, nulls_first: bool) -> int:
    """-1, 0 or 1 for two normalised sort values; None sorts by ``nulls_first``."""
    if left is None or right is None:
        if left is right:
            return 0
        return (-1 if left is None else 1) * (1 if nulls_first else -1)
    try:
        return (left > right) - (left < right)
    except TypeError:
        left_text, right_text = str(left), str(right)
        return (left_text > right_text) - (left_text < right_text)


class _Null:
    """None in a native sort key: after every other value, or before it (``first``)."""

    __slots__ = ("first",)

    def __init__(self, first: bool) -> None:
        self.first = first

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __lt__(self, other: object) -> bool:
        return self.first and self is not other

    def __gt__(self, other: object) -> bool:
        return not self.first and self is not other


_NULL_FIRST = _Null(first=True)
_NULL_LAST = _Null(first=False)


class _Order:
    """The total order of one list: the sort keys (id last) and their directions.

    When every key has the same direction (Nova's and Cinder's defaults), a position also gets a
    native key: its values as a tuple Python compares in C, ascending, exactly as ``compare``
    does (reversed for descending). Values it cannot order so (types that do not compare, NaN)
    fall back to ``compare``.
    """

    def __init__(self, sort_keys: tuple[SortKey, ...], hooks: ListHooks) -> None:
        self.sort_keys = sort_keys
        self.hooks = hooks
        self.fields = [
            hooks.id_key
            if key.name == hooks.id_sort_key
            else hooks.sort_fields.get(key.name, key.name)
            for key in sort_keys
        ]
        coarse = [i for i, key in enumerate(sort_keys) if key.name in hooks.coarse_keys]
        self.group_width = coarse[0] + 1 if coarse else 0
        self.native = len({key.descending for key in sort_keys}) == 1
        self.descending = self.native and sort_keys[0].descending
        self.null = _NULL_FIRST if hooks.nulls_first else _NULL_LAST
        self.readers = tuple(
            (name, self._sort_value(key.name))
            for key, name in zip(sort_keys, self.fields, strict=True)
        )

    def _sort_value(self, key: str) -> Callable[[Any], Any] | None:
        """The hooks' ``sort_value`` for ``key``; the default's without a call per record
        (None: values kept as they are)."""
        if type(self.hooks).sort_value is not ListHooks.sort_value:
            return functools.partial(self.hooks.sort_value, key)
        return _timestamp_value if key in TIMESTAMP_KEYS else None

    def group(self, position: _Position) -> tuple[Any, ...]:
        """The leading sort values up to the first coarse key: a pod lists equal groups
        together but in its own order inside a group."""
        return position.values[: self.group_width]

    def position(self, record: Mapping[str, Any]) -> _Position:
        """Where ``record`` sorts."""
        get = record.get
        values = tuple(
            [get(name) if convert is None else convert(get(name)) for name, convert in self.readers]
        )
        return _Position(values, self, self._native_key(values))

    def at(self, values: tuple[Any, ...]) -> _Position:
        """The position of a record sorting on ``values`` (a ``_Position.values``)."""
        return _Position(values, self, self._native_key(values))

    def _native_key(self, values: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """``values`` ordered natively (None as the null marker), or None where they cannot be:
        mixed directions, or a NaN (which compares as neither before nor after anything)."""
        if not self.native:
            return None
        has_null = False
        for value in values:
            if value is None:
                has_null = True
            elif value != value:
                return None
        if has_null:
            return tuple(self.null if value is None else value for value in values)
        return values

    def compare(self, left: tuple[Any, ...], right: tuple[Any, ...]) -> int:
        """-1, 0 or 1: does ``left`` come before, with, or after ``right``."""
        nulls_first = self.hooks.nulls_first
        for key, left_value, right_value in zip(self.sort_keys, left, right, strict=True):
            result = _compare(left_value, right_value, nulls_first)
            if result:
                return -result if key.descending else result
        return 0

    def sorted(self, entries: list[_Entry]) -> list[_Entry]:
        """``entries`` (all positioned) in this order, equal ones kept in theirs."""
        if self.native:
            try:
                return sorted(entries, key=_native_key_of, reverse=self.descending)
            except TypeError:
                pass
        return sorted(entries, key=_position_of)


class _Position:
    """A record's place in an _Order; ``<`` means "listed before"."""

    __slots__ = ("key", "order", "values")

    def __init__(self, values: tuple[Any, ...], order: _Order, key: tuple[Any, ...] | None) -> None:
        self.values = values
        self.order = order
        self.key = key

    def compare(self, other: _Position) -> int:
        """-1, 0 or 1: does this position come before, with, or after ``other``."""
        mine, theirs = self.key, other.key
        if mine is not None and theirs is not None:
            try:
                result = (mine > theirs) - (mine < theirs)
            except TypeError:
                return self.order.compare(self.values, other.values)
            return -result if self.order.descending else result
        return self.order.compare(self.values, other.values)

    def __lt__(self, other: _Position) -> bool:
        return self.compare(other) < 0

    def after(self, other: _Position | None) -> bool:
        """True if this position comes strictly after ``other`` (always, when None)."""
        return other is None or self.compare(other) > 0


_Entry = tuple["_Position | None", Record]


def _position_of(entry: _Entry) -> _Position:
    """The position of a positioned entry."""
    return entry[0]  # type: ignore[return-value]  # positioned


def _native_key_of(entry: _Entry) -> tuple[Any, ...]:
    """The native key of a positioned entry; TypeError if it has none."""
    key = _position_of(entry).key
    if key is None:
        raise TypeError("no native sort key")
    return key


class _MalformedPage(Exception):
    """A pod's page whose records cannot be read (no id, not a mapping, a sort value unlike)."""


@dataclass(frozen=True)
class _Page:
    """One pod's page as the lister merges it: entries (positioned when the order groups) and
    the native id of its last record."""

    entries: list[_Entry]
    last_id: str | None


@dataclass
class _PodStream:
    """What one pod has given so far, paging state, availability.

    ``buffer`` holds records ready to merge, in the lister's order, each with its position once
    computed (only records that reach the heap or the marker test need one); ``pending`` holds
    the last group of a page, which the pod's next page may still add to (ListHooks.coarse_keys).
    """

    pod: Pod
    index: int
    filters: Mapping[str, Any]
    buffer: collections.deque[_Entry] = field(default_factory=collections.deque)
    pending: list[_Entry] = field(default_factory=list)
    exhausted: bool = False
    native_marker: str | None = None
    past_marker: bool = False
    page_size: int = 0
    last_record: Record | None = None
    unavailable: UnavailablePod | None = None

    @property
    def is_open(self) -> bool:
        """Whether the pod may have more to give: not exhausted, not unavailable."""
        return self.unavailable is None and not self.exhausted

    def head(self, order: _Order) -> _Head:
        """The heap entry of the buffer's first record."""
        position, record = self.buffer[0]
        if position is None:
            position = order.position(record)
            self.buffer[0] = (position, record)
        return _Head(position, self.index, self)


@dataclass(slots=True)
class _Head:
    """A heap entry: a stream's first buffered record; ties go to the earlier pod."""

    position: _Position
    index: int
    stream: _PodStream

    def __lt__(self, other: _Head) -> bool:
        result = self.position.compare(other.position)
        return result < 0 if result else self.index < other.index


class CrossPodLister:
    """Lists one resource across pods with its ``hooks``, calling them on ``pool``; with
    ``continuations``, a list given a ``scope`` keeps and reuses them (module docstring)."""

    def __init__(
        self,
        hooks: ListHooks,
        pool: PodCallPool,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        continuations: Continuations | None = None,
    ) -> None:
        self.hooks = hooks
        self.pool = pool
        self.page_size = page_size
        self.continuations = continuations

    def list(
        self,
        pods: Sequence[Pod],
        *,
        sort_keys: Sequence[SortKey],
        limit: int,
        timeout: float,
        marker: str | None = None,
        filters: Mapping[str, Any] | None = None,
        include_unknown: bool = False,
        scope: Hashable = None,
    ) -> ListResult:
        """Up to ``limit`` records of ``pods`` after ``marker``, sorted on ``sort_keys`` then id.

        Returns within ``timeout`` seconds (plus the hooks' database lookups): pods that do not
        answer in time or fail are reported in ``unavailable``; their placeholder records are
        merged in only with ``include_unknown``. Raises MarkerNotFound, a hook's
        ``fatal_errors``, or PodFailed for a pod that failed without ``include_unknown``.
        ``scope``: what else decides which records the pods give (the caller's project, user,
        roles, the rest of its query); continuations are kept and used only with one.
        """
        deadline = time.monotonic() + timeout
        keys = tuple(sort_keys)
        if not any(key.name == self.hooks.id_sort_key for key in keys):
            descending = keys[0].descending if keys else False
            keys += (SortKey(self.hooks.id_sort_key, descending),)
        if limit <= 0:
            return ListResult([], has_next=False, next_marker=None)
        filters = dict(filters or {})
        cache = None if scope is None else self.continuations
        pod_ids = tuple(pod.pod_id for pod in pods)
        listed = (self.hooks.resource, scope, keys, _hashable(filters), include_unknown, pod_ids)
        resume = None
        if cache is not None and marker is not None:
            resume = cache.get_many([(listed, marker)]).get((listed, marker))
            if resume is not None and resume.empty_pod_ids.issuperset(pod_ids):
                return ListResult([], has_next=False, next_marker=None)
        run = _ListRun(self, pods, keys, limit, filters, include_unknown, deadline)
        result = run.execute(marker, resume)
        continuation = None if cache is None else run.continuation(result)
        if cache is not None and continuation is not None:
            cache.put_many({(listed, str(result.records[-1][self.hooks.id_key])): continuation})
        return result


class _ListRun:
    """The state of one ``CrossPodLister.list`` call."""

    def __init__(
        self,
        lister: CrossPodLister,
        pods: Sequence[Pod],
        sort_keys: tuple[SortKey, ...],
        limit: int,
        filters: dict[str, Any],
        include_unknown: bool,
        deadline: float,
    ) -> None:
        self.hooks = lister.hooks
        self.pool = lister.pool
        self.max_page_size = lister.page_size
        self.order = _Order(sort_keys, lister.hooks)
        self.sort_keys = sort_keys
        self.limit = limit
        self.filters = filters
        self.include_unknown = include_unknown
        self.deadline = deadline
        self.streams = []
        for index, pod in enumerate(pods):
            pod_filters = self.hooks.pod_filters(pod, filters)
            stream = _PodStream(pod, index, pod_filters or {})
            stream.exhausted = pod_filters is None
            self.streams.append(stream)
        self.marker_position: _Position | None = None
        self.pending_marker: tuple[str, Pod, futures.Future] | None = None
        self.unknown_by_pod: dict[str, Sequence[Record]] = {}
        self.page_end: _PodStream | None = None
        self.past_page: set[int] = set()

    def execute(self, marker: str | None, resume: Continuation | None) -> ListResult:
        """Fan out, place the marker (as ``resume`` says, when given), merge; never waits past
        the deadline."""
        started = time.monotonic()
        if marker is None:
            self._fetch_round(self.streams)
        elif resume is not None:
            self._resume_after(marker, resume)
        else:
            self._start_after(marker)
        records = self._merge()
        has_next = len(records) > self.limit
        records = records[: self.limit]
        unavailable = tuple(s.unavailable for s in self.streams if s.unavailable is not None)
        LOG.debug(
            "Listed %d record(s) from %d pod(s) in %.0f ms%s",
            len(records),
            len(self.streams),
            (time.monotonic() - started) * 1000,
            "".join(f"; {u.pod.region_name} {u.reason}" for u in unavailable),
        )
        next_marker = str(records[-1][self.hooks.id_key]) if has_next else None
        return ListResult(records, has_next, next_marker, unavailable)

    def continuation(self, result: ListResult) -> Continuation | None:
        """What the request after ``result`` (this run's) may reuse; None for an empty page or
        when a pod was unavailable. A pod holds nothing after the page when it gave all its
        records (pending groups then released) and none was left in its buffer or read past
        the page's last record."""
        if not result.records or result.unavailable or self.page_end is None:
            return None
        return Continuation(
            self.order.position(result.records[-1]).values,
            self.page_end.pod.pod_id,
            frozenset(
                stream.pod.pod_id
                for stream in self.streams
                if stream.exhausted and not stream.buffer and stream.index not in self.past_page
            ),
        )

    def _resume_after(self, marker: str, resume: Continuation) -> None:
        """Round one after the last record of the page ``resume`` was learnt from: the marker
        placed at once, its pod paged natively after it (unless the order groups), the pods
        holding nothing after it not asked."""
        self.marker_position = self.order.at(resume.marker_values)
        for stream in self.streams:
            if stream.pod.pod_id in resume.empty_pod_ids:
                stream.exhausted = True
            elif stream.pod.pod_id == resume.marker_pod_id and not self.order.group_width:
                stream.native_marker = marker
        self._fetch_round(self.streams)

    def _start_after(self, marker: str) -> None:
        """Round one with a marker: its record fetched alongside every pod's first page (its own
        pod's page natively after it); other pods' records at or before it dropped as they come.
        The marker is placed at once unless its pod answered natively, which vouches for it."""
        marker_pod = self.hooks.find_marker_pod(marker)
        if marker_pod is None:
            raise MarkerNotFound(marker)
        future = self.pool.submit(self.hooks.fetch_record, marker_pod, marker)
        self.pending_marker = (marker, marker_pod, future)
        native = None
        for stream in self.streams:
            if stream.pod.pod_id == marker_pod.pod_id and not self.order.group_width:
                stream.native_marker = marker
                stream.past_marker = True
                native = stream
        self._fetch_round(self.streams)
        if native is None or native.unavailable is not None:
            self._placed_marker()

    def _placed_marker(self) -> _Position | None:
        """The marker's position (None without a marker), waiting for its record if needed."""
        if self.pending_marker is not None:
            marker, pod, future = self.pending_marker
            self.pool.wait([future], self.deadline)
            self.marker_position = self._marker_position(marker, pod, future)
            self.pending_marker = None
        return self.marker_position

    def _query(self, limit: int, marker: str | None, filters: Mapping[str, Any]) -> PodQuery:
        return PodQuery(self.sort_keys, limit, marker, filters)

    def _marker_position(self, marker: str, pod: Pod, future: futures.Future) -> _Position:
        """Where the marker sorts: from its pod's record, else from its placeholder."""
        if answered(future) and future.exception() is None:
            record = future.result()
            if record is None:
                raise MarkerNotFound(marker)
            return self.order.position(record)
        if answered(future) and isinstance(future.exception(), self.hooks.fatal_errors):
            raise future.exception()
        LOG.warning(
            "Marker %s: pod %s unavailable, placing it by placeholder", marker, pod.region_name
        )
        for record in self._unknown(pod):
            if str(record.get(self.hooks.id_key)) == marker:
                return self.order.position(record)
        raise MarkerNotFound(marker)

    def _fetch_round(self, streams: Sequence[_PodStream]) -> None:
        """Fetch the next page of each stream in parallel; late or failing pods go unavailable."""
        pending: dict[futures.Future, tuple[_PodStream, int]] = {}
        for stream in streams:
            if stream.exhausted:
                continue
            size = min(
                self.max_page_size,
                max(self.limit + 1, stream.page_size * 2) if stream.page_size else self.limit + 1,
            )
            stream.page_size = size
            query = self._query(size, stream.native_marker, stream.filters)
            pending[self.pool.submit(self._fetch_page, stream.pod, query)] = (stream, size)
        self.pool.wait(list(pending), self.deadline)
        answers: list[tuple[_PodStream, _Page, int]] = []
        for future, (stream, size) in pending.items():
            if not answered(future):
                self._lose(stream, "timeout", "no answer before the list deadline")
            elif future.exception() is not None:
                error = future.exception()
                if isinstance(error, self.hooks.fatal_errors):
                    raise error
                if isinstance(error, _MalformedPage):
                    self._lose(stream, "error", f"malformed page: {error}")
                    continue
                reason = "silent" if isinstance(error, self.hooks.silent_errors) else "error"
                self._lose(stream, reason, f"{type(error).__name__}: {error}")
            else:
                answers.append((stream, future.result(), size))
        # Pages past the marker natively last: by then any other page has placed the marker.
        for stream, page, size in sorted(answers, key=lambda answer: answer[0].past_marker):
            self._take(stream, page, size)

    def _fetch_page(self, pod: Pod, query: PodQuery) -> _Page:
        """``pod``'s page, read on the pool's thread as it arrives: its records positioned
        there when the order groups them (else only those reaching the heap, later)."""
        records = self.hooks.fetch_page(pod, query)
        grouped = bool(self.order.group_width)
        try:
            entries = [
                (self.order.position(record) if grouped else None, record) for record in records
            ]
            last_id = str(records[-1][self.hooks.id_key]) if records else None
        except (KeyError, TypeError, AttributeError) as exc:
            raise _MalformedPage(f"{type(exc).__name__}: {exc}") from exc
        return _Page(entries, last_id)

    def _take(self, stream: _PodStream, page: _Page, size: int) -> None:
        """Add a page to the stream; a short page is its pod's last."""
        stream.exhausted = len(page.entries) < size
        if page.entries:
            stream.native_marker = page.last_id
            stream.last_record = page.entries[-1][1]
            stream.pending.extend(page.entries)
        self._release(stream)

    def _release(self, stream: _PodStream) -> None:
        """Move complete groups from pending to the buffer, each in the lister's order, keeping
        what sorts after the marker (the rest was listed on earlier pages)."""
        ready, stream.pending = stream.pending, []
        if self.order.group_width:
            if not stream.exhausted and ready:
                last_group = self.order.group(ready[-1][0])
                cut = len(ready)
                while cut and self.order.group(ready[cut - 1][0]) == last_group:
                    cut -= 1
                ready, stream.pending = ready[:cut], ready[cut:]
            ready = self.order.sorted(ready)
        if stream.past_marker and self.pending_marker is not None:
            stream.buffer.extend(ready)  # natively after the marker, which nothing else placed
        else:
            stream.buffer.extend(self._after_marker(ready))

    def _after_marker(self, entries: list[_Entry]) -> list[_Entry]:
        """``entries`` (in the lister's order) without the leading ones at or before the marker."""
        marker_position = self._placed_marker() if entries else None
        if marker_position is None:
            return entries
        for index, (position, record) in enumerate(entries):
            if position is None:
                position = self.order.position(record)
            if position.after(marker_position):
                entries[index] = (position, record)
                return entries[index:]
        return []

    def _lose(self, stream: _PodStream, reason: str, detail: str) -> None:
        """Mark a pod unavailable, keeping what it gave; with ``include_unknown`` its
        placeholders that sort after what it gave stand for the rest. A pod that failed
        (``error``) without them fails the list."""
        if reason == "error" and not self.include_unknown:
            raise PodFailed(stream.pod.region_name, detail)
        stream.unavailable = UnavailablePod(stream.pod, reason, detail)
        stream.exhausted = True
        self._release(stream)
        LOG.info("List: pod %s %s (%s)", stream.pod.region_name, reason, detail)
        if self.include_unknown:
            placed = self.order.sorted(
                [(self.order.position(record), record) for record in self._unknown(stream.pod)]
            )
            last = None if stream.last_record is None else self.order.position(stream.last_record)
            marker_position = self._placed_marker() if placed else None
            stream.buffer.extend(
                (position, record)
                for position, record in placed
                if position.after(marker_position) and position.after(last)
            )

    def _unknown(self, pod: Pod) -> Sequence[Record]:
        """The hook's placeholders for ``pod``, asked once per list."""
        if pod.pod_id not in self.unknown_by_pod:
            query = self._query(self.limit + 1, None, self.filters)
            self.unknown_by_pod[pod.pod_id] = self.hooks.unknown_records(pod, query)
        return self.unknown_by_pod[pod.pod_id]

    def _merge(self) -> list[Record]:
        """Heap-merge the streams into up to ``limit + 1`` records, paging pods as they drain.

        A pod whose buffer is empty but that may have more is asked for its next page before
        anything else is taken: its next record may be the smallest. That round also asks every
        other pod holding fewer records than are still wanted, so pods drained one after the
        other (deep markers) cost one round trip, not one each. Notes which stream gave the
        page's last record and which were read past it (``continuation``).
        """
        heap = [stream.head(self.order) for stream in self.streams if stream.buffer]
        heapq.heapify(heap)
        merged: list[Record] = []
        emitted: set[str] = set()
        page_end: _PodStream | None = None
        past_page: set[int] = set()
        drained = any(stream.is_open and not stream.buffer for stream in self.streams)
        while len(merged) <= self.limit:
            if drained:
                wanted = self.limit + 1 - len(merged)
                needy = [s for s in self.streams if s.is_open and len(s.buffer) < wanted]
                had_head = {stream.index for stream in needy if stream.buffer}
                self._fetch_round(needy)
                for stream in needy:
                    if stream.buffer and stream.index not in had_head:
                        heapq.heappush(heap, stream.head(self.order))
                drained = any(stream.is_open and not stream.buffer for stream in needy)
                continue
            if not heap:
                break
            stream = heap[0].stream
            _, record = stream.buffer.popleft()
            if stream.buffer:
                heapq.heapreplace(heap, stream.head(self.order))
            else:
                heapq.heappop(heap)
                drained = stream.is_open
            if len(merged) == self.limit:
                past_page.add(stream.index)
            record_id = str(record.get(self.hooks.id_key))
            if record_id not in emitted:
                emitted.add(record_id)
                merged.append(record)
                if len(merged) <= self.limit:
                    page_end = stream
        self.page_end, self.past_page = page_end, past_page
        return merged
