"""Variable substitution, ARG/ENV scoping, targets and stage dependencies."""

from __future__ import annotations

import pytest

from glassbox.build import dockerfile as d
from glassbox.errors import BuildError

ENV = {"PWD": "/home", "SHELL": "bash", "EMPTY": "", "SP": "a b", "KOREAN": "한국어",
       "FILE": "archive.tar.gz"}


# --- expand(): buildkit's shell lexer, ProcessWord -------------------------------------

@pytest.mark.parametrize("word,expected", [
    ("A", "A"),
    ("A?", "A?"),
    ("'A'", "A"),
    ('"A"', "A"),
    ("\\A", "A"),
    ("\\\\A", "\\A"),
    ("hello", "hello"),
    ("he'll'o", "hello"),
    ("he\\'llo", "he'llo"),
    ("he\\\\'llo'", "he\\llo"),
    ("abc\\", "abc"),           # a trailing escape is dropped
    ("abc\\\\", "abc\\"),
    ('"\\a"', "\\a"),           # in double quotes only \" \$ \\ are escapes
    ('"\\""', '"'),
    ('"\\$PWD"', "$PWD"),
    ('"a\\\\b"', "a\\b"),
    ("'\\a'", "\\a"),           # nothing is special in single quotes
    ("'\\\\a'", "\\\\a"),
    ("$PWD", "/home"),
    ("${PWD}", "/home"),
    ("'${PWD}'", "${PWD}"),
    ("'$PWD'", "$PWD"),
    ('"${PWD}"', "/home"),
    ('"$PWD and \'$SHELL\'"', "/home and 'bash'"),
    ("\\$PWD", "$PWD"),
    ("\\${PWD}", "${PWD}"),
    ("he$PWD", "he/home"),
    ("$PWD-x", "/home-x"),
    ("${PWD}x", "/homex"),
    ("$PWDx", ""),              # the name is PWDx: unset
    ("$UNSET", ""),
    ("${UNSET}", ""),
    ("$PWD a", "/home a"),      # ProcessWord does not split
    ("$", "$"),
    ("a$", "a$"),
    ("$ a", "$ a"),
    ("$/", "$/"),
    ("$1", ""),
    ("$KOREAN", "한국어"),
    ("${PWD:-x}", "/home"),
    ("${UNSET:-x}", "x"),
    ("${EMPTY:-x}", "x"),       # colon: empty counts as unset
    ("${EMPTY-x}", ""),         # no colon: only unset counts
    ("${UNSET-x}", "x"),
    ("${UNSET:-$PWD}", "/home"),
    ("${UNSET:-'a b'}", "a b"),
    ("${UNSET:-${SHELL:-z}}", "bash"),
    ("${UNSET:-}", ""),
    ("${PWD:+x}", "x"),
    ("${EMPTY:+x}", ""),
    ("${EMPTY+x}", "x"),
    ("${UNSET+x}", ""),
    ("${UNSET:+x}", ""),
    ("${PWD:?}", "/home"),
    ("${EMPTY?}", ""),
    ("${FILE#*.}", "tar.gz"),
    ("${FILE##*.}", "gz"),
    ("${FILE%.*}", "archive.tar"),
    ("${FILE%%.*}", "archive"),
    ("${FILE#nomatch}", "archive.tar.gz"),
    ("${FILE/ar/AR}", "ARchive.tar.gz"),
    ("${FILE//ar/AR}", "ARchive.tAR.gz"),
])
def test_expand(word, expected):
    assert d.expand(word, ENV) == expected


@pytest.mark.parametrize("word,needle", [
    ("he'llo", "single-quote"),
    ('"abc', "double-quote"),
    ("${PWD", "missing '}'"),
    ("${PWD:-x", "missing '}'"),
    ("${", "missing '}'"),
    ("${}", "bad substitution"),
    ("${:x}", "bad substitution"),
    ("${{x}}", "bad substitution"),
    ("${PWD:x}", "unsupported modifier"),
    ("${PWD^^}", "unsupported modifier"),
    ("${UNSET:?}", "UNSET: is not allowed to be unset"),
    ("${UNSET?must be set}", "UNSET: must be set"),
    ("${EMPTY:?empty!}", "EMPTY: empty!"),
])
def test_expand_errors(word, needle):
    with pytest.raises(BuildError) as ei:
        d.expand(word, ENV)
    assert needle in str(ei.value)


