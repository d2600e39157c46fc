"""One reader of the configuration files: every mistake names the file and where, in Chinese."""
from __future__ import annotations

import pytest

from analytics.access.users import AuthError
from analytics.core.config import ConfigError, read_toml
from analytics.core.contract import ContractError, load_contract
from analytics.domain.duty import DutyConfigError, load_config as load_duty
from analytics.domain.indices import IndexConfigError, load_config as load_indices
from analytics.domain.metrics import AnswersConfigError, load_solved
from analytics.domain.points import PointsConfigError, load_points_config
from analytics.domain.suggestions import SuggestionConfigError, load_config as load_suggestions
from analytics.ingest.profiles import LimitsError, load_limits

LOADERS = [(load_duty, DutyConfigError, "履职配置"), (load_indices, IndexConfigError, "指标配置"),
           (load_solved, AnswersConfigError, "指标配置"), (load_points_config, PointsConfigError, "积分配置"),
           (load_suggestions, SuggestionConfigError, "代表建议配置"), (load_limits, LimitsError, "导入限制"),
           (lambda p: load_contract(str(p)), ContractError, "数据契约")]


def test_a_malformed_file_is_placed_by_line_and_column_in_chinese(tmp_path):
    p = tmp_path / "x.toml"
    p.write_text("[a]\nb = 1\nc d = 2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        read_toml(p, "测试配置")
    msg = str(e.value)
    assert msg.startswith("测试配置文件 x.toml 不是合法的 TOML：") and msg.endswith("（第 3 行第 3 列）"), msg
    assert "(at line" not in msg


def test_missing_and_non_utf8_files_say_so(tmp_path):
    with pytest.raises(ConfigError, match="找不到测试配置文件"):
        read_toml(tmp_path / "none.toml", "测试配置")
    gbk = tmp_path / "gbk.toml"
    gbk.write_bytes('a = "镇街"\n'.encode("gbk"))
    with pytest.raises(ConfigError, match="gbk.toml 不是 UTF-8 编码"):
        read_toml(gbk, "测试配置")
    with pytest.raises(AuthError, match="找不到用户文件"):  # a loader may raise its own class
        read_toml(tmp_path / "none.toml", "用户", AuthError)


@pytest.mark.parametrize("load, error, what", LOADERS, ids=[w for _, _, w in LOADERS])
def test_every_configuration_loader_goes_through_the_one_reader(tmp_path, load, error, what):
    assert issubclass(error, ConfigError)  # one class to catch for any configuration mistake
    p = tmp_path / "bad.toml"
    p.write_text("key = = 1\n", encoding="utf-8")
    with pytest.raises(error) as e:
        load(p)
    assert str(e.value).startswith(f"{what}文件 bad.toml 不是合法的 TOML："), str(e.value)
    assert "第 1 行" in str(e.value)
