"""A Streamlit session without a browser: the app's own websocket protocol.

One :class:`StreamlitSession` is what one browser tab is to the server: it fetches the
page (so a proxy's affinity cookie is set, as a browser's would be), opens
``/_stcore/stream`` with the ``streamlit`` subprotocol, and sends ``BackMsg.rerun_script``
with a ``ClientState`` (query string, the page's script hash, the fragment that reruns,
the widget states, the hashes of the messages it has cached) exactly where the frontend
does: on connect, on a widget change, on a page change. It reads every ``ForwardMsg``:

- ``new_element`` deltas: each widget's id by its user key (``$$ID-<hash>-<key>``), the
  fragment it belongs to (``Delta.fragment_id``), and ``exception`` elements (errors);
- ``ref_hash`` messages: resolved from the ``metadata.cacheable`` messages it received
  (one copy per process), whose hashes it reports in ``ClientState.cached_message_hashes`` as the frontend does,
  so the server sends a large unchanged element (the map, the decoder's weights) once;
- ``navigation``: the pages' script hashes by URL path;
- ``script_finished``: the end of the run an action asked for (a run ended early for a
  rerun is followed by the run that replaced it);
- ``auto_rerun``: fragments that rerun on a timer (``st.fragment(run_every=...)``), which
  the session reruns as the frontend does while it is on that page.

Like the frontend, it keeps the value of every widget it has set and sends them all with
each rerun, drops a value the server overwrote (``set_value``), and forgets the values of
widgets that a full run no longer drew.

Only for loopback servers: :func:`check_loopback` refuses any other host.
"""

from __future__ import annotations

import asyncio
import http.cookies
import ipaddress
import json
import re
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

#: ``document.cookie = 'name=value; ...'`` in an html element's script: what a browser would keep.
_SCRIPT_COOKIE = re.compile(r"document\.cookie\s*=\s*['\"]([A-Za-z0-9_]+)=([^;'\"]*)")
#: Cacheable messages by hash, one copy for all sessions of this process (a 2 MB element
#: is kept once, not once per student); each session reports only the hashes it received.
_MESSAGES: dict[str, ForwardMsg] = {}
EARLY_FOR_RERUN = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN


class SessionError(RuntimeError):
    """The session's connection failed or closed, or a run did not end in time."""