def test_expand_env_as_list_and_backtick_escape():
    assert d.expand("$A-$B", ["A=1", "B=x=y"]) == "1-x=y"
    assert d.expand("`$A", {"A": "1"}, escape="`") == "$A"
    assert d.expand("\\$A", {"A": "1"}, escape="`") == "\\1"


def test_expand_raw_heredoc_mode():
    assert d.expand("echo \"$PWD\" '$PWD' \\$PWD a\\nb\n", ENV, raw=True) == \
        "echo \"/home\" '/home' $PWD a\\nb\n"


@pytest.mark.parametrize("text,words", [
    ("hello world", ["hello", "world"]),
    ("  a   b  ", ["a", "b"]),
    ('"hello world"', ["hello world"]),
    ("'a b' c", ["a b", "c"]),
    ("a\\ b", ["a b"]),
    ("$SP", ["a", "b"]),          # unquoted expansion splits
    ('"$SP"', ["a b"]),
    ("x$SP", ["xa", "b"]),
    ("$UNSET", []),
    ("80 $PWD", ["80", "/home"]),
])
def test_expand_words(text, words):
    assert d.expand_words(text, ENV) == words


# --- ARG / ENV scoping -----------------------------------------------------------------

def scopes(text: str, build_args=None, base_env=()):
    """Apply every instruction of every stage; return (sub, [(scope, [applied…])…])."""
    df = d.parse(text)
    sub = d.Substituter.for_dockerfile(df, build_args,
                                       platform_args={"TARGETARCH": "amd64",
                                                      "BUILDPLATFORM": "linux/amd64",
                                                      "TARGETPLATFORM": "linux/amd64"})
    out = []
    for st in df.stages:
        scope = sub.stage(base_env)
        out.append((scope, [scope.apply(i) for i in st.instructions]))
    return sub, df, out


def workdirs(applied):
    return [i.path for i in applied if isinstance(i, d.Workdir)]


def test_global_arg_in_from():
    df = d.parse("ARG V=3.19\nARG IMG=alpine:${V}\nFROM $IMG AS a\nFROM busybox:${V:-x}\n")
    sub = d.Substituter.for_dockerfile(df)
    assert sub.expand_from(df.stages[0].from_).image == "alpine:3.19"
    assert sub.expand_from(df.stages[1].from_).image == "busybox:3.19"
    sub2 = d.Substituter.for_dockerfile(df, {"V": "3.20"})
    assert sub2.expand_from(df.stages[0].from_).image == "alpine:3.20"
    sub3 = d.Substituter.for_dockerfile(df, {"IMG": "debian"})
    assert sub3.expand_from(df.stages[0].from_).image == "debian"


def test_from_platform_expanded_and_empty_image_error():
    df = d.parse("FROM --platform=$BUILDPLATFORM golang AS b\nARG NOPE\nFROM $NOPE\n")
    sub = d.Substituter.for_dockerfile(df, platform_args={"BUILDPLATFORM": "linux/arm64"})
    assert sub.expand_from(df.stages[0].from_).platform == "linux/arm64"
    df = d.parse("ARG NOPE\nFROM $NOPE\n")
    with pytest.raises(BuildError) as ei:
        d.Substituter.for_dockerfile(df).expand_from(df.stages[0].from_)
    assert ei.value.line == 2 and "empty image name" in str(ei.value)


def test_global_arg_invisible_in_stage_until_redeclared():
    _, _, [(scope, applied)] = scopes("ARG V=1\nFROM x\nWORKDIR /a$V\nARG V\nWORKDIR /b$V\n")
    assert workdirs(applied) == ["/a", "/b1"]
    _, _, [(_, applied)] = scopes("ARG V=1\nFROM x\nARG V\nWORKDIR /$V\n", {"V": "9"})
    assert workdirs(applied) == ["/9"]


def test_stage_arg_default_and_build_arg_override():
    _, _, [(_, a)] = scopes("FROM x\nARG A=def\nWORKDIR /$A\n")
    assert workdirs(a) == ["/def"]
    _, _, [(_, a)] = scopes("FROM x\nARG A=def\nWORKDIR /$A\n", {"A": "cli"})
    assert workdirs(a) == ["/cli"]
    _, _, [(_, a)] = scopes("FROM x\nARG A\nWORKDIR /${A:-unset}\n")
    assert workdirs(a) == ["/unset"]


