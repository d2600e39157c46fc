"""One Streamlit session over Streamlit's own websocket protocol, as the browser's frontend speaks it.

Used by bench/load.py (many sessions at once, driven by Locust) and tests/bench/test_load.py. No
browser: the session opens ``ws://HOST:PORT/_stcore/stream`` with the subprotocol ``streamlit``
(Streamlit 1.67's Starlette server: ``streamlit/web/server/starlette/starlette_websocket.py`` reads
the first entry of ``Sec-WebSocket-Protocol`` as the protocol to select, the second as an XSRF
token — checked only to read Streamlit's own auth cookie — and the third as a session to
reconnect to), sends ``BackMsg.rerun_script`` (a ``ClientState``: page name = the page's url_path,
the query string, widget states, the hashes of the messages it has cached) and reads the
``ForwardMsg`` frames until ``script_finished``.

A view counts as failed when the server sends an exception element (a delta whose new_element is
``exception``), an error alert (``st.error``: the app's own "页面出错了…" message when it hides a
traceback, or "the store is busy"), "page not found", a compile error, when the socket closes, or
when the run does not finish within the time-out. Plain synchronous code (websocket-client and
the protobuf classes): under Locust's gevent each session is a greenlet.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlparse

import websocket  # websocket-client
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

STREAM_PATH = "/_stcore/stream"
SUBPROTOCOL = "streamlit"
DONE = ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY
RERUN = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN  # st.rerun(): another run follows
FRAGMENT_DONE = ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
COMPILE_ERROR = ForwardMsg.ScriptFinishedStatus.FINISHED_WITH_COMPILE_ERROR


class SessionClosed(Exception):
    """The socket closed (or could not be opened)."""


@dataclass
class Widget:
    """A widget the last run drew: its id (what widget states are keyed by), kind and label."""
    id: str
    kind: str
    label: str
    form_id: str = ""
    is_form_submitter: bool = False


@dataclass
class View:
    """One rerun: the seconds from sending it to ``script_finished``, what failed (None: nothing),
    bytes received, and the widgets and headings the run drew."""
    page: str
    query: str
    seconds: float
    error: str | None = None
    kind: str | None = None  # exception | error_alert | page_not_found | compile_error | timeout | closed
    bytes: int = 0
    messages: int = 0
    widgets: list[Widget] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)


def _element_problem(el) -> tuple[str, str] | None:
    """(kind, text) when the element says something failed."""
    which = el.WhichOneof("type")
    if which == "exception":
        e = el.exception
        return "exception", f"{e.type}: {e.message}"[:500]
    if which == "alert" and el.alert.format == Alert.Format.ERROR:
        return "error_alert", el.alert.body[:500]
    return None


def _widget_of(el) -> Widget | None:
    which = el.WhichOneof("type")
    w = getattr(el, which, None) if which else None
    wid = getattr(w, "id", "") if w is not None else ""
    if not wid or not isinstance(wid, str):
        return None
    return Widget(wid, which, getattr(w, "label", ""), getattr(w, "form_id", ""),
                  bool(getattr(w, "is_form_submitter", False)))


class Session:
    """One browser tab's Streamlit session. ``view(page, params)`` reruns the app on the page with
    the query parameters and returns a ``View``; ``close()`` ends the session (the server forgets it)."""

    def __init__(self, base_url: str, timeout: float = 60.0, cookies: dict | None = None,
                 timezone: str = "Asia/Shanghai", locale: str = "zh-CN"):
        u = urlparse(base_url)
        if u.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"load only on this machine, not {base_url}")
        self.base_url = base_url.rstrip("/")
        self.ws_url = f"ws://{u.netloc}{STREAM_PATH}"
        self.timeout = timeout
        self.cookies = dict(cookies or {})
        self.timezone, self.locale = timezone, locale
        self.cached: dict[str, tuple[str, str] | None] = {}  # message hash -> the problem it carries
        self.ws: websocket.WebSocket | None = None

    def connect(self) -> None:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items()) or None
        try:
            self.ws = websocket.create_connection(self.ws_url, timeout=self.timeout, subprotocols=[SUBPROTOCOL],
                                                  origin=self.base_url, cookie=cookie, enable_multithread=False)
        except (OSError, websocket.WebSocketException) as exc:
            self.ws = None
            raise SessionClosed(f"{type(exc).__name__}: {exc}") from exc
        self.cached.clear()  # a new session: the server knows nothing we have

    def close(self) -> None:
        if self.ws is not None:
            try:
                self.ws.close(timeout=2)
            except Exception:  # already gone
                pass
            self.ws = None

    def __enter__(self) -> "Session":
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _back_msg(self, page: str, query: str, widget_states: list | None) -> bytes:
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = query
        cs.page_name = page
        cs.page_script_hash = ""
        cs.cached_message_hashes.extend(self.cached)
        cs.context_info.timezone = self.timezone
        cs.context_info.locale = self.locale
        cs.context_info.url = f"{self.base_url}/{page}" + (f"?{query}" if query else "")
        for ws in widget_states or []:
            cs.widget_states.widgets.append(ws)
        return msg.SerializeToString()

    def view(self, page: str, params: dict | None = None, widget_states: list | None = None) -> View:
        """Rerun on ``page`` (a url_path; "" is the default page) with ``params`` as the query
        string, like a browser opening /page?params (or, with ``widget_states``, submitting them)."""
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        v = View(page, query, 0.0)
        t0 = time.perf_counter()
        deadline = t0 + self.timeout
        try:
            if self.ws is None:
                self.connect()  # same origin, as the browser sends it
            self.ws.send_binary(self._back_msg(page, query, widget_states))
            self._read_until_finished(v, deadline)
        except websocket.WebSocketTimeoutException:
            v.kind, v.error = "timeout", f"no script_finished within {self.timeout:.0f} s"
            self.close()  # the run may still be going: start over with a new session next time
        except (OSError, websocket.WebSocketException, SessionClosed) as exc:
            v.kind, v.error = "closed", f"socket closed: {type(exc).__name__}: {exc}"[:500]
            self.close()
        v.seconds = time.perf_counter() - t0
        return v

    def _read_until_finished(self, v: View, deadline: float) -> None:
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise websocket.WebSocketTimeoutException("deadline")
            self.ws.settimeout(left)
            opcode, data = self.ws.recv_data()
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                raise SessionClosed("the server closed the socket")
            if opcode != websocket.ABNF.OPCODE_BINARY:
                continue
            v.bytes += len(data)
            v.messages += 1
            msg = ForwardMsg.FromString(data)
            which = msg.WhichOneof("type")
            if which == "ref_hash":  # a message we said we have cached: look at what it carried
                problem = self.cached.get(msg.ref_hash)
                if problem and v.error is None:
                    v.kind, v.error = problem
                continue
            if which == "delta":
                self._delta(msg, v)
            elif which == "page_not_found" and v.error is None:
                v.kind, v.error = "page_not_found", f"page not found: {msg.page_not_found.page_name!r}"
            elif which == "new_session":
                v.widgets.clear()
                v.headings.clear()
            elif which == "script_finished":
                status = msg.script_finished
                if status == DONE:
                    return
                if status == COMPILE_ERROR:
                    v.kind, v.error = "compile_error", "the script did not compile"
                    return
                if status == RERUN:  # the app called st.rerun(): the next run is this view's too
                    v.widgets.clear()
                    v.headings.clear()
                # FRAGMENT_DONE: a fragment's own rerun, not this view's end

    def _delta(self, msg, v: View) -> None:
        if msg.delta.WhichOneof("type") != "new_element":
            return
        el = msg.delta.new_element
        problem = _element_problem(el)
        if problem and v.error is None:
            v.kind, v.error = problem
        if msg.metadata.cacheable and msg.hash:  # the browser keeps these and says so next time
            self.cached[msg.hash] = problem
        w = _widget_of(el)
        if w is not None:
            v.widgets.append(w)
        if el.WhichOneof("type") == "heading":
            v.headings.append(el.heading.body)

    def login(self, name: str, password: str, name_label: str, password_label: str, page: str = "",
              params: dict | None = None) -> View:
        """Sign in through the login form, as a person types and submits it: the form's two text
        inputs and its submit button are found by their labels in the run that drew them, then sent
        as widget states (text values and the button's trigger) in one rerun."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        first = self.view(page, params)
        if first.error:
            return first
        by_label = {w.label: w for w in first.widgets}
        submit = next((w for w in first.widgets if w.is_form_submitter), None)
        if name_label not in by_label or password_label not in by_label or submit is None:
            first.kind, first.error = "login", "no login form on the page"
            return first
        states = []
        for w, value in ((by_label[name_label], name), (by_label[password_label], password)):
            s = WidgetState(id=w.id)
            s.string_value = value
            states.append(s)
        states.append(WidgetState(id=submit.id, trigger_value=True))
        signed = self.view(page, params, widget_states=states)
        if signed.error is None and any(w.label == password_label for w in signed.widgets):
            signed.kind, signed.error = "login", "still on the login form: the sign-in was refused"
        return signed