def check_loopback(url: str) -> None:
    """Raise ValueError unless ``url`` is an http URL on a loopback address (127.0.0.0/8, ::1, localhost)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "http":
        raise ValueError(f"{url}: only http:// URLs on this machine are load-tested")
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"{url}: the load generator only talks to loopback addresses (127.0.0.1), not {host!r}")


@dataclass
class Widget:
    """A widget the server drew: its element type (``slider``, ``button``, ``bidi_component``...),
    its id, the fragment it belongs to ("" for none) and its proto."""

    kind: str
    id: str
    fragment_id: str
    proto: object


@dataclass
class RunResult:
    """One run's end: seconds from the request to ``script_finished``, its status, the
    exceptions it showed (their type names and messages), and the elements it sent:
    (element type, the fragment it belongs to, "" for none), a cached element sent as a
    reference counted as the element; ``component_bytes``: the binary data of its custom
    components (``st.components.v2`` elements with bytes data, e.g. the decoder's weights),
    a reference counted as the data it stands for (the server drew the element again);
    ``wire_bytes``: the bytes of the messages received from the request to the run's end."""

    seconds: float
    status: int
    exceptions: list[str] = field(default_factory=list)
    elements: list[tuple[str, str]] = field(default_factory=list)
    component_bytes: int = 0
    wire_bytes: int = 0


def user_key(widget_id: str) -> str | None:
    """The user key in a widget id ``$$ID-<32 hex>-<key>``, or None for an id without one."""
    if not widget_id.startswith("$$ID-"):
        return None
    parts = widget_id.split("-", 2)
    return parts[2] if len(parts) == 3 and parts[2] != "None" else None


class StreamlitSession:
    """One browser tab's session, driven over the websocket (see the module docstring).

    Args:
        url: the app's URL (``http://127.0.0.1:PORT``), loopback only.
        run_timeout_s: longest wait for one run's end before :class:`SessionError`.
        follow_auto_reruns: rerun ``run_every`` fragments on their timers, as a browser does.
    """

    def __init__(self, url: str, run_timeout_s: float = 120.0, follow_auto_reruns: bool = True):
        check_loopback(url)
        self.url = url.rstrip("/")
        self.run_timeout_s = run_timeout_s
        self.follow_auto_reruns = follow_auto_reruns
        # the window's size class as a returning laptop browser keeps it (explorer/ui/components/viewport.py's
        # cookie): this client runs no JavaScript, so it never reports the class, and without
        # the cookie the pages would wait for that report to draw their maps
        self.cookies: dict[str, str] = {"vx_screen": "small"}
        self.widgets: dict[str, Widget] = {}          # by user key
        self.widget_states: dict[str, WidgetState] = {}  # by widget id
        self.pages: dict[str, str] = {}               # url path -> page script hash
        self.page_hash = ""
        self.query_string = ""
        self.session_id = ""
        self.exceptions: list[str] = []               # every exception element shown
        self.elements: list[tuple[str, object]] = []  # the last run's elements: (type, proto)
        self.auto_reruns: dict[str, float] = {}       # fragment id -> interval s
        self.auto_runs = 0
        self.closed_unexpectedly = False
        self._cached: set[str] = set()  # hashes of the messages this session has (what it reports)
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._ticker: asyncio.Task | None = None
        self._finished: asyncio.Future | None = None
        self._run_exceptions: list[str] = []
        self._run_elements: list[tuple[str, str]] = []
        self._run_component_bytes = 0
        self._run_wire_bytes = 0
        self._run_widget_ids: set[str] = set()
        self._run_is_fragment = False
        self._lock = asyncio.Lock()

    # --- connection --------------------------------------------------------------------

    def _fetch_page(self) -> None:
        """GET the page as a browser does first: a proxy's affinity cookie comes with it."""
        request = urllib.request.Request(self.url + "/", headers=self._cookie_header())
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            self._keep_cookies(response.headers.get_all("Set-Cookie") or [])

    def _keep_cookies(self, headers: list[str]) -> None:
        for header in headers:
            jar = http.cookies.SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value

    def _cookie_header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    async def _load_page(self) -> None:
        try:
            await asyncio.to_thread(self._fetch_page)
        except OSError as exc:  # refused, reset, or an HTTP error (a proxy's 503)
            raise SessionError(f"could not load {self.url}/: {exc}") from exc

    async def open(self, query_string: str = "") -> RunResult:
        """Load the page and connect: the first run (the default page) and its result."""
        await self._load_page()
        await self._connect()
        return await self.rerun(query_string=query_string)

    async def _connect(self) -> None:
        ws_url = "ws" + self.url[len("http"):] + "/_stcore/stream"
        # as the frontend's getSessionTokens: the XSRF cookie (or a placeholder), then, on a
        # reconnect, the old session's id
        token = self.cookies.get("_streamlit_xsrf") or "PLACEHOLDER_AUTH_TOKEN"
        protocols = ["streamlit", token, *([self.session_id] if self.session_id else [])]
        try:
            self._ws = await connect(ws_url, subprotocols=protocols, additional_headers=self._cookie_header(),
                                     max_size=None, open_timeout=30, ping_interval=None)
        except (OSError, asyncio.TimeoutError, ConnectionClosed) as exc:
            raise SessionError(f"could not connect to {ws_url}: {exc}") from exc
        set_cookie = self._ws.response.headers.get_all("Set-Cookie") if self._ws.response else []
        self._keep_cookies(list(set_cookie))
        self.closed_unexpectedly = False
        self._reader = asyncio.create_task(self._read())
        if self.follow_auto_reruns and self._ticker is None:
            self._ticker = asyncio.create_task(self._tick())

    async def reconnect(self) -> RunResult:
        """After a lost connection: fetch the page again (a proxy may set a new affinity
        cookie), reconnect naming the old session, and rerun the current page."""
        await self._close_ws()
        await self._load_page()
        await self._connect()
        return await self.rerun()

    async def close(self) -> None:
        """Close the connection (the tab closes)."""
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        await self._close_ws()

    async def _close_ws(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            self._reader = None
        if self._ws is not None:
            try:
                await self._ws.close()
            except Exception:  # noqa: BLE001 - a dead connection is what we are closing
                pass
            self._ws = None

    # --- reruns ------------------------------------------------------------------------

    async def rerun(self, page: str | None = None, fragment_id: str = "", triggers: list[WidgetState] = (),
                    query_string: str | None = None, is_auto_rerun: bool = False) -> RunResult:
        """Ask for a run and wait for its end.

        Args:
            page: the URL path of a page to go to (``"compare"``), or None for the current one.
            fragment_id: rerun only this fragment ("" for the whole page).
            triggers: one-run widget states (button presses, component events) sent with the
                kept ones.
            query_string: the URL's query string (None: the one the app last set on this
                page, "" after a page change, as in the browser's address bar).

        Raises:
            SessionError: the connection closed, or no run ended within ``run_timeout_s``.
        """
        async with self._lock:
            if self._ws is None:
                raise SessionError("not connected")
            msg = BackMsg()
            state = msg.rerun_script
            if page is not None:
                self.query_string = ""
                if page not in self.pages:
                    raise SessionError(f"no page {page!r} (pages: {sorted(self.pages)})")
                self.page_hash = self.pages[page]
                self.auto_reruns.clear()  # a page change ends the old page's timers
            if query_string is not None:
                self.query_string = query_string
            state.query_string = self.query_string
            state.page_script_hash = self.page_hash
            state.fragment_id = fragment_id
            state.is_auto_rerun = is_auto_rerun
            kept = {wid: ws for wid, ws in self.widget_states.items()}
            for trigger in triggers:
                kept[trigger.id] = trigger
            state.widget_states.widgets.extend(kept.values())
            state.cached_message_hashes.extend(self._cached)
            loop = asyncio.get_running_loop()
            self._finished = loop.create_future()
            self._run_exceptions = []
            self._run_elements = []
            self._run_component_bytes = self._run_wire_bytes = 0
            self._run_widget_ids = set()
            self._run_is_fragment = bool(fragment_id)
            start = time.perf_counter()
            try:
                await self._ws.send(msg.SerializeToString())
                status = await asyncio.wait_for(asyncio.shield(self._finished), self.run_timeout_s)
            except asyncio.TimeoutError as exc:
                raise SessionError(f"no run end within {self.run_timeout_s:.0f} s") from exc
            except ConnectionClosed as exc:
                self.closed_unexpectedly = True
                raise SessionError(f"connection closed: {exc}") from exc
            finally:
                self._finished_done()
            return RunResult(time.perf_counter() - start, status, list(self._run_exceptions),
                             list(self._run_elements), self._run_component_bytes, self._run_wire_bytes)

    def _finished_done(self) -> None:
        if self._finished is not None and not self._finished.done():
            self._finished.cancel()
        self._finished = None

    def widget(self, key: str) -> Widget:
        """The widget drawn with this user key (raises KeyError with the keys on screen)."""
        try:
            return self.widgets[key]
        except KeyError:
            raise KeyError(f"no widget with key {key!r} on this page (keys: {sorted(self.widgets)})") from None

    async def set_widget(self, key: str, **value) -> RunResult:
        """Set a widget's value (e.g. ``double_array_value=[12]`` for a slider, ``bool_value``,
        ``string_value``, ``double_value``) and rerun as the frontend does: its fragment
        if it is in one, else the page."""
        widget = self.widget(key)
        state = WidgetState(id=widget.id)
        for name, v in value.items():
            if name.endswith("array_value"):
                getattr(state, name).data.extend(v)
            else:
                setattr(state, name, v)
        self.widget_states[widget.id] = state
        return await self.rerun(fragment_id=widget.fragment_id)

    def stage_widget(self, key: str, **value) -> None:
        """Keep a widget's value for the next rerun without rerunning (a form's fields before its submit)."""
        widget = self.widget(key)
        state = WidgetState(id=widget.id)
        for name, v in value.items():
            setattr(state, name, v)
        self.widget_states[widget.id] = state

    async def press(self, key: str) -> RunResult:
        """Press a button (a trigger: sent with one rerun only)."""
        widget = self.widget(key)
        return await self.rerun(fragment_id=widget.fragment_id, triggers=[WidgetState(id=widget.id, trigger_value=True)])

    async def component_event(self, key: str, event: str, value) -> RunResult:
        """Send a components-v2 element's trigger ``event`` with ``value`` (JSON), as its
        ``setTriggerValue`` does: a list of payloads on the element's internal ``events`` widget."""
        widget = self.widget(key)
        payload = json.dumps([{"event": event, "value": value}])
        # the trigger widget's id: components/v2/bidi_component/main.py, _make_trigger_id
        trigger = WidgetState(id=f"$$STREAMLIT_INTERNAL_KEY_{widget.id}__events", json_trigger_value=payload)
        return await self.rerun(fragment_id=widget.fragment_id, triggers=[trigger])

    # --- incoming messages -------------------------------------------------------------

    async def _read(self) -> None:
        try:
            async for data in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self._run_wire_bytes += len(data)
                self._handle(msg)
        except ConnectionClosed:
            pass
        except asyncio.CancelledError:
            return
        self.closed_unexpectedly = True
        if self._finished is not None and not self._finished.done():
            self._finished.set_exception(ConnectionClosed(None, None))

    def _handle(self, msg: ForwardMsg) -> None:
        if msg.HasField("ref_hash"):
            cached = _MESSAGES.get(msg.ref_hash) if msg.ref_hash in self._cached else None
            if cached is None:
                self._run_exceptions.append(f"CacheMiss: the server referred to an unknown message {msg.ref_hash}")
                return
            full = ForwardMsg()
            full.CopyFrom(cached)
            full.metadata.CopyFrom(msg.metadata)
            msg = full
        elif msg.metadata.cacheable and msg.hash:
            _MESSAGES.setdefault(msg.hash, msg)
            self._cached.add(msg.hash)
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            if msg.new_session.initialize.session_id:
                self.session_id = msg.new_session.initialize.session_id
            self.page_hash = msg.new_session.page_script_hash or self.page_hash
            if not self._run_is_fragment:
                self.elements = []
                self.widgets = {}
        elif kind == "navigation":
            for page in msg.navigation.app_pages:
                self.pages[page.url_pathname] = page.page_script_hash
            if msg.navigation.page_script_hash:
                self.page_hash = msg.navigation.page_script_hash
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "delta":
            self._delta(msg.delta)
        elif kind == "auto_rerun":
            self.auto_reruns[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
        elif kind == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                self.auto_reruns.pop(fid, None)
        elif kind == "script_finished":
            status = msg.script_finished
            if status == EARLY_FOR_RERUN:
                return
            if status == ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY:
                # the frontend forgets widgets a full run no longer drew
                self.widget_states = {k: v for k, v in self.widget_states.items() if k in self._run_widget_ids}
            if self._finished is not None and not self._finished.done():
                self._finished.set_result(status)

    def _delta(self, delta) -> None:
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        proto = getattr(element, kind)
        self.elements.append((kind, proto))
        self._run_elements.append((kind, delta.fragment_id))
        if kind == "bidi_component" and proto.WhichOneof("data") == "bytes":
            self._run_component_bytes += len(proto.bytes)
        if kind == "html":  # the app sets its own cookies with a script (explorer/ui/state/browser_store.py)
            for name, value in _SCRIPT_COOKIE.findall(proto.body):
                self.cookies[name] = value
            return
        if kind == "exception":
            text = f"{proto.type}: {proto.message}"
            self._run_exceptions.append(text)
            self.exceptions.append(text)
            return
        widget_id = getattr(proto, "id", "") if hasattr(proto, "id") else ""
        if not isinstance(widget_id, str) or not widget_id:
            return
        self._run_widget_ids.add(widget_id)
        key = user_key(widget_id)
        if key is not None:
            self.widgets[key] = Widget(kind, widget_id, delta.fragment_id, proto)
        if getattr(proto, "set_value", False):
            self.widget_states.pop(widget_id, None)  # the server set it: its value wins

    async def _tick(self) -> None:
        """Rerun ``run_every`` fragments on their timers while their page is shown."""
        due: dict[str, float] = {}
        try:
            while True:
                await asyncio.sleep(0.25)
                now = time.monotonic()
                for fid, interval in list(self.auto_reruns.items()):
                    if interval <= 0:
                        continue
                    due.setdefault(fid, now + interval)
                    if now >= due[fid] and self._ws is not None and not self._lock.locked():
                        due[fid] = now + interval
                        try:
                            await self.rerun(fragment_id=fid, is_auto_rerun=True)
                            self.auto_runs += 1
                        except SessionError:
                            pass
                for fid in list(due):
                    if fid not in self.auto_reruns:
                        del due[fid]
        except asyncio.CancelledError:
            return

    def texts(self) -> list[str]:
        """The text of the last run's markdown, alert, caption and heading elements."""
        out = []
        for kind, proto in self.elements:
            if kind in ("markdown", "alert", "heading", "text"):
                out.append(getattr(proto, "body", "") or getattr(proto, "text", ""))
            elif kind == "progress":
                out.append(proto.text)
        return out