def test_arg_only_visible_after_declaration_and_per_stage():
    _, _, [(_, a), (_, b)] = scopes("FROM x\nWORKDIR /$A\nARG A=1\nWORKDIR /$A\n"
                                    "FROM y\nWORKDIR /$A\n", {"A": "z"})
    assert workdirs(a) == ["/", "/z"]
    assert workdirs(b) == ["/"]


def test_build_arg_value_is_literal():
    _, _, [(_, a)] = scopes("FROM x\nARG A\nWORKDIR /$A\n", {"A": "$HOME"})
    assert workdirs(a) == ["/$HOME"]


def test_arg_default_uses_earlier_args_and_env():
    _, _, [(_, a)] = scopes("FROM x\nENV E=e\nARG A=1\nARG B=${A}-$E\nWORKDIR /$B\n")
    assert workdirs(a) == ["/1-e"]
    assert a[1].pairs == [("A", "1")]
    assert a[2].pairs == [("B", "1-e")]


def test_env_overrides_arg_either_order():
    _, _, [(s1, a1)] = scopes("FROM x\nARG A=arg\nENV A=env\nWORKDIR /$A\n", {"A": "cli"})
    assert workdirs(a1) == ["/env"]
    _, _, [(s2, a2)] = scopes("FROM x\nENV A=env\nARG A=arg\nWORKDIR /$A\n")
    assert workdirs(a2) == ["/env"]
    assert "A" not in s1.run_env() and "A" not in s2.run_env()


def test_base_image_env_visible_and_overrides_arg():
    _, _, [(scope, a)] = scopes("FROM x\nARG PATH=nope\nENV P2=$PATH:/x\n",
                                base_env=["PATH=/usr/bin"])
    assert a[1].pairs == [("P2", "/usr/bin:/x")]


def test_env_pairs_see_env_before_the_line():
    _, _, [(scope, a)] = scopes("FROM x\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n")
    assert a[1].pairs == [("abc", "bye"), ("def", "hello")]
    assert a[2].pairs == [("ghi", "bye")]
    assert scope.env == {"abc": "bye", "def": "hello", "ghi": "bye"}


def test_env_quotes_removed():
    _, _, [(scope, _)] = scopes('FROM x\nENV a="x y" b=\'$c\' c=e\\ f\nENV MSG "hi there"\n')
    assert scope.env == {"a": "x y", "b": "$c", "c": "e f", "MSG": "hi there"}


def test_proxy_args_predefined():
    args = {"HTTP_PROXY": "http://p:3128", "no_proxy": "localhost", "A": "1"}
    sub, df, [(scope, a)] = scopes("FROM x\nARG A\nWORKDIR /$HTTP_PROXY\n", args)
    assert scope.run_env() == {"HTTP_PROXY": "http://p:3128", "no_proxy": "localhost",
                               "A": "1"}
    assert scope.cache_args() == ["A=1"]                 # proxies out of the cache key
    assert scope.run_history("/bin/sh -c make") == "|1 A=1 /bin/sh -c make"
    assert sub.unused_build_args() == []
    assert d.unused_build_args(df, args) == []
    _, _, [(scope, _)] = scopes("FROM x\nARG HTTP_PROXY\n", args)
    assert scope.cache_args() == ["HTTP_PROXY=http://p:3128"]  # declared: included


def test_run_env_and_cache_args_sorted():
    _, _, [(scope, _)] = scopes("FROM x\nARG B=2\nARG A=1\nARG NOVAL\nENV B=env\n")
    assert scope.run_env() == {"A": "1"}
    assert scope.cache_args() == ["A=1"]
    _, _, [(scope, _)] = scopes("FROM x\nARG Z=26\nARG A=1\n")
    assert scope.cache_args() == ["A=1", "Z=26"]
    assert scope.run_history("x") == "|2 A=1 Z=26 x"
    _, _, [(scope, _)] = scopes("FROM x\n")
    assert scope.run_history("/bin/sh -c true") == "/bin/sh -c true"


