"""Dockerfile parser: syntax, each instruction, errors (glassbox.build.dockerfile)."""

from __future__ import annotations

import pytest

from glassbox.build import dockerfile as d
from glassbox.errors import BuildError


def one(text: str) -> d.Instruction:
    """The single instruction after a leading FROM."""
    df = d.parse("FROM busybox\n" + text)
    assert len(df.stages) == 1
    assert len(df.stages[0].instructions) == 1, df.stages[0].instructions
    return df.stages[0].instructions[0]


def err(text: str, **kw) -> BuildError:
    with pytest.raises(BuildError) as ei:
        d.parse(text, **kw)
    return ei.value


# --- structure -------------------------------------------------------------------------

def test_minimal():
    df = d.parse("FROM busybox\n")
    assert [s.base for s in df.stages] == ["busybox"]
    st = df.stages[0]
    assert st.index == 0 and st.name is None and st.line == 1 and st.instructions == []
    assert st.from_.image == "busybox"


def test_stages_global_args_and_lines():
    df = d.parse("# c\nARG V=1\nARG B\n\nFROM a:$V AS Build\nRUN x\nARG late\n"
                 "FROM scratch\nCOPY --from=build /x /x\n")
    assert [(a.name, a.default) for a in df.global_args] == [("V", "1"), ("B", None)]
    assert [s.name for s in df.stages] == ["build", None]  # names lower-cased
    assert [s.line for s in df.stages] == [5, 8]
    assert [i.cmd for i in df.stages[0].instructions] == ["RUN", "ARG"]
    assert df.stages[0].instructions[0].line == 6
    assert df.stages[1].index == 1
    assert df.stage("BUILD") is df.stages[0] and df.stage(1) is df.stages[1]
    assert df.stage("nope") is None and df.stage(5) is None


def test_lowercase_instructions_accepted():
    df = d.parse("from busybox as b\nrun echo hi\n")
    assert df.stages[0].name == "b"
    assert df.stages[0].instructions[0].cmd == "RUN"


def test_crlf_and_bom():
    df = d.parse(b"\xef\xbb\xbfFROM busybox\r\nRUN echo a \\\r\n  b\r\n")
    assert df.stages[0].instructions[0].command == ["echo a   b"]


# --- continuations, comments, escape ---------------------------------------------------

@pytest.mark.parametrize("text,expected,line,end", [
    ("RUN a \\\n b\n", "a  b", 2, 3),
    ("RUN a \\   \n b\n", "a  b", 2, 3),                # spaces after the escape
    ("RUN a \\\n# comment\n b\n", "a  b", 2, 4),        # comment inside: dropped
    ("RUN a \\\n   # indented comment\n b\n", "a  b", 2, 4),
    ("RUN a \\\n\n b\n", "a  b", 2, 4),                 # empty continuation line
    ("RUN a \\\n b \\\n c\n", "a  b  c", 2, 4),
    ("  RUN   indented\n", "indented", 2, 2),
    ("RUN a \\\n", "a", 2, 2),                          # escape on the last line
])
def test_continuations(text, expected, line, end):
    inst = one(text)
    assert inst.command == [expected]
    assert (inst.line, inst.end_line) == (line, end)


def test_empty_continuation_warns():
    df = d.parse("FROM b\nRUN a \\\n\n b\n")
    assert any("empty continuation" in w.message for w in df.warnings)


def test_comment_only_at_line_start():
    inst = one("RUN echo a # not a comment\n")
    assert inst.command == ["echo a # not a comment"]


def test_escape_directive_backtick():
    df = d.parse("# escape=`\nFROM windows\nRUN dir C:\\ `\n  /s\nCOPY a `\n  C:\\dest\\\n")
    assert df.directives == {"escape": "`"}
    assert df.escape == "`"
    run, copy = df.stages[0].instructions
    assert run.command == ["dir C:\\   /s"]
    assert copy.sources == ["a"] and copy.dest == "C:\\dest\\"


