"""HTML reprs and progress events of glassbox.jupyter (no engine, no root)."""

from glassbox.jupyter.display import ErrorMessage, ExitStatus, JSONDoc, TextOutput, \
    images_table, ps_table
from glassbox.jupyter.progress import BuildLog, ProgressState, step_line


def ps_row(name, state, status):
    return {"ID": name[:3] * 4, "Image": "busybox", "Command": '"sleep 9"', "_cmd": "sleep 9",
            "RunningFor": "2 seconds ago", "Status": status, "State": state, "Names": name,
            "_full_id": name * 8}


def test_ps_table_html_has_every_row_and_status_badge():
    t = ps_table([ps_row("web", "running", "Up 2 seconds"),
                  ps_row("old<x>", "exited", "Exited (0) 1 second ago")])
    html = t._repr_html_()
    assert html.count("<tr>") == 3                 # header + 2 rows
    assert "web" in html and "Up 2 seconds" in html and "Exited (0)" in html
    assert "old&lt;x&gt;" in html and "old<x>" not in html   # escaped
    assert "#2e7d32" in html                       # running badge colour
    assert len(t) == 2 and t[0]["Names"] == "web"
    text = repr(t)
    assert text.splitlines()[0].startswith("CONTAINER ID") and "web" in text


def test_empty_ps_table():
    assert "(none)" in ps_table([])._repr_html_()


def test_images_table_rows():
    rows = [{"Repository": "busybox", "Tag": "latest", "ID": "0123456789ab",
             "CreatedSince": "1 hour ago", "Size": "2MB"},
            {"Repository": "hello", "Tag": "1", "ID": "ba9876543210",
             "CreatedSince": "now", "Size": "2MB"}]
    html = images_table(rows)._repr_html_()
    assert html.count("<tr>") == 3
    assert "busybox" in html and "ba9876543210" in html


def test_error_message_is_short_and_red():
    e = ErrorMessage("No such container: nope", "details")
    assert "#b71c1c" in e._repr_html_() and "No such container: nope" in e._repr_html_()
    assert repr(e).startswith("Error: No such container")
    assert "Traceback" not in repr(e)


def test_exit_status_and_text_output():
    s = ExitStatus(137, oom_killed=True, stdout=b"hi\n")
    assert s.exit_code == 137 and not s.ok and s.stdout == "hi\n"
    assert "OOM" in repr(s) and "#c62828" in s._repr_html_()
    assert ExitStatus(0).ok
    t = TextOutput("a\nb\n")
    assert t.split() == ["a", "b"]


def test_json_doc_is_a_dict():
    d = JSONDoc({"Id": "x", "State": {"Status": "running"}})
    assert d["State"]["Status"] == "running"
    data, meta = d._repr_json_()
    assert data["Id"] == "x" and meta["expanded"] is False


def test_progress_state_docker_pull_events():
    st = ProgressState()
    assert st.apply({"status": "Pulling from library/busybox", "id": "latest"}) == "latest"
    st.apply({"id": "3f4e", "status": "Downloading",
              "progressDetail": {"current": 250, "total": 1000}})
    assert st.fraction("3f4e") == 0.25
    st.apply({"id": "3f4e", "status": "Pull complete", "progressDetail": {}})
    assert st.items["3f4e"]["done"] and st.fraction("3f4e") == 1.0
    assert st.apply({"status": "Digest: sha256:abc"}) is None
    assert st.messages == ["Digest: sha256:abc"]
    st.apply({"errorDetail": {"message": "unauthorized"}, "error": "unauthorized"})
    assert st.errors == ["unauthorized"]


def test_progress_state_build_events():
    st = ProgressState()
    st.apply({"type": "step", "index": 1, "total": 3, "instruction": "FROM busybox",
              "cached": False})
    st.apply({"type": "step", "index": 2, "total": 3, "instruction": "RUN echo hi",
              "cached": True})
    assert st.items["build"]["status"] == "CACHED RUN echo hi"
    assert abs(st.fraction("build") - 2 / 3) < 1e-9
    st.apply({"type": "done", "image_id": "sha256:" + "1" * 64})
    assert st.done and st.fraction("build") == 1.0 and st.image_id.endswith("1" * 64)


def test_build_log_marks_cached_steps(tmp_path):
    import io
    out = io.StringIO()
    seen = []
    log = BuildLog(out=out, bars=seen.append)
    log({"type": "step", "index": 1, "total": 2, "instruction": "FROM busybox", "cached": False})
    log({"type": "step", "index": 2, "total": 2, "instruction": "RUN echo hi", "cached": True})
    log({"type": "log", "text": "hi"})
    log({"type": "done", "image_id": "sha256:" + "ab" * 32})
    text = out.getvalue()
    assert "[1/2] FROM busybox" in text
    assert "[2/2] CACHED RUN echo hi" in text
    assert "hi\n" in text and "Successfully built abababababab" in text
    assert log.cached_steps == 1 and len(seen) == 4
    assert step_line({"index": 3, "total": 4, "instruction": "CMD x"}) == "[3/4] CMD x"


def test_build_log_real_builder_events_and_partial_chunks():
    import io
    out = io.StringIO()
    log = BuildLog(out=out)
    log({"type": "step", "index": 1, "total": 2, "stage": 0, "instruction": "RUN printf ab",
         "cached": False})
    log({"type": "container", "action": "start", "id": "x"})
    log({"type": "log", "text": "a"})
    log({"type": "log", "text": "b"})                 # one line, two chunks
    log({"type": "layer", "diff_id": "sha256:" + "1" * 64, "size": 3})
    log({"type": "result", "index": 1, "image_id": "sha256:" + "2" * 64})
    log({"type": "warning", "text": "empty continuation line"})
    log({"type": "tag", "tag": "hello:1"})
    lines = out.getvalue().splitlines()
    assert lines == ["[1/2] RUN printf ab", "ab", " ---> 222222222222",
                     "WARNING: empty continuation line", "Successfully tagged hello:1"]
    assert log.tagged == ["hello:1"]