def test_unused_build_args_warning():
    sub, df, _ = scopes("ARG G\nFROM x\nARG USED\n", {"USED": "1", "G": "2", "X": "3",
                                                      "Y": "4", "https_proxy": "p"})
    assert sub.unused_build_args() == ["X", "Y"]
    assert d.unused_build_args(df, {"USED": "1", "X": "3"}) == ["X"]
    assert d.unused_build_args_warning(["X", "Y"]) == \
        "[Warning] One or more build-args [X Y] were not consumed"
    assert d.unused_build_args_warning([]) is None


def test_platform_args_need_declaration_in_stage():
    _, _, [(_, a)] = scopes("FROM x\nWORKDIR /$TARGETARCH\nARG TARGETARCH\n"
                            "WORKDIR /$TARGETARCH\n")
    assert workdirs(a) == ["/", "/amd64"]


# --- which instructions expand ---------------------------------------------------------

def test_apply_expands_docker_list_only():
    text = ("FROM x\nARG V=1\nARG U=app\nARG P=80\n"
            "RUN echo $V\nCMD echo $V\nENTRYPOINT [\"$V\"]\nSHELL [\"/bin/$V\"]\n"
            "HEALTHCHECK CMD check $V\nONBUILD RUN echo $V\n"
            "COPY --chown=$U:$U --chmod=755 --from=s$V src$V /dst/$V/\n"
            "ADD a$V /b$V\nLABEL l$V=\"v $V\"\nEXPOSE $P ${P}/udp\nVOLUME /v$V\n"
            "USER $U\nWORKDIR /w$V\nSTOPSIGNAL SIG${U:+TERM}\nMAINTAINER $V\n")
    _, _, [(_, a)] = scopes(text)
    by = {i.cmd: i for i in a}
    assert by["RUN"].command == ["echo $V"]
    assert by["CMD"].command == ["echo $V"]
    assert by["ENTRYPOINT"].command == ["$V"]
    assert by["SHELL"].shell == ["/bin/$V"]
    assert by["HEALTHCHECK"].test == ["CMD-SHELL", "check $V"]
    assert by["ONBUILD"].expression == "RUN echo $V"
    c = by["COPY"]
    assert (c.chown, c.chmod, c.from_, c.sources, c.dest) == ("app:app", "755", "s1",
                                                              ["src1"], "/dst/1/")
    assert (by["ADD"].sources, by["ADD"].dest) == (["a1"], "/b1")
    assert by["LABEL"].pairs == [("l1", "v 1")]
    assert by["EXPOSE"].ports == ["80", "80/udp"]
    assert by["VOLUME"].paths == ["/v1"]
    assert by["USER"].user == "app"
    assert by["WORKDIR"].path == "/w1"
    assert by["STOPSIGNAL"].signal == "SIGTERM"
    assert by["MAINTAINER"].maintainer == "$V"
    assert not by["RUN"].expandable and by["COPY"].expandable


def test_apply_does_not_mutate_the_ast():
    df = d.parse("FROM x\nARG V=1\nWORKDIR /$V\n")
    scope = d.Substituter.for_dockerfile(df).stage()
    applied = [scope.apply(i) for i in df.stages[0].instructions]
    assert applied[1].path == "/1" and df.stages[0].instructions[1].path == "/$V"


def test_copy_heredoc_expansion_follows_quoting():
    df = d.parse("FROM x\nARG N=world\nCOPY <<A <<\"B\" /d/\nhi $N \"q\"\nA\nhi $N\nB\n")
    scope = d.Substituter.for_dockerfile(df).stage()
    _, copy = [scope.apply(i) for i in df.stages[0].instructions]
    assert [h.content for h in copy.contents] == ['hi world "q"\n', "hi $N\n"]


@pytest.mark.parametrize("line,needle", [
    ("WORKDIR /${A", "missing '}'"),
    ("COPY ${A:x} /b", "unsupported modifier"),
    ("EXPOSE $BAD", "invalid containerPort"),
    ("USER $NOPE", "empty user name"),
    ("WORKDIR $NOPE", "empty path"),
    ("STOPSIGNAL $BAD", "invalid STOPSIGNAL"),
    ("LABEL a=\"unterminated", "double-quote"),
    ("ENV $NOPE=1", "ENV names can not be blank"),
    ("COPY $NOPE /a", "expands to an empty path"),
    ("COPY a $NOPE", "destination $NOPE expands to an empty path"),
    ("COPY --from=$NOPE a /b", "expands to an empty value"),
])
def test_apply_errors_carry_line(line, needle):
    df = d.parse(f"FROM x\nARG BAD=http\n{line}\n")
    scope = d.Substituter.for_dockerfile(df).stage()
    scope.apply(df.stages[0].instructions[0])
    with pytest.raises(BuildError) as ei:
        scope.apply(df.stages[0].instructions[1])
    assert ei.value.line == 3 and needle in str(ei.value)
    assert line in str(ei.value)