def test_backslash_is_literal_with_backtick_escape():
    df = d.parse("# escape=`\nFROM x\nRUN echo \\\nRUN b\n")
    assert [i.command for i in df.stages[0].instructions] == [["echo \\"], ["b"]]


def test_directives():
    df = d.parse("# syntax=docker/dockerfile:1\n#check=skip=all\n# Escape = \\\nFROM x\n")
    assert df.directives == {"syntax": "docker/dockerfile:1", "check": "skip=all",
                             "escape": "\\"}


@pytest.mark.parametrize("text", [
    "# comment\n# escape=`\nFROM x\nRUN a \\\n b\n",    # after a comment: just a comment
    "\n# escape=`\nFROM x\nRUN a \\\n b\n",             # after a blank line
    "# unknown=1\n# escape=`\nFROM x\nRUN a \\\n b\n",  # unknown directive ends them
    "FROM x\n# escape=`\nRUN a \\\n b\n",               # after an instruction
])
def test_directives_only_at_top(text):
    df = d.parse(text)
    assert "escape" not in df.directives
    assert df.stages[0].instructions[0].command == ["a  b"]


def test_duplicate_directive_is_error():
    e = err("# escape=`\n# escape=\\\nFROM x\n")
    assert e.line == 2 and "only one escape" in str(e)


def test_bad_escape_token():
    e = err("# escape=x\nFROM a\n")
    assert "invalid escape token" in str(e)


# --- exec vs shell form ----------------------------------------------------------------

@pytest.mark.parametrize("cmd", ["RUN", "CMD", "ENTRYPOINT"])
def test_exec_and_shell_forms(cmd):
    i = one(f'{cmd} ["echo", "a b"]\n')
    assert i.json_form and i.command == ["echo", "a b"]
    assert i.argv() == ["echo", "a b"]
    i = one(f"{cmd} echo $HOME 'q'\n")
    assert not i.json_form and i.command == ["echo $HOME 'q'"]
    assert i.argv() == ["/bin/sh", "-c", "echo $HOME 'q'"]
    assert i.argv(["bash", "-lc"]) == ["bash", "-lc", "echo $HOME 'q'"]


@pytest.mark.parametrize("text", [
    "RUN ['echo', 'single quotes']\n",   # not JSON: Docker falls back to the shell form
    'RUN ["echo", 1]\n',                 # non-string element
    'RUN ["echo" "missing comma"]\n',
    'RUN ["echo"] trailing\n',
])
def test_bad_json_falls_back_to_shell_form(text):
    i = one(text)
    assert not i.json_form
    assert i.command == [text[4:].rstrip("\n")]
    assert i.notes and "shell form" in i.notes[0]


def test_cmd_empty_json_allowed_run_not():
    assert one("CMD []\n").command == []
    assert one('ENTRYPOINT []\n').json_form
    e = err("FROM x\nRUN []\n")
    assert e.line == 2 and "RUN requires at least one argument" in str(e)


def test_run_flags():
    i = one("RUN --mount=type=cache,target=/root/.cache --mount=type=tmpfs,target=/t "
            "--network=none echo hi\n")
    assert i.mounts == ["type=cache,target=/root/.cache", "type=tmpfs,target=/t"]
    assert i.network == "none" and i.command == ["echo hi"]


def test_flag_values_are_unquoted():
    i = one('COPY --chown="app user:grp" a /b\n')
    assert i.chown == "app user:grp"


# --- heredocs --------------------------------------------------------------------------

def test_run_heredoc():
    df = d.parse("FROM x\nRUN <<EOF\necho hi\n  echo there\nEOF\nRUN after\n")
    run, after = df.stages[0].instructions
    assert run.command == ["<<EOF"]
    assert len(run.heredocs) == 1
    h = run.heredocs[0]
    assert (h.name, h.content, h.expand, h.chomp) == ("EOF", "echo hi\n  echo there\n",
                                                       True, False)
    assert (run.line, run.end_line) == (2, 5)
    assert after.line == 6 and after.command == ["after"]


