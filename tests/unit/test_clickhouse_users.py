"""docker/clickhouse/users.d/controlfeed.xml: the writer and the read-only user of compose.

The grants are parsed by current ClickHouse (chDB, in-process, the dev extra):
each must fail only because its grantee does not exist there, never as
unparsable. The server of compose (25.8) reads the same grammar.
"""

from __future__ import annotations

import tempfile
import xml.etree.ElementTree as ET

import pytest
from chdb import session

from streams.settings import PROJECT_ROOT

USERS = PROJECT_ROOT / "docker" / "clickhouse" / "users.d" / "controlfeed.xml"


def _users() -> ET.Element:
    root = ET.parse(USERS).getroot()  # noqa: S314 (our own file)
    users = root.find("users")
    assert users is not None
    return users


def _grants(user: str) -> list[str]:
    return [q.text or "" for q in _users().findall(f"{user}/grants/query")]


def test_the_file_defines_the_writer_and_the_reader() -> None:
    assert {u.tag for u in _users()} == {"default", "controlfeed_writer", "controlfeed_reader"}


def test_the_default_user_is_kept_to_the_container() -> None:
    networks = _users().find("default/networks")

    assert networks is not None and networks.get("replace") == "replace"
    assert {ip.text for ip in networks} == {"127.0.0.1", "::1"}


def test_the_reader_only_reads() -> None:
    root = ET.parse(USERS).getroot()  # noqa: S314 (our own file)

    assert _grants("controlfeed_reader") == ["GRANT SELECT ON controlfeed.*"]
    assert root.findtext("profiles/controlfeed_reader/readonly") == "2"
    assert _users().findtext("controlfeed_reader/profile") == "controlfeed_reader"


def test_the_writer_has_no_right_beyond_the_pipeline_database() -> None:
    for grant in _grants("controlfeed_writer"):
        assert grant.endswith(" ON controlfeed.*"), grant
        assert "DROP" not in grant and "ALL" not in grant.split(), grant


@pytest.mark.parametrize("user", ["controlfeed_writer", "controlfeed_reader"])
def test_current_clickhouse_parses_the_grants(user: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = session.Session(folder)
        for grant in _grants(user):
            with pytest.raises(Exception, match=r"UNKNOWN_ROLE|There is no role") as err:
                store.query(f"{grant} TO controlfeed_test_nobody")
            assert "SYNTAX_ERROR" not in str(err.value)
        store.close()