# --- targets and stage dependencies ----------------------------------------------------

MULTI = """\
FROM golang AS build
RUN go build
FROM build AS test
RUN go test
FROM alpine AS docs
RUN make docs
FROM scratch AS final
COPY --from=build /app /app
FROM final AS release
COPY --from=2 /docs /docs
"""


def names(stages):
    return [s.ref for s in stages]


@pytest.mark.parametrize("target,needed", [
    (None, ["build", "docs", "final", "release"]),
    ("release", ["build", "docs", "final", "release"]),
    ("final", ["build", "final"]),
    ("FINAL", ["build", "final"]),
    ("test", ["build", "test"]),
    ("build", ["build"]),
    ("docs", ["docs"]),
])
def test_stages_needed(target, needed):
    df = d.parse(MULTI)
    assert names(d.stages_needed(df, target)) == needed
    assert d.stage_for_target(df, target).ref == needed[-1]


def test_target_not_found():
    df = d.parse(MULTI)
    with pytest.raises(BuildError) as ei:
        d.stage_for_target(df, "finall")
    assert "target stage 'finall' could not be found" in str(ei.value)
    assert "did you mean 'final'?" in str(ei.value)
    with pytest.raises(BuildError) as ei:
        d.stage_for_target(d.parse("FROM a\n"), "x")
    assert "no stage has a name" in str(ei.value)


def test_from_image_named_like_own_stage_is_an_image():
    df = d.parse("FROM node AS node\nRUN x\n")
    assert names(d.stages_needed(df)) == ["node"]


def test_from_later_stage_name_is_an_image():
    df = d.parse("FROM later AS first\nFROM alpine AS later\n")
    assert names(d.stages_needed(df, "first")) == ["first"]


def test_copy_from_image_and_variables():
    df = d.parse("ARG SRC=b\nFROM alpine AS a\nFROM alpine AS b\nFROM alpine AS c\n"
                 "FROM scratch\nARG SRC\nCOPY --from=$SRC /x /x\n"
                 "COPY --from=nginx:latest /etc/nginx /n\n")
    assert names(d.stages_needed(df)) == ["b", "3"]
    assert names(d.stages_needed(df, build_args={"SRC": "c"})) == ["c", "3"]


def test_run_mount_from_is_a_dependency():
    df = d.parse("FROM a AS deps\nFROM b\n"
                 "RUN --mount=type=bind,from=deps,source=/x,target=/x cp /x /y\n")
    assert names(d.stages_needed(df)) == ["deps", "1"]


def test_copy_from_forward_reference_allowed():
    df = d.parse("FROM a AS one\nCOPY --from=two /x /x\nFROM b AS two\n")
    assert names(d.stages_needed(df, "one")) == ["one", "two"]


@pytest.mark.parametrize("text,line,needle", [
    ("FROM a AS x\nCOPY --from=y /a /a\nFROM b AS y\nCOPY --from=x /b /b\n", 2,
     "circular dependency"),
    ("FROM a AS x\nCOPY --from=x /a /a\n", 2, "cannot copy from itself"),
    ("FROM a\nCOPY --from=0 /a /a\n", 2, "cannot copy from itself"),
    ("FROM a\nFROM b\nCOPY --from=7 /a /a\n", 3, "there is no stage 7"),
])
def test_stage_reference_errors(text, line, needle):
    df = d.parse(text)
    with pytest.raises(BuildError) as ei:
        d.stages_needed(df)
    assert needle in str(ei.value) and ei.value.line == line


def test_resolve_stage_ref():
    df = d.parse(MULTI)
    final = df.stage("final")
    copy = final.instructions[0]
    assert d.resolve_stage_ref(df, "build", final, copy) is df.stages[0]
    assert d.resolve_stage_ref(df, "0", final, copy) is df.stages[0]
    assert d.resolve_stage_ref(df, "busybox:1.36", final, copy) is None