def test_heredoc_chomp_strips_tabs():
    df = d.parse("FROM x\nRUN <<-EOT\n\techo a\n\t\techo b\n\tEOT\n")
    h = df.stages[0].instructions[0].heredocs[0]
    assert h.chomp and h.content == "echo a\necho b\n"


@pytest.mark.parametrize("word", ['"EOF"', "'EOF'", 'E"OF"'])
def test_quoted_heredoc_disables_expansion(word):
    df = d.parse(f"FROM x\nRUN cat <<{word}\n$HOME\nEOF\n")
    h = df.stages[0].instructions[0].heredocs[0]
    assert h.name == "EOF" and not h.expand and h.content == "$HOME\n"


def test_several_heredocs_one_line():
    df = d.parse("FROM x\nRUN cat <<A /dev/stdin 3<<B\na1\nA\nb1\nb2\nB\nRUN z\n")
    run = df.stages[0].instructions[0]
    assert [(h.name, h.content, h.fd) for h in run.heredocs] == [("A", "a1\n", None),
                                                                 ("B", "b1\nb2\n", 3)]
    assert df.stages[0].instructions[1].line == 8


def test_heredoc_body_keeps_comments_and_blank_lines():
    df = d.parse("FROM x\nRUN python3 <<PY\n# a comment\n\nprint(1)  \\\nPY\n")
    assert df.stages[0].instructions[0].heredocs[0].content == "# a comment\n\nprint(1)  \\\n"


def test_copy_heredoc_becomes_inline_source():
    df = d.parse("FROM x\nCOPY <<EOF /etc/motd\nhello\nEOF\nCOPY a <<B /dir/\nb\nB\n")
    c1, c2 = df.stages[0].instructions
    assert c1.sources == [] and c1.dest == "/etc/motd"
    assert [(h.name, h.content) for h in c1.contents] == [("EOF", "hello\n")]
    assert c2.sources == ["a"] and [h.name for h in c2.contents] == ["B"]


def test_heredoc_marker_in_other_instruction_is_text():
    df = d.parse("FROM x\nLABEL a=<<EOF\nRUN b\n")
    assert [i.cmd for i in df.stages[0].instructions] == ["LABEL", "RUN"]


def test_herestring_is_not_heredoc():
    i = one('RUN cat <<< "hi"\n')
    assert i.heredocs == []


def test_unterminated_heredoc():
    e = err("FROM x\nRUN <<EOF\necho hi\nEOF \n")   # trailing space: not the terminator
    assert e.line == 2 and "unterminated heredoc" in str(e) and "RUN <<EOF" in str(e)


# --- each instruction ------------------------------------------------------------------

def test_from_variants():
    df = d.parse("FROM --platform=linux/amd64 alpine:3.19 AS base\nFROM scratch\n"
                 "FROM base as Next\n")
    a, b, c = df.stages
    assert (a.base, a.name, a.platform) == ("alpine:3.19", "base", "linux/amd64")
    assert (b.base, b.name) == ("scratch", None)
    assert c.name == "next"


@pytest.mark.parametrize("text", [
    "ENV A=1", "ENV A 1",
])
def test_env_simple(text):
    assert one(text + "\n").pairs == [("A", "1")]


def test_env_forms():
    assert one('ENV a=1 b="x y" c=\'q r\' d=e\\ f\n').pairs == [
        ("a", "1"), ("b", '"x y"'), ("c", "'q r'"), ("d", "e\\ f")]
    assert one("ENV PATH /usr/local/bin:$PATH\n").pairs == [("PATH", "/usr/local/bin:$PATH")]
    assert one("ENV MSG hello   world\n").pairs == [("MSG", "hello   world")]
    assert one("ENV E=\n").pairs == [("E", "")]


def test_label_and_maintainer():
    i = one('LABEL version="1.0" "com.example.x"=y desc="a b"\n')
    assert i.pairs == [("version", '"1.0"'), ('"com.example.x"', "y"), ("desc", '"a b"')]
    m = one("MAINTAINER Ana <ana@example.com>\n")
    assert m.maintainer == "Ana <ana@example.com>" and m.notes


def test_arg():
    i = one("ARG A B=2 C=\"x y\"\n")
    assert i.pairs == [("A", None), ("B", "2"), ("C", '"x y"')]
    assert i.name == "A" and i.default is None


def test_copy_add():
    c = one("COPY --from=build --chown=1000:1000 --chmod=0755 a b* /dst/\n")
    assert (c.sources, c.dest, c.from_, c.chown, c.chmod) == (["a", "b*"], "/dst/",
                                                              "build", "1000:1000", "0755")
    c = one('COPY ["a b", "/d e/"]\n')
    assert c.json_form and c.sources == ["a b"] and c.dest == "/d e/"
    a = one("ADD --checksum=sha256:abc --keep-git-dir=true https://x/y.tgz /z\n")
    assert isinstance(a, d.Add) and a.checksum == "sha256:abc" and a.keep_git_dir
    lk = one("COPY --link a /b\n")
    assert lk.link and "ignored" in lk.notes[0]


def test_expose_volume_user_workdir_stopsignal_shell():
    assert one("EXPOSE 80 443/tcp 53/udp 8000-8010/sctp\n").ports == [
        "80", "443/tcp", "53/udp", "8000-8010/sctp"]
    assert one("EXPOSE $PORT\n").ports == ["$PORT"]  # checked after expansion
    assert one("VOLUME /a /b\n").paths == ["/a", "/b"]
    assert one('VOLUME ["/data"]\n').paths == ["/data"]
    assert one("USER app:staff\n").user == "app:staff"
    assert one("WORKDIR /srv/my app\n").path == "/srv/my app"
    assert one("STOPSIGNAL SIGQUIT\n").signal == "SIGQUIT"
    assert one("STOPSIGNAL 9\n").signal == "9"
    assert one('SHELL ["/bin/bash", "-o", "pipefail", "-c"]\n').shell == [
        "/bin/bash", "-o", "pipefail", "-c"]


def test_onbuild():
    i = one("ONBUILD COPY . /app\n")
    assert isinstance(i, d.Onbuild) and i.expression == "COPY . /app"
    assert isinstance(i.trigger, d.Copy) and i.trigger.sources == ["."]
    assert i.trigger.line == 2
    j = one("onbuild run echo hi\n")
    assert j.trigger.cmd == "RUN"


@pytest.mark.parametrize("text,test,fields", [
    ("HEALTHCHECK NONE", ["NONE"], {}),
    ("HEALTHCHECK CMD curl -f http://localhost/ || exit 1",
     ["CMD-SHELL", "curl -f http://localhost/ || exit 1"], {}),
    ('HEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s --start-interval=500ms '
     '--retries=3 CMD ["curl", "-f", "http://x/"]',
     ["CMD", "curl", "-f", "http://x/"],
     dict(interval=300_000_000_000, timeout=3_000_000_000, start_period=90_000_000_000,
          start_interval=500_000_000, retries=3)),
    ("HEALTHCHECK --interval=0 cmd true", ["CMD-SHELL", "true"], dict(interval=0)),
])
def test_healthcheck(text, test, fields):
    h = one(text + "\n")
    assert h.test == test
    for k, v in fields.items():
        assert getattr(h, k) == v


@pytest.mark.parametrize("s,ns", [("1h", 3_600_000_000_000), ("1.5s", 1_500_000_000),
                                  ("2m3s", 123_000_000_000), ("10us", 10_000),
                                  ("0", 0), ("300ms", 300_000_000)])
def test_parse_duration(s, ns):
    assert d.parse_duration(s) == ns


@pytest.mark.parametrize("s", ["10", "abc", "5 s", "-1s", "", "1d"])
def test_parse_duration_bad(s):
    with pytest.raises(ValueError):
        d.parse_duration(s)


# --- errors ----------------------------------------------------------------------------

@pytest.mark.parametrize("text,line,needle", [
    ("FROM x\nRUNN echo\n", 2, "unknown instruction: RUNN (did you mean RUN?)"),
    ("FROM x\nCOPPY a b\n", 2, "did you mean COPY?"),
    ("FORM busybox\n", 1, "did you mean FROM?"),
    ("FROM x\nXYZZY a\n", 2, "unknown instruction: XYZZY"),
    ("FROM x\nRUN\n", 2, "RUN requires at least one argument"),
    ("FROM x\nCOPY a\n", 2, "COPY requires at least two arguments"),
    ("FROM x\nADD\n", 2, "ADD requires at least two arguments"),
    ("FROM x\nENV\n", 2, "ENV requires at least one argument"),
    ("FROM x\nENV A\n", 2, "needs a value"),
    ("FROM x\nENV a=1 b\n", 2, "can't find = in 'b'"),
    ("FROM x\nENV =1\n", 2, "ENV names can not be blank"),
    ("FROM x\nLABEL\n", 2, "LABEL requires at least one argument"),
    ("FROM x\nARG\n", 2, "ARG requires at least one argument"),
    ("FROM x\nARG =1\n", 2, "ARG names can not be blank"),
    ("FROM x\nUSER\n", 2, "USER requires exactly one argument"),
    ("FROM x\nWORKDIR\n", 2, "WORKDIR requires exactly one argument"),
    ("FROM x\nSTOPSIGNAL\n", 2, "STOPSIGNAL requires exactly one argument"),
    ("FROM x\nSTOPSIGNAL SIGFOO\n", 2, "invalid STOPSIGNAL"),
    ("FROM x\nVOLUME\n", 2, "VOLUME requires at least one argument"),
    ('FROM x\nVOLUME ["", "/a"]\n', 2, "can not be an empty string"),
    ("FROM x\nEXPOSE\n", 2, "EXPOSE requires at least one argument"),
    ("FROM x\nEXPOSE 80/xtp\n", 2, "invalid protocol"),
    ("FROM x\nEXPOSE 99999\n", 2, "invalid containerPort"),
    ("FROM x\nEXPOSE http\n", 2, "invalid containerPort"),
    ("FROM x\nEXPOSE 8080:80\n", 2, "container port only"),
    ("FROM x\nEXPOSE 90-80\n", 2, "invalid port range"),
    ("FROM x\nSHELL /bin/bash -c\n", 2, "SHELL requires the arguments to be in JSON form"),
    ("FROM x\nSHELL []\n", 2, "SHELL requires at least one argument"),
    ("FROM x\nHEALTHCHECK\n", 2, "HEALTHCHECK requires an argument"),
    ("FROM x\nHEALTHCHECK NONE extra\n", 2, "HEALTHCHECK NONE takes no arguments"),
    ("FROM x\nHEALTHCHECK --interval=5s NONE\n", 2, "HEALTHCHECK NONE takes no arguments"),
    ("FROM x\nHEALTHCHECK curl x\n", 2, "unknown type 'curl' in HEALTHCHECK (try CMD)"),
    ("FROM x\nHEALTHCHECK CMD\n", 2, "HEALTHCHECK CMD requires a command"),
    ("FROM x\nHEALTHCHECK --interval=10 CMD true\n", 2, "missing unit"),
    ("FROM x\nHEALTHCHECK --timeout=abc CMD true\n", 2, "invalid duration"),
    ("FROM x\nHEALTHCHECK --interval=10ns CMD true\n", 2, "cannot be less than 1ms"),
    ("FROM x\nHEALTHCHECK --retries=x CMD true\n", 2, "not an integer"),
    ("FROM x\nHEALTHCHECK --retries=-1 CMD true\n", 2, "cannot be negative"),
    ("FROM x\nONBUILD\n", 2, "ONBUILD requires an instruction"),
    ("FROM x\nONBUILD ONBUILD RUN a\n", 2, "ONBUILD ONBUILD"),
    ("FROM x\nONBUILD FROM y\n", 2, "FROM isn't allowed as an ONBUILD trigger"),
    ("FROM x\nONBUILD MAINTAINER y\n", 2, "MAINTAINER isn't allowed"),
    ("FROM x\nONBUILD RUNN a\n", 2, "did you mean RUN?"),
    ("FROM x\nCOPY --form=a b c\n", 2, "unknown flag --form for COPY"),
    ("FROM x\nADD --from=a b c\n", 2, "--from is COPY only"),
    ("FROM x\nRUN --foo echo\n", 2, "unknown flag --foo for RUN"),
    ("FROM x\nWORKDIR --x /a\n", 2, "WORKDIR takes no flags"),
    ("FROM x\nCOPY --from a b\n", 2, "missing a value on flag --from"),
    ("FROM x\nCOPY --from= a b\n", 2, "--from needs a stage name"),
    ("FROM x\nCOPY --from=a --from=b c d\n", 2, "duplicate flag specified: --from"),
    ("FROM x\nCOPY --link=maybe a b\n", 2, "expecting boolean value"),
    ("FROM x\nCOPY --chmod=rwx a b\n", 2, "invalid --chmod"),
    ("FROM --plat=x y\n", 1, "unknown flag --plat for FROM"),
    ("FROM\n", 1, "FROM requires either one or three arguments"),
    ("FROM a b\n", 1, "FROM requires either one or three arguments"),
    ("FROM a AS\n", 1, "FROM a AS needs a stage name after AS"),
    ("FROM a AS b c\n", 1, "FROM requires either one or three arguments"),
    ("FROM a IS b\n", 1, "FROM requires either one or three arguments"),
    ("FROM a AS 1st\n", 1, "invalid name for build stage: '1st'"),
    ("FROM a AS b@d\n", 1, "invalid name for build stage"),
    ("FROM a AS one\nFROM b AS One\n", 2, "duplicate stage name 'one'"),
    ("RUN echo\n", 1, "RUN before FROM"),
    ("ARG X\nENV A=1\nFROM a\n", 2, "ENV before FROM"),
    ("ARG X\n", 1, "no FROM instruction"),
])
def test_errors(text, line, needle):
    e = err(text)
    assert e.line == line
    assert e.file == "Dockerfile"
    assert needle in e.message, e.message
    assert f"Dockerfile:{line}:" in str(e)
    physical = text.split("\n")[line - 1].strip()
    assert e.text is not None and physical.split()[0] in e.text  # the line is quoted
    assert f"{line} | " in str(e)


def test_error_quotes_joined_continuation_and_filename():
    e = err("FROM x\nRUNN a \\\n  b\n", filename="app/Dockerfile.dev")
    assert str(e).startswith("app/Dockerfile.dev:2: unknown instruction: RUNN")
    assert e.text == "RUNN a   b"


@pytest.mark.parametrize("text,fixed", [
    ("FROM: busybox\n", "`FROM busybox`"),
    ("FROM:busybox\n", "`FROM busybox`"),
    ("FROM busybox\nRUN: apt-get install apache2\n", "`RUN apt-get install apache2`"),
    ("from: ubuntu\n", "`FROM ubuntu`"),
])
def test_colon_form_from_the_course_notes(text, fixed):
    e = err(text)
    assert "take no colon" in e.message and fixed in e.message
    assert "did you mean" not in e.message


def test_empty_dockerfile():
    for text in ("", "\n\n", "# only a comment\n"):
        e = err(text)
        assert "no instructions" in e.message and "FROM" in e.message


@pytest.mark.parametrize("data", [b"FROM x\n\x00\x01\x02", b"\x89PNG\r\n\x1a\n\xff\xfe"])
def test_not_text(data):
    e = err(data)
    assert "not" in e.message and ("text" in e.message or "UTF-8" in e.message)


def test_maybe_json_with_backslash_paths():
    i = one('CMD ["c:\\\\app\\\\x.exe"]\n')
    assert i.json_form and i.command == ["c:\\app\\x.exe"]
